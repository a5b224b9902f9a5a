"""The result store: round trip without pickle, digests as folder names, runs found by their digest."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dashboard.services import config as C
from dashboard.services import store as R
from dashboard.services.data import Loaded


def test_store_round_trip_without_pickle(traffic_result, store):
    digest = C.run_digest("d" * 64, {"k": 1})
    assert not R.has_result(digest)
    R.save_result(digest, traffic_result, {"scenario": {"kind": "traffic"}})
    assert R.has_result(digest)
    files = sorted(p.name for p in (store / digest).iterdir())
    assert files == ["arrays.npz", "meta.json", "metrics.csv", "per_instance.csv"]
    with np.load(store / digest / "arrays.npz", allow_pickle=False) as z:  # plain arrays only
        assert "dff__factors" in z.files
    back = R.load_result(digest, SimpleNamespace(problem=traffic_result.problem, extra={"pairs": []}))
    for name, m in traffic_result.methods.items():
        np.testing.assert_array_equal(back.methods[name].regret, m.regret)
        np.testing.assert_array_equal(back.methods[name].W, m.W)
    pd.testing.assert_frame_equal(back.methods["dff"].history, traffic_result.methods["dff"].history)
    assert back.methods["two_stage"].history is None
    np.testing.assert_allclose(back.metrics.loc["dff", "regret_mean"], traffic_result.metrics.loc["dff", "regret_mean"])
    assert list(back.times) == list(traffic_result.times)
    assert back.unit == "min" and back.config == traffic_result.config
    assert json.loads((store / digest / "meta.json").read_text())["run_config"] == {"scenario": {"kind": "traffic"}}


def test_store_rejects_non_digest_names():
    with pytest.raises(ValueError, match="digest"):
        R.has_result("../../etc")


def test_a_run_is_found_only_by_its_digest_on_its_data(traffic_result):
    cfg = C.run_config(
        C.scenario_spec("traffic", horizon="30min"),
        backbone="ridge", epsilon=0.2, loss="spo+", epochs=3, methods=["two_stage", "dff"],
    )  # fmt: skip
    mine = Loaded("mine", "a" * 64, None, None, *([None] * 3))
    other = Loaded("other", "b" * 64, None, None, *([None] * 3))
    digest = C.run_digest(mine.digest, cfg)
    R.save_result(digest, traffic_result, cfg, mine.digest)
    assert R.stored_run(other, digest) is None  # computed on other data
    assert R.stored_run(mine, "f" * 64) is None  # no such run
    assert R.stored_run(mine, "../x") is None  # not a digest (it comes from the URL)
    assert R.load_stored(other, cfg) is None


def test_stored_sweep_is_keyed_by_config_and_epsilons(store):
    loaded = Loaded("mine", "a" * 64, None, None, *([None] * 3))
    cfg = {"scenario": {"kind": "traffic"}, "training": {"epsilon": 0.2}}
    eps = (0.1, 0.2)
    assert R.stored_sweep(loaded, cfg, eps) is None
    table = pd.DataFrame({"epsilon": [0.1, 0.2], "regret_mean": [1.0, 0.5]})
    R.save_sweep(C.run_digest(loaded.digest, R.sweep_config(cfg, eps)), table)
    pd.testing.assert_frame_equal(R.stored_sweep(loaded, cfg, eps), table)
    assert R.stored_sweep(loaded, cfg, (0.1,)) is None
