"""Sweeps: same table on the local pool and on Ray, resume after a stop or a kill, config errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dff_core.metrics import regret
from dff_core.sweep import (
    GridConfig,
    ScenarioSpec,
    SweepConfigError,
    add_sweep_parser,
    load_config,
    main,
    pareto_front,
    parse_config,
    summarize,
    sweep,
)


def standin_run(scenario, epsilon, seed, backbone, loss, epochs, methods, **kw):
    """TEST-ONLY stand-in for ``compare`` (used until the comparison engine is importable).

    Least squares backbone, then seeded random factors in [1-ε, 1+ε]; real regret metrics.
    """
    X_tr, C_tr, _ = scenario.part("train")
    X_te, C_te, _ = scenario.part("test")
    A = np.c_[X_tr, np.ones(len(X_tr))]
    coef = np.linalg.lstsq(A, C_tr, rcond=None)[0]
    C_hat = np.clip(np.c_[X_te, np.ones(len(X_te))] @ coef, 1e-3, None)
    rng = np.random.default_rng(seed)
    C_dff = C_hat * (1 - epsilon + 2 * epsilon * rng.uniform(size=C_hat.shape))
    shift = np.abs(C_dff - C_hat) / C_hat
    row = {}
    for m, C in (("two_stage", C_hat), ("dff", C_dff), ("dfl", C_dff)):
        row[f"regret_{m}"] = float(regret(scenario.problem, C_te, C).mean())
        row[f"mse_{m}"] = float(np.mean((C - C_te) ** 2))
    row.update(max_relative_shift=float(shift.max()), mean_relative_shift=float(shift.mean()), min_cosine=0.9)
    return row


def _engine_available() -> bool:
    try:
        from dff_core.comparison import run_comparison  # noqa: F401

        return True
    except ImportError:
        return False


#: The real ``compare`` when the engine is there, else the test-only stand-in.
RUN_FN = None if _engine_available() else standin_run
TRAIN = {"epochs": 1}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A tiny city: 3x3 sensors, 3 days of 15-minute speeds (links inferred by the loader)."""
    d = tmp_path_factory.mktemp("city")
    rng = np.random.default_rng(0)
    ids = [f"S{i}" for i in range(9)]
    pd.DataFrame(
        {
            "sensor_id": ids,
            "latitude": np.repeat(np.arange(3), 3) * 0.009 + 34.0,
            "longitude": np.tile(np.arange(3), 3) * 0.011 - 118.0,
        }
    ).to_csv(d / "sensors.csv", index=False)
    idx = pd.date_range("2024-03-04", periods=3 * 96, freq="15min")
    hours = (idx.hour + idx.minute / 60).to_numpy()
    rush = np.exp(-((hours - 8) ** 2) / 2) + np.exp(-((hours - 17.5) ** 2) / 2)
    speeds = rng.uniform(50, 90, 9) * (1 - rng.uniform(0.1, 0.6, 9) * rush[:, None]) + rng.normal(0, 4, (len(idx), 9))
    readings = pd.DataFrame(np.clip(speeds, 2, None).round(2), columns=ids)
    readings.insert(0, "timestamp", idx.strftime("%Y-%m-%d %H:%M"))
    readings.to_csv(d / "readings.csv", index=False)
    return d


@pytest.fixture(scope="module")
def scenario(data_dir):
    return ScenarioSpec(readings=str(data_dir / "readings.csv"), sensors=str(data_dir / "sensors.csv")).build()


GRID = {"epsilon": [0.1, 0.3], "seed": [0, 1], "backbone": ["ridge"], "loss": ["spo+"]}


@pytest.fixture
def ray_session():
    """A local 2-CPU Ray instance, shut down after the test so it holds no resources afterwards."""
    ray = pytest.importorskip("ray", reason="ray is not installed")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # pragma: no cover - environment dependent
        pytest.skip(f"a local Ray instance could not start: {exc}")
    yield ray
    ray.shutdown()


def test_local_and_ray_give_the_same_table(scenario, tmp_path, ray_session):
    train = {"epochs": 3}  # enough for the seeds to change DFL's result (below)
    local = sweep(scenario, GRID, backend="local", max_workers=2, out_dir=tmp_path / "l", train=train, run_fn=RUN_FN)
    remote = sweep(scenario, GRID, backend="ray", max_workers=2, out_dir=tmp_path / "r", train=train, run_fn=RUN_FN)
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


