"""Road networks: reading TNTP / CSV / GeoJSON networks, their checks, and matching sensors onto links."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dff_core.data import DataError, shared_data_dir
from dff_core.data.report import ValidationReport
from dff_core.data.roadnet import load_road_network, match_sensors

SHARED = shared_data_dir()
CHICAGO_CRS = "EPSG:26771"  # NAD27 Illinois East, US feet (Chicago Sketch's node file)


def need(*parts: str) -> Path:
    if SHARED is None or not SHARED.joinpath(*parts).exists():
        pytest.skip(f"real data {'/'.join(parts)} not found (set DFF_SHARED_DATA or place ../shared/data)")
    return SHARED.joinpath(*parts)


# ----------------------------------------------------------------------------- small files
# A 3 x 3 grid of junctions 0.01 degrees apart; nodes 1 and 2 are zones (first thru node 3).
NODES = {k + 1: (5.0 + 0.01 * (k % 3), 52.0 + 0.01 * (k // 3)) for k in range(9)}
GRID_LINKS = [(a, b) for a in NODES for b in NODES if a != b and sum(abs(np.subtract(NODES[a], NODES[b]))) < 0.011]


def tntp_net(links: list[tuple], zones: int = 2, first_thru: int = 3) -> str:
    head = (
        f"<NUMBER OF ZONES> {zones}\n<NUMBER OF NODES> 9\n<FIRST THRU NODE> {first_thru}\n"
        f"<NUMBER OF LINKS> {len(links)}\n<END OF METADATA>\n\n\n"
        "~\tinit_node\tterm_node\tcapacity\tlength\tfree_flow_time\tb\tpower\tspeed\ttoll\tlink_type\t;\n"
    )
    rows = [f"\t{a}\t{b}\t1000\t1.0\t{t}\t0.15\t4\t0\t0\t1\t;" for a, b, t in links]
    return head + "\n".join(rows) + "\n"


def node_file(nodes: dict[int, tuple[float, float]] = NODES) -> str:
    return "node\tX\tY\t;\n" + "".join(f"{k}\t{x}\t{y}\t;\n" for k, (x, y) in nodes.items())


def write_net(tmp_path: Path, links: list[tuple] | None = None, nodes: str | None = None, **kw) -> Path:
    links = links if links is not None else [(a, b, 2.0) for a, b in GRID_LINKS]
    (tmp_path / "Toy_net.tntp").write_text(tntp_net(links, **kw))
    (tmp_path / "Toy_node.tntp").write_text(node_file() if nodes is None else nodes)
    return tmp_path / "Toy_net.tntp"


def body_line(path: Path, a: int, b: int) -> int:
    """Editor line of the link a -> b in a TNTP file (found independently of the reader)."""
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        f = line.replace(";", " ").split()
        if len(f) > 2 and f[0] == str(a) and f[1] == str(b):
            return i
    raise AssertionError


# ----------------------------------------------------------------------------- TNTP
def test_small_tntp_network_nodes_links_zones(tmp_path: Path) -> None:
    net = load_road_network(write_net(tmp_path))
    assert net.num_nodes == 9 and len(net.links) == len(GRID_LINKS) == 24
    assert net.centroids == ["1", "2"]
    assert [net.node_ids[z] for z in net.zones] == ["1", "2"]
    assert net.nodes.loc["5", "longitude"] == pytest.approx(5.01) and net.nodes.loc["5", "latitude"] == pytest.approx(
        52.01
    )
    row = net.links.iloc[0]
    assert (net.node_ids[row["u"]], net.node_ids[row["v"]]) == (row["from_id"], row["to_id"])
    assert net.report.ok and not net.report.warnings


def test_unknown_node_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = write_net(tmp_path, links=[(a, b, 2.0) for a, b in GRID_LINKS] + [(5, 42, 2.0)])
    with pytest.raises(DataError) as err:
        load_road_network(path)
    text = str(err.value)
    assert "Toy_net.tntp" in text and f"line {body_line(path, 5, 42)}" in text and "node 42" in text
    assert "Toy_node.tntp" in text


def test_duplicate_links_are_dropped_keeping_the_faster(tmp_path: Path) -> None:
    links = [(a, b, 2.0) for a, b in GRID_LINKS] + [(4, 5, 1.5), (4, 5, 3.0)]
    path = write_net(tmp_path, links=links)
    net = load_road_network(path)
    kept = net.links[(net.links["from_id"] == "4") & (net.links["to_id"] == "5")]
    assert len(kept) == 1 and kept["free_flow_min"].iloc[0] == 1.5
    warning = " ".join(str(w) for w in net.report.warnings)
    assert "2 link(s) repeat" in warning
    lines = [i for i, ln in enumerate(path.read_text().splitlines(), 1) if ln.split()[:2] == ["4", "5"]]
    assert all(f"line {ln}" in warning for ln in (lines[0], lines[2]))  # the 2.0 and 3.0 rows


def test_self_loop_dropped_with_warning(tmp_path: Path) -> None:
    net = load_road_network(write_net(tmp_path, links=[(a, b, 2.0) for a, b in GRID_LINKS] + [(5, 5, 1.0)]))
    assert len(net.links) == 24 and "same node" in str(net.report.warnings[0])


def test_zero_free_flow_time_warns_off_connectors_only(tmp_path: Path) -> None:
    links = [(a, b, 0.0 if a in (1, 2) else 2.0) for a, b in GRID_LINKS]  # connectors out of zones cost 0
    net = load_road_network(write_net(tmp_path, links=links))
    assert not net.report.warnings and any("connector" in m for m in net.report.info)
    links = [(a, b, 0.0 if (a, b) == (5, 6) else 2.0) for a, b in GRID_LINKS]
    path = write_net(tmp_path, links=links)
    net = load_road_network(path)
    assert f"line {body_line(path, 5, 6)}" in str(net.report.warnings[0])


def test_negative_free_flow_time_is_an_error(tmp_path: Path) -> None:
    path = write_net(tmp_path, links=[(a, b, -1.0 if (a, b) == (5, 6) else 2.0) for a, b in GRID_LINKS])
    with pytest.raises(DataError) as err:
        load_road_network(path)
    assert f"line {body_line(path, 5, 6)}" in str(err.value) and "negative" in str(err.value)


def test_every_time_zero_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="every link has a free-flow time of 0"):
        load_road_network(write_net(tmp_path, links=[(a, b, 0.0) for a, b in GRID_LINKS]))


def test_projected_node_file_without_crs_is_explained(tmp_path: Path) -> None:
    feet = {k: (600_000 + 3000 * (k % 3), 1_900_000 + 3000 * (k // 3)) for k in range(1, 10)}
    path = write_net(tmp_path, nodes=node_file(feet))
    with pytest.raises(DataError) as err:
        load_road_network(path)
    assert "Toy_node.tntp" in str(err.value) and "--network-crs" in str(err.value) and "projected" in str(err.value)
    net = load_road_network(path, crs=CHICAGO_CRS)  # the same file with its system: placed in Illinois
    assert 41 < net.nodes["latitude"].mean() < 43 and -89 < net.nodes["longitude"].mean() < -87


def test_swapped_degrees_are_explained(tmp_path: Path) -> None:
    swapped = {k: (lat, lon) for k, (lon, lat) in NODES.items()}
    swapped = {k: (v[0] + 100, v[1]) for k, v in swapped.items()}  # "x" 152 is no latitude
    with pytest.raises(DataError, match="swapped"):
        load_road_network(write_net(tmp_path, nodes=node_file({k: (v[1], v[0]) for k, v in swapped.items()})))


def test_missing_node_file_says_what_to_give(tmp_path: Path) -> None:
    path = write_net(tmp_path)
    (tmp_path / "Toy_node.tntp").unlink()
    with pytest.raises(DataError, match="--network-nodes"):
        load_road_network(path)


def test_malformed_tntp_is_a_data_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "Bad_net.tntp"
    path.write_text("<NUMBER OF LINKS> 1\n<END OF METADATA>\n~ init_node term_node free_flow_time ;\n1 2 x y z ;\n")
    with pytest.raises(DataError, match=r"Bad_net\.tntp"):
        load_road_network(path)
    path.write_text("no metadata here\n")
    with pytest.raises(DataError, match="END OF METADATA"):
        load_road_network(path)


def test_missing_network_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_road_network(tmp_path / "nope_net.tntp")


# ----------------------------------------------------------------------------- CSV / GeoJSON
def test_links_csv_with_wkt_geometry(tmp_path: Path) -> None:
    rows = ["from_id,to_id,free_flow_time,geometry"]
    for a, b in GRID_LINKS:
        (x1, y1), (x2, y2) = NODES[a], NODES[b]
        rows.append(f'{a},{b},2,"LINESTRING ({x1} {y1}, {(x1 + x2) / 2} {(y1 + y2) / 2 + 0.001}, {x2} {y2})"')
    path = tmp_path / "links.csv"
    path.write_text("\n".join(rows) + "\n")
    net = load_road_network(path)
    assert net.num_nodes == 9 and len(net.links) == 24 and len(net.zones) == 0
    assert len(net.geometry[0].coords) == 3  # the drawn bend is kept


def test_links_csv_bad_time_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_text("from_id,to_id,free_flow_time\n1,2,2\n2,3,abc\n")
    (tmp_path / "nodes.csv").write_text("node_id,x,y\n1,5.0,52.0\n2,5.01,52.0\n3,5.02,52.0\n")
    with pytest.raises(DataError) as err:
        load_road_network(path, nodes=tmp_path / "nodes.csv")
    assert "line 3" in str(err.value) and "'abc' is not a number" in str(err.value)
    path.write_text("from_id,to_id\n1,2\n")
    with pytest.raises(DataError, match="free_flow_time"):
        load_road_network(path, nodes=tmp_path / "nodes.csv")


def test_geojson_links_two_way_and_nodes_from_endpoints(tmp_path: Path) -> None:
    feats = [
        {"type": "Feature", "properties": {"free_flow_time": 1.0, "oneway": "no"},
         "geometry": {"type": "LineString", "coordinates": [[5.0, 52.0], [5.01, 52.0]]}},
        {"type": "Feature", "properties": {"free_flow_time": 2.0, "oneway": "yes"},
         "geometry": {"type": "LineString", "coordinates": [[5.01, 52.0], [5.01, 52.01]]}},
    ]  # fmt: skip
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    net = load_road_network(path)
    assert net.num_nodes == 3 and len(net.links) == 3  # the two-way road in both directions
    pairs = set(zip(net.links["u"], net.links["v"]))
    assert {(0, 1), (1, 0), (1, 2)} == pairs


def test_geojson_of_points_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "points.geojson"
    feats = [{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [5.0, 52.0]}}]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    with pytest.raises(DataError, match="LineString"):
        load_road_network(path)


# ----------------------------------------------------------------------------- matching
def sensors_at(points: dict[str, tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"latitude": [p[1] for p in points.values()], "longitude": [p[0] for p in points.values()]},
        index=pd.Index(list(points), name="sensor_id"),
    )


def test_match_sensors_to_nearest_link_with_distance(tmp_path: Path) -> None:
    net = load_road_network(write_net(tmp_path))
    # 30 m north of the middle of link 4-5 (one degree of latitude is about 111.2 km)
    sensors = sensors_at({"A": (5.005, 52.01 + 30 / 111_200), "far": (5.3, 52.3)})
    report = ValidationReport()
    match = match_sensors(net, sensors, 200.0, report)
    row = match.table.set_index("sensor_id").loc["A"]
    assert {row["from_id"], row["to_id"]} == {"4", "5"}
    assert row["distance_m"] == pytest.approx(30, abs=1.5)
    assert match.unmatched == ["far"] and "far" in str(report.warnings[0]) and "200 m" in str(report.warnings[0])
    assert report.drop_reasons["far"].startswith("farther than")
    with pytest.raises(DataError, match="--match-distance"):
        match_sensors(net, sensors.loc[["far"]], 200.0)


# ----------------------------------------------------------------------------- shared TNTP files
def test_sioux_falls_tntp() -> None:
    path = need("tntp-siouxfalls", "SiouxFalls_net.tntp")
    net = load_road_network(path)
    raw = [ln.replace(";", " ").split() for ln in (path.parent / "SiouxFalls_node.tntp").read_text().splitlines()[1:]]
    coords = {r[0]: (float(r[1]), float(r[2])) for r in raw if r}
    assert net.num_nodes == 24 == len(coords) and len(net.links) == 76 and len(net.centroids) == 24
    assert len(net.zones) == 0  # <FIRST THRU NODE> 1: every node may be passed through
    for nid, (lon, lat) in coords.items():
        assert net.nodes.loc[nid, "longitude"] == lon and net.nodes.loc[nid, "latitude"] == lat


def test_anaheim_geojson() -> None:
    path = need("tntp-anaheim", "anaheim.geojson")
    net = load_road_network(path)
    assert net.num_nodes == 416 and len(net.links) == 914
    assert 33.7 < net.nodes["latitude"].median() < 34.0


@pytest.mark.slow
def test_chicago_sketch_needs_and_takes_its_crs() -> None:
    path = need("tntp-chicago-sketch", "ChicagoSketch_net.tntp")
    with pytest.raises(DataError, match="--network-crs"):
        load_road_network(path)
    net = load_road_network(path, crs=CHICAGO_CRS)
    assert net.num_nodes == 933 and len(net.links) == 2950 and len(net.centroids) == 387
    assert 41.5 < net.nodes["latitude"].median() < 42.3 and -88.4 < net.nodes["longitude"].median() < -87.5
    assert not net.report.warnings  # its zero times are all on zone connectors
    assert np.isfinite(net.links["free_flow_min"]).all()
