"""A sweep's files: a killed sweep resumes from a truncated runs.csv; failed runs are listed and retried; a full
disk leaves every file as it was; one sweep writes to a folder at a time."""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dff_core.scenarios.base import Scenario
from dff_core.sweep import RUNS_FILE, SUMMARY_FILE, SweepBusyError, read_runs, sweep
from dff_core.sweep.store import RunsWriter, folder_lock, write_table
from tests.sweep.conftest import GRID, TRAIN, array_scenario

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]


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


# ---------------------------------------------------------------------------- a full disk, two sweeps at once
needs_fsize_limit = pytest.mark.skipif(
    resource is None or getattr(signal, "SIGXFSZ", None) is None or signal.getsignal(signal.SIGXFSZ) != signal.SIG_IGN,
    reason="simulates a full disk with RLIMIT_FSIZE (POSIX; Python ignores SIGXFSZ there)",
)


@contextmanager
def file_size_limit(nbytes: int) -> Iterator[None]:
    """No file of this process may grow beyond ``nbytes`` in the block (writes fail with EFBIG, as on a full disk)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@needs_fsize_limit
def test_a_failed_append_leaves_runs_csv_as_it_was(tmp_path):
    path = tmp_path / RUNS_FILE
    writer = RunsWriter(path, ["epsilon", "regret_dff", "run_id"], pd.DataFrame())
    writer.write({"epsilon": 0.1, "regret_dff": 0.5, "run_id": "a"})
    before = path.read_bytes()
    # Room for part of the next row only: the write stops halfway, as on a full disk.
    with file_size_limit(len(before) + 8), pytest.raises(OSError) as info:
        writer.write({"epsilon": 0.2, "regret_dff": 0.25, "run_id": "b" * 40})
    assert info.value.errno == errno.EFBIG and info.value.filename == str(path)
    assert path.read_bytes() == before  # the partial row was cut back off
    writer.write({"epsilon": 0.3, "regret_dff": 0.125, "run_id": "c"})  # once there is room again
    writer.close()
    assert read_runs(path)["run_id"].tolist() == ["a", "c"]


@needs_fsize_limit
def test_a_failed_table_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / SUMMARY_FILE
    write_table(pd.DataFrame({"epsilon": [0.1], "regret_dff_mean": [0.5]}), path)
    before = path.read_bytes()
    with file_size_limit(4096), pytest.raises(OSError) as info:
        write_table(pd.DataFrame({"epsilon": np.linspace(0, 1, 5000), "regret_dff_mean": 1.0}), path)
    assert info.value.errno == errno.EFBIG and info.value.filename == str(path)
    assert "summary.csv" in str(info.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [SUMMARY_FILE]  # no temporary file left behind


def test_one_sweep_per_output_folder(tmp_path):
    with folder_lock(tmp_path):
        with pytest.raises(SweepBusyError, match=f"process {os.getpid()}") as info, folder_lock(tmp_path):
            pass
        assert str(tmp_path) in str(info.value)
        with pytest.raises(SweepBusyError):
            sweep(array_scenario(), GRID, out_dir=tmp_path, run_fn=fake_compare)
        assert not (tmp_path / RUNS_FILE).exists()
    with folder_lock(tmp_path):  # released with the first sweep
        pass