def test_stopped_sweep_resumes_without_recomputing(scenario, tmp_path):
    grid = GRID  # 4 runs
    seen: list[tuple[int, int]] = []
    first = sweep(
        scenario,
        grid,
        max_workers=1,
        out_dir=tmp_path,
        train=TRAIN,
        run_fn=RUN_FN,
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
        run_fn=RUN_FN,
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
    third = sweep(
        scenario, grid, out_dir=tmp_path, max_workers=1, train={"epochs": 2}, run_fn=RUN_FN, should_stop=lambda: True
    )
    assert third.n_resumed == 0


def test_killed_sweep_with_a_truncated_line_resumes(scenario, tmp_path):
    grid = {**GRID, "epsilon": [0.2]}
    full = sweep(scenario, grid, max_workers=2, out_dir=tmp_path, train=TRAIN, run_fn=RUN_FN)
    text = (tmp_path / "runs.csv").read_text()
    lines = text.splitlines(keepends=True)
    # Simulate a kill in the middle of writing the last row.
    (tmp_path / "runs.csv").write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    again = sweep(scenario, grid, max_workers=1, out_dir=tmp_path, train=TRAIN, run_fn=RUN_FN)
    assert again.n_resumed == 1 and again.n_ran == 1 and again.complete
    pd.testing.assert_frame_equal(
        full.runs.drop(columns=[c for c in full.runs.columns if c.startswith("seconds")]),
        again.runs.drop(columns=[c for c in again.runs.columns if c.startswith("seconds")]),
        check_exact=True,
    )
    assert len(pd.read_csv(tmp_path / "runs.csv")) == 2


def test_sweep_interrupted_by_an_error_keeps_finished_runs(scenario, tmp_path):
    def boom(done, total, row):
        raise KeyboardInterrupt  # e.g. Ctrl-C while the first result is reported

    with pytest.raises(KeyboardInterrupt):
        sweep(scenario, GRID, max_workers=2, out_dir=tmp_path, train=TRAIN, run_fn=RUN_FN, on_progress=boom)
    saved = pd.read_csv(tmp_path / "runs.csv")
    assert len(saved) == 1  # the run in progress was ended, not waited for
    res = sweep(scenario, GRID, max_workers=2, out_dir=tmp_path, train=TRAIN, run_fn=RUN_FN)
    assert res.n_resumed == 1 and res.n_ran == 3 and res.complete


def test_cli_runs_a_horizon_grid_from_toml(data_dir, tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "sweep.toml"
    rel = Path("..") / data_dir.name  # relative to the config's folder
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
    monkeypatch.chdir(tmp_path.parent.parent)  # a cwd where the relative paths mean nothing
    if RUN_FN is not None:
        monkeypatch.setattr(sys.modules["dff_core.sweep"], "_compare_run", RUN_FN)
    code = main(["--config", str(cfg), "--out", str(tmp_path / "out"), "--workers", "2", "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert sorted(runs["horizon"]) == ["15min", "30min"]
    assert runs["run_id"].is_unique
    assert "2 runs (0 resumed, 2 computed, 0 failed)" in out.out
    # Rerun: everything is resumed.
    assert main(["--config", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert "2 runs (2 resumed, 0 computed, 0 failed)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[grid]\nepsilon = []", ["grid.epsilon: must list at least one value"]),
        ("[grid]\nepsilon = [0.1, 1.5]", ["grid.epsilon: ", "strictly between 0 and 1", "1.5"]),
        ("[grid]\nbackbone = ['ridge', 'oracle']", ["grid.backbone: ", "unknown backbone 'oracle'"]),
        ("[grid]\nloss = ['hinge']", ["grid.loss: ", "'hinge'"]),
        ("[grid]\nepsilons = [0.1]", ["grid.epsilons: unknown key", "allowed: epsilon, seed"]),
        ("[grid]\nseed = [1, 1]", ["grid.seed: ", "twice"]),
        ("[grid]\nhorizon = ['soon']", ["grid.horizon: ", "duration"]),
        ("[train]\nepochs = 0", ["train.epochs: "]),
        ("[scenario]\nreadings = 'nope.csv'", ["scenario.readings: file 'nope.csv' not found"]),
        ("[scenario]\nkind = 'boats'", ["scenario.kind: "]),
        ("[sweep]\nx = 1", ["sweep: unknown key"]),
        ("[grid\nepsilon = 1", ["not valid TOML"]),
    ],
)
def test_bad_configs_name_the_key(tmp_path, toml, expected):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(SweepConfigError) as info:
        load_config(path)
    assert len(info.value.problems) == 1, info.value.problems
    for fragment in expected:
        assert fragment in info.value.problems[0]


def test_cli_lists_every_problem_and_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[scenario]\nsensors = 'missing.csv'\n[grid]\nepsilon = [2.0]\nbackbone = []\ncolour = 'red'\n")
    code = main(["--config", str(path), "--out", str(tmp_path / "o"), "--workers", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 4, err
    assert any("--workers" in e for e in err)
    assert any(e.startswith("error: grid.epsilon[0]") or e.startswith("error: grid.epsilon") for e in err)
    assert any("grid.backbone" in e for e in err) and any("grid.colour: unknown key" in e for e in err)
    # Missing files are reported once the model itself is valid.
    path.write_text("[scenario]\nsensors = 'missing.csv'\nreadings = 'gone.csv'\n")
    assert main(["--config", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "scenario.sensors" in err[1] and "scenario.readings" in err[0]
    assert not (tmp_path / "o").exists()
    # The same through the package's command line (python -m dff_core sweep ...).
    from dff_core.cli import main as dff_main

    assert dff_main(["sweep", "--config", str(path), "--out", str(tmp_path / "o")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 2


def test_config_paths_resolve_against_config_folder_then_cwd(data_dir, tmp_path, monkeypatch):
    cfg = parse_config({"scenario": {"readings": "readings.csv"}}, base_dir=data_dir)
    assert cfg.scenario.resolve("readings") == (data_dir / "readings.csv").resolve()
    monkeypatch.chdir(data_dir)
    cfg = parse_config({"scenario": {"readings": "readings.csv"}}, base_dir=tmp_path)
    assert cfg.scenario.resolve("readings") == (data_dir / "readings.csv").resolve()


def test_subparser_registers_on_a_cli():
    parser = argparse.ArgumentParser()
    add_sweep_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sweep", "--config", "s.toml", "--backend", "ray", "--address", "auto", "--out", "o"])
    assert args.backend == "ray" and args.address == "auto" and callable(args.func)


def test_ray_backend_without_ray_is_a_clear_error(scenario, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'ray"):
        sweep(scenario, GRID, backend="ray")


def test_horizon_grid_needs_a_buildable_scenario(scenario):
    with pytest.raises(ValueError, match=r"grid\.horizon"):
        sweep(scenario, {**GRID, "horizon": ["15min"]}, run_fn=RUN_FN)
    with pytest.raises(ValueError, match="backend"):
        sweep(scenario, GRID, backend="slurm")


def test_summary_and_pareto_front():
    runs = pd.DataFrame(
        {
            "epsilon": [0.1, 0.1, 0.2, 0.2, 0.4, 0.4],
            "seed": [0, 1, 0, 1, 0, 1],
            "backbone": "ridge",
            "loss": "spo+",
            "regret_dff": [5.0, 7.0, 4.0, 4.0, 4.5, 5.5],
            "mean_relative_shift": [0.01, 0.03, 0.05, 0.07, 0.2, 0.2],
            "run_id": list("abcdef"),
        }
    )
    s = summarize(runs)
    assert list(s["epsilon"]) == [0.1, 0.2, 0.4] and list(s["n_seeds"]) == [2, 2, 2]
    np.testing.assert_allclose(s["regret_dff_mean"], [6.0, 4.0, 5.0])
    np.testing.assert_allclose(s["regret_dff_std"], [np.sqrt(2), 0.0, np.sqrt(0.5)])
    front = pareto_front(s)
    # ε=0.4 is dominated by ε=0.2 (more shift, more regret); ε=0.1 shifts least.
    assert list(front["epsilon"]) == [0.1, 0.2]


def test_grid_scalar_values_and_run_order():
    g = GridConfig.model_validate({"epsilon": 0.2, "seed": [3, 1]})
    assert g.epsilon == [0.2] and list(g.axes()) == ["backbone", "loss", "epsilon", "seed"]
