"""The comparison: ``run_comparison`` on arrays, ``compare`` on scenarios, budgets, verdicts and backtests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dff_core
import dff_core.scenarios
from dff_core import comparison
from dff_core.backbones import LinearBackbone
from dff_core.backtest import BacktestResult
from dff_core.comparison import PRESETS, Budget, available_methods, compare, load_run, run_comparison
from dff_core.data.synthetic import shortest_path_data
from dff_core.errors import DataError
from dff_core.metrics import regret
from dff_core.progress import ProgressEvent
from dff_core.results import ComparisonResult, MethodResult
from dff_core.scenarios import build_allocation_scenario, build_traffic_scenario
from dff_core.scenarios.spec import ScenarioSpec, build
from tests.scenarios.conftest import make_grid_dataset

METRIC_COLUMNS = [
    "regret_mean",
    "regret_median",
    "normalized_regret",
    "mse",
    "mae",
    "mape",
    "mean_relative_shift",
    "max_relative_shift",
    "min_cosine",
    "seconds",
]


def _split(n: int = 120, seed: int = 0, deg: int = 4):
    data = shortest_path_data(n, 4, grid=(3, 3), deg=deg, noise_width=0.25, seed=seed)
    problem, X, C = data.problem, data.X, data.C
    a, b = int(0.5 * n), int(0.7 * n)
    return problem, X[:a], C[:a], X[a:b], C[a:b], X[b:], C[b:]


def test_run_comparison_fills_every_field() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    events: list[ProgressEvent] = []
    times = pd.date_range("2024-01-01", periods=len(Xte), freq="h")
    res = run_comparison(
        problem,
        Xtr,
        Ctr,
        Xv,
        Cv,
        Xte,
        Cte,
        backbone="linear",
        epsilon=0.3,
        epochs=4,
        lr=1e-2,
        on_progress=events.append,
        times_test=times,
        feature_names=["a", "b", "c", "d"],
        config={"scenario": "unit"},
    )
    assert isinstance(res, ComparisonResult)
    assert list(res.metrics.columns) == METRIC_COLUMNS
    assert res.metrics.index.tolist() == ["two_stage", "dff", "dfl"]
    n = len(Xte)
    assert res.per_instance.shape[0] == 3 * n
    assert set(res.per_instance.columns) == {"instance", "time", "method", "regret", "objective", "optimal_objective"}
    assert (res.per_instance["time"].iloc[:n].to_numpy() == times.to_numpy()).all()
    # Metrics agree with an independent computation.
    for name, mr in res.methods.items():
        np.testing.assert_allclose(mr.regret, regret(problem, Cte, mr.C_pred))
        assert res.metrics.loc[name, "regret_mean"] == pytest.approx(mr.regret.mean())
    two = res.methods["two_stage"]
    np.testing.assert_allclose(two.C_pred, LinearBackbone().fit(Xtr, Ctr).predict(Xte))
    assert res.metrics.loc["two_stage", "max_relative_shift"] == 0.0
    dff = res.methods["dff"]
    assert dff.factors.shape == Cte.shape and dff.history is not None and res.methods["dfl"].history is not None
    np.testing.assert_allclose(dff.C_pred, dff.factors * res.C_hat)
    assert res.metrics.loc["dff", "max_relative_shift"] <= 0.3 + 1e-9
    assert res.metrics.loc["dff", "min_cosine"] >= np.sqrt(1 - 0.3**2) - 1e-9
    assert {"backbone", "dff", "dfl", "evaluate"} <= set(res.timings)
    assert res.n_train == len(Xtr) and res.n_val == len(Xv) and res.config["scenario"] == "unit"
    assert res.feature_names == ["a", "b", "c", "d"] and len(res.output_names) == problem.d
    stages = [e.label for e in events]
    assert stages[0] == "backbone" and stages[-1] == "evaluate" and {"dff", "dfl"} <= set(stages)
    dff_events = [e for e in events if e.method == "dff"]
    assert [e.epoch for e in dff_events] == dff.history["epoch"].tolist()
    assert all(e.stage == "train" and e.epochs == 4 and "val_regret" in e.metrics for e in dff_events)
    assert res.summary()["methods"]["dff"]["regret_mean"] == pytest.approx(res.metrics.loc["dff", "regret_mean"])


def test_run_comparison_backbone_object_subset_and_cross_fit() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    res = run_comparison(
        problem,
        Xtr,
        Ctr,
        Xv,
        Cv,
        Xte,
        Cte,
        backbone=LinearBackbone(alpha=1.0),
        methods=("two_stage", "dff"),
        cross_fit=True,
        epochs=2,
    )
    assert res.metrics.index.tolist() == ["two_stage", "dff"] and "dfl" not in res.methods
    assert res.config["backbone"] == "LinearBackbone" and res.times is None
    assert res.per_instance["time"].isna().all()


def test_run_comparison_cancel_and_bad_input() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    res = run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, epochs=50, should_stop=lambda: True)
    assert res.methods["dff"].model.cancelled_ and res.methods["dff"].history["epoch"].tolist() == [0]
    # Cancelled at epoch 0, DFF is exactly the backbone.
    np.testing.assert_allclose(res.methods["dff"].C_pred, res.C_hat)
    with pytest.raises(ValueError, match="unknown method"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, methods=("dff", "oracle"))
    with pytest.raises(DataError, match="'X_test' must have 4 columns"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte[:, :2], Cte)
    with pytest.raises(ValueError, match="epsilon"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, epsilon=0)
    with pytest.raises(ValueError, match="valid names"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, backbone="oracle")


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
    monkeypatch.setattr(comparison, "run_comparison", _fake_run_comparison(calls))
    sc = build_traffic_scenario(make_grid_dataset(days=2), n_pairs=2)
    res = compare(sc, backbone="ridge", epsilon=0.3, methods=("two_stage", "dff"), epochs=3, seed=7, batch_size=16)
    (call,) = calls
    np.testing.assert_array_equal(call["X_tr"], sc.X[sc.split["train"]])
    np.testing.assert_array_equal(call["X_te"], sc.X[sc.split["test"]])
    assert call["epsilon"] == 0.3 and call["seed"] == 7 and call["preset"] == "fast"
    # The fast preset's budget, with the given epochs and batch size.
    assert call["training_budget"] == Budget(epochs=3, lr=1e-3, patience=10, batch_size=16, members=1)
    assert list(call["times_test"]) == list(sc.times[sc.split["test"]])
    assert call["feature_names"] == sc.feature_names and call["output_names"] == sc.output_names
    assert res.unit == "vehicle-minutes"
    assert list(res.times) == list(sc.times[sc.split["test"]])
    assert res.config["scenario"] == "traffic" and res.config["epsilon"] == 0.3
    assert res.config["data_digest"] == sc.data_digest and res.config["pairs"] == sc.options["pairs"]
    assert res.extra["pairs"] == sc.extra["pairs"] and "links" in res.extra
    assert res.n_train == len(sc.split["train"]) and res.n_val == len(sc.split["val"])
    assert res.description == sc.describe() and res.summary()["scenario_description"] == sc.describe()
    assert "features" in res.timings and "backbone" in res.timings
    assert pd.Timestamp(res.per_instance["time"].iloc[0]) == sc.times[sc.split["test"][0]]


def test_historical_profile_key_is_hour_of_week_when_seen_else_hour_of_day() -> None:
    # 3 days: the test day's hours of week never occur in training, so the profile is by hour of day
    sc = build_traffic_scenario(make_grid_dataset(days=3), n_pairs=1)
    bb = comparison.scenario_backbone("historical_profile", sc)
    assert bb.key_column == sc.feature_names.index("slot_of_day")
    # 17 days (the first only feeds the lag-1d features), 14 days of training: every test hour of week was seen
    sc = build_traffic_scenario(
        make_grid_dataset(days=17, freq="1h"), n_pairs=1, horizon="1h", split=("14D", "0D", None)
    )
    bb = comparison.scenario_backbone("historical_profile", sc)
    assert bb.key_column == sc.feature_names.index("slot_of_week")
    items = pd.DataFrame([{"period": p, "item_id": i, "value": float(p)} for p in range(12) for i in ("a", "b")])
    with pytest.raises(ValueError, match="time-of-week"):
        comparison.scenario_backbone("historical_profile", build_allocation_scenario(items=items, budget=1))


def test_compare_is_exported_by_the_package_only() -> None:
    assert dff_core.compare is compare and dff_core.run_comparison is run_comparison
    assert not hasattr(dff_core.scenarios, "compare")


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
    # The scenario's budget (units to allocate) and the training budget live side by side.
    assert res.config["budget"] == 2 and res.summary()["training_budget"]["epochs"] == 2
    assert (res.methods["dff"].regret >= -1e-9).all()


def test_a_saved_run_rebuilds_its_scenario_from_the_stored_spec(tmp_path) -> None:
    rows = [
        {"period": f"2024-01-0{1 + h // 24} {h % 24:02d}:00", "item_id": z, "value": (h % 5) + i, "rain": (h + i) % 3}
        for h in range(48)
        for i, z in enumerate(("a", "b", "c"))
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "items.csv", index=False)
    scenario = build(ScenarioSpec(kind="allocation", items=str(tmp_path / "items.csv"), budget=1))
    res = compare(scenario, epochs=1, methods=("two_stage", "dff"))
    assert res.config["scenario_spec"] == scenario.spec
    back = load_run(res.save(tmp_path / "run"))
    assert back.problem.d == scenario.problem.d and back.extra.keys() == scenario.extra.keys()
    np.testing.assert_array_equal(back.methods["dff"].model.predict(res.X_test, res.C_hat), res.methods["dff"].C_pred)
    pd.testing.assert_frame_equal(back.metrics, res.metrics, check_exact=True)
    hand_made = build_allocation_scenario(items=pd.DataFrame(rows), budget=1)
    compare(hand_made, epochs=1, methods=("two_stage",)).save(tmp_path / "by_hand")
    with pytest.raises(DataError, match="no scenario specification"):
        load_run(tmp_path / "by_hand")


def test_load_run_refuses_a_scenario_whose_data_changed_since_the_run(tmp_path) -> None:
    rows = [
        {"period": f"2024-01-0{1 + h // 24} {h % 24:02d}:00", "item_id": z, "value": (h % 5) + i, "rain": (h + i) % 3}
        for h in range(48)
        for i, z in enumerate(("a", "b", "c"))
    ]
    items = tmp_path / "items.csv"
    pd.DataFrame(rows).to_csv(items, index=False)
    scenario = build(ScenarioSpec(kind="allocation", items=str(items), budget=1))
    folder = compare(scenario, epochs=1, methods=("two_stage",)).save(tmp_path / "run")
    assert load_run(folder).config["data_digest"] == scenario.data_digest  # unchanged data load as before
    rows[0]["value"] += 1  # one reading edited after the run
    pd.DataFrame(rows).to_csv(items, index=False)
    with pytest.raises(DataError, match="the input files changed") as err:
        load_run(folder)
    assert str(folder) in str(err.value) and scenario.data_digest in str(err.value)


ALL = ("two_stage", "dff", "dfl", "dfl_backbone", "dfl_scratch", "dff_unbounded")


def test_every_arm_gets_the_same_budget_and_the_result_states_it() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    events: list[ProgressEvent] = []
    res = run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, backbone="linear", methods=ALL, epochs=3, lr=1e-2,
                         epsilon=0.3, on_progress=events.append)  # fmt: skip
    assert res.metrics.index.tolist() == list(ALL)
    budget = res.summary()["training_budget"]
    assert budget == {"epochs": 3, "lr": 0.01, "lr_grid": [0.01], "patience": 10, "batch_size": 32, "members": 1,
                      "rule": budget["rule"], "methods": list(ALL[1:])}  # fmt: skip
    for name in ALL[1:]:
        model = res.methods[name].model
        assert (model.epochs, model.lr, model.patience, model.batch_size) == (3, 1e-2, 10, 32), name
        assert res.summary()["training"][name]["lr"] == 1e-2
        # Progress events carry the arm's own key.
        assert [e.epoch for e in events if e.method == name] == model.history_["epoch"].tolist()
    # dfl_backbone starts at the backbone itself: its epoch-0 validation regret is the backbone's.
    bb = LinearBackbone().fit(Xtr, Ctr)
    h = res.methods["dfl_backbone"].history
    assert h["val_regret"].iloc[0] == pytest.approx(regret(problem, Cv, bb.predict(Xv)).mean())
    # The unbounded ablation may leave the trust region; DFF may not.
    assert res.metrics.loc["dff", "max_relative_shift"] <= 0.3 + 1e-9
    assert res.methods["dff_unbounded"].factors.shape == Cte.shape


def test_verdict_block_pairs_each_arm_with_two_stage() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    res = run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, backbone="linear", epochs=3, lr=1e-2)
    v = res.summary()["verdict"]
    assert set(v) == {"dff_vs_two_stage", "dfl_vs_two_stage"}
    diff = res.methods["dff"].regret - res.methods["two_stage"].regret
    d = v["dff_vs_two_stage"]
    assert d["mean_difference"] == pytest.approx(diff.mean()) and d["n"] == len(Xte)
    assert d["ci_low"] <= d["mean_difference"] <= d["ci_high"] and 0 <= d["p_value"] <= 1
    assert d["verdict"] in ("better", "no reliable difference", "worse") and d["sentence"].startswith(
        ("DFF", "No reliable")
    )
    assert d["block_length"] > 1  # decisions are time-ordered: moving blocks
    assert res.verdict().to_dict() == {k: d[k] for k in res.verdict().to_dict()}
    only = run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, methods=("dff",), epochs=1)
    assert only.summary()["verdict"] == {}


def test_own_class_arms_need_a_differentiable_backbone() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    assert available_methods("random_forest") == ("two_stage", "dff", "dfl", "dff_unbounded")
    assert available_methods("mlp") == ALL
    with pytest.raises(ValueError, match=r"dfl_scratch .*differentiable backbone.*'random_forest'"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, backbone="random_forest", methods=("dfl_scratch",))
    res = run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, backbone="mlp", methods=("two_stage", "dfl_backbone"),
                         epochs=0)  # fmt: skip
    # Zero epochs: DFL of the MLP from its own weights is the MLP itself.
    np.testing.assert_allclose(res.methods["dfl_backbone"].C_pred, res.C_hat, rtol=1e-12, atol=1e-12)


def test_presets_and_their_overrides() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    fast = PRESETS["fast"]
    assert (fast.epsilon, fast.budget) == (0.2, Budget(epochs=30, lr=1e-3, patience=10, members=1))
    res = run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, methods=("two_stage", "dff"), preset="thorough",
                         epochs=2, dff_kwargs={"hidden": (8,)})  # fmt: skip
    thorough = PRESETS["thorough"].budget
    assert res.config["epsilon"] == "auto" and res.config["epochs"] == 2 and res.config["patience"] == thorough.patience
    dff = res.methods["dff"].model
    assert dff.selection_ is not None and res.summary()["training"]["dff"]["epsilon"] == dff.epsilon_
    # The thorough preset averages five fits per method, the first choosing ε; the result says so.
    assert thorough.members == 5 and dff.n_members_ == 5 and dff.member_histories_[1] is not dff.history_
    assert (
        res.summary()["training"]["dff"]["members"] == 5 and len(res.summary()["training"]["dff"]["best_epochs"]) == 5
    )
    assert res.summary()["training_budget"]["members"] == 5
    two = run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, methods=("two_stage", "dff"), epochs=2, members=2,
                         dff_kwargs={"hidden": (8,)})  # fmt: skip
    assert two.methods["dff"].model.n_members_ == 2 and two.summary()["training_budget"]["members"] == 2
    with pytest.raises(ValueError, match="n_members must be a positive integer"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, members=0)
    with pytest.raises(ValueError, match="preset must be one of fast, thorough"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, preset="slow")
    with pytest.raises(ValueError, match="lr must be a number"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, lr="quick")


def test_cross_fit_trains_dff_only_on_rows_with_an_honest_prediction() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    res = run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, backbone="linear", methods=("dff",), cross_fit=True,
                         epochs=1)  # fmt: skip
    # Forward chaining in 5 blocks: the first block (12 of 60 rows) has no earlier rows to be predicted from.
    assert res.methods["dff"].model.n_train_ == len(Xtr) - len(Xtr) // 5


def test_compare_folds_is_a_rolling_origin_backtest(tmp_path) -> None:
    sc = build_traffic_scenario(make_grid_dataset(days=4), n_pairs=2, split=(0.5, 0.25, 0.25))
    bt = compare(sc, methods=("two_stage", "dff"), epochs=1, folds=2)
    assert isinstance(bt, BacktestResult) and len(bt.folds) == 2
    n_test = len(sc.split["test"])
    # The last fold is the scenario's own split; the first tests the window just before it.
    last, first = bt.folds[1], bt.folds[0]
    assert list(last.times) == list(sc.times[sc.split["test"]])
    assert first.times[-1] < last.times[0] and first.n_test == n_test
    assert first.n_train == last.n_train - n_test and first.n_val == last.n_val == len(sc.split["val"])
    pooled = bt.summary()
    assert pooled["kind"] == "backtest" and pooled["folds"] == 2 and pooled["n_test"] == 2 * n_test
    both = np.concatenate([f.methods["dff"].regret - f.methods["two_stage"].regret for f in bt.folds])
    assert pooled["verdict"]["dff_vs_two_stage"]["mean_difference"] == pytest.approx(both.mean())
    assert [f["fold"] for f in pooled["per_fold"]] == [1, 2] and pooled["training_budget"]["epochs"] == 1
    with pytest.raises(ValueError, match=r"folds=9 .*at most folds=\d"):
        compare(sc, methods=("two_stage",), folds=9)
    with pytest.raises(ValueError, match="folds must be a positive integer"):
        compare(sc, methods=("two_stage",), folds=0)
    no_val = build_traffic_scenario(make_grid_dataset(days=4), n_pairs=2, split=(0.75, 0.0, 0.25))
    with pytest.raises(DataError, match="validation part"):
        compare(no_val, methods=("two_stage",), folds=2)
