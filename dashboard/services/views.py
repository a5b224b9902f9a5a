"""What the Decisions, Interpretability and Export pages draw, prepared from a comparison result.

The engine's decisions at one test instance (:func:`route_decisions`, :func:`allocation_decisions`
from :mod:`dff_core.decisions`) and thin adapters over its explanations that shape their output
for the figures (labels, pivots, one row per test time). Imports the explanation engine (torch):
only the pages that show a result import this module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.services import cache
from dashboard.services.data import sensors_frame
from dff_core.decisions import allocation_decisions, route_decisions
from dff_core.explain import correction_summary
from dff_core.explain import decision_differences as engine_decision_differences
from dff_core.explain import feature_attribution as engine_feature_attribution
from dff_core.results import ComparisonResult

__all__ = [
    "allocation_decisions",
    "corrections_by_hour",
    "decision_differences",
    "feature_attribution",
    "most_changed_instance",
    "result_sensors",
    "route_decisions",
    "row_label",
    "time_labels",
]


# ------------------------------------------------------------------------------ decisions
def result_sensors(result: ComparisonResult) -> pd.DataFrame | None:
    """``sensor_id, name, lat, lon`` of the sensors a result's scenario decided over, if it has them.

    A run opened from a folder may be on other data than the dashboard's, so its own sensors place
    the routes' origins and destinations on the map.
    """
    g = result.extra.get("sensors")
    return None if g is None or not len(g) else sensors_frame(g)


def time_labels(result: ComparisonResult) -> list[str]:
    """Test times as labels (``instance k`` when the result has no times)."""
    if result.times is not None and len(result.times) == result.n_test:
        return [pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") for t in result.times]
    return [f"instance {k}" for k in range(result.n_test)]


def most_changed_instance(result: ComparisonResult) -> int:
    """Test instance where DFF's (else DFL's) regret differs most from plain's; 0 when none differs."""
    other = "dff" if "dff" in result.methods else ("dfl" if "dfl" in result.methods else None)
    if other is None or "two_stage" not in result.methods:
        return 0
    gap = np.abs(np.asarray(result.methods["two_stage"].regret) - np.asarray(result.methods[other].regret))
    return int(np.argmax(gap)) if gap.size and gap.max() > 0 else 0


# ------------------------------------------------------------------------------ interpretability
def corrections_by_hour(result: ComparisonResult) -> pd.DataFrame | None:
    """Mean DFF factor φ per predicted value (rows, problem order) and hour of day (columns).

    ``None`` when the run has no DFF factors.
    """
    m = result.methods.get("dff")
    if m is None or m.factors is None:
        return None
    by = ("output", "hour") if result.times is not None else "output"
    table = correction_summary(result, by=by)
    if by == "output":
        table = table.assign(hour="all")
    wide = table.pivot(index="output", columns="hour", values="mean")
    order = [str(o) for o in result.output_names] or list(wide.index)
    wide.index = wide.index.astype(str)
    return wide.reindex([o for o in order if o in wide.index])


def decision_differences(result: ComparisonResult) -> pd.DataFrame | None:
    """Test instances where DFF decided differently from plain: ``instance, time, n_changed, saved``."""
    if "dff" not in result.methods or "two_stage" not in result.methods:
        return None
    d = engine_decision_differences(result, level="instance")
    d = d[d["n_changed"] > 0].rename(columns={"regret_saved": "saved"})
    labels = time_labels(result)
    return d.assign(time=[labels[int(k)] for k in d["instance"]]).reset_index(drop=True)


def row_label(result: ComparisonResult) -> str:
    """What one predicted value is: a sensor (readings-based scenarios) or an item (allocation table)."""
    from_items = result.config.get("source") == "items" or result.extra.get("sensors") is None
    return "Item" if result.config.get("scenario") == "allocation" and from_items else "Sensor"


def _attribution(result: ComparisonResult, n_max: int) -> pd.DataFrame | None:
    model = result.methods["dff"].model
    idx = np.linspace(0, result.n_test - 1, min(n_max, result.n_test)).astype(int)
    names = list(result.feature_names) or None
    return engine_feature_attribution(model, result.X_test[idx], result.C_hat[idx], feature_names=names, steps=16)


def feature_attribution(result: ComparisonResult, run: str, n_max: int = 64) -> pd.DataFrame | None:
    """``feature, value, signed``: integrated-gradients importance of each input for DFF's correction
    (on up to ``n_max`` evenly spread test instances), or ``None`` when the run has no DFF model.

    Cached by ``run`` (the run's digest): one run, one attribution.
    """
    m = result.methods.get("dff")
    if m is None or m.model is None or not hasattr(m.model, "module_"):
        return None
    out = cache.attribution(run, n_max, lambda: _attribution(result, n_max))
    return out.rename(columns={"importance": "value"})[["feature", "value", "signed"]]
