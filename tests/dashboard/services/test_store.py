"""The result store: run folders in the engine's format, found by their digest on their data."""

from __future__ import annotations

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


def test_stored_sweep_is_keyed_by_config_and_epsilons(store):
    loaded = _empty("mine", "a" * 64)
    cfg = {"scenario": {"kind": "traffic"}, "training": {"epsilon": 0.2}}
    eps = (0.1, 0.2)
    assert R.stored_sweep(loaded, cfg, eps) is None
    table = pd.DataFrame({"epsilon": [0.1, 0.2], "regret_mean": [1.0, 0.5]})
    R.save_sweep(C.run_digest(loaded.digest, R.sweep_config(cfg, eps)), table)
    pd.testing.assert_frame_equal(R.stored_sweep(loaded, cfg, eps), table)
    assert R.stored_sweep(loaded, cfg, (0.1,)) is None
