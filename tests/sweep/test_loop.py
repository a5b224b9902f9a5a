"""The sweep loop: stop and resume, interruption, horizon grids, and the ε trade-off it measures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from dff_core.comparison import compare
from dff_core.metrics import regret
from dff_core.scenarios.base import Scenario
from dff_core.sweep import result_row, sweep
from tests.sweep.conftest import GRID, TRAIN, array_scenario


def test_stopped_sweep_resumes_without_recomputing(scenario, tmp_path):
    grid = GRID  # 4 runs
    seen: list[tuple[int, int]] = []
    first = sweep(
        scenario,
        grid,
        max_workers=1,
        out_dir=tmp_path,
        train=TRAIN,
        on_progress=lambda done, total, row: seen.append((done, total)),
        should_stop=lambda: len(seen) >= 2,
    )
    assert first.stopped and not first.complete
    assert first.n_ran == 2 and len(first.runs) == 2
    assert seen == [(1, 4), (2, 4)]
    kept = set(first.runs["run_id"])

    calls: list[dict] = []
    second = sweep(
        scenario,
        grid,
        max_workers=2,
        out_dir=tmp_path,
        train=TRAIN,
        on_progress=lambda d, t, row: calls.append(row),
    )
    assert second.complete and not second.stopped
    assert second.n_resumed == 2 and second.n_ran == 2
    assert kept.isdisjoint(r["run_id"] for r in calls)
    on_disk = pd.read_csv(tmp_path / "runs.csv")
    assert len(on_disk) == 4 and on_disk["run_id"].is_unique
    # Resumed rows are the ones computed first, unchanged.
    old = first.runs.set_index("run_id")["regret_dff"]
    new = second.runs.set_index("run_id").loc[old.index, "regret_dff"]
    np.testing.assert_array_equal(old.to_numpy(), new.to_numpy())

    # resume=False recomputes this grid's runs and keeps rows of other grids in the file.
    other = sweep(scenario, {**GRID, "seed": [0]}, max_workers=2, out_dir=tmp_path, train=TRAIN, resume=False)
    assert other.n_resumed == 0 and other.n_ran == 2
    assert len(pd.read_csv(tmp_path / "runs.csv")) == 4

    # A changed training option is a different run: nothing is reused.
    third = sweep(scenario, grid, out_dir=tmp_path, max_workers=1, train={"epochs": 2}, should_stop=lambda: True)
    assert third.n_resumed == 0


def test_sweep_interrupted_by_an_error_keeps_finished_runs(scenario, tmp_path):
    def boom(done, total, row):
        raise KeyboardInterrupt  # e.g. Ctrl-C while the first result is reported

    with pytest.raises(KeyboardInterrupt):
        sweep(scenario, GRID, max_workers=2, out_dir=tmp_path, train=TRAIN, on_progress=boom)
    saved = pd.read_csv(tmp_path / "runs.csv")
    assert len(saved) == 1  # the run in progress was ended, not waited for
    res = sweep(scenario, GRID, max_workers=2, out_dir=tmp_path, train=TRAIN)
    assert res.n_resumed == 1 and res.n_ran == 3 and res.complete


def test_horizon_grid_needs_a_buildable_scenario(scenario):
    with pytest.raises(ValueError, match=r"grid\.horizon"):
        sweep(scenario, {**GRID, "horizon": ["15min"]})
    with pytest.raises(ValueError, match="backend"):
        sweep(scenario, GRID, backend="slurm")


def compare_with_validation(scenario: Scenario, **kw: Any) -> dict[str, Any]:
    """``compare``, plus the validation regret of the backbone and of the DFF model it selected.

    ``runs.csv`` does not keep validation metrics; the ε trade-off test below needs them.
    """
    result = compare(scenario, **kw)
    row = result_row(result)
    X_val, C_val, _ = scenario.part("val")
    C_hat_val = result.methods["two_stage"].model.predict(X_val)
    C_dff_val = result.methods["dff"].model.predict(X_val, C_hat_val)
    row["val_regret_two_stage"] = float(regret(scenario.problem, C_val, C_hat_val).mean())
    row["val_regret_dff"] = float(regret(scenario.problem, C_val, C_dff_val).mean())
    return row


def test_epsilon_sweep_gives_the_regret_shift_tradeoff():
    """The ε trade-off (the dashboard's curve) through the engine's sweep: every ε stays in its trust region."""
    res = sweep(
        array_scenario(),
        {"epsilon": [0.1, 0.5], "seed": [0], "backbone": ["linear"], "loss": ["spo+"]},
        max_workers=2,
        train={"epochs": 4, "lr": 2e-2, "methods": ["two_stage", "dff"]},
        run_fn=compare_with_validation,
    )
    sw = res.runs
    assert res.complete and res.failed.empty
    assert sw["epsilon"].tolist() == [0.1, 0.5]
    assert {
        "normalized_regret_dff",
        "regret_dff",
        "mse_dff",
        "regret_two_stage",  # ε = 0: the backbone itself
        "mean_relative_shift",
        "max_relative_shift",
        "min_cosine",
    } <= set(sw.columns)
    for _, row in sw.iterrows():
        assert row["max_relative_shift"] <= row["epsilon"] + 1e-9
        assert row["min_cosine"] >= np.sqrt(1 - row["epsilon"] ** 2) - 1e-9
    # Never worse than the backbone on validation, for every ε.
    assert (sw["val_regret_dff"] <= sw["val_regret_two_stage"] + 1e-12).all()
    # Every ε starts from the same backbone.
    assert sw["val_regret_two_stage"].nunique() == 1 and sw["regret_two_stage"].nunique() == 1
