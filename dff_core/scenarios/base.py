"""A ready-to-compare scenario: a decision problem with chronologically split instances."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dff_core.problems.base import OptProblem


@dataclass
class Scenario:
    """Everything :func:`dff_core.compare` needs, built from data files.

    Attributes
    ----------
    kind: ``"traffic"`` or ``"allocation"``.
    problem: the decision problem; its ``d`` equals ``C.shape[1]``.
    X, C: features (n, p) shared by all outputs, and true costs/values (n, d).
    times: decision time of each instance (increasing).
    feature_names, output_names: labels of the columns of ``X`` and ``C``.
    split: ``{"train", "val", "test"}`` -> index arrays into the instances, in time order.
    unit: unit of the objective and of regret (e.g. ``"vehicle-minutes"``).
    extra: what displays need (sensors GeoDataFrame, links, OD pairs, node ids, groups...).
    data_digest: digest of the input data, so results can be traced to their data.
    options: the builder's arguments (JSON-able), copied into results' ``config``.
    key_column: index in ``X`` of the ``slot_of_week`` column (historical-profile key), if any.
    timings: seconds spent building (``features``), added to results' timings.
    spec: the :class:`~dff_core.scenarios.spec.ScenarioSpec` it was built from (JSON form, file paths
        absolute), so a stored result can rebuild its scenario; ``None`` when built by hand.
    wrap_backbone: turns a backbone (an object with ``fit``/``predict``) into the one the comparison
        uses on this scenario, when the scenario predicts a quantity derived from what is observed
        (traffic routing from counts: a count forecaster followed by the BPR map, see
        :class:`~dff_core.scenarios.bpr.CountBackbone`); ``None`` uses backbones as they are.
    """

    kind: str
    problem: OptProblem
    X: np.ndarray
    C: np.ndarray
    times: pd.Index
    feature_names: list[str]
    output_names: list[str]
    split: dict[str, np.ndarray]
    unit: str
    extra: dict[str, Any] = field(default_factory=dict)
    data_digest: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    key_column: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    spec: dict[str, Any] | None = None
    wrap_backbone: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float64)
        self.C = np.asarray(self.C, dtype=np.float64)
        n = len(self.X)
        if self.C.shape[0] != n or len(self.times) != n:
            raise ValueError(
                f"Scenario: X ({self.X.shape}), C ({self.C.shape}) and times ({len(self.times)}) "
                "must have one row per instance."
            )
        if self.C.shape[1] != self.problem.d:
            raise ValueError(f"Scenario: C has {self.C.shape[1]} columns but the problem expects {self.problem.d}.")
        for name in ("train", "val", "test"):
            idx = np.asarray(self.split.get(name, np.array([], dtype=int)), dtype=np.int64)
            if len(idx) and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(f"Scenario: split {name!r} has indices outside 0..{n - 1}.")
            self.split[name] = idx

    @property
    def n(self) -> int:
        return len(self.X)

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray, pd.Index]:
        """``(X, C, times)`` of one split part (``"train"``, ``"val"`` or ``"test"``)."""
        idx = self.split[name]
        return self.X[idx], self.C[idx], self.times[idx]

    def describe(self) -> str:
        """A few lines a user can read: what is decided, on how much data, in which unit."""
        lines = [f"{self.kind} scenario: {type(self.problem).__name__} with {self.problem.d} predicted values"]
        if self.kind == "traffic":
            pairs = self.extra.get("pairs", [])
            road = self.extra.get("network")
            if road:
                lines.append(
                    f"  road network {road['name']}: {road['nodes']:,} nodes, {road['links']:,} links, "
                    f"{road['zones']:,} zones never passed through; {len(self.extra.get('sensor_ids', []))} sensors "
                    f"on its links; {len(pairs)} origin-destination pairs"
                )
            else:
                lines.append(
                    f"  network: {len(self.extra.get('node_ids', []))} sensors, {len(self.extra.get('links', []))} "
                    f"links, {len(pairs)} origin-destination pairs"
                )
            if pairs:
                lines.append(
                    "  trips: " + ", ".join(f"{a} -> {b}" for a, b in pairs[:8]) + (" ..." if len(pairs) > 8 else "")
                )
        elif self.kind == "allocation":
            lines.append(f"  budget: {self.extra.get('budget')} units over {self.problem.d} items")
        lines.append(f"  features: {self.X.shape[1]} columns; unit of regret: {self.unit}")
        if self.extra.get("timing"):
            lines.append(f"  {self.extra['timing']}")
        for note in self.extra.get("assumptions", []):
            lines.append(f"  assumption: {note}")
        for name in ("train", "val", "test"):
            idx = self.split[name]
            if len(idx):
                lines.append(f"  {name}: {len(idx)} instances, {self.times[idx[0]]} .. {self.times[idx[-1]]}")
            else:
                lines.append(f"  {name}: 0 instances")
        if self.options.get("horizon") and not self.extra.get("timing"):
            lines.append(f"  horizon: {self.options['horizon']}")
        if self.data_digest:
            lines.append(f"  data digest: {self.data_digest[:16]}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.split.items())
        return f"Scenario(kind={self.kind!r}, d={self.problem.d}, p={self.X.shape[1]}, {sizes}, unit={self.unit!r})"
