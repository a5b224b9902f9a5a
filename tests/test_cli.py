"""The command line: exit codes, messages and output files (``python -m dff_core``)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from dff_core import cli
from dff_core.comparison import load_run

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]


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


def test_compare_counts_route_on_bpr_travel_times_with_the_unit_and_settings_stated(
    tmp_path: Path, csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compare", "--readings", str(csv_files["long"]), "--sensors", str(csv_files["sensors"])]
    args += ["--value", "count", "--count-unit", "buses", "--epochs", "1", "--out", str(tmp_path / "o"), "--quiet"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("data quality:") and "settings: horizon 30 min" in out
    config = json.loads((tmp_path / "o" / "summary.json").read_text())["config"]
    assert config["count_unit"] == "buses per 15 min" and config["bpr_alpha"] == 0.15
    assert config["horizon"] == "30min" and config["every"] == "15min" and config["auto"] == ["horizon", "every"]


def test_compare_allocation_by_delay_on_counts_names_the_fitting_choice(
    tmp_path: Path, csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compare", "--scenario", "allocation", "--readings", str(csv_files["long"])]
    args += ["--sensors", str(csv_files["sensors"]), "--value", "count", "--alloc-value", "delay"]
    assert cli.main([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "needs speeds" in err and "--alloc-value count" in err and "Traceback" not in err


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


# ---------------------------------------------------------------------------- sweep
def test_sweep_runs_a_horizon_grid_from_toml(
    city_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "sweep.toml"
    rel = Path("..") / city_dir.name  # relative to the config's folder
    cfg.write_text(
        f"""
[scenario]
kind = "traffic"
readings = "{(rel / "readings.csv").as_posix()}"
sensors = "{(rel / "sensors.csv").as_posix()}"
[train]
epochs = 2
[grid]
epsilon = 0.2
seed = [0]
horizon = ["15min", "30min"]
"""
    )
    # The city folder is a sibling of this test's folder (both in pytest's temporary root).
    assert (cfg.parent / rel / "readings.csv").is_file()
    monkeypatch.chdir(tmp_path.parent.parent)  # a cwd where the relative paths mean nothing
    args = ["sweep", "--config", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]
    code = cli.main([*args, "--workers", "2"])
    out = capsys.readouterr()
    assert code == 0, out.err
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert sorted(runs["horizon"]) == ["15min", "30min"]
    assert runs["run_id"].is_unique
    assert "2 runs (0 resumed, 2 computed, 0 failed)" in out.out
    # Rerun: everything is resumed.
    assert cli.main(args) == 0
    assert "2 runs (2 resumed, 0 computed, 0 failed)" in capsys.readouterr().out


def test_sweep_lists_every_problem_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[scenario]\nsensors = 'missing.csv'\n[grid]\nepsilon = [2.0]\nbackbone = []\ncolour = 'red'\n")
    code = cli.main(["sweep", "--config", str(path), "--out", str(tmp_path / "o"), "--workers", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 4, err
    assert any("--workers" in e for e in err)
    assert any(e.startswith("error: grid.epsilon[0]") or e.startswith("error: grid.epsilon") for e in err)
    assert any("grid.backbone" in e for e in err) and any("grid.colour: unknown key" in e for e in err)
    # Missing files are reported once the model itself is valid.
    path.write_text("[scenario]\nsensors = 'missing.csv'\nreadings = 'gone.csv'\n")
    assert cli.main(["sweep", "--config", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "scenario.sensors" in err[1] and "scenario.readings" in err[0]
    assert not (tmp_path / "o").exists()
    # The same through the package's entry point (python -m dff_core sweep ...).
    res = subprocess.run(
        [sys.executable, "-m", "dff_core", "sweep", "--config", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 2, res.stderr


def test_sweep_subcommand_arguments() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["sweep", "--config", "s.toml", "--backend", "ray", "--address", "auto", "--out", "o"])
    assert args.backend == "ray" and args.address == "auto" and args._run is cli.run_sweep
    assert args.workers is None and not args.no_resume


def test_validate_prints_what_loading_changed_first(
    tmp_path: Path, csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sensors = pd.read_csv(csv_files["sensors"], dtype={"sensor_id": str})
    sensors.loc[4, ["latitude", "longitude"]] = 0.0
    sensors.to_csv(tmp_path / "sensors.csv", index=False)
    rc = cli.main(["validate", str(csv_files["long"]), "--sensors", str(tmp_path / "sensors.csv"), "--timezone", "UTC"])
    lines = capsys.readouterr().out.splitlines()
    assert rc == 0 and lines[0] == "data quality: loading changed the data"
    assert lines[1] == f"  - 1 sensor dropped: 1 at 0/0 ({sensors.loc[4, 'sensor_id']})"
    assert any(ln.startswith("valid: 8 sensors") for ln in lines)


def test_bad_data_options_name_their_flag() -> None:
    for flag, value, needle in [("--crs", "EPSG:0", "crs="), ("--timezone", "Mars/Base", "timezone=")]:
        args = cli.build_parser().parse_args(["compare", "--sample", flag, value, "--out", "x"])
        with pytest.raises(ValueError, match=rf"{flag}: .*{needle}"):
            cli.spec_from_args(args)


# ---------------------------------------------------------------------------- a full disk
def _file_size_limit(nbytes: int) -> Callable[[], None]:
    """``preexec_fn`` for a subprocess whose files may not grow beyond ``nbytes`` (like ``ulimit -f``)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    return limit


