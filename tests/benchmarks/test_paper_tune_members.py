"""The n_members study: paired runs of the averaged and one-fit arms on tuning seeds, pooled per task."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.paper.tune_members import main, members_table, paired_runs
from tests.benchmarks.paper_rows import row


def _raw() -> pd.DataFrame:
    rows = []
    for seed in range(100, 110):
        rows += [
            row(seed, "two_stage", 0.10),
            row(seed, "dff", 0.06),
            row(seed, "dff_single", 0.07 if seed < 108 else 0.05),  # the mean beats one fit in 8 of 10
            row(seed, "dfl_backbone", 0.08),
            row(seed, "dfl_backbone_single", 0.08),  # ties
        ]
    return pd.DataFrame(rows)


def test_paired_runs_and_the_table_pool_each_comparison() -> None:
    df = paired_runs(_raw())
    assert set(zip(df["method"], df["baseline"], strict=True)) == {
        ("dff", "dff_single"), ("dfl_backbone", "dfl_backbone_single"), ("dff", "dfl_backbone"),
        ("dff_single", "dfl_backbone_single"),
    }  # fmt: skip
    assert len(df) == 4 * 10 and (df["ts_regret"] == 0.10).all()
    table = members_table(df)
    line = next(ln for ln in table.splitlines() if "one fit)" in ln and "**all tasks**" in ln and "DFF (" in ln)
    assert "80% (8W/2L)" in line and "| 0.600 |" in line
    assert "0% (0W/0L)" in next(ln for ln in table.splitlines() if "DFL (backbone's class, from its weights; 5" in ln)


def test_the_study_refuses_reported_seeds_and_runs_without_its_arms(tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    _raw().assign(seed=lambda d: d["seed"] - 100).to_csv(run / "raw.csv", index=False)
    with pytest.raises(SystemExit):
        main(["--run", str(run), "--out", str(tmp_path / "out")])
    with pytest.raises(ValueError, match="no comparison"):
        paired_runs(_raw()[_raw()["method"].isin(["two_stage", "dff"])])
    _raw().to_csv(run / "raw.csv", index=False)
    assert main(["--run", str(run), "--out", str(tmp_path / "out")]) == 0
    assert len(pd.read_csv(tmp_path / "out" / "tune_members.csv")) == 40
