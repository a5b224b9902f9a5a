"""Result objects shared by the estimator, the scenarios, the CLI and the dashboard.

Plain dataclasses of numpy arrays and DataFrames: the figure builders and exporters read
them directly, and :meth:`ComparisonResult.summary` gives the JSON written by the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dff_core.problems.base import OptProblem

#: Canonical method keys, in display order.
METHODS = ("two_stage", "dff", "dfl")
#: Human labels used by every report and chart.
METHOD_LABELS = {"two_stage": "Plain (two-stage)", "dff": "DFF", "dfl": "End-to-end DFL", "hindsight": "Hindsight"}


@dataclass
class MethodResult:
    """One method's test-set outcome.

    ``C_pred``/``W``/``regret`` are aligned with the comparison's test instances.
    ``factors`` holds DFF's correction factors φ (same shape as ``C_pred``), else ``None``.
    ``history`` has one row per epoch (``epoch``, ``train_loss``, ``val_regret``; epoch 0 is
    the starting point) for trained methods.
    """

    name: str
    C_pred: np.ndarray
    W: np.ndarray
    regret: np.ndarray
    seconds: float
    history: pd.DataFrame | None = None
    factors: np.ndarray | None = None
    model: Any = None


@dataclass
class ComparisonResult:
    """Two-stage vs DFF vs end-to-end DFL on one chronological split.

    Attributes
    ----------
    problem: the decision problem used for every method.
    X_test, C_test: test features and true costs; ``W_test``/``z_test`` the hindsight decisions
        and objective values.
    C_hat: the backbone's test predictions (what DFF corrects).
    methods: per-method results keyed by :data:`METHODS` names.
    metrics: one row per method (index = method key) with ``regret_mean``, ``regret_median``,
        ``normalized_regret``, ``mse``, ``mae``, ``mape``, ``mean_relative_shift``,
        ``max_relative_shift``, ``min_cosine``, ``seconds``; shift and cosine are measured
        against the backbone prediction ``C_hat``.
    per_instance: long table, one row per (test instance, method): ``instance``, ``time``,
        ``method``, ``regret``, ``objective``, ``optimal_objective``.
    times: decision time of each test instance (or ``None``).
    feature_names / output_names: labels of the columns of ``X_test`` / ``C_test``.
    config: the options that produced this result (JSON-able).
    timings: seconds per stage (``data``, ``features``, ``backbone``, ``dff``, ``dfl``, ...).
    n_train / n_val: instance counts of the other splits.
    extra: scenario-specific payload (e.g. link geometry, OD pairs, units) for displays.
    """

    problem: OptProblem
    X_test: np.ndarray
    C_test: np.ndarray
    W_test: np.ndarray
    z_test: np.ndarray
    C_hat: np.ndarray
    methods: dict[str, MethodResult]
    metrics: pd.DataFrame
    per_instance: pd.DataFrame
    times: pd.DatetimeIndex | None = None
    feature_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    n_train: int = 0
    n_val: int = 0
    unit: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_test(self) -> int:
        return int(self.C_test.shape[0])

    def summary(self) -> dict[str, Any]:
        """JSON-able summary: scenario, epsilon, sizes, seconds, per-method metrics."""

        def clean(v: Any) -> Any:
            if isinstance(v, (np.floating, float)):
                return None if not np.isfinite(v) else float(v)
            if isinstance(v, np.integer):
                return int(v)
            return v

        methods = {
            name: {k: clean(v) for k, v in row.items()} for name, row in self.metrics.to_dict(orient="index").items()
        }
        return {
            "scenario": self.config.get("scenario"),
            "epsilon": self.config.get("epsilon"),
            "n_train": int(self.n_train),
            "n_val": int(self.n_val),
            "n_test": self.n_test,
            "unit": self.unit,
            "seconds": float(sum(self.timings.values())),
            "timings": {k: float(v) for k, v in self.timings.items()},
            "config": self.config,
            "methods": methods,
        }