needs_fsize_limit = pytest.mark.skipif(resource is None, reason="simulates a full disk with RLIMIT_FSIZE (POSIX)")


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.slow
@needs_fsize_limit
def test_compare_on_a_full_disk_keeps_the_previous_run_and_says_so(tmp_path: Path, csv_files: dict[str, Path]) -> None:
    out = tmp_path / "run"
    args = ["compare", "--readings", str(csv_files["long"]), "--sensors", str(csv_files["sensors"])]
    args += ["--links", str(csv_files["links"]), "--epochs", "1", "--methods", "two_stage,dff", "--quiet"]
    assert cli.main([*args, "--seed", "1", "--out", str(out)]) == 0
    before = _tree(out)
    assert max(len(b) for b in before.values()) > 4096  # the next run cannot be written whole
    res = subprocess.run(
        [sys.executable, "-m", "dff_core", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_file_size_limit(4096),
    )
    assert res.returncode == 2, res.stderr
    assert f"error: could not write {out}: File too large" in res.stderr
    assert "unexpected" not in res.stderr
    # The previous run is untouched and still loads; no partial file or temporary folder is left.
    assert _tree(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert load_run(out).config["seed"] == 1


@pytest.mark.slow
@needs_fsize_limit
def test_sweep_on_a_full_disk_exits_2_naming_the_file_and_keeps_it(city_dir: Path, tmp_path: Path) -> None:
    cfg, out = tmp_path / "sweep.toml", tmp_path / "out"
    cfg.write_text(
        f'[scenario]\nreadings = "{(city_dir / "readings.csv").as_posix()}"\n'
        f'sensors = "{(city_dir / "sensors.csv").as_posix()}"\n[train]\nepochs = 1\n[grid]\nepsilon = 0.2\n'
    )
    # Rows of an earlier sweep in the same folder, kept when this sweep opens the file: more than the disk holds.
    out.mkdir()
    earlier = pd.DataFrame({"epsilon": 0.1, "seed": range(2000), "regret_dff": 0.5})
    earlier["run_id"] = [f"earlier-{i:06d}" for i in range(2000)]
    earlier.to_csv(out / "runs.csv", index=False)
    before = (out / "runs.csv").read_bytes()
    assert len(before) > 16384
    res = subprocess.run(
        [sys.executable, "-m", "dff_core", "sweep", "--config", str(cfg), "--out", str(out), "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_file_size_limit(16384),
    )
    assert res.returncode == 2, res.stderr
    assert f"error: could not write {out / 'runs.csv'}: File too large" in res.stderr
    assert "unexpected" not in res.stderr
    assert (out / "runs.csv").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [".sweep.lock", "runs.csv"]


# ------------------------------------------------------------------ hostile and vacuous input
def fails_cleanly(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI expecting exit 2 and one error line (no traceback, never "unexpected"); the error line."""
    rc = cli.main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err and "unexpected" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, err
    return errors[0]


def never_built(*args: object, **kwargs: object) -> None:
    raise AssertionError("the scenario was built before --out was checked")


def test_out_that_is_a_file_fails_before_any_computation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "build", never_built)
    afile = tmp_path / "result.txt"
    afile.write_text("keep me")
    line = fails_cleanly(["compare", "--sample", "--out", str(afile)], capsys)
    assert "--out" in line and "not a folder" in line
    line = fails_cleanly(["compare", "--sample", "--out", str(afile / "sub")], capsys)
    assert "--out" in line and "cannot write there" in line
    assert afile.read_text() == "keep me"
    line = fails_cleanly(["compare", "--sample", "--out", str(tmp_path)], capsys)  # holds result.txt
    assert "--out" in line and "result.txt" in line and "new or empty folder" in line


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_out_that_is_not_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "build", never_built)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert "cannot write there" in fails_cleanly(["compare", "--sample", "--out", str(locked)], capsys)
    finally:
        locked.chmod(0o700)


def test_gzip_bomb_is_exit_2_naming_file_and_limit(
    tmp_path: Path, csv_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dff_core.data import io as dio

    monkeypatch.setattr(dio, "MAX_DECOMPRESSED_BYTES", 1024**2)
    bomb = tmp_path / "bomb.csv"
    bomb.write_bytes(gzip.compress(b"timestamp,sensor_id,value\n" + b"0,0,0\n" * 1_000_000, 9))
    line = fails_cleanly(["validate", str(bomb), "--sensors", str(csv_files["sensors"])], capsys)
    assert "bomb.csv" in line and "1 MiB" in line


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_device_as_input_is_exit_2(tmp_path: Path, csv_files: dict[str, Path], capsys) -> None:
    line = fails_cleanly(["validate", "/dev/zero", "--sensors", str(csv_files["sensors"])], capsys)
    assert "/dev/zero" in line and "not a regular file" in line
    for flag in ("--sensors", "--links"):
        args = ["validate", str(csv_files["long"]), "--sensors", str(csv_files["sensors"]), flag, "/dev/zero"]
        assert "not a regular file" in fails_cleanly(args, capsys)
    args = ["compare", "--scenario", "allocation", "--items", "/dev/zero", "--out", str(tmp_path / "o")]
    assert "scenario.items" in fails_cleanly(args, capsys)


@pytest.mark.timeout(60)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_named_pipe_as_input_is_exit_2(tmp_path: Path, csv_files: dict[str, Path], capsys) -> None:
    fifo = tmp_path / "readings.csv"
    os.mkfifo(fifo)
    assert "named pipe" in fails_cleanly(["validate", str(fifo), "--sensors", str(csv_files["sensors"])], capsys)


def test_metr_la_locations_missing_sensors_is_exit_2(tmp_path: Path, capsys) -> None:
    from tests.data.test_metr_la import make_folder

    ids = [str(700000 + i) for i in range(300)]
    folder = make_folder(tmp_path / "metr", ids=ids, locations=ids[:10])
    line = fails_cleanly(["compare", "--metr-la", str(folder), "--out", str(tmp_path / "o")], capsys)
    assert "graph_sensor_locations.csv" in line and "290 of the 300" in line and len(line) < 400


def moved_sensors(csv_files: dict[str, Path], tmp_path: Path, lat: list[float], lon: list[float]) -> Path:
    sensors = pd.read_csv(csv_files["sensors"])
    sensors["latitude"], sensors["longitude"] = lat, lon
    path = tmp_path / "moved_sensors.csv"
    sensors.to_csv(path, index=False)
    return path


def test_sensors_near_the_pole_without_links_are_valid(tmp_path: Path, csv_files: dict[str, Path], capsys) -> None:
    lat = [85.0 + 0.01 * (i // 3) for i in range(9)]
    lon = [10.0 + 0.05 * (i % 3) for i in range(9)]
    sensors = moved_sensors(csv_files, tmp_path, lat, lon)
    assert cli.main(["validate", str(csv_files["long"]), "--sensors", str(sensors)]) == 0
    assert "(inferred)" in capsys.readouterr().out


def test_sensors_on_two_continents_without_links_is_exit_2(tmp_path: Path, csv_files: dict[str, Path], capsys) -> None:
    lat = [34.0 + 0.01 * i for i in range(5)] + [52.37 + 0.01 * i for i in range(4)]
    lon = [-118.2] * 5 + [4.9] * 4
    sensors = moved_sensors(csv_files, tmp_path, lat, lon)
    line = fails_cleanly(["validate", str(csv_files["long"]), "--sensors", str(sensors)], capsys)
    assert "km link from" in line and "50 km" in line and "links file" in line


def test_trip_to_its_own_origin_is_exit_2(tmp_path: Path, csv_files: dict[str, Path], capsys) -> None:
    args = ["compare", "--readings", str(csv_files["long"]), "--sensors", str(csv_files["sensors"])]
    args += ["--pairs", "S00:S08,S03:S03", "--out", str(tmp_path / "o")]
    line = fails_cleanly(args, capsys)
    assert "pairs" in line and "S03:S03" in line and "same sensor" in line


def test_corridor_cap_zero_is_exit_2(tmp_path: Path, capsys) -> None:
    args = ["compare", "--scenario", "allocation", "--sample", "--corridor-cap", "0", "--out", str(tmp_path / "o")]
    assert "--corridor-cap" in fails_cleanly(args, capsys)


def test_budget_covering_every_item_is_exit_2(tmp_path: Path, capsys) -> None:
    args = ["compare", "--scenario", "allocation", "--items", "sample", "--budget", "6", "--out", str(tmp_path / "o")]
    line = fails_cleanly(args, capsys)
    assert "budget 6" in line and "nothing to decide" in line and "below 6" in line


def test_items_without_any_positive_value_is_exit_2(tmp_path: Path, capsys) -> None:
    rows = [
        {"period": f"2024-01-01 {h:02d}:00", "item_id": z, "value": -1 - (h % 5) - i, "rain": (h * 7 + i) % 3}
        for h in range(24)
        for i, z in enumerate(("north", "south", "east"))
    ]
    items = tmp_path / "items.csv"
    pd.DataFrame(rows).to_csv(items, index=False)
    args = ["compare", "--scenario", "allocation", "--items", str(items), "--budget", "1", "--out", str(tmp_path / "o")]
    assert "positive value" in fails_cleanly(args, capsys)


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
    # --members averages that many fits of every trained method, and the budget line says so
    assert cli.main([*args[:-7], "--epochs", "1", "--members", "2", "--out", str(tmp_path / "two"), "--quiet"]) == 0
    text = capsys.readouterr().out
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert summary["training_budget"]["members"] == 2 and summary["training"]["dff_unbounded"]["members"] == 2
    assert "mean of 2 fits with different seeds" in text
    assert cli.main([*args[:-7], "--members", "0", "--out", str(tmp_path / "zero")]) == 2
    err = capsys.readouterr().err
    assert "n_members must be a positive integer" in err and "Traceback" not in err


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
    # ε "auto": one fit per candidate plus the refit of the winner, then the further members; DFL one fit per member.
    extra = thorough.budget.members - 1
    expected = (len(EPSILON_GRID) + 1 + extra + 1 + extra) * thorough.budget.epochs
    assert cli._planned_epochs(("two_stage", "dff", "dfl"), thorough.epsilon, thorough.budget) == expected
