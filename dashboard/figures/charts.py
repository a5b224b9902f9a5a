"""The other pages' charts: readings over time, allocations, correction factors, attributions, changed decisions,
the ε trade-off."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.style import COLORS, DIVERGING, ORDER, SENSOR_PALETTE, apply_layout, label


# ----------------------------------------------------------------------------- data preview
def timeseries(readings: pd.DataFrame, value_label: str = "Speed (mph)") -> go.Figure:
    """Readings over time for a few sensors: ``readings`` has ``time``, ``sensor_id``, ``value``."""
    fig = go.Figure()
    for k, (sid, g) in enumerate(readings.groupby("sensor_id", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=g["time"],
                y=g["value"],
                mode="lines",
                line={"color": SENSOR_PALETTE[k % len(SENSOR_PALETTE)], "width": 1.2},
                name=f"sensor {sid}",
                customdata=np.full(len(g), str(sid), dtype=object),
                hovertemplate=(
                    f"sensor %{{customdata}}<br>%{{x|%Y-%m-%d %H:%M}}<br>{value_label} %{{y:.2f}}<extra></extra>"
                ),
            )
        )
    return apply_layout(fig, "Readings of the selected sensors", x="Time", y=value_label, height=360)


# ----------------------------------------------------------------------------- allocation
def allocation_bars(
    items: Sequence[str],
    allocations: Mapping[str, np.ndarray],
    realised: np.ndarray,
    unit: str = "value units",
    time_label: str = "",
) -> go.Figure:
    """Units allocated to each item by each method (bars) against the realised value per unit (line)."""
    items = [str(i) for i in items]
    fig = go.Figure()
    for name in [m for m in ORDER if m in allocations]:
        fig.add_trace(
            go.Bar(
                x=items,
                y=np.asarray(allocations[name], float),
                name=label(name),
                marker_color=COLORS[name],
                hovertemplate=f"item %{{x}}<br>%{{y:.2f}} units<extra>{label(name)}</extra>",
                meta={"method": name},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=items,
            y=np.asarray(realised, float),
            mode="markers+lines",
            name="Realised value per unit",
            yaxis="y2",
            line={"color": "#DC2626", "dash": "dot"},
            hovertemplate=f"item %{{x}}<br>realised %{{y:.2f}} {unit} per unit<extra></extra>",
        )
    )
    fig.update_layout(
        barmode="group",
        yaxis2={"title": {"text": f"Realised value ({unit} per unit)"}, "overlaying": "y", "side": "right"},
    )
    title = "Units allocated vs realised value" + (f" at {time_label}" if time_label else "")
    return apply_layout(fig, title, x="Item", y="Units allocated (units)")


# ----------------------------------------------------------------------------- interpretability
def correction_heatmap(factors: pd.DataFrame, epsilon: float | None = None, row_label: str = "Sensor") -> go.Figure:
    """Mean DFF correction factor φ per sensor (rows) and hour of day (columns), centred on 1.

    ``factors`` is a wide frame: index = sensor/item ids, columns = hours (0-23).
    φ > 1 (red): DFF raises the predicted cost; φ < 1 (blue): lowers it.
    """
    z = factors.to_numpy(dtype=float)
    span = float(epsilon) if epsilon else float(np.nanmax(np.abs(z - 1.0), initial=0.05)) or 0.05
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in factors.columns],
            y=[str(i) for i in factors.index],
            colorscale=DIVERGING,
            zmid=1.0,
            zmin=1.0 - span,
            zmax=1.0 + span,
            colorbar={"title": {"text": "φ (×)"}},
            hovertemplate=f"{row_label.lower()} %{{y}}<br>hour %{{x}}:00<br>factor φ %{{z:.3f}}<extra></extra>",
        )
    )
    fig.update_yaxes(type="category", autorange="reversed")  # first sensor on top
    fig.update_xaxes(type="category")
    return apply_layout(
        fig,
        f"DFF correction factor by {row_label.lower()} and hour (1 = unchanged)",
        x="Hour of day (h)",
        y=row_label,
        height=max(320, 16 * len(factors) + 120),
    )


def attribution_bars(attr: pd.DataFrame, value_label: str = "Attribution") -> go.Figure:
    """Horizontal bars, one per feature (top 25 by |value|), largest on top.

    ``attr`` has ``feature`` and ``value``; the colour is the sign of ``signed`` when given
    (direction in which the feature moves the correction), else of ``value``.
    """
    df = attr.assign(_abs=attr["value"].abs()).sort_values("_abs", kind="stable").tail(25)
    sign = df["signed"] if "signed" in df else df["value"]
    colors = np.where(sign >= 0, COLORS["dff"], "#DC2626")
    direction = np.where(sign >= 0, "raises predictions", "lowers predictions")
    fig = go.Figure(
        go.Bar(
            x=df["value"],
            y=df["feature"].astype(str),
            orientation="h",
            marker_color=colors,
            customdata=direction,
            hovertemplate=f"%{{y}}<br>{value_label} %{{x:.4f}}<br>on average %{{customdata}}<extra></extra>",
        )
    )
    fig.add_vline(x=0, line={"color": "#111827", "width": 1})
    return apply_layout(
        fig, "Which inputs drive the correction", x=value_label, y="Feature", height=max(320, 22 * len(df) + 120)
    )


def decision_changes(diff: pd.DataFrame, unit: str = "cost units") -> go.Figure:
    """Regret saved by DFF at each test instance where its decision differs from plain.

    ``diff`` has ``time`` (or ``instance``) and ``saved`` (plain regret − DFF regret; > 0 = DFF better).
    """
    x = diff["time"] if "time" in diff else diff["instance"]
    saved = diff["saved"].to_numpy(float)
    colors = np.where(saved >= 0, COLORS["dff"], COLORS["two_stage"])
    fig = go.Figure(
        go.Bar(
            x=x,
            y=saved,
            marker_color=colors,
            name="Regret saved by DFF",
            hovertemplate=f"%{{x}}<br>saved %{{y:.3f}} {unit}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line={"color": "#111827", "width": 1})
    if len(diff) < 5:  # a date axis would zoom into milliseconds around one or two bars
        fig.update_xaxes(type="category")
    return apply_layout(
        fig,
        f"Decisions DFF changed: {len(diff)}; total saved {np.sum(saved):.2f} {unit}",
        x="Test time" if "time" in diff else "Test instance",
        y=f"Regret saved ({unit})",
    )


def epsilon_tradeoff(sweep: pd.DataFrame, unit: str = "cost units") -> go.Figure:
    """Test regret against the mean prediction shift for each ε of a sweep.

    ``sweep`` has ``epsilon``, ``regret_mean`` and ``mean_relative_shift`` (and optionally a
    ``plain_regret`` reference).
    """
    df = sweep.sort_values("epsilon")
    fig = go.Figure(
        go.Scatter(
            x=df["mean_relative_shift"] * 100.0,
            y=df["regret_mean"],
            mode="lines+markers+text",
            text=[f"ε={e:g}" for e in df["epsilon"]],
            textposition="top center",
            name=label("dff"),
            line={"color": COLORS["dff"]},
            customdata=df["epsilon"],
            hovertemplate=f"ε %{{customdata:g}}<br>mean shift %{{x:.2f}} %<br>regret %{{y:.3f}} {unit}<extra></extra>",
        )
    )
    if "plain_regret" in df and df["plain_regret"].notna().any():
        fig.add_hline(
            y=float(df["plain_regret"].dropna().iloc[0]),
            line={"color": COLORS["two_stage"], "dash": "dot"},
            annotation_text="plain",
        )
    return apply_layout(
        fig,
        "Trade-off: decision quality vs how far DFF moves the predictions",
        x="Mean prediction shift |c̃−ĉ|/|ĉ| (%)",
        y=f"Mean test regret ({unit})",
    )
