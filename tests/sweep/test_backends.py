"""Backends: the local pool and Ray give the same table; Ray is optional and says how to install it."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from dff_core.sweep import sweep
from tests.sweep.conftest import GRID


def test_local_and_ray_give_the_same_table(scenario, tmp_path, ray_session):
    train = {"epochs": 3}  # enough for the seeds to change DFL's result (below)
    local = sweep(scenario, GRID, backend="local", max_workers=2, out_dir=tmp_path / "l", train=train)
    remote = sweep(scenario, GRID, backend="ray", max_workers=2, out_dir=tmp_path / "r", train=train)
    assert local.complete and remote.complete and len(local.runs) == 4
    assert local.failed.empty and remote.failed.empty
    assert list(local.runs["run_id"]) == list(remote.runs["run_id"])
    a, b = local.runs.drop(columns="seconds"), remote.runs.drop(columns="seconds")
    a = a.drop(columns=[c for c in a.columns if c.startswith("seconds_")])
    b = b.drop(columns=[c for c in b.columns if c.startswith("seconds_")])
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # Different seeds really give different runs (the comparison above is not trivially true).
    metrics = a.drop(columns=["epsilon", "seed", "backbone", "loss", "run_id"])
    assert np.isfinite(metrics.to_numpy(dtype=float)).all()
    assert (metrics.nunique() > 1).any(), metrics
    # The file on disk holds the same rows as the returned table.
    on_disk = pd.read_csv(tmp_path / "l" / "runs.csv").set_index("run_id").loc[local.runs["run_id"]]
    np.testing.assert_array_equal(on_disk["regret_dff"].to_numpy(), local.runs["regret_dff"].to_numpy())
    for col in ("epsilon", "seed", "backbone", "loss", "regret_two_stage", "regret_dff", "regret_dfl", "mse_dff"):
        assert col in on_disk.reset_index().columns
    summary = pd.read_csv(tmp_path / "l" / "summary.csv")
    assert list(summary["epsilon"]) == [0.1, 0.3] and list(summary["n_seeds"]) == [2, 2]
    assert (tmp_path / "l" / "pareto.csv").is_file()


def test_ray_backend_without_ray_is_a_clear_error(scenario, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'ray"):
        sweep(scenario, GRID, backend="ray")
