"""Saved run folders opened by path: a run the command line wrote, and what is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dashboard.services import runs as R
from dashboard.services.data import sample_paths
from dff_core import cli
from dff_core.errors import DataError


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not sample_paths()["readings"].is_file():
        pytest.skip("sample_data/ is missing")
    out = tmp_path_factory.mktemp("runs") / "alloc"
    argv = ["compare", "--scenario", "allocation", "--sample", "--budget", "2", "--epochs", "2"]
    assert cli.main([*argv, "--methods", "two_stage,dff", "--out", str(out), "--quiet"]) == 0
    return out


def test_a_run_written_by_the_command_line_opens_with_its_settings(cli_run: Path):
    run = R.open_run(str(cli_run))
    summary = json.loads((cli_run / "summary.json").read_text())
    assert run.folder == cli_run.resolve() and len(run.digest) == 64
    assert run.result.metrics.loc["dff", "regret_mean"] == pytest.approx(summary["methods"]["dff"]["regret_mean"])
    assert run.config is not None and run.config["scenario"]["kind"] == "allocation"
    assert run.config["training"]["epochs"] == 2 and run.config["scenario"]["budget"] == 2.0
    assert run.result.methods["dff"].model is not None
    assert R.open_run(cli_run).digest == run.digest  # the same folder is the same run
    np.testing.assert_array_equal(R.open_run(f"  {cli_run}  ").result.C_test, run.result.C_test)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda tmp: "", "give the folder"),
        (lambda tmp: str(tmp / "missing"), "not a folder"),
        (lambda tmp: str(tmp), "not a run folder"),
    ],
)
def test_what_is_not_a_run_folder_is_refused_with_the_reason(tmp_path: Path, make, needle: str):
    with pytest.raises(DataError, match=needle):
        R.open_run(make(tmp_path))


def test_an_edited_run_folder_is_refused(cli_run: Path, tmp_path: Path):
    copy = tmp_path / "edited"
    shutil.copytree(cli_run, copy)
    (copy / "metrics.csv").write_text("method,regret_mean\ndff,0\n")
    with pytest.raises(DataError, match=r"metrics\.csv"):
        R.open_run(copy)
