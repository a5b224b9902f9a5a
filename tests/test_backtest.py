"""Rolling-origin backtests: fold windows, pooled results and verdict, and their run folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dff_core.backtest import BacktestResult, is_backtest, max_folds, rolling_origin_splits
from dff_core.comparison import compare, load_run, run_comparison
from dff_core.data.synthetic import shortest_path_data
from dff_core.errors import DataError
from dff_core.results import ComparisonResult


def _split(n_train: int = 20, n_val: int = 5, n_test: int = 5) -> dict[str, np.ndarray]:
    idx = np.arange(n_train + n_val + n_test)
    return {"train": idx[:n_train], "val": idx[n_train : n_train + n_val], "test": idx[n_train + n_val :]}


def test_fold_windows_are_consecutive_and_only_look_back() -> None:
    folds = rolling_origin_splits(_split(), 3)
    assert [f["test"].tolist() for f in folds] == [[15, 16, 17, 18, 19], [20, 21, 22, 23, 24], [25, 26, 27, 28, 29]]
    for f in folds:
        assert f["val"].tolist() == list(range(f["test"][0] - 5, f["test"][0]))
        assert f["train"].tolist() == list(range(f["val"][0]))
    np.testing.assert_array_equal(folds[-1]["train"], _split()["train"])  # the last fold is the split itself
    # 25 rows before the test part: the earliest window must leave 5 validation + at least 2 training rows
    # before it, so windows may start at 25, 20, 15 or 10 -> at most 4 folds.
    assert max_folds(_split()) == 4 == len(rolling_origin_splits(_split(), 4))
    assert rolling_origin_splits(_split(), 4)[0]["train"].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match=r"folds=5 .*at most folds=4"):
        rolling_origin_splits(_split(), 5)
    with pytest.raises(ValueError, match="positive integer"):
        rolling_origin_splits(_split(), 0)
    with pytest.raises(DataError, match="validation part"):
        rolling_origin_splits(_split(n_val=0), 1)


def _result(seed: int, start: str) -> ComparisonResult:
    data = shortest_path_data(60, 3, grid=(3, 3), deg=4, noise_width=0.25, seed=seed)
    X, C = data.X, data.C
    times = pd.date_range(start, periods=20, freq="15min")
    res = run_comparison(data.problem, X[:30], C[:30], X[30:40], C[30:40], X[40:], C[40:], backbone="linear",
                         epochs=2, lr=1e-2, times_test=times, config={"scenario": "unit"})  # fmt: skip
    res.unit = "min"
    return res


@pytest.fixture(scope="module")
def backtest() -> BacktestResult:
    return BacktestResult(folds=[_result(0, "2025-01-01"), _result(1, "2025-01-02")], config={"scenario": "unit"})


def test_pooled_metrics_and_verdict_cover_every_decision(backtest: BacktestResult) -> None:
    assert backtest.n_test == 40 and backtest.methods == ["two_stage", "dff", "dfl"]
    r = np.concatenate([f.methods["dff"].regret for f in backtest.folds])
    np.testing.assert_array_equal(backtest.regret("dff"), r)
    assert backtest.metrics.loc["dff", "regret_mean"] == pytest.approx(r.mean())
    z = np.concatenate([f.z_test for f in backtest.folds])
    assert backtest.metrics.loc["dff", "normalized_regret"] == pytest.approx(r.sum() / (np.abs(z).sum() + 1e-7))
    v = backtest.verdict()
    assert v.n == 40 and v.mean_difference == pytest.approx((r - backtest.regret("two_stage")).mean())
    per = backtest.per_fold()
    assert per.groupby("fold").size().tolist() == [3, 3] and per["test_start"].iloc[0].startswith("2025-01-01")
    s = backtest.summary()
    assert s["verdict"]["dff_vs_two_stage"]["n"] == 40 and s["per_fold"][1]["n_test"] == 20
    with pytest.raises(ValueError, match="no method 'oracle'"):
        backtest.regret("oracle")


def test_save_and_load_round_trip(backtest: BacktestResult, tmp_path: Path) -> None:
    out = backtest.save(tmp_path / "bt")
    assert is_backtest(out) and sorted(p.name for p in out.iterdir()) == [
        "fold_1", "fold_2", "manifest.json", "meta.json", "summary.json",
    ]  # fmt: skip
    problem = backtest.problem
    back = BacktestResult.load(out, problem=problem)
    assert back.summary() == json.loads((out / "summary.json").read_text())
    for a, b in zip(backtest.folds, back.folds, strict=True):
        np.testing.assert_array_equal(a.methods["dff"].regret, b.methods["dff"].regret)
    # Each fold is an ordinary run folder.
    assert ComparisonResult.load(out / "fold_2", problem=problem).n_test == 20
    with pytest.raises(DataError, match="rolling-origin backtest of 2 folds"):
        ComparisonResult.load(out, problem=problem)
    # A single run may replace a backtest folder and vice versa; an unrelated folder is refused.
    backtest.folds[0].save(out)
    assert not is_backtest(out)
    backtest.save(out)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="holds files other than a run's"):
        backtest.save(tmp_path / "other")
    # Tampering is detected.
    (out / "summary.json").write_text("{}")
    with pytest.raises(DataError, match="checksum"):
        BacktestResult.load(out, problem=problem)


def test_load_run_rebuilds_the_scenario_of_a_saved_backtest(tmp_path: Path) -> None:
    from dff_core.scenarios.spec import ScenarioSpec, build

    rows = [
        {"period": f"2024-01-0{1 + h // 24} {h % 24:02d}:00", "item_id": z, "value": (h % 5) + i, "rain": (h + i) % 3}
        for h in range(72)
        for i, z in enumerate(("a", "b", "c"))
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "items.csv", index=False)
    sc = build(ScenarioSpec(kind="allocation", items=str(tmp_path / "items.csv"), budget=1))
    bt = compare(sc, methods=("two_stage", "dff"), epochs=1, folds=2)
    back = load_run(bt.save(tmp_path / "run"))
    assert isinstance(back, BacktestResult) and len(back.folds) == 2
    assert back.summary()["verdict"] == bt.summary()["verdict"]
