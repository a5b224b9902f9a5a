"""Real datasets from <repo>/../shared/data (or $DFF_SHARED_DATA); skipped when absent."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from dff_core.data import (
    DataError,
    load_geojson_links,
    load_metr_la,
    load_tntp_network,
    read_restricted_pickle,
    shared_data_dir,
)

SHARED = shared_data_dir()


def need(*parts: str):
    if SHARED is None or not SHARED.joinpath(*parts).exists():
        pytest.skip(f"real data {'/'.join(parts)} not found (set DFF_SHARED_DATA or place ../shared/data)")
    return SHARED.joinpath(*parts)


@pytest.fixture(scope="module")
def metr():
    need("metr-la-week", "los_speed.csv")
    return load_metr_la()


def test_metr_la_dataset(metr):
    assert metr.readings.shape == (2016, 207)
    assert metr.readings.index[0] == pd.Timestamp("2012-03-01 00:00")
    assert metr.readings.index[-1] == pd.Timestamp("2012-03-07 23:55")
    assert metr.freq == pd.Timedelta("5min") and metr.value_kind == "speed_mph" and metr.source == "metr-la"
    assert list(metr.sensors.index[:3]) == ["773869", "767541", "767542"]
    assert metr.sensors["latitude"].between(33.5, 34.5).all()
    assert metr.sensors["longitude"].between(-118.8, -117.8).all()
    # speeds in mph up to 70; km/h conversion
    assert metr.readings.to_numpy().max() == pytest.approx(70.0)
    assert metr.speeds_kmh().to_numpy().max() == pytest.approx(70.0 * 1.609344)
    assert not metr.graph_inferred and metr.links["length_km"].gt(0).all()


def test_metr_la_links_match_adjacency(metr):
    with np.load(need("metr-la-week", "adj_mx.npz"), allow_pickle=False) as z:
        adj, ids = z["adj"], [str(s) for s in z["sensor_ids"]]
    off_diagonal = int((adj != 0).sum() - (np.diag(adj) != 0).sum())
    assert len(metr.links) == off_diagonal == 1722 - 207
    pos = {s: i for i, s in enumerate(ids)}
    sample = metr.links.sample(50, random_state=0)
    assert all(adj[pos[f], pos[t]] > 0 for f, t in zip(sample.from_id, sample.to_id))


def test_metr_la_days():
    need("metr-la-week", "los_speed.csv")
    ds = load_metr_la(days=1)
    assert ds.readings.shape == (288, 207)


def test_restricted_pickle_matches_npz():
    data = read_restricted_pickle(need("metr-la-week", "adj_mx.pkl"))
    ids, id_to_ind, adj = data
    with np.load(need("metr-la-week", "adj_mx.npz"), allow_pickle=False) as z:
        assert list(ids) == [str(s) for s in z["sensor_ids"]]
        np.testing.assert_array_equal(adj, z["adj"])
    assert len(ids) == 207 and id_to_ind[ids[5]] == 5 and adj.dtype == np.float32


class _Evil:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self):
        import os

        return (os.system, (self.cmd,))


def test_restricted_pickle_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pkl"
    bad.write_bytes(pickle.dumps({"x": _Evil(f"touch {marker}")}, protocol=2))
    with pytest.raises(DataError, match=r"evil\.pkl.*refused.*system"):
        read_restricted_pickle(bad)
    assert not marker.exists()
    for obj in (_Evil, print, pd.Timestamp("2020-01-01")):
        p = tmp_path / "other.pkl"
        p.write_bytes(pickle.dumps(obj, protocol=2))
        with pytest.raises(DataError, match="refused"):
            read_restricted_pickle(p)


def test_restricted_pickle_allows_plain_data(tmp_path):
    obj = (["a", "b"], {"a": 0, "b": 1.5}, np.arange(6, dtype=np.float32).reshape(2, 3), True, None)
    for protocol in (2, 4, 5):
        p = tmp_path / f"ok{protocol}.pkl"
        p.write_bytes(pickle.dumps(obj, protocol=protocol))
        back = read_restricted_pickle(p)
        assert back[:2] == obj[:2] and back[3:] == obj[3:]
        np.testing.assert_array_equal(back[2], obj[2])
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match=r"junk\.pkl"):
        read_restricted_pickle(tmp_path / "junk.pkl")


def test_tntp_anaheim():
    net = load_tntp_network(need("tntp-anaheim", "Anaheim_net.tntp"))
    assert len(net) == 914
    assert list(net.columns[:5]) == ["init_node", "term_node", "capacity", "length", "free_flow_time"]
    assert net["init_node"].min() == 1 and max(net["init_node"].max(), net["term_node"].max()) == 416
    assert net.iloc[0][["init_node", "term_node", "capacity", "length"]].tolist() == [1, 117, 9000, 5280]
    assert net.attrs["metadata"]["NUMBER OF ZONES"] == "38"


def test_tntp_sioux_falls():
    net = load_tntp_network(need("tntp-siouxfalls", "SiouxFalls_net.tntp"))
    assert len(net) == 76 and net["init_node"].nunique() == 24
    assert net.iloc[0]["capacity"] == pytest.approx(25900.20064)
    assert net["free_flow_time"].iloc[0] == 6


def test_tntp_malformed(tmp_path):
    p = tmp_path / "bad_net.tntp"
    p.write_text("<NUMBER OF LINKS> 2\n~ init_node term_node ;\n1 2 ;\n")
    with pytest.raises(DataError, match=r"bad_net\.tntp.*END OF METADATA"):
        load_tntp_network(p)
    p.write_text("<NUMBER OF LINKS> 2\n<END OF METADATA>\n~ init_node term_node ;\n1 2 ;\n")
    with pytest.raises(DataError, match="2 links but 1"):
        load_tntp_network(p)


def test_geojson_links():
    g = load_geojson_links(need("tntp-anaheim", "anaheim.geojson"))
    assert len(g) == 914 and g.crs.to_epsg() == 4326
    assert (g.geometry.geom_type == "LineString").all()
    minx, miny, maxx, maxy = g.total_bounds
    assert -118.02 < minx < maxx < -117.8 and 33.7 < miny < maxy < 33.9
    with pytest.raises(DataError, match="LineString"):
        load_geojson_links(need("tntp-anaheim", "anaheim_nodes.geojson"))
