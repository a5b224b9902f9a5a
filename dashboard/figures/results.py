"""The Train page's charts: KPI table, regret distributions, paired regret, training and live progress curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.style import COLORS, SENSOR_COLOR, apply_layout, label, result_methods, result_times, result_unit
from dff_core.progress import ProgressEvent
from dff_core.results import ComparisonResult


# ----------------------------------------------------------------------------- KPIs
def kpi_table(result: ComparisonResult) -> pd.DataFrame:
    """One row per method: mean regret, relative change vs plain, shift, min cosine and their bounds.

    ``rel_change`` is (regret − plain regret) / plain regret (negative = better than plain).
    ``shift_bound`` is ε (|c̃−ĉ| ≤ ε|ĉ|) and ``cosine_bound`` is √(1−ε²), both for DFF only.
    """
    eps = result.config.get("epsilon")
    m = result.metrics
    base = float(m.loc["two_stage", "regret_mean"]) if "two_stage" in m.index else np.nan
    rows = []
    for name in result_methods(result):
        r = float(m.loc[name, "regret_mean"]) if name in m.index else float(np.mean(result.methods[name].regret))
        rel = (r - base) / base if np.isfinite(base) and base > 0 else np.nan
        is_dff = name == "dff" and eps is not None
        rows.append(
            {
                "method": name,
                "label": label(name),
                "regret_mean": r,
                "regret_median": float(m.loc[name, "regret_median"]) if "regret_median" in m else np.nan,
                "normalized_regret": float(m.loc[name, "normalized_regret"]) if "normalized_regret" in m else np.nan,
                "rel_change": rel,
                "max_relative_shift": float(m.loc[name, "max_relative_shift"]) if "max_relative_shift" in m else np.nan,
                "min_cosine": float(m.loc[name, "min_cosine"]) if "min_cosine" in m else np.nan,
                "shift_bound": float(eps) if is_dff else np.nan,
                "cosine_bound": float(np.sqrt(max(0.0, 1 - float(eps) ** 2))) if is_dff else np.nan,
                "seconds": float(m.loc[name, "seconds"]) if "seconds" in m else np.nan,
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- regret charts
def regret_distribution(result: ComparisonResult) -> go.Figure:
    """Per-instance test regret per method (box + points), lower is better."""
    unit = result_unit(result)
    times = result_times(result)
    fig = go.Figure()
    for name in result_methods(result):
        reg = np.asarray(result.methods[name].regret, dtype=float)
        fig.add_trace(
            go.Box(
                y=reg,
                name=label(name),
                marker_color=COLORS[name],
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                boxmean=True,
                customdata=np.asarray(times[: len(reg)], dtype=object),
                hovertemplate=f"%{{customdata}}<br>regret %{{y:.3f}} {unit}<extra>{label(name)}</extra>",
                meta={"method": name},
            )
        )
    return apply_layout(
        fig, "Per-instance test regret (lower is better)", x="Method", y=f"Regret ({unit})", showlegend=False
    )


def paired_regret_scatter(result: ComparisonResult, other: str = "dff") -> go.Figure:
    """Regret of plain (x) against ``other`` (y) per test instance; points below y = x are wins."""
    if other not in result.methods or "two_stage" not in result.methods:
        raise ValueError(f"paired_regret_scatter: the result needs methods 'two_stage' and {other!r}.")
    unit = result_unit(result)
    x = np.asarray(result.methods["two_stage"].regret, dtype=float)
    y = np.asarray(result.methods[other].regret, dtype=float)
    hi = float(max(np.max(x, initial=0.0), np.max(y, initial=0.0))) * 1.05 or 1.0
    wins, losses = int(np.sum(y < x - 1e-9)), int(np.sum(y > x + 1e-9))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, hi],
            y=[0, hi],
            mode="lines",
            name="y = x (no change)",
            line={"color": COLORS["hindsight"], "dash": "dash", "width": 1},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            name=f"{label(other)} vs plain: {wins} better, {losses} worse",
            marker={"color": COLORS[other], "size": 7, "opacity": 0.75},
            customdata=np.asarray(result_times(result), dtype=object),
            hovertemplate=(
                f"%{{customdata}}<br>plain %{{x:.3f}} {unit}<br>{label(other)} %{{y:.3f}} {unit}<extra></extra>"
            ),
            meta={"method": other},
        )
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return apply_layout(
        fig,
        f"Paired regret: plain vs {label(other)} (below the line = {label(other)} better)",
        x=f"Plain regret ({unit})",
        y=f"{label(other)} regret ({unit})",
    )


def training_curves(result: ComparisonResult) -> go.Figure:
    """Validation regret per epoch for each trained method (epoch 0 = starting point)."""
    unit = result_unit(result)
    fig = go.Figure()
    for name in result_methods(result):
        h = result.methods[name].history
        if h is None or len(h) == 0 or "val_regret" not in h:
            continue
        fig.add_trace(
            go.Scatter(
                x=h["epoch"],
                y=h["val_regret"],
                mode="lines+markers",
                name=label(name),
                line={"color": COLORS[name]},
                hovertemplate=f"epoch %{{x}}<br>validation regret %{{y:.3f}} {unit}<extra>{label(name)}</extra>",
                meta={"method": name},
            )
        )
    return apply_layout(
        fig, "Training curves (epoch 0 = the plain backbone)", x="Epoch", y=f"Validation regret ({unit})"
    )


def progress_curve(events: Sequence[ProgressEvent], unit: str = "") -> go.Figure:
    """Live validation regret per training epoch, from the engine's progress events."""
    rows = [
        {"method": e.method, "epoch": e.epoch, "val_regret": e.metrics["val_regret"]}
        for e in events
        if e.stage == "train" and e.method and "val_regret" in e.metrics
    ]
    df = pd.DataFrame(rows)
    fig = go.Figure()
    if len(df):
        for name, g in df.groupby("method", sort=False):
            fig.add_trace(
                go.Scatter(
                    x=g["epoch"],
                    y=g["val_regret"],
                    mode="lines+markers",
                    name=label(str(name)),
                    line={"color": COLORS.get(str(name), SENSOR_COLOR)},
                )
            )
    return apply_layout(
        fig, "Validation regret while training", x="Epoch", y=f"Validation regret ({unit or 'cost units'})", height=300
    )
