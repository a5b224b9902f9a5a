"""Pure figure builders: engine results and display tables in, plotly figures out.

No Streamlit here, so every chart is unit-tested without a browser. Every chart uses the same
method colours (:data:`COLORS`) and readable labels (:mod:`dashboard.services.labels`), puts units
on its axes and shows the sensor id, time and value on hover. By page:
:mod:`~dashboard.figures.results` (Train), :mod:`~dashboard.figures.maps` and
:mod:`~dashboard.figures.roads` (Data, Decisions), :mod:`~dashboard.figures.charts` (the others);
:mod:`~dashboard.figures.style` holds the shared look.
"""

from dashboard.figures.charts import (
    allocation_ranked,
    attribution_bars,
    correction_heatmap,
    decision_changes,
    epsilon_tradeoff,
    pareto_front,
    timeseries,
)
from dashboard.figures.maps import allocation_map, map_view, route_map, scale_bar, sensor_map
from dashboard.figures.results import (
    kpi_table,
    paired_regret_scatter,
    progress_curve,
    regret_distribution,
    training_curves,
    training_status,
)
from dashboard.figures.roads import network_map
from dashboard.figures.style import COLORS, METHODS, ORDER, SHORT_LABELS, label, robust_limits

__all__ = [
    "COLORS",
    "METHODS",
    "ORDER",
    "SHORT_LABELS",
    "allocation_map",
    "allocation_ranked",
    "attribution_bars",
    "correction_heatmap",
    "decision_changes",
    "epsilon_tradeoff",
    "kpi_table",
    "label",
    "map_view",
    "network_map",
    "paired_regret_scatter",
    "pareto_front",
    "progress_curve",
    "regret_distribution",
    "robust_limits",
    "route_map",
    "scale_bar",
    "sensor_map",
    "timeseries",
    "training_curves",
    "training_status",
]
