"""The Train page's charts: KPI table, regret distributions, paired regret, training and live progress curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.style import COLORS, SENSOR_COLOR, apply_layout, label, result_methods, result_times, result_unit
from dashboard.services.labels import EPOCH0_MEANING
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
        f"Paired regret: plain vs {label(other, short=True)} (below the line: {label(other, short=True)} better)",
        x=f"Plain regret ({unit})",
        y=f"{label(other)} regret ({unit})",
    )


#: Early-stopping patience of DFF and DFL when the run does not record it (their default).
DEFAULT_PATIENCE = 10


def training_status(result: ComparisonResult, method: str) -> dict:
    """How a method's training went: ``epochs_run``, ``best_epoch`` (the kept one), ``epochs`` (the budget),
    ``patience``, ``start`` (what epoch 0 is), ``members`` (fits averaged; the curve is the first one's) and
    ``reason``: ``completed``, ``early_stopped`` or ``cancelled``.

    Uses what the run recorded (``config["training"][method]``) and else infers it: the kept epoch
    from the model (``best_epoch_``) or the lowest validation regret; a run that ended before its
    budget stopped early if its last ``patience`` epochs did not improve, else it was cancelled.
    """
    h = result.methods[method].history
    info = dict((result.config.get("training") or {}).get(method) or {})
    model = result.methods[method].model
    epochs_run = int(info.get("epochs_run", h["epoch"].max() if h is not None and len(h) else 0))
    best = info.get("best_epoch", getattr(model, "best_epoch_", None))
    if best is None and h is not None and len(h):
        vr = h["val_regret"].to_numpy(float)
        best = int(h["epoch"].iloc[int(np.nanargmin(vr))]) if np.isfinite(vr).any() else epochs_run
    epochs = int(info.get("epochs", getattr(model, "epochs", None) or result.config.get("epochs", epochs_run)) or 0)
    patience = info.get("patience", result.config.get("patience", getattr(model, "patience", DEFAULT_PATIENCE)))
    cancelled = info.get("cancelled", getattr(model, "cancelled_", None))
    if epochs_run >= epochs:
        reason = "completed"
    elif cancelled or patience is None or epochs_run - int(best or 0) < int(patience):
        reason = "cancelled"
    else:
        reason = "early_stopped"
    start = EPOCH0_MEANING.get(method, "its starting point")
    return {
        "epochs_run": epochs_run,
        "best_epoch": int(best or 0),
        "epochs": epochs,
        "patience": patience,
        "reason": reason,
        "start": start,
        "members": int(info.get("members", getattr(model, "n_members_", 1)) or 1),
    }


def _stop_note(st: dict) -> str:
    if st["reason"] == "early_stopped":
        return (
            f"stopped early at epoch {st['epochs_run']} of {st['epochs']}: "
            f"no better validation regret for {st['patience']} epochs"
        )
    if st["reason"] == "cancelled":
        return f"cancelled at epoch {st['epochs_run']} of {st['epochs']}"
    return f"ran all {st['epochs']} epochs"


def training_curves(result: ComparisonResult) -> go.Figure:
    """Validation regret per epoch for each trained method, saying what each epoch 0 is, which epoch was
    kept (star) and why training ended (early stop, cancel or the full budget)."""
    unit = result_unit(result)
    fig = go.Figure()
    notes = []
    for name in result_methods(result):
        h = result.methods[name].history
        if h is None or len(h) == 0 or "val_regret" not in h:
            continue
        st = training_status(result, name)
        fig.add_trace(
            go.Scatter(
                x=h["epoch"],
                y=h["val_regret"],
                mode="lines+markers",
                name=f"{label(name)} ({_stop_note(st)}"
                + (f"; first of {st['members']} fits averaged" if st["members"] > 1 else "")
                + ")",
                line={"color": COLORS[name]},
                marker={"size": 5},
                hovertemplate=f"epoch %{{x}}<br>validation regret %{{y:.3f}} {unit}<extra>{label(name)}</extra>",
                meta={"method": name},
            )
        )
        first = h.iloc[0]
        fig.add_trace(
            go.Scatter(
                x=[first["epoch"]],
                y=[first["val_regret"]],
                mode="markers",
                marker={"symbol": "square-open", "size": 13, "color": COLORS[name], "line": {"width": 2}},
                name=f"{label(name, short=True)} epoch 0 = {st['start']}",
                hovertemplate=f"epoch 0: {st['start']}<br>validation regret %{{y:.3f}} {unit}<extra></extra>",
                meta={"of": name, "marker": "start"},
            )
        )
        kept = h[h["epoch"] == st["best_epoch"]]
        if len(kept):
            fig.add_trace(
                go.Scatter(
                    x=kept["epoch"],
                    y=kept["val_regret"],
                    mode="markers",
                    marker={
                        "symbol": "star",
                        "size": 16,
                        "color": COLORS[name],
                        "line": {"color": "#111827", "width": 1},
                    },
                    name=f"{label(name, short=True)} kept epoch {st['best_epoch']}",
                    hovertemplate=f"kept epoch %{{x}} (lowest validation regret)<br>%{{y:.3f}} {unit}<extra></extra>",
                    meta={"of": name, "marker": "kept"},
                )
            )
        if st["reason"] != "completed":
            last = h.iloc[-1]
            fig.add_annotation(
                x=last["epoch"],
                y=last["val_regret"],
                text=st["reason"].replace("_", " "),
                showarrow=True,
                arrowhead=2,
                ax=0,
                ay=-28,
                font={"color": COLORS[name]},
            )
        notes.append(name)
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0})
    return apply_layout(
        fig,
        "Validation regret per epoch (epoch 0 = each method's starting point; ★ = the epoch kept)",
        x="Epoch",
        y=f"Validation regret ({unit})",
        height=440 + 22 * len(notes),
    )


def progress_curve(events: Sequence[ProgressEvent], unit: str = "") -> go.Figure:
    """Live validation regret per training epoch, from the engine's progress events.

    The unit goes in the title and the y axis title stays short, so on a small chart it is neither
    cut off nor drawn over the title.
    """
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
    fig = apply_layout(
        fig,
        f"Validation regret while training ({unit or 'cost units'})",
        x="Epoch",
        y="Regret",
        height=340,
    )
    fig.update_layout(margin={"l": 70, "r": 20, "t": 60, "b": 100})
    fig.update_yaxes(automargin=True, title_standoff=8)
    return fig
