"""The Data page's road network upload: the validation numbers, the map of links and matches, bad files."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from dff_core.data import shared_data_dir
from dff_core.data.synthetic import write_network_readings
from tests.dashboard.apps import new_app, upload
from tests.dashboard.networks import (
    FAR_ID,
    NEAR_ID,
    TOY_LINKS,
    coords,
    near_distance_m,
    segments,
    upload_files,
    write_toy,
)
from tests.dashboard.saved_runs import chart
from tests.roadnet_toy import toy_links, write_toy_network

pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture
def toy(tmp_path: Path) -> dict[str, Path]:
    return write_toy(tmp_path / "toy")


def _tiles(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _problems(at) -> str:
    """Every cell of the page's problem tables, as one text."""
    return " ".join(" ".join(map(str, t.value.to_numpy().ravel())) for t in at.table)


def test_upload_reports_matched_dropped_and_distances(toy):
    at = upload(new_app(), upload_files(toy))
    loaded = at.session_state["loaded"]
    assert not loaded.is_sample and loaded.network is not None
    tiles = _tiles(at)
    assert tiles["Road links"] == str(TOY_LINKS)
    assert tiles["Sensors on links"] == "11" and tiles["Not matched"] == "1"
    assert tiles["Match distance (median)"] == "0 m"
    top = float(tiles["Match distance (max)"].removesuffix(" m"))
    assert abs(top - near_distance_m()) < 2  # the moved sensor's offset from its street
    sentence = next(c.value for c in at.caption if c.value.startswith("Road network"))
    assert "11 of 12 sensors matched" in sentence and "1 dropped: farther than 200 m" in sentence
    banner = " ".join(w.value for w in at.warning)
    assert FAR_ID in banner  # the dropped sensor is named on the page itself


def test_the_map_draws_every_link_once_and_highlights_the_matched_ones(toy):
    at = upload(new_app(), upload_files(toy))
    fig = chart(at, "sensor_map")
    assert fig["layout"]["yaxis"]["scaleanchor"] == "x" and "map" not in fig["layout"]  # offline plane map
    roads, held = fig["data"][0], fig["data"][1]
    assert roads["meta"]["links"] == TOY_LINKS and segments(roads) == TOY_LINKS
    assert roads["line"]["width"] <= 1
    matched = pd.read_csv(toy["sensors"], dtype={"sensor_id": str})
    assert segments(held) == held["meta"]["links"] == len(matched) - 1  # one street per matched sensor
    lat = coords(held, "lat")
    near = matched.set_index("sensor_id").loc[NEAR_ID]
    assert abs(lat[abs(lat - (near["latitude"] - 0.001)) < 1e-5].size) >= 2  # the near sensor's street is drawn
    on = next(t for t in fig["data"] if (t.get("meta") or {}).get("role") == "matched")
    off = next(t for t in fig["data"] if (t.get("meta") or {}).get("role") == "unmatched")
    assert len(on["customdata"]) == 11 and off["text"] == [FAR_ID]


def test_a_larger_matching_distance_keeps_the_far_sensor(toy):
    at = upload(new_app(), upload_files(toy))
    at.number_input(key="upload_match_distance").set_value(50_000.0).run()
    assert not at.exception, at.exception
    road = at.session_state["loaded"].network
    assert road.matched == 12 and road.dropped == 0
    assert road.spec["match_distance"] == 50_000.0  # it enters the runs' scenario spec


def _bad_network(tmp_path: Path, links: list[tuple[int, int, float]], toy: dict[str, Path]) -> dict:
    write_toy_network(tmp_path / "bad", links)
    files = upload_files(toy)
    files["network"] = ("Toy_net.tntp", (tmp_path / "bad" / "Toy_net.tntp").read_bytes())
    return files


