"""runs.csv and failed.csv: a killed sweep resumes from a truncated file; failed runs are listed and retried."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dff_core.scenarios.base import Scenario
from dff_core.sweep import read_runs, sweep
from tests.sweep.conftest import GRID, TRAIN, array_scenario


def fake_compare(scenario: Scenario, epsilon: float, seed: int, **kw: Any) -> dict[str, float]:
    """A fast fake of ``compare`` for testing the sweep's files (no training): columns from the grid values.

    Reports a ``fake_score`` column that :func:`dff_core.sweep.store.column_order` does not know, so
    ``runs.csv`` has to be widened when it first appears.
    """
    return {"regret_dff": epsilon * (seed + 1), "mean_relative_shift": epsilon / 2, "fake_score": float(seed)}


def fake_compare_failing_seed_1(scenario: Scenario, epsilon: float, seed: int, **kw: Any) -> dict[str, float]:
    """Like :func:`fake_compare` without the extra column, but every run with seed 1 raises."""
    if seed == 1:
        raise RuntimeError(f"no result for seed {seed}")
    return {"regret_dff": epsilon * (seed + 1), "mean_relative_shift": epsilon / 2}


def test_killed_sweep_with_a_truncated_line_resumes(scenario, tmp_path):
    grid = {**GRID, "epsilon": [0.2]}
    full = sweep(scenario, grid, max_workers=2, out_dir=tmp_path, train=TRAIN)
    text = (tmp_path / "runs.csv").read_text()
    lines = text.splitlines(keepends=True)
    # Simulate a kill in the middle of writing the last row.
    (tmp_path / "runs.csv").write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    again = sweep(scenario, grid, max_workers=1, out_dir=tmp_path, train=TRAIN)
    assert again.n_resumed == 1 and again.n_ran == 1 and again.complete
    pd.testing.assert_frame_equal(
        full.runs.drop(columns=[c for c in full.runs.columns if c.startswith("seconds")]),
        again.runs.drop(columns=[c for c in again.runs.columns if c.startswith("seconds")]),
        check_exact=True,
    )
    assert len(pd.read_csv(tmp_path / "runs.csv")) == 2


def test_failed_runs_are_listed_then_retried_and_new_columns_widen_the_file(tmp_path):
    scenario = array_scenario()
    first = sweep(scenario, GRID, max_workers=2, out_dir=tmp_path, train=TRAIN, run_fn=fake_compare_failing_seed_1)
    assert first.n_ran == 2 and len(first.failed) == 2 and not first.complete
    failed = pd.read_csv(tmp_path / "failed.csv")
    assert sorted(failed["seed"]) == [1, 1] and sorted(failed["epsilon"]) == [0.1, 0.3]
    assert failed["error"].str.contains("RuntimeError: no result for seed 1").all()
    assert set(read_runs(tmp_path / "runs.csv")["seed"]) == {0}

    second = sweep(scenario, GRID, max_workers=2, out_dir=tmp_path, train=TRAIN, run_fn=fake_compare)
    assert second.complete and second.failed.empty
    assert second.n_resumed == 2 and second.n_ran == 2
    assert not (tmp_path / "failed.csv").exists()  # nothing failed this time
    on_disk = read_runs(tmp_path / "runs.csv").set_index("run_id").loc[second.runs["run_id"]]
    assert list(on_disk["seed"]) == [0, 1, 0, 1]
    # Rows written before the column existed keep it empty; the new rows have it.
    assert on_disk["fake_score"].isna().tolist() == [True, False, True, False]
    assert on_disk.loc[on_disk["seed"] == 1, "fake_score"].tolist() == [1.0, 1.0]
    assert on_disk["regret_dff"].tolist() == [0.1, 0.2, 0.3, 0.6]
