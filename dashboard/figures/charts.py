"""The other pages' charts: readings over time, allocations, correction factors, attributions, changed decisions,
the ε trade-off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

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
    fig = apply_layout(fig, "Readings of the selected sensors", x="Time", y=value_label, height=360)
    # Legend on the right: under the plot it wraps onto the "Time" axis title with five or more sensors.
    fig.update_layout(
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
        margin={"l": 60, "r": 130, "t": 50, "b": 50},
    )
    return fig


# ----------------------------------------------------------------------------- allocation
def allocation_ranked(table: pd.DataFrame, unit: str = "value units", time_label: str = "") -> go.Figure:
    """Items ranked by realised value per unit (bars, left) and the units each method put there (dots, right).

    ``table`` is :func:`dashboard.services.views.allocation_table`: ``item``, ``realised`` and one
    column of units per method key, best items first. Negative realised values are drawn at 0 (the
    title says so) so the value axis starts at zero.
    """
    df = table.iloc[::-1]  # best item on top
    items = df["item"].astype(str).tolist()
    realised = df["realised"].to_numpy(float)
    clipped = bool((realised < 0).any())
    methods = [m for m in ORDER if m in df.columns]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.4, 0.6], horizontal_spacing=0.03)
    fig.add_trace(
        go.Bar(
            x=np.clip(realised, 0.0, None),
            y=items,
            orientation="h",
            marker_color="#F59E0B",
            name=f"Realised value per unit ({unit})",
            customdata=realised,
            hovertemplate=f"%{{y}}<br>realised %{{customdata:.2f}} {unit} per unit<extra></extra>",
        ),
        row=1,
        col=1,
    )
    top = max(float(np.nanmax(df[methods].to_numpy(float), initial=0.0)), 1e-9) if methods else 1.0
    for m in methods:
        u = df[m].to_numpy(float)
        got = u > 1e-9
        fig.add_trace(
            go.Scatter(
                x=[label(m, short=True)] * int(got.sum()),
                y=np.asarray(items, dtype=object)[got],
                mode="markers+text",
                marker={"size": 10 + 18 * u[got] / top, "color": COLORS[m]},
                text=[f"{v:g}" for v in u[got]],
                textposition="middle right",
                name=label(m),
                customdata=u[got],
                hovertemplate=f"%{{y}}<br>{label(m)}: %{{customdata:.2f}} units<extra></extra>",
                meta={"method": m},
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title_text=f"Realised value per unit ({unit})", rangemode="tozero", row=1, col=1)
    fig.update_xaxes(
        title_text="Units allocated (dot size)",
        type="category",
        categoryorder="array",
        categoryarray=[label(m, short=True) for m in methods],
        row=1,
        col=2,
    )
    fig.update_yaxes(type="category", row=1, col=1)
    title = "Items ranked by realised value, and where each method allocated" + (
        f" at {time_label}" if time_label else ""
    )
    if clipped:
        title += " (negative values drawn at 0)"
    return apply_layout(fig, title, height=max(340, 26 * len(items) + 170))


# ----------------------------------------------------------------------------- interpretability
def correction_heatmap(
    factors: pd.DataFrame, epsilon: float | None = None, row_label: str = "Sensor", total: int | None = None
) -> go.Figure:
    """Mean DFF correction factor φ per sensor (rows) and hour of day (columns), centred on 1.

    ``factors`` is a wide frame: index = sensor/item labels, columns = hours (0-23), usually the
    top-k rows of :func:`dashboard.services.views.rank_corrections`; ``total`` is how many rows
    there were before (the title says "top k of total"). φ > 1 (red): DFF raises the predicted
    cost; φ < 1 (blue): lowers it.
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
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)  # first row on top
    fig.update_xaxes(type="category")
    of_all = total is not None and total > len(factors)
    noun = row_label.lower() + ("s" if (total if of_all else len(factors)) != 1 else "")
    shown = f"top {len(factors)} of {total} {noun}" if of_all else noun
    return apply_layout(
        fig,
        f"DFF correction factor by {row_label.lower()} and hour (1 = unchanged; {shown})",
        x="Hour of day (h)",
        y=row_label,
        height=max(320, 18 * len(factors) + 140),
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


def pareto_front(shift: np.ndarray, regret: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both shift and regret (lower is better), by shift."""
    shift, regret = np.asarray(shift, float), np.asarray(regret, float)
    order = np.lexsort((regret, shift))
    keep, best = [], np.inf
    for k in order:
        if np.isfinite(regret[k]) and regret[k] < best - 1e-12:
            keep.append(int(k))
            best = regret[k]
    return np.asarray(keep, dtype=int)


def _eps_text(e: float) -> str:
    return "no trust region (ε = ∞)" if not np.isfinite(e) else f"ε={e:g}"


def epsilon_tradeoff(sweep: pd.DataFrame, unit: str = "cost units") -> go.Figure:
    """Test regret against the mean prediction shift, one labelled point per ε, with the Pareto front.

    ``sweep`` has ``epsilon``, ``regret_mean`` and ``mean_relative_shift`` (and optionally a
    ``plain_regret`` reference, drawn as the point at zero shift). An ``epsilon`` of ``inf`` is the
    correction without a trust region. Points are not joined in ε order (that line zig-zags); the
    dashed line joins the points no other point beats on both axes.
    """
    df = sweep.sort_values("mean_relative_shift").reset_index(drop=True)
    eps = df["epsilon"].astype(float).to_numpy()
    x = df["mean_relative_shift"].to_numpy(float) * 100.0
    y = df["regret_mean"].to_numpy(float)
    fig = go.Figure()
    px, py, names = list(x), list(y), [_eps_text(e) for e in eps]
    if "plain_regret" in df and df["plain_regret"].notna().any():
        plain = float(df["plain_regret"].dropna().iloc[0])
        fig.add_trace(
            go.Scatter(
                x=[0.0],
                y=[plain],
                mode="markers+text",
                text=["plain (no shift)"],
                textposition="bottom right",
                marker={"color": COLORS["two_stage"], "size": 11, "symbol": "square"},
                name=label("two_stage"),
                hovertemplate=f"plain prediction<br>regret %{{y:.3f}} {unit}<extra></extra>",
                meta={"method": "two_stage"},
            )
        )
        px, py, names = [0.0, *px], [plain, *py], ["plain (no shift)", *names]
    front = pareto_front(np.asarray(px), np.asarray(py))
    if len(front) >= 2:
        fig.add_trace(
            go.Scatter(
                x=np.asarray(px)[front],
                y=np.asarray(py)[front],
                mode="lines",
                line={"color": "#111827", "dash": "dash", "width": 1.5},
                name="Pareto front (best trade-offs)",
                customdata=np.asarray(names, dtype=object)[front],
                hoverinfo="skip",
                meta={"front": True},
            )
        )
    bounded = np.isfinite(eps)
    for mask, name, color, symbol in (
        (bounded, label("dff"), COLORS["dff"], "circle"),
        (~bounded, label("dff_unbounded"), COLORS["dff_unbounded"], "diamond"),
    ):
        if not mask.any():
            continue
        fig.add_trace(
            go.Scatter(
                x=x[mask],
                y=y[mask],
                mode="markers+text",
                text=[_eps_text(e) for e in eps[mask]],
                textposition="top center",
                name=name,
                marker={"color": color, "size": 11, "symbol": symbol},
                hovertemplate=f"%{{text}}<br>mean shift %{{x:.2f}} %<br>regret %{{y:.3f}} {unit}<extra></extra>",
                meta={"method": "dff" if symbol == "circle" else "dff_unbounded"},
            )
        )
    return apply_layout(
        fig,
        "Trade-off: decision quality vs how far DFF moves the predictions",
        x="Mean prediction shift |c̃−ĉ|/|ĉ| (%)",
        y=f"Mean test regret ({unit})",
    )
