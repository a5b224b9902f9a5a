"""The result store: run folders in the engine's format, found by their digest on their data."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

import dff_core
from dashboard.services import cache
from dashboard.services import config as C
from dashboard.services import store as R
from dashboard.services.data import Loaded, load_sample_data, sample_paths
from dff_core.comparison import load_run
from dff_core.results import MANIFEST

needs_sample = pytest.mark.skipif(not sample_paths()["readings"].is_file(), reason="sample_data/ is missing")


def _empty(name: str, digest: str) -> Loaded:
    return Loaded(name, digest, None, None, *([None] * 3))


def test_stored_results_are_run_folders(traffic_result, store):
    digest = C.run_digest("d" * 64, {"k": 1})
    assert not R.has_result(digest)
    R.save_result(digest, traffic_result)
    assert R.has_result(digest)
    files = {p.name for p in (store / digest).iterdir()}
    assert {"summary.json", "per_instance.csv", "metrics.csv", "arrays.npz", "meta.json", MANIFEST} <= files
    back = R.load_result(digest, traffic_result)  # the problem and display payload come from the scenario
    for name, m in traffic_result.methods.items():
        np.testing.assert_array_equal(back.methods[name].regret, m.regret)
    pd.testing.assert_frame_equal(back.methods["dff"].history, traffic_result.methods["dff"].history)
    assert back.unit == "min" and back.config == traffic_result.config


def test_store_rejects_non_digest_names():
    with pytest.raises(ValueError, match="digest"):
        R.has_result("../../etc")


def test_runs_without_a_recorded_configuration_are_not_reopened(traffic_result):
    mine = _empty("mine", "a" * 64)
    digest = C.run_digest(mine.digest, {"k": 1})
    R.save_result(digest, traffic_result)  # a hand-made result: no scenario spec in its config
    assert R.stored_run(mine, digest) is None
    assert R.stored_run(mine, "f" * 64) is None  # no such run
    assert R.stored_run(mine, "../x") is None  # not a digest (it comes from the URL)


@needs_sample
def test_a_stored_run_reopens_with_its_settings_on_its_data_only(store, monkeypatch):
    # The per-session result cache needs a running app (AppTest covers it); here each read loads afresh.
    monkeypatch.setattr(cache, "stored_result", lambda key, _load: _load())
    loaded = load_sample_data()
    cfg = C.run_config(
        C.scenario_spec("allocation", horizon="30min", budget=2, source="items", sample=True),
        backbone="ridge", epsilon=0.15, loss="spo+", epochs=1, methods=["two_stage", "dff"],
    )  # fmt: skip
    result = dff_core.compare(C.get_scenario(loaded, cfg), **C.compare_kwargs(cfg))
    assert C.run_config_of(result.config) == cfg  # the run records its own configuration
    digest = C.run_digest(loaded.digest, cfg)
    R.save_result(digest, result)
    found = R.stored_run(loaded, digest)
    assert found is not None and found[0] == cfg
    np.testing.assert_array_equal(found[1].methods["dff"].regret, result.methods["dff"].regret)
    assert found[1].methods["dff"].model is not None  # the fitted correction comes back
    assert R.load_stored(loaded, cfg)[0] == digest
    assert R.stored_run(_empty("other", "b" * 64), digest) is None  # computed on other data
    assert R.model_file(R.run_dir(digest)) is not None
    # The store folder is a run folder: the engine reopens it on its own from the recorded spec.
    alone = load_run(store / digest)
    np.testing.assert_array_equal(alone.methods["dff"].regret, result.methods["dff"].regret)
    # A damaged entry: not served, removed, and stored again by the next run so the link reopens it.
    _truncate(store / digest / R.MODEL_FILE)
    assert R.model_file(R.run_dir(digest)) is None  # Export never serves the corrupt correction
    assert R.stored_run(loaded, digest) is None and not (store / digest).exists()
    R.save_result(digest, result)
    _truncate(store / digest / "per_instance.csv")
    assert R.load_stored(loaded, cfg) is None and not (store / digest).exists()
    R.save_result(digest, result)
    assert R.stored_run(loaded, digest)[0] == cfg and R.model_file(R.run_dir(digest)) is not None


def test_stored_sweep_is_keyed_by_config_and_epsilons(store):
    loaded = _empty("mine", "a" * 64)
    cfg = {"scenario": {"kind": "traffic"}, "training": {"epsilon": 0.2}}
    eps = (0.1, 0.2)
    assert R.stored_sweep(loaded, cfg, eps) is None
    table = pd.DataFrame({"epsilon": [0.1, 0.2], "regret_mean": [1.0, 0.5]})
    R.save_sweep(C.run_digest(loaded.digest, R.sweep_config(cfg, eps)), table)
    pd.testing.assert_frame_equal(R.stored_sweep(loaded, cfg, eps), table)
    assert R.stored_sweep(loaded, cfg, (0.1,)) is None


# ------------------------------------------------------------------------------ self-repair


def _truncate(path, keep: int = 10) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:keep])


def test_a_damaged_entry_is_detected_and_replaced_by_the_next_save(traffic_result, store):
    digest = C.run_digest("d" * 64, {"k": 2})
    R.save_result(digest, traffic_result)
    assert R.is_complete(store / digest)
    _truncate(store / digest / "arrays.npz")
    assert R.has_result(digest) and not R.is_complete(store / digest)  # the manifest's checksum catches it
    (store / digest / "notes.txt").write_text("left by hand")  # a folder the engine alone would refuse to replace
    R.save_result(digest, traffic_result)  # replaces the damaged folder instead of failing on it
    back = R.load_result(digest, traffic_result)
    np.testing.assert_array_equal(back.methods["dff"].regret, traffic_result.methods["dff"].regret)
    assert sorted(p.name for p in store.iterdir() if p.name != "logs") == [digest]  # nothing left aside


def test_discard_removes_damaged_entries_only(traffic_result, store):
    digest = C.run_digest("d" * 64, {"k": 3})
    R.save_result(digest, traffic_result)
    assert not R.discard(digest) and R.has_result(digest)  # a complete entry is kept
    (store / digest / "metrics.csv").unlink()
    assert R.discard(digest) and not (store / digest).exists()
    assert not R.discard(digest)  # nothing left to remove


def test_a_damaged_model_file_is_never_offered(traffic_result, store):
    digest = C.run_digest("d" * 64, {"k": 4})
    R.save_result(digest, traffic_result)
    folder = store / digest
    model = folder / R.MODEL_FILE
    model.write_bytes(b"not the file the manifest lists")  # hand-made results have no model: a stray file
    assert R.model_file(folder) is None
    assert R.model_file(store / ("e" * 64)) is None  # no such run


def test_temporary_folders_left_by_a_killed_save_are_cleaned_when_stale(traffic_result, store):
    store.mkdir(parents=True, exist_ok=True)
    stale, fresh = store / f".{'a' * 64}.tmp-1234abcd", store / f".{'b' * 64}.tmp-5678abcd"
    for p in (stale, fresh):
        p.mkdir()
        (p / "summary.json").write_text("{}")
    os.utime(stale, (time.time() - 2 * R.STALE_TEMP_S,) * 2)
    R.save_result(C.run_digest("d" * 64, {"k": 5}), traffic_result)
    assert not stale.exists() and fresh.exists()  # a recent one may be a save in progress


@contextlib.contextmanager
def file_size_limit(nbytes: int = 512) -> Iterator[None]:
    """In the block, writes beyond ``nbytes`` fail with OSError (EFBIG) as on a full disk.

    Restored when the block ends, inside the test: pytest's own report must not be written while the
    limit holds (its output file may already be larger).
    """
    resource = pytest.importorskip("resource")
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, handler)


def test_a_full_disk_keeps_the_previous_entry_and_leaves_no_temporary_folder(traffic_result, store):
    digest = C.run_digest("d" * 64, {"k": 6})
    R.save_result(digest, traffic_result)
    before = {p.name: p.read_bytes() for p in (store / digest).iterdir()}
    with file_size_limit():
        assert R.save_result(digest, traffic_result) == store / digest  # the same run stored before is kept
        with pytest.raises(OSError):
            R.save_result(C.run_digest("d" * 64, {"k": 7}), traffic_result)
        sweep_digest = C.run_digest("d" * 64, {"sweep": 1})
        with pytest.raises(OSError):
            R.save_sweep(sweep_digest, pd.DataFrame({"epsilon": np.linspace(0, 1, 200), "regret_mean": 1.0}))
    assert {p.name: p.read_bytes() for p in (store / digest).iterdir()} == before
    assert [p.name for p in store.iterdir() if ".tmp-" in p.name or ".old-" in p.name] == []
    assert sorted(p.name for p in store.iterdir() if p.name != "logs") == [digest]
