"""The look shared by every figure: method colours and labels, map colours, the base layout.

Every chart uses the same method colours (:data:`COLORS`) and labels and puts units on its axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.services.labels import method_label
from dff_core.results import METHODS, ComparisonResult

#: One colour per method, used on every chart (plain grey, DFF blue, DFL amber, hindsight black).
COLORS: dict[str, str] = {
    "two_stage": "#64748B",
    "dff": "#1D4ED8",
    "dfl": "#D97706",
    "hindsight": "#111827",
    "dfl_backbone": "#B45309",
    "dfl_scratch": "#92400E",
    "dff_unbounded": "#7C3AED",
}
#: Display order of methods (hindsight last).
ORDER: tuple[str, ...] = (*METHODS, "hindsight")
SENSOR_COLOR = "#0F766E"
#: Colours for individual sensors: none of them is a method colour.
SENSOR_PALETTE = ("#0F766E", "#7C3AED", "#DB2777", "#65A30D", "#0891B2", "#9F1239", "#A16207", "#4338CA")
SELECTED_COLOR = "#DB2777"
LINK_COLOR = "#CBD5E1"
CONTEXT_FILL = "rgba(148, 163, 184, 0.12)"
#: Diverging scale for correction factors, centred on 1 (blue = cheaper, red = costlier).
DIVERGING = "RdBu_r"

BASE_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 50, "b": 110},
    # Legends sit under the plot so they never collide with the title.
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
    "hoverlabel": {"namelength": -1},
}


#: Short labels for tight spaces (KPI tiles).
SHORT_LABELS = {m: method_label(m, short=True) for m in ORDER}
#: Robust colour limits: the 2nd and 98th percentiles, so one outlier does not flatten the scale.
ROBUST_PERCENTILES = (2.0, 98.0)


def label(method: str, short: bool = False) -> str:
    """Readable name of a method key (see :mod:`dashboard.services.labels`)."""
    return method_label(method, short=short)


def robust_limits(values, lo: float = ROBUST_PERCENTILES[0], hi: float = ROBUST_PERCENTILES[1]) -> tuple[float, float]:
    """Colour limits from percentiles of the finite ``values`` (a tiny span around a constant)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    a, b = (float(x) for x in np.percentile(v, [lo, hi]))
    if b - a < 1e-12:
        pad = max(abs(a) * 0.05, 1e-6)
        a, b = a - pad, b + pad
    return a, b


def result_unit(result: ComparisonResult) -> str:
    """The result's unit of cost and regret (``cost units`` when it has none)."""
    return result.unit or "cost units"


def result_methods(result: ComparisonResult) -> list[str]:
    """The result's methods in display order."""
    return [m for m in METHODS if m in result.methods]


def result_times(result: ComparisonResult) -> list[str]:
    """Test times as labels (``instance k`` when the result has no times)."""
    if result.times is not None and len(result.times) == result.n_test:
        return [pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") for t in result.times]
    return [f"instance {i}" for i in range(result.n_test)]


def apply_layout(fig: go.Figure, title: str, x: str | None = None, y: str | None = None, **kw) -> go.Figure:
    """The base layout with a title and axis titles."""
    fig.update_layout(title={"text": title}, **BASE_LAYOUT, **kw)
    if x is not None:
        fig.update_layout(xaxis_title_text=x)
    if y is not None:
        fig.update_layout(yaxis_title_text=y)
    return fig
