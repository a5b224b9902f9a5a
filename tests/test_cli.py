"""The command line: exit codes, messages and output files (``python -m dff_core``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dff_core import cli


def test_validate_long_csv_is_valid(csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["validate", str(csv_files["long"]), "--sensors", str(csv_files["sensors"])])
    out = capsys.readouterr().out
    assert rc == 0
    assert "valid: 9 sensors, 192 time steps every 15 min" in out
    assert "(inferred)" in out  # no links file: nearest-neighbour graph


def test_validate_wide_csv_with_start_and_freq(csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["validate", str(csv_files["wide"]), "--sensors", str(csv_files["sensors"]), "--links"]
    args += [str(csv_files["links"]), "--start", "2024-03-04 00:00", "--freq", "15min"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "9 sensors" in out and "24 links" in out and "inferred" not in out


def test_validate_invalid_file_exit_2_one_line_per_problem(
    tmp_path: Path, csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,sensor_id,value\n2024-03-04 00:00,S00,50\n2024-03-04 00:15,S00,fast\nyesterday,S00,40\n")
    rc = cli.main(["validate", str(bad), "--sensors", str(csv_files["sensors"])])
    err = capsys.readouterr().err
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert any("line 3" in ln and "'fast'" in ln for ln in lines)
    assert any("line 4" in ln and "yesterday" in ln for ln in lines)
    assert "Traceback" not in err


def test_missing_file_and_missing_data_are_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err
    assert cli.main(["compare", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--readings" in err and "Traceback" not in err


def test_usage_errors_and_help() -> None:
    assert cli.main(["compare", "--scenario", "nonsense", "--out", "x"]) == 2
    assert cli.main(["--help"]) == 0


def test_unexpected_error_is_one_line_exit_1_traceback_only_with_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(args: object) -> int:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setitem(cli.COMMANDS, "validate", cli.Command("validate", "x", cli._configure_validate, boom))
    assert cli.main(["validate", "r.csv"]) == 1
    err = capsys.readouterr().err
    assert "error: unexpected RuntimeError: disk on fire" in err
    assert "Traceback" not in err and "second line" not in err
    assert cli.main(["--debug", "validate", "r.csv"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_compare_counts_for_traffic_is_a_data_error(
    tmp_path: Path, csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compare", "--readings", str(csv_files["long"]), "--sensors", str(csv_files["sensors"])]
    args += ["--value", "count", "--out", str(tmp_path / "o")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "speeds" in err and "Traceback" not in err


def test_compare_writes_summary_and_per_instance(tmp_path: Path, csv_files: dict[str, Path]) -> None:
    out = tmp_path / "run"
    args = ["compare", "--scenario", "traffic", "--readings", str(csv_files["long"])]
    args += ["--sensors", str(csv_files["sensors"]), "--links", str(csv_files["links"])]
    args += ["--epochs", "2", "--n-pairs", "2", "--cross-fit", "--out", str(out), "--quiet"]
    assert cli.main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["cross_fit"] is True and summary["config"]["n_pairs"] == 2
    assert summary["scenario"] == "traffic" and summary["epsilon"] == 0.2
    assert summary["n_train"] > 0 and summary["n_test"] > 0 and summary["seconds"] > 0
    for m in ("two_stage", "dff", "dfl"):
        for k in ("regret_mean", "normalized_regret", "mse", "mae"):
            assert summary["methods"][m][k] is not None and summary["methods"][m][k] >= 0
    assert summary["methods"]["dff"]["max_relative_shift"] <= 0.2 + 1e-9
    assert summary["methods"]["dff"]["min_cosine"] >= (1 - 0.2**2) ** 0.5 - 1e-9
    per = pd.read_csv(out / "per_instance.csv")
    assert set(per["method"]) >= {"two_stage", "dff", "dfl"}
    assert len(per) >= 3 * summary["n_test"]


def test_python_dash_m_entry_point() -> None:
    res = subprocess.run([sys.executable, "-m", "dff_core", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0
    assert "validate" in res.stdout and "compare" in res.stdout


def test_metr_la_folder_without_data_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["compare", "--metr-la", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "los_speed.csv" in err and "Traceback" not in err


def test_wide_csv_without_start_is_a_data_error(csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["validate", str(csv_files["wide"]), "--sensors", str(csv_files["sensors"])])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip() and all(ln.startswith(("error:", "warning:")) for ln in err.strip().splitlines())


def test_allocation_from_items_file(tmp_path: Path) -> None:
    rows = [
        {"period": f"2024-01-01 {h:02d}:00", "item_id": z, "value": (h % 5) + i, "rain": (h * 7 + i) % 3}
        for h in range(24)
        for i, z in enumerate(("north", "south", "east"))
    ]
    items = tmp_path / "items.csv"
    pd.DataFrame(rows).to_csv(items, index=False)
    out = tmp_path / "alloc"
    args = ["compare", "--scenario", "allocation", "--items", str(items), "--budget", "1"]
    args += ["--methods", "two_stage,dff", "--epochs", "2", "--out", str(out), "--quiet"]
    assert cli.main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "allocation" and summary["config"]["source"] == "items"
    assert set(summary["methods"]) == {"two_stage", "dff"}


def test_capacities_without_capacity_column_is_exit_2(
    tmp_path: Path, csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compare", "--readings", str(csv_files["long"]), "--sensors", str(csv_files["sensors"])]
    args += ["--links", str(csv_files["links"]), "--capacities", "--demand", "10", "--out", str(tmp_path / "o")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "capacit" in err and "Traceback" not in err


def test_compare_on_a_wide_csv_with_start_and_freq(tmp_path: Path, csv_files: dict[str, Path]) -> None:
    out = tmp_path / "wide"
    args = ["compare", "--readings", str(csv_files["wide"]), "--sensors", str(csv_files["sensors"])]
    args += ["--start", "2024-03-04 00:00", "--freq", "15min", "--methods", "two_stage", "--n-pairs", "2"]
    args += ["--out", str(out), "--quiet"]
    assert cli.main(args) == 0
    per = pd.read_csv(out / "per_instance.csv", parse_dates=["time"])
    assert set(per["method"]) == {"two_stage"}
    assert per["time"].min() > pd.Timestamp("2024-03-05")  # the test part is the end of the second day
    assert (per["regret"] >= 0).all()


def test_compare_prints_the_budget_and_the_verdict_in_plain_words(
    tmp_path: Path, csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = ["compare", "--readings", str(csv_files["long"]), "--sensors", str(csv_files["sensors"])]
    args += ["--links", str(csv_files["links"]), "--n-pairs", "2", "--methods", "two_stage,dff,dff_unbounded"]
    args += ["--epochs", "2", "--lr", "0.01", "--out", str(out), "--quiet"]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["training_budget"]["epochs"] == 2 and summary["training_budget"]["lr"] == 0.01
    assert summary["training_budget"]["methods"] == ["dff", "dff_unbounded"]
    assert "Training budget of every trained method (dff, dff_unbounded): up to 2 epochs, lr 0.01" in text
    assert f"Verdict: {summary['verdict']['dff_vs_two_stage']['sentence']}" in text
    assert "dff_unbounded" in text


def test_compare_folds_writes_a_backtest(
    tmp_path: Path, csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bt"
    base = ["compare", "--readings", str(csv_files["long"]), "--sensors", str(csv_files["sensors"])]
    base += ["--links", str(csv_files["links"]), "--n-pairs", "2", "--methods", "two_stage,dff", "--epochs", "1"]
    assert cli.main([*base, "--split", "0.5,0.25,0.25", "--folds", "2", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "backtest" and summary["folds"] == 2 and (out / "fold_2" / "summary.json").is_file()
    assert "fold 1 (" in text and "fold 2 (" in text and "Pooled verdict: " in text
    assert cli.main([*base, "--folds", "50", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "folds=50" in err and "at most folds=" in err and "Traceback" not in err
    assert cli.main([*base, "--epsilon", "wide", "--out", str(tmp_path / "y")]) == 2
    assert "'auto'" in capsys.readouterr().err


def test_planned_epochs_count_every_selection_candidate_and_refit() -> None:
    from dff_core.presets import PRESETS
    from dff_core.selection import EPSILON_GRID

    fast, thorough = PRESETS["fast"], PRESETS["thorough"]
    assert cli._planned_epochs(("two_stage", "dff", "dfl"), fast.epsilon, fast.budget) == 2 * 30
    # ε "auto": one fit per candidate plus the refit of the winner; DFL one fit.
    expected = (len(EPSILON_GRID) + 1 + 1) * thorough.budget.epochs
    assert cli._planned_epochs(("two_stage", "dff", "dfl"), thorough.epsilon, thorough.budget) == expected
