"""Uploaded road networks: content-addressed files, options, and digests that keep runs on different networks apart."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from dashboard import services as S
from dashboard.services.network import clean_networks, network_options, store_files
from tests.dashboard.networks import upload_files, write_toy
from tests.roadnet_toy import toy_links, write_toy_network


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_toy(tmp_path_factory.mktemp("toy"))


def test_network_files_are_stored_by_content_under_plain_names(toy, store: Path):
    files = {"network": ("../my net?.tntp", b"a"), "network_nodes": ("nodes.tntp", b"b")}
    first = store_files(files)
    assert Path(first["network"]).name == "my_net_.tntp"
    assert Path(first["network"]).parent.parent == (store / "networks").resolve()
    assert store_files(files) == first  # same bytes, same place
    other = store_files({**files, "network": ("../my net?.tntp", b"c")})
    assert Path(other["network"]).parent != Path(first["network"]).parent
    assert Path(first["network"]).read_bytes() == b"a"  # the earlier network is untouched


def test_options_keep_only_what_differs_and_name_the_bad_ones():
    assert network_options(" ", S.NETWORK_DEFAULTS["match_distance"]) == {}
    assert network_options("EPSG:26771", 500) == {"network_crs": "EPSG:26771", "match_distance": 500.0}
    with pytest.raises(ValueError, match="Maximum matching distance"):
        network_options(None, -3)
    with pytest.raises(ValueError, match="Coordinate system of the network"):
        network_options("EPSG:nope", None)


def test_runs_on_different_networks_or_matching_never_share_a_digest(toy, tmp_path: Path):
    base = upload_files(toy)
    write_toy_network(tmp_path / "slow", [(a, b, t * 2) for a, b, t in toy_links()])
    slower = {**base, "network": ("Toy_net.tntp", (tmp_path / "slow" / "Toy_net.tntp").read_bytes())}
    loads = [
        S.load_uploaded_data(base),
        S.load_uploaded_data(slower),
        S.load_uploaded_data(base, network={"match_distance": 20_000}),
        S.load_uploaded_data({k: v for k, v in base.items() if k not in S.NETWORK_KINDS}),
    ]
    configs = [S.default_config(loaded) for loaded in loads]
    assert len({S.run_digest(ld.digest, c) for ld, c in zip(loads, configs)}) == 4
    specs = [c["scenario"] for c in configs]
    assert specs[0]["network"] != specs[1]["network"] and specs[3]["network"] is None
    assert specs[2]["match_distance"] == 20_000 and specs[0]["match_distance"] is None
    assert loads[2].network.matched == 12 and loads[0].network.matched == 11


def test_trips_offered_on_a_network_join_its_zones(toy):
    loaded = S.load_uploaded_data(upload_files(toy))
    pairs = S.candidate_pairs(loaded)
    assert pairs and all(int(p) <= 4 for trip in pairs for p in trip.split(" → "))  # TNTP zones 1-4


def _age(path: str, days: float) -> Path:
    folder = Path(path).parent
    past = time.time() - days * 24 * 3600
    os.utime(folder, (past, past))
    return folder


def test_uploaded_networks_no_stored_run_uses_are_removed_after_a_week_or_over_the_cap(store: Path):
    used = store_files({"network": ("used_net.tntp", b"u" * 100)})["network"]
    old = store_files({"network": ("old_net.tntp", b"o" * 100)})["network"]
    recent = store_files({"network": ("recent_net.tntp", b"r" * 100)})["network"]
    run = store / ("a" * 64)
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"config": {"scenario_spec": {"network": used}}}))
    used_dir, old_dir, recent_dir = _age(used, 30), _age(old, 8), _age(recent, 1)
    assert clean_networks() == [old_dir.name]  # the run's network stays however old; the recent one too
    assert used_dir.is_dir() and recent_dir.is_dir() and not old_dir.exists()
    # Over the size cap the oldest unused network goes first, even within the week; a used one never.
    newer = store_files({"network": ("newer_net.tntp", b"n" * 100)})["network"]
    assert clean_networks(cap_bytes=150) == [recent_dir.name]
    assert Path(newer).is_file() and Path(used).is_file()
    # Uploading again refreshes a network's age, and storing cleans the folder up by itself.
    _age(newer, 8)
    assert store_files({"network": ("newer_net.tntp", b"n" * 100)})["network"] == newer
    assert clean_networks() == []
