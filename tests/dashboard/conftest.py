"""Fixtures of the dashboard tests: hand-made ComparisonResult objects (test data, not engine output) for the
figure tests, and fresh caches for the tests that run the app."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import streamlit as st

from dff_core.problems import Allocation, LinearMapped, ShortestPath
from dff_core.results import ComparisonResult, MethodResult
from tests.dashboard.saved_runs import allocation_run, traffic_run  # noqa: F401  (saved sample runs for page tests)


def _result(problem, C_test: np.ndarray, preds: dict[str, np.ndarray], unit: str, eps: float) -> ComparisonResult:
    n = C_test.shape[0]
    W_test = problem.solve(C_test)
    z_test = problem.objective(C_test, W_test)
    sign = 1.0 if problem.sense == "min" else -1.0
    methods, rows, per = {}, [], []
    times = pd.date_range("2026-03-02 06:00", periods=n, freq="1h")
    for name, C in preds.items():
        W = problem.solve(C)
        reg = sign * (problem.objective(C_test, W) - z_test)
        hist = pd.DataFrame({"epoch": [0, 1, 2], "train_loss": [1.0, 0.8, 0.7], "val_regret": [0.5, 0.4, 0.35]})
        methods[name] = MethodResult(
            name=name,
            C_pred=C,
            W=W,
            regret=reg,
            seconds=0.1,
            history=None if name == "two_stage" else hist,
            factors=C / preds["two_stage"] if name == "dff" else None,
        )
        rows.append(
            {
                "method": name,
                "regret_mean": reg.mean(),
                "regret_median": np.median(reg),
                "normalized_regret": reg.sum() / np.abs(z_test).sum(),
                "mean_relative_shift": 0.05 if name == "dff" else 0.0,
                "max_relative_shift": eps if name == "dff" else 0.0,
                "min_cosine": 0.99 if name == "dff" else 1.0,
                "seconds": 0.1,
            }
        )
        for i in range(n):
            per.append({"instance": i, "time": times[i], "method": name, "regret": reg[i]})
    metrics = pd.DataFrame(rows).set_index("method")
    return ComparisonResult(
        problem=problem,
        X_test=np.zeros((n, 2)),
        C_test=C_test,
        W_test=W_test,
        z_test=z_test,
        C_hat=preds["two_stage"],
        methods=methods,
        metrics=metrics,
        per_instance=pd.DataFrame(per),
        times=times,
        feature_names=["hour", "lag1"],
        output_names=[f"S{j}" for j in range(C_test.shape[1])],
        config={"scenario": "test", "epsilon": eps},
        unit=unit,
    )


@pytest.fixture
def traffic_result() -> ComparisonResult:
    """Routing on a 3x3 grid (12 arcs) with one 'sensor' per arc (identity map), 8 test hours."""
    rng = np.random.default_rng(0)
    grid = ShortestPath.grid(3, 3)
    problem = LinearMapped(grid, np.eye(grid.d))
    C = rng.uniform(1, 3, size=(8, grid.d))
    plain = C * rng.uniform(0.7, 1.3, size=C.shape)
    dff = plain * rng.uniform(0.85, 1.15, size=C.shape)
    dfl = C * rng.uniform(0.8, 1.2, size=C.shape)
    return _result(problem, C, {"two_stage": plain, "dff": dff, "dfl": dfl}, "min", 0.15)


@pytest.fixture
def allocation_result() -> ComparisonResult:
    rng = np.random.default_rng(1)
    problem = Allocation(capacity=np.ones(5), budget=2)
    C = rng.uniform(0, 10, size=(6, 5))
    plain = C + rng.normal(0, 2, size=C.shape)
    dff = plain * rng.uniform(0.8, 1.2, size=C.shape)
    return _result(problem, C, {"two_stage": plain, "dff": dff}, "calls", 0.2)


@pytest.fixture
def fresh_caches(tmp_path, monkeypatch):
    """Empty Streamlit caches and a private result store (for tests that run the app)."""
    monkeypatch.setenv("DFF_CACHE_DIR", str(tmp_path / "store"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
