"""``dff_core.compare`` on scenarios: the chronological split goes in, times/units/config come out."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

import dff_core
from dff_core.metrics import regret
from dff_core.results import ComparisonResult, MethodResult
from dff_core.scenarios import build_allocation_scenario, build_traffic_scenario, compare
from tests.scenarios.conftest import make_grid_dataset

# the package re-exports the function under the module's name, so fetch the module itself
compare_mod = importlib.import_module("dff_core.scenarios.compare")


def _fake_run_comparison(calls: list[dict]):
    """Records its arguments; answers with a mean-of-training predictor for every method."""

    def run(problem, X_tr, C_tr, X_va, C_va, X_te, C_te, **kw):
        calls.append({"X_tr": X_tr, "C_tr": C_tr, "X_va": X_va, "X_te": X_te, "C_te": C_te, **kw})
        C_hat = np.repeat(C_tr.mean(0, keepdims=True), len(C_te), axis=0)
        W_hat = problem.solve(C_hat)
        W_te = problem.solve(C_te)
        r = regret(problem, C_te, C_hat, W_te, W_hat)
        methods = {m: MethodResult(m, C_hat, W_hat, r, 0.0) for m in kw["methods"]}
        metrics = pd.DataFrame({"regret_mean": [r.mean()] * len(methods)}, index=list(methods))
        per = pd.DataFrame(
            [{"instance": i, "time": None, "method": m, "regret": r[i]} for m in methods for i in range(len(r))]
        )
        return ComparisonResult(
            problem, X_te, C_te, W_te, problem.objective(C_te, W_te), C_hat, methods, metrics, per,
            timings={"backbone": 0.1},
        )  # fmt: skip

    return run


def test_compare_passes_the_chronological_split_and_labels_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict] = []
    real = compare_mod._engine
    monkeypatch.setattr(
        compare_mod, "_engine", lambda name: _fake_run_comparison(calls) if name == "run_comparison" else real(name)
    )
    sc = build_traffic_scenario(make_grid_dataset(days=2), n_pairs=2)
    res = compare(sc, backbone="ridge", epsilon=0.3, methods=("two_stage", "dff"), epochs=3, seed=7, batch_size=16)
    (call,) = calls
    np.testing.assert_array_equal(call["X_tr"], sc.X[sc.split["train"]])
    np.testing.assert_array_equal(call["X_te"], sc.X[sc.split["test"]])
    assert call["epsilon"] == 0.3 and call["epochs"] == 3 and call["seed"] == 7 and call["batch_size"] == 16
    assert list(call["times_test"]) == list(sc.times[sc.split["test"]])
    assert call["feature_names"] == sc.feature_names and call["output_names"] == sc.output_names
    assert res.unit == "vehicle-minutes"
    assert list(res.times) == list(sc.times[sc.split["test"]])
    assert res.config["scenario"] == "traffic" and res.config["epsilon"] == 0.3
    assert res.config["data_digest"] == sc.data_digest and res.config["pairs"] == sc.options["pairs"]
    assert res.extra["pairs"] == sc.extra["pairs"] and "links" in res.extra
    assert res.n_train == len(sc.split["train"]) and res.n_val == len(sc.split["val"])
    assert "features" in res.timings and "backbone" in res.timings
    assert pd.Timestamp(res.per_instance["time"].iloc[0]) == sc.times[sc.split["test"][0]]


def test_historical_profile_key_is_hour_of_week_when_seen_else_hour_of_day() -> None:
    # 3 days: the test day's hours of week never occur in training, so the profile is by hour of day
    sc = build_traffic_scenario(make_grid_dataset(days=3), n_pairs=1)
    bb = compare_mod.resolve_backbone("historical_profile", sc)
    assert bb.key_column == sc.feature_names.index("slot_of_day")
    # 17 days (the first only feeds the lag-1d features), 14 days of training: every test hour of week was seen
    sc = build_traffic_scenario(
        make_grid_dataset(days=17, freq="1h"), n_pairs=1, horizon="1h", split=("14D", "0D", None)
    )
    bb = compare_mod.resolve_backbone("historical_profile", sc)
    assert bb.key_column == sc.feature_names.index("slot_of_week")
    items = pd.DataFrame([{"period": p, "item_id": i, "value": float(p)} for p in range(12) for i in ("a", "b")])
    with pytest.raises(ValueError, match="time-of-week"):
        compare_mod.resolve_backbone("historical_profile", build_allocation_scenario(items=items))


def test_compare_is_exported() -> None:
    assert dff_core.compare is compare


@pytest.mark.slow
def test_compare_tiny_traffic_end_to_end() -> None:
    sc = build_traffic_scenario(make_grid_dataset(3, 3, days=3), n_pairs=3)
    res = compare(sc, epochs=2, epsilon=0.2)
    assert set(res.methods) == {"two_stage", "dff", "dfl"}
    assert res.n_test == len(sc.split["test"])
    for m in res.methods.values():
        assert (m.regret >= -1e-9).all()
    dff = res.methods["dff"]
    ratio = dff.C_pred / res.C_hat
    assert ratio.min() >= 0.8 - 1e-9 and ratio.max() <= 1.2 + 1e-9  # trust region per sensor


@pytest.mark.slow
def test_compare_tiny_allocation_end_to_end() -> None:
    sc = build_allocation_scenario(make_grid_dataset(3, 3, days=3), budget=2)
    res = compare(sc, epochs=2, methods=("two_stage", "dff"))
    assert res.unit == "minutes of delay per vehicle"
    assert (res.methods["dff"].regret >= -1e-9).all()
