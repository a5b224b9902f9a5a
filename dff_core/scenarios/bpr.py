"""Travel times from counts: the BPR link performance function and the backbone built on it.

Traffic routing needs travel times, but many detectors count vehicles. The Bureau of Public
Roads (BPR) function turns a flow ``v`` (vehicles per hour) on a road of capacity ``c`` into a
travel time ``t = t0 * (1 + alpha * (v / c) ** beta)``, with ``t0`` the free-flow time
(``alpha = 0.15``, ``beta = 4`` by default). Here it works per sensor, in paces (minutes per km,
so ``t0`` becomes the free-flow pace ``60 / free-flow km/h``):

* **count -> flow**: a reading counts the vehicles passing the sensor during one reading
  interval; the flow is ``count * (1 h / interval)`` vehicles per hour;
* **which sensor times which road**: a sensor's flow is the flow on the road stretch it measures,
  and a link's travel time is its length times the mean pace of its two end sensors (as with
  speed readings), so each end sensor's count applies to half the link;
* **capacity** (vehicles per hour) of a sensor's stretch: the mean ``capacity`` of the links it
  ends, else their mean ``lanes`` x ``lane_capacity`` (1,800 per lane), else the 95th percentile
  of the sensor's own flow in the training period (the road is taken to reach capacity at its
  usual peak, so congestion shows where the data are busiest);
* **free-flow speed**: the mean ``free_flow_kmh`` of its links, else ``free_flow_kmh`` (50 km/h).

:class:`CountBackbone` is the backbone of this scenario: any count forecaster (ridge, forest...)
fitted on flows, followed by the BPR map. The map is not linear, and the clipping of negative
flow forecasts makes the composite non-differentiable; DFF does not need gradients of it and
corrects its travel-time predictions within its trust region.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from dff_core.scenarios.features import chronological_split

__all__ = [
    "BPR",
    "CAPACITY_PERCENTILE",
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_FREE_FLOW_KMH",
    "DEFAULT_LANE_CAPACITY",
    "CountBackbone",
    "bpr_paces",
]

DEFAULT_ALPHA = 0.15
DEFAULT_BETA = 4.0
#: Free-flow speed (km/h) of roads whose links give none.
DEFAULT_FREE_FLOW_KMH = 50.0
#: Capacity (vehicles per hour) of one lane, for links that give lanes but no capacity.
DEFAULT_LANE_CAPACITY = 1800.0
#: Without capacity or lanes, a sensor's capacity is this percentile of its training-period flow.
CAPACITY_PERCENTILE = 95


@dataclass
class BPR:
    """Per-sensor BPR map between flow (vehicles per hour) and pace (minutes per km).

    ``pace = free_flow_pace * (1 + alpha * (flow / capacity) ** beta)``; negative flows count as 0.
    Calling it on a backbone returns the :class:`CountBackbone` of that backbone (so a scenario can
    hand it to the comparison as the way to turn a count forecaster into a travel-time one).
    """

    free_flow_pace: np.ndarray
    capacity: np.ndarray
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA
    #: Where each sensor's capacity came from: ``"links"``, ``"lanes"`` or ``"observed peak"``.
    capacity_source: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.free_flow_pace = np.asarray(self.free_flow_pace, dtype=np.float64)
        self.capacity = np.asarray(self.capacity, dtype=np.float64)
        if self.free_flow_pace.shape != self.capacity.shape or self.free_flow_pace.ndim != 1:
            raise ValueError("BPR: free_flow_pace and capacity need one value per sensor.")
        if not (np.all(self.free_flow_pace > 0) and np.all(self.capacity > 0)):
            raise ValueError("BPR: free-flow paces and capacities must be positive.")
        if not (self.alpha > 0 and self.beta > 0):
            raise ValueError(f"BPR: alpha and beta must be positive; got alpha={self.alpha}, beta={self.beta}.")

    def pace(self, flow: np.ndarray) -> np.ndarray:
        """Minutes per km at ``flow`` vehicles per hour (any shape ending in one column per sensor)."""
        ratio = np.maximum(np.asarray(flow, dtype=np.float64), 0.0) / self.capacity
        return self.free_flow_pace * (1.0 + self.alpha * ratio**self.beta)

    def flow(self, pace: np.ndarray) -> np.ndarray:
        """The flow whose pace is ``pace`` (the inverse of :meth:`pace`; paces below free flow give 0)."""
        excess = np.maximum(np.asarray(pace, dtype=np.float64) / self.free_flow_pace - 1.0, 0.0)
        return self.capacity * (excess / self.alpha) ** (1.0 / self.beta)

    def __call__(self, backbone: Any) -> CountBackbone:
        return CountBackbone(base=backbone, bpr=self)


class CountBackbone(RegressorMixin, BaseEstimator):
    """A count forecaster followed by the BPR map: predicts paces from forecast flows.

    ``fit(X, C)`` takes paces ``C`` (the scenario's targets), turns them back into the flows that
    produced them (:meth:`BPR.flow`, exact for paces made by :meth:`BPR.pace`) and fits ``base`` on
    those flows; ``predict`` maps ``base``'s flow forecasts, clipped at 0, through :meth:`BPR.pace`.
    """

    def __init__(self, base: Any = None, bpr: BPR | None = None) -> None:
        self.base = base
        self.bpr = bpr

    def fit(self, X: np.ndarray, C: np.ndarray) -> CountBackbone:
        if self.base is None or self.bpr is None or not hasattr(self.base, "fit"):
            raise ValueError("CountBackbone needs a base forecaster with fit/predict and a BPR map.")
        C = np.asarray(C, dtype=np.float64)
        if C.ndim != 2 or C.shape[1] != len(self.bpr.capacity):
            n = len(self.bpr.capacity)
            raise ValueError(f"CountBackbone: C needs {n} columns (one per sensor); got shape {C.shape}.")
        self.base_ = copy.deepcopy(self.base).fit(X, self.bpr.flow(C))
        self.n_features_in_ = int(np.shape(X)[1])
        return self

    def predict_flow(self, X: np.ndarray) -> np.ndarray:
        """The base forecaster's flows (vehicles per hour), before the BPR map."""
        check_is_fitted(self, "base_")
        return np.asarray(self.base_.predict(X), dtype=np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        flow = self.predict_flow(X)
        if self.bpr is None:  # only after set_params(bpr=None) on a fitted model
            raise ValueError("CountBackbone.predict: bpr is None; set the BPR map the model was fitted with.")
        return self.bpr.pace(flow)


def _per_sensor(links: pd.DataFrame | None, column: str, node_ids: list[str]) -> pd.Series:
    """Mean of a links column over the links each sensor ends (NaN where no link gives it)."""
    if links is None or column not in getattr(links, "columns", []):
        return pd.Series(np.nan, index=node_ids)
    values = pd.to_numeric(links[column], errors="coerce")
    ends = pd.concat(
        [
            pd.DataFrame({"sensor": links["from_id"].astype(str), "v": values}),
            pd.DataFrame({"sensor": links["to_id"].astype(str), "v": values}),
        ]
    )
    ends = ends[np.isfinite(ends["v"].to_numpy(dtype=float)) & (ends["v"] > 0)]
    return ends.groupby("sensor")["v"].mean().reindex(node_ids)


def bpr_paces(
    counts: pd.DataFrame,
    freq: pd.Timedelta,
    links: pd.DataFrame | None,
    split: Sequence[Any],
    *,
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_BETA,
    free_flow_kmh: float = DEFAULT_FREE_FLOW_KMH,
    lane_capacity: float = DEFAULT_LANE_CAPACITY,
) -> tuple[pd.DataFrame, BPR, pd.DataFrame]:
    """Paces (min/km) of each sensor's stretch from its counts, the :class:`BPR` map and a table of its inputs.

    ``counts`` is wide (one column per sensor, counts per reading interval ``freq``). The capacity
    fallback uses the training part of ``split`` only, so no test-period information enters.
    """
    node_ids = [str(c) for c in counts.columns]
    flow = counts.astype(float) * (pd.Timedelta("1h") / pd.Timedelta(freq))
    cap_links = _per_sensor(links, "capacity", node_ids)
    cap_lanes = _per_sensor(links, "lanes", node_ids) * float(lane_capacity)
    train = flow.iloc[chronological_split(flow.index, split)["train"]]
    observed = train.quantile(CAPACITY_PERCENTILE / 100).reindex(node_ids)
    observed = observed.where(observed > 0, flow.max().reindex(node_ids)).clip(lower=1.0)
    capacity = cap_links.fillna(cap_lanes).fillna(observed)
    source = np.where(cap_links.notna(), "links", np.where(cap_lanes.notna(), "lanes", "observed peak"))
    ff_kmh = _per_sensor(links, "free_flow_kmh", node_ids).fillna(float(free_flow_kmh))
    bpr = BPR(60.0 / ff_kmh.to_numpy(), capacity.to_numpy(), float(alpha), float(beta), source.tolist())
    paces = pd.DataFrame(bpr.pace(flow.to_numpy()), index=counts.index, columns=node_ids)
    table = pd.DataFrame(
        {"capacity_vph": capacity, "capacity_from": source, "free_flow_kmh": ff_kmh, "mean_flow_vph": flow.mean()},
        index=pd.Index(node_ids, name="sensor_id"),
    )
    return paces, bpr, table