def test_links_to_unknown_nodes_are_named_with_their_line(tmp_path, toy):
    links = [*toy_links(), (5, 99, 1.0)]
    at = upload(new_app(), _bad_network(tmp_path, links, toy))
    assert at.session_state["loaded"].is_sample  # refused: the previous data stay
    assert any("could not be loaded" in e.value for e in at.error)
    table = at.table[0].value
    row = table[table["What is wrong and what to do"].str.contains("node 99")].iloc[0]
    assert row["File"] == "Toy_net.tntp" and row["Line"] == str(7 + len(links))  # header lines, then the links
    assert "Add the node, or remove the link" in row["What is wrong and what to do"]
    assert not at.exception


def test_a_negative_free_flow_time_is_refused_with_what_to_do(tmp_path, toy):
    links = toy_links()
    links[3] = (links[3][0], links[3][1], -2.0)
    at = upload(new_app(), _bad_network(tmp_path, links, toy))
    assert at.session_state["loaded"].is_sample
    text = _problems(at)
    assert "Toy_net.tntp, line 11" in text  # 7 header lines, then the 4th link
    assert "-2 is negative; free_flow_time must be 0 or more" in text
    assert "Traceback" not in text and not at.exception


def test_an_unknown_coordinate_system_is_named(toy):
    at = upload(new_app(), upload_files(toy), upload_network_crs="EPSG:not-a-code")
    assert at.session_state["loaded"].is_sample
    assert "Coordinate system of the network" in _problems(at)


def test_network_nodes_without_the_links_file_say_what_is_missing(toy):
    files = upload_files(toy)
    del files["network"]
    at = upload(new_app(), files)
    assert "upload the links file" in _problems(at)


CHICAGO = ("tntp-chicago-sketch", "ChicagoSketch_net.tntp", "ChicagoSketch_node.tntp")


@pytest.mark.skipif(
    shared_data_dir() is None or not (shared_data_dir() / CHICAGO[0]).is_dir(), reason="shared data not found"
)
def test_chicago_sketch_loads_and_draws_its_2950_links(tmp_path):
    folder = shared_data_dir() / CHICAGO[0]
    paths = write_network_readings(folder / CHICAGO[1], tmp_path, sensors=40, days=2, crs="EPSG:26771")
    files = {
        "readings": ("readings.csv", paths["readings"].read_bytes()),
        "sensors": ("sensors.csv", paths["sensors"].read_bytes()),
        "network": (CHICAGO[1], (folder / CHICAGO[1]).read_bytes()),
        "network_nodes": (CHICAGO[2], (folder / CHICAGO[2]).read_bytes()),
    }
    at = upload(new_app(), files, upload_network_crs="EPSG:26771")
    assert not at.exception, at.exception
    assert _tiles(at)["Road links"] == "2,950" and _tiles(at)["Sensors on links"] == "40"
    roads = chart(at, "sensor_map")["data"][0]
    assert segments(roads) == 2950
    lon, lat = coords(roads, "lon"), coords(roads, "lat")
    assert re.match(r"-8[78]\.", f"{pd.Series(lon).median():.2f}") and 41 < pd.Series(lat).median() < 42.5


@pytest.mark.parametrize("form", ["geojson", "wkt_csv"])
def test_links_that_draw_themselves_need_no_node_file(toy, tmp_path, form):
    from dff_core.data.roadnet import load_road_network

    links = load_road_network(toy["network"]).links_gdf()[["from_id", "to_id", "free_flow_min", "geometry"]]
    if form == "geojson":
        path = tmp_path / "streets.geojson"
        links.to_file(path, driver="GeoJSON")
    else:
        path = tmp_path / "streets.csv"
        pd.DataFrame(links).assign(geometry=links.geometry.to_wkt()).to_csv(path, index=False)
    files = upload_files({k: toy[k] for k in ("readings", "sensors")})
    files["network"] = (path.name, path.read_bytes())
    at = upload(new_app(), files)
    assert not at.exception, at.exception
    assert _tiles(at)["Road links"] == str(TOY_LINKS) and _tiles(at)["Sensors on links"] == "11"
    assert segments(chart(at, "sensor_map")["data"][0]) == TOY_LINKS
