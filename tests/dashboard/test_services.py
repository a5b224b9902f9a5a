"""Result store, digests and job records of dashboard.services (no browser, no training)."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dashboard import services as S


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("DFF_CACHE_DIR", str(tmp_path / "store"))
    return tmp_path / "store"


def test_digests_depend_on_content_and_config_only():
    a = S.digest_bytes({"readings": b"x,y\n1,2\n", "sensors": b"id\n"})
    assert a == S.digest_bytes({"sensors": b"id\n", "readings": b"x,y\n1,2\n"})  # order-free
    assert a != S.digest_bytes({"readings": b"x,y\n1,3\n", "sensors": b"id\n"})
    cfg = S.make_config(
        scenario="traffic", backbone="ridge", epsilon=0.2, loss="spo+", horizon="30min", epochs=5, methods=["dff"]
    )
    assert S.run_digest(a, cfg) == S.run_digest(a, dict(reversed(list(cfg.items()))))
    assert S.run_digest(a, cfg) != S.run_digest(a, {**cfg, "epsilon": 0.3})
    assert S.run_digest(a, cfg) != S.run_digest("0" * 64, cfg)


def test_store_round_trip_without_pickle(traffic_result, store):
    digest = S.run_digest("d" * 64, {"k": 1})
    assert not S.has_result(digest)
    S.save_result(digest, traffic_result, {"scenario": "traffic"})
    assert S.has_result(digest)
    files = sorted(p.name for p in (store / digest).iterdir())
    assert files == ["arrays.npz", "meta.json", "metrics.csv", "per_instance.csv"]
    with np.load(store / digest / "arrays.npz", allow_pickle=False) as z:  # plain arrays only
        assert "dff__factors" in z.files
    back = S.load_result(digest, SimpleNamespace(problem=traffic_result.problem, extra={"pairs": []}))
    for name, m in traffic_result.methods.items():
        np.testing.assert_array_equal(back.methods[name].regret, m.regret)
        np.testing.assert_array_equal(back.methods[name].W, m.W)
    pd.testing.assert_frame_equal(back.methods["dff"].history, traffic_result.methods["dff"].history)
    assert back.methods["two_stage"].history is None
    np.testing.assert_allclose(back.metrics.loc["dff", "regret_mean"], traffic_result.metrics.loc["dff", "regret_mean"])
    assert list(back.times) == list(traffic_result.times)
    assert back.unit == "min" and back.config == traffic_result.config
    assert json.loads((store / digest / "meta.json").read_text())["run_config"] == {"scenario": "traffic"}


def test_store_rejects_non_digest_names():
    with pytest.raises(ValueError, match="digest"):
        S.has_result("../../etc")


def test_job_progress_and_session_isolation():
    job = S.Job(id="j1", session="A", digest="0" * 64, config={"epochs": 4, "methods": ["two_stage", "dff", "dfl"]})
    job.status = "running"
    job.events += [{"method": "dff", "epoch": 4}, {"method": "dfl", "epoch": 2}]
    assert job.progress_fraction() == pytest.approx(6 / 8)
    S._jobs()[job.id] = job
    assert S.get_job("j1", "A") is job
    assert S.get_job("j1", "B") is None  # another browser tab cannot reach it
    assert S.get_job(None, "A") is None


def test_progress_events_are_flattened():
    ev = S._progress_event(("dff", 3, {"val_regret": np.float64(0.5), "model": object()}), {"stage": "x"})
    assert ev == {"method": "dff", "epoch": 3, "val_regret": 0.5, "stage": "x"}


def test_worker_records_errors_and_never_saves_them():
    job = S.Job(id="j2", session="A", digest="1" * 64, config={})

    def boom():
        raise ValueError("bad input at row 3")

    t = threading.Thread(target=S._work, args=(job, boom))
    t.start()
    t.join(10)
    assert job.status == "error" and "row 3" in job.error
    assert not S.has_result(job.digest)


def test_route_decisions_on_a_grid(traffic_result):
    flows, times = S.route_decisions(traffic_result, 0)
    assert set(flows) == {"two_stage", "dff", "dfl", "hindsight"}
    # hindsight is the best route under the true costs
    assert times["hindsight"] <= min(times.values()) + 1e-9
    assert times["two_stage"] - times["hindsight"] == pytest.approx(traffic_result.methods["two_stage"].regret[0])


def test_corrections_by_hour_and_decision_differences(traffic_result):
    table = S.corrections_by_hour(traffic_result)
    assert table.shape == (12, 8)  # 12 predicted values x 8 distinct test hours
    assert list(table.index[:2]) == ["S0", "S1"]
    diff = S.decision_differences(traffic_result)
    reg = {m: traffic_result.methods[m].regret for m in ("two_stage", "dff")}
    for row in diff.itertuples():
        assert row.saved == pytest.approx(reg["two_stage"][row.instance] - reg["dff"][row.instance])


def test_most_changed_instance_points_at_the_largest_regret_gap(traffic_result):
    gap = abs(traffic_result.methods["two_stage"].regret - traffic_result.methods["dff"].regret)
    assert S.most_changed_instance(traffic_result) == int(gap.argmax())
    traffic_result.methods["dff"].regret = traffic_result.methods["two_stage"].regret.copy()
    assert S.most_changed_instance(traffic_result) == 0


def test_upload_limit_stated_in_the_app_matches_the_server_config():
    import tomllib

    config = tomllib.loads((S.REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == S.MAX_UPLOAD_MB
    assert config["theme"]["chartCategoricalColors"][:2] == ["#64748B", "#1D4ED8"]  # plain, DFF as in figures


def test_job_table_drops_stale_and_replaced_jobs(monkeypatch):
    table = S._jobs()
    table.clear()
    old = S.Job(id="old", session="A", digest="2" * 64, config={}, status="done", finished=0.0)
    other = S.Job(id="other", session="B", digest="3" * 64, config={}, status="running")
    table.update({"old": old, "other": other})
    monkeypatch.setattr(S, "JOB_TTL_S", 1e12)  # nothing is stale: only replacement applies
    S._register(S.Job(id="new", session="A", digest="4" * 64, config={}))
    assert set(table) == {"other", "new"}  # A's finished job replaced, B's running job kept
    monkeypatch.setattr(S, "JOB_TTL_S", 0.0)
    table["new"].status, table["new"].finished = "done", 0.0
    S._register(S.Job(id="sweep", session="C", digest="5" * 64, config={"sweep": [0.1]}))
    assert set(table) == {"other", "sweep"}  # finished long ago: dropped
    table.clear()
