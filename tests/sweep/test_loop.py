"""The sweep loop: stop and resume, interruption, horizon grids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dff_core.sweep import sweep
from tests.sweep.conftest import GRID, TRAIN


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
