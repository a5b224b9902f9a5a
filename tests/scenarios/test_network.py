"""Traffic routing on a road network: the propagation map, trips, zones, bad input, the spec and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dff_core.cli import main as cli_main
from dff_core.data import shared_data_dir
from dff_core.data.graph import haversine_km
from dff_core.data.roadnet import load_road_network, match_sensors
from dff_core.data.synthetic import write_network_readings
from dff_core.scenarios.network import IDW_OFFSET_M, build_network_scenario, slowdown_weights
from dff_core.scenarios.spec import ScenarioSpec, build, load_data
from tests.roadnet_toy import ZONES, toy_links, write_toy_network


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("toy")
    write_toy_network(folder)
    write_network_readings(folder / "Toy_net.tntp", folder, sensors=15, days=6, seed=1)
    return folder


def toy_spec(folder: Path, **kw) -> ScenarioSpec:
    return ScenarioSpec(
        readings=str(folder / "readings.csv"), sensors=str(folder / "sensors.csv"),
        network=str(folder / "Toy_net.tntp"), **kw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def toy_scenario(toy_dir: Path):
    return build(toy_spec(toy_dir))


# ----------------------------------------------------------------------------- propagation map
def test_weights_one_hot_on_sensor_links_and_idw_elsewhere(toy_dir: Path) -> None:
    ds, _ = load_data(toy_spec(toy_dir))
    net = load_road_network(toy_dir / "Toy_net.tntp")
    match = match_sensors(net, ds.sensors)
    W = slowdown_weights(net, match, ds.sensors).toarray()
    assert np.allclose(W.sum(axis=1), 1.0)
    for k, link in enumerate(match.table["link"]):
        row = W[link]
        assert row[k] == pytest.approx(1.0 / np.sum(match.table["link"] == link))
    free = [j for j in range(len(net.links)) if j not in set(match.table["link"])]
    j = free[7]  # one link without a sensor: weights from the 4 nearest sensors by 1 / (d + 50 m)^2
    g = net.geometry[j]
    mid = g.interpolate(0.5, normalized=True)
    s = ds.sensors.loc[match.sensor_ids]
    d = haversine_km(mid.y, mid.x, s["latitude"].to_numpy(), s["longitude"].to_numpy()) * 1000
    near = np.argsort(d)[:4]
    w = 1.0 / (d[near] + IDW_OFFSET_M) ** 2
    assert np.flatnonzero(W[j]).tolist() == sorted(near.tolist())
    assert np.allclose(W[j, near], w / w.sum(), rtol=2e-3)


def test_map_gives_free_flow_times_at_free_flow_and_scales_with_paces(toy_scenario) -> None:
    A = toy_scenario.extra["link_sensor_map"]
    free = toy_scenario.extra["free_flow_pace"]
    fftt = toy_scenario.extra["links"]["free_flow_min"].to_numpy()
    assert np.allclose(A @ free, fftt)
    assert np.allclose(A @ (2.0 * free), 2.0 * fftt)
    # a sensor slowed down 3x slows its own link 3x and leaves links far away almost unchanged
    k = 0
    link = int(toy_scenario.extra["matches"]["link"].iloc[k])
    paces = free.copy()
    paces[k] *= 3.0
    t = A @ paces
    assert t[link] == pytest.approx(3.0 * fftt[link])
    assert np.isclose(t, fftt).sum() > 0 and (t >= fftt - 1e-12).all()


def test_free_flow_pace_is_the_5th_percentile_of_training_paces(toy_scenario) -> None:
    sc = toy_scenario
    train = sc.C[sc.split["train"]]
    assert np.allclose(sc.extra["free_flow_pace"], np.quantile(train, 0.05, axis=0))


# ----------------------------------------------------------------------------- trips and zones
def test_default_trips_join_zones_and_never_pass_through_one(toy_scenario) -> None:
    sc = toy_scenario
    pairs = sc.extra["pairs"]
    zones = {str(z) for z in range(1, ZONES + 1)}
    assert len(pairs) == 5 and all(a in zones and b in zones for a, b in pairs)
    prob = sc.problem
    rng = np.random.default_rng(0)
    C = sc.C[:40] * rng.uniform(0.3, 1.6, sc.C[:40].shape)
    edges = prob.base.edges
    pos = {nid: i for i, nid in enumerate(sc.extra["node_ids"])}
    for W in (prob.solve_base(C), prob.base.solve_surrogate(prob.base_costs(2 * C - sc.C[:40]))):
        for z in zones:
            zi = pos[z]
            inflow = W[:, edges[:, 1] == zi].sum(axis=1)
            outflow = W[:, edges[:, 0] == zi].sum(axis=1)
            ends_here = sum(1.0 for _, b in pairs if b == z)
            starts_here = sum(1.0 for a, _ in pairs if a == z)
            assert np.allclose(inflow, ends_here) and np.allclose(outflow, starts_here)


def test_pairs_are_network_node_ids(toy_dir: Path) -> None:
    sc = build(toy_spec(toy_dir, pairs="5:40,1:4", every="1h"))
    assert sc.extra["pairs"] == [("5", "40"), ("1", "4")]
    with pytest.raises(ValueError, match=r"'999' is not a node of Toy_net\.tntp"):
        build(toy_spec(toy_dir, pairs="5:999"))


def test_disconnected_pair_is_named(tmp_path: Path, toy_dir: Path) -> None:
    # junction 40's outgoing streets are removed: nothing leaves it
    links = [(a, b, t) for a, b, t in toy_links() if a != 40]
    folder = tmp_path / "cut"
    write_toy_network(folder, links)
    spec = ScenarioSpec(
        readings=str(toy_dir / "readings.csv"), sensors=str(toy_dir / "sensors.csv"),
        network=str(folder / "Toy_net.tntp"), pairs="40:5", every="1h",
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"pair 0 \(40 -> 5\) has no route"):
        build(spec)


def test_route_through_a_zone_only_is_refused(tmp_path: Path, toy_dir: Path) -> None:
    # junction 5's only way out is its zone 1 (the streets leaving it are removed)
    links = [(a, b, t) for a, b, t in toy_links() if a != 5 or b == 1]
    folder = tmp_path / "zone"
    write_toy_network(folder, links)
    spec = ScenarioSpec(
        readings=str(toy_dir / "readings.csv"), sensors=str(toy_dir / "sensors.csv"),
        network=str(folder / "Toy_net.tntp"), pairs="5:40", every="1h",
    )  # fmt: skip
    with pytest.raises(ValueError, match="avoids passing through zones"):
        build(spec)


# ----------------------------------------------------------------------------- sensors and spec
def test_far_sensors_are_left_out_and_reported(tmp_path: Path, toy_dir: Path) -> None:
    sensors = pd.read_csv(toy_dir / "sensors.csv", dtype={"sensor_id": str})
    sensors.loc[0, "latitude"] += 0.2  # about 20 km north of the grid
    sensors.to_csv(tmp_path / "sensors.csv", index=False)
    spec = ScenarioSpec(
        readings=str(toy_dir / "readings.csv"), sensors=str(tmp_path / "sensors.csv"),
        network=str(toy_dir / "Toy_net.tntp"), every="1h",
    )  # fmt: skip
    ds, report = load_data(spec)
    far = sensors.loc[0, "sensor_id"]
    assert any(far in str(w) and "farther than 200 m" in str(w) for w in report.warnings)
    assert any("matched onto links" in m for m in report.info)
    sc = build(spec, dataset=ds)
    assert far not in sc.output_names and len(sc.output_names) == len(sensors) - 1
    assert sc.extra["unmatched_sensors"] == [far]


def test_spec_options_digest_and_problems(toy_dir: Path, toy_scenario, tmp_path: Path) -> None:
    spec = toy_spec(toy_dir)
    assert "network" not in spec.options()  # a file: its content enters through the data digest
    assert Path(toy_scenario.spec["network"]).is_absolute()
    folder = tmp_path / "slower"
    write_toy_network(folder, [(a, b, 2 * t) for a, b, t in toy_links()])
    other = build(ScenarioSpec(**{**spec.model_dump(exclude_none=True), "network": str(folder / "Toy_net.tntp")}))
    assert other.data_digest != toy_scenario.data_digest
    bad = ScenarioSpec(kind="allocation", network="x_net.tntp", sample=True)
    assert any("only used by kind = 'traffic'" in p for p in bad.problems())
    assert any("capacities" in p for p in toy_spec(toy_dir, capacities=True).problems())
    with pytest.raises(ValueError, match="--capacities"):
        build(toy_spec(toy_dir, capacities=True))


def test_describe_names_the_road_network(toy_scenario) -> None:
    text = toy_scenario.describe()
    assert "road network Toy_net.tntp" in text and "15 sensors" in text and "4 zones" in text


# ----------------------------------------------------------------------------- command line
def test_cli_compare_on_a_network(toy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    args = ["compare", "--scenario", "traffic", "--readings", str(toy_dir / "readings.csv")]
    args += ["--sensors", str(toy_dir / "sensors.csv"), "--network", str(toy_dir / "Toy_net.tntp")]
    code = cli_main([*args, "--epochs", "2", "--every", "1h", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["methods"]) == {"two_stage", "dff", "dfl"}
    from dff_core.comparison import load_run

    run = load_run(out)  # rebuilt from the stored spec, network included
    assert run.problem.base.num_nodes == 40 and len(run.problem.base.zones) == ZONES


def test_cli_bad_network_is_one_clear_line(toy_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Bad_node.tntp").write_text("node X Y ;\n1 690309 1976022 ;\n2 683649 1973025 ;\n")
    (tmp_path / "Bad_net.tntp").write_text(
        "<NUMBER OF LINKS> 1\n<END OF METADATA>\n~ init_node term_node free_flow_time ;\n1 2 1.0 ;\n"
    )
    args = ["validate", str(toy_dir / "readings.csv"), "--sensors", str(toy_dir / "sensors.csv")]
    code = cli_main([*args, "--network", str(tmp_path / "Bad_net.tntp")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "Bad_node.tntp" in err and "--network-crs" in err


# ----------------------------------------------------------------------------- shared data
def test_sioux_falls_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared = shared_data_dir()
    net = None if shared is None else shared / "tntp-siouxfalls" / "SiouxFalls_net.tntp"
    if net is None or not net.exists():
        pytest.skip("tntp-siouxfalls not found under the shared data folder")
    write_network_readings(net, tmp_path, sensors=20, days=7, seed=2)
    out = tmp_path / "run"
    args = ["compare", "--scenario", "traffic", "--readings", str(tmp_path / "readings.csv")]
    args += ["--sensors", str(tmp_path / "sensors.csv"), "--network", str(net), "--epochs", "2"]
    assert cli_main([*args, "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_test"] > 50 and summary["methods"]["dff"]["regret_mean"] >= 0
    sc = build(ScenarioSpec(readings=str(tmp_path / "readings.csv"), sensors=str(tmp_path / "sensors.csv"),
                            network=str(net)))  # fmt: skip
    assert sc.problem.base.num_nodes == 24 and sc.problem.d == 20
    assert all(1 <= int(a) <= 24 and 1 <= int(b) <= 24 for a, b in sc.extra["pairs"])


def test_build_network_scenario_direct(toy_dir: Path) -> None:
    ds, _ = load_data(toy_spec(toy_dir))
    net = load_road_network(toy_dir / "Toy_net.tntp")
    sc = build_network_scenario(ds, net, match_sensors(net, ds.sensors), every="1h", n_pairs=2, seed=4)
    assert len(sc.extra["pairs"]) == 2 and sc.problem.base.algorithm in ("dijkstra", "cch")
    assert sc.options["network"] == "Toy_net.tntp" and sc.unit == "vehicle-minutes"
