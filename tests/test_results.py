"""The run format: ``ComparisonResult.save``/``load`` round trip, atomic writes, corruption checks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dff_core import results as R
from dff_core.comparison import run_comparison
from dff_core.errors import DataError
from dff_core.problems import ShortestPath
from dff_core.results import ComparisonResult

FILES = [
    "arrays.npz",
    "dff.safetensors",
    "manifest.json",
    "meta.json",
    "metrics.csv",
    "per_instance.csv",
    "summary.json",
]


@pytest.fixture(scope="module")
def result() -> ComparisonResult:
    problem = ShortestPath.grid(3, 3)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    C = np.abs(X @ rng.normal(size=(3, problem.d)) + 3.0) + 0.1
    times = pd.date_range("2025-03-01 06:00", periods=30, freq="15min", tz="Europe/Paris")
    res = run_comparison(
        problem, X[:50], C[:50], X[50:60], C[50:60], X[60:], C[60:], backbone="linear", epsilon=0.3, epochs=2,
        times_test=times, config={"scenario": "unit", "split": (0.6, 0.2, 0.2)},
    )  # fmt: skip
    res.unit, res.description, res.wall_seconds = "min", "a 3x3 grid", 12.5
    return res


def _same(a: ComparisonResult, b: ComparisonResult) -> None:
    for k in ("X_test", "C_test", "W_test", "z_test", "C_hat"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    assert set(a.methods) == set(b.methods)
    for name, m in a.methods.items():
        n = b.methods[name]
        for k in ("C_pred", "W", "regret"):
            np.testing.assert_array_equal(getattr(m, k), getattr(n, k))
        assert (m.factors is None) == (n.factors is None) and m.seconds == n.seconds
        if m.factors is not None:
            np.testing.assert_array_equal(m.factors, n.factors)
        if m.history is None:
            assert n.history is None
        else:
            pd.testing.assert_frame_equal(m.history, n.history, check_exact=True)
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    pd.testing.assert_frame_equal(a.per_instance, b.per_instance, check_exact=True)
    pd.testing.assert_index_equal(a.times, b.times, check_exact=True, check_freq=False)
    assert (a.feature_names, a.output_names, a.timings) == (b.feature_names, b.output_names, b.timings)
    assert (a.n_train, a.n_val, a.unit, a.description, a.wall_seconds) == (
        b.n_train, b.n_val, b.unit, b.description, b.wall_seconds,
    )  # fmt: skip


def test_round_trip_is_exact(result: ComparisonResult, tmp_path: Path) -> None:
    out = result.save(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == FILES
    back = ComparisonResult.load(out, problem=result.problem)
    _same(result, back)
    assert back.config == json.loads(json.dumps(result.config))  # tuples come back as lists
    assert back.summary() == json.loads((out / "summary.json").read_text())
    assert back.summary()["scenario_description"] == "a 3x3 grid" and back.summary()["seconds"] == 12.5
    X, C_hat = result.X_test, result.C_hat
    np.testing.assert_array_equal(back.methods["dff"].model.predict(X, C_hat), result.methods["dff"].C_pred)
    assert back.methods["dfl"].model is None and back.methods["two_stage"].model is None
    with np.load(out / "arrays.npz", allow_pickle=False) as z:  # plain arrays only
        assert {"dff__factors", "two_stage__W", "C_hat"} <= set(z.files)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["version"] == R.RUN_FORMAT_VERSION and sorted(manifest["files"]) == sorted(
        set(FILES) - {"manifest.json"}
    )
    assert manifest["files"]["meta.json"] == hashlib.sha256((out / "meta.json").read_bytes()).hexdigest()


def test_problem_and_extra_come_from_the_scenario(result: ComparisonResult, tmp_path: Path) -> None:
    result.save(tmp_path / "run")
    scenario = SimpleNamespace(problem=result.problem, extra={"pairs": [("a", "b")]})
    back = ComparisonResult.load(tmp_path / "run", scenario)
    assert back.problem is result.problem and back.extra == {"pairs": [("a", "b")]}
    with pytest.raises(ValueError, match="load_run"):
        ComparisonResult.load(tmp_path / "run")


def test_times_that_are_not_dates_round_trip(result: ComparisonResult, tmp_path: Path) -> None:
    periods = pd.Index([f"p{k}" for k in range(result.n_test)])
    plain = ComparisonResult(
        **{**result.__dict__, "times": periods, "methods": {"two_stage": result.methods["two_stage"]}}
    )
    back = ComparisonResult.load(plain.save(tmp_path / "run"), problem=result.problem)
    pd.testing.assert_index_equal(back.times, periods)
    assert not (tmp_path / "run" / "dff.safetensors").exists()


def test_corrupt_or_partial_folders_are_named(result: ComparisonResult, tmp_path: Path) -> None:
    out = result.save(tmp_path / "run")
    metrics = out / "metrics.csv"
    metrics.write_text(metrics.read_text().replace("dff", "dfx"))
    with pytest.raises(DataError, match=r"metrics\.csv does not match its checksum"):
        ComparisonResult.load(out, problem=result.problem)
    out = result.save(tmp_path / "run2")
    (out / "arrays.npz").unlink()
    with pytest.raises(DataError, match=r"arrays\.npz is missing"):
        ComparisonResult.load(out, problem=result.problem)
    (out / "manifest.json").unlink()
    with pytest.raises(DataError, match=r"manifest\.json is missing"):
        ComparisonResult.load(out, problem=result.problem)
    with pytest.raises(DataError, match="no run folder"):
        ComparisonResult.load(tmp_path / "nothing", problem=result.problem)


def test_arrays_are_read_header_first_and_never_as_pickles(result: ComparisonResult, tmp_path: Path) -> None:
    out = result.save(tmp_path / "run")
    with np.load(out / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["X_test"] = np.array([1, "x"], dtype=object)  # an edited file that would run code when unpickled
    np.savez(out / "arrays.npz", allow_pickle=True, **arrays)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["arrays.npz"] = hashlib.sha256((out / "arrays.npz").read_bytes()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))  # checksums rewritten to match
    with pytest.raises(DataError, match=r"arrays\.npz: array 'X_test' holds Python objects") as err:
        ComparisonResult.load(out, problem=result.problem)
    assert str(out) in str(err.value)


def test_a_failed_write_leaves_nothing_and_keeps_the_previous_run(
    result: ComparisonResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(R.np, "savez_compressed", fail)
    with pytest.raises(OSError, match="disk full"):
        result.save(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    out = result.save(tmp_path / "run")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(R.np, "savez_compressed", fail)
    with pytest.raises(OSError):
        result.save(tmp_path / "run")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_existing_folders(result: ComparisonResult, tmp_path: Path) -> None:
    out = result.save(tmp_path / "run")
    result.save(out)  # a run folder is replaced
    ComparisonResult.load(out, problem=result.problem)
    (tmp_path / "old").mkdir()  # a folder written by an earlier version (summary and per-instance only)
    (tmp_path / "old" / "summary.json").write_text("{}")
    ComparisonResult.load(result.save(tmp_path / "old"), problem=result.problem)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="other than a run's"):
        result.save(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
