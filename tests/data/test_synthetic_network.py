"""Readings simulated for a given road network: sensor sites, positions, daily patterns, determinism, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dff_core.data.roadnet import load_road_network
from dff_core.data.synthetic import pick_sensor_links, write_network_readings
from dff_core.data.synthetic.network import main
from tests.roadnet_toy import ZONES, toy_nodes, write_toy_network

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toy_network(tmp_path_factory.mktemp("toy"))


def test_sites_avoid_zones_and_take_one_direction_per_road(toy: Path) -> None:
    net = load_road_network(toy)
    rows = pick_sensor_links(net, 20, np.random.default_rng(0))
    links = net.links.iloc[rows]
    zones = {str(z) for z in range(1, ZONES + 1)}
    assert not (set(links["from_id"]) | set(links["to_id"])) & zones
    roads = {frozenset(p) for p in zip(links["from_id"], links["to_id"])}
    assert len(roads) == 20
    with pytest.raises(ValueError, match="at most"):
        pick_sensor_links(net, 61, np.random.default_rng(0))  # the grid has 60 streets


def test_sites_are_spread_out(toy: Path) -> None:
    net = load_road_network(toy)
    rng = np.random.default_rng(1)
    rows = pick_sensor_links(net, 8, rng)
    mids = np.array([net.geometry[r].interpolate(0.5, normalized=True).coords[0] for r in rows])
    spread = np.min([np.hypot(*(mids[i] - mids[j])) for i in range(8) for j in range(i)])
    streets = [r for r in range(len(net.links)) if int(net.links["from_id"].iloc[r]) > ZONES]
    random_mins = []
    for _ in range(50):  # random sites of the same size are usually closer together
        pick = rng.choice(streets, 8, replace=False)
        m = np.array([net.geometry[r].interpolate(0.5, normalized=True).coords[0] for r in pick])
        random_mins.append(np.min([np.hypot(*(m[i] - m[j])) for i in range(8) for j in range(i)]))
    assert spread >= np.quantile(random_mins, 0.9)


def test_written_files(toy: Path, tmp_path: Path) -> None:
    paths = write_network_readings(toy, tmp_path / "out", sensors=12, days=7, seed=3)
    sensors = pd.read_csv(paths["sensors"], dtype={"sensor_id": str})
    on = pd.read_csv(paths["sensor_links"], dtype=str)
    readings = pd.read_csv(paths["readings"], dtype={"sensor_id": str})
    assert len(sensors) == 12 and list(sensors["sensor_id"]) == list(on["sensor_id"])
    nodes = toy_nodes()
    for s, f, t in on.itertuples(index=False):  # each sensor at the midpoint of its link
        (x1, y1), (x2, y2) = nodes[int(f)], nodes[int(t)]
        row = sensors.set_index("sensor_id").loc[s]
        assert row["longitude"] == pytest.approx((x1 + x2) / 2, abs=1e-6)
        assert row["latitude"] == pytest.approx((y1 + y2) / 2, abs=1e-6)
    assert list(readings.columns) == ["timestamp", "sensor_id", "value"]
    assert readings["timestamp"].nunique() == 7 * 96 and set(readings["sensor_id"]) == set(sensors["sensor_id"])
    assert len(readings) > 0.99 * 7 * 96 * 12  # a few short gaps only
    v = readings["value"]
    assert v.between(3.0, 150.0).all()
    t = pd.to_datetime(readings["timestamp"])
    weekday = t.dt.day_of_week < 5
    night = v[weekday & (t.dt.hour == 3)].mean()
    peak = v[weekday & t.dt.hour.isin([8, 17])].mean()
    assert peak < 0.9 * night  # congestion at the peaks


def test_same_seed_same_bytes(toy: Path, tmp_path: Path) -> None:
    a = write_network_readings(toy, tmp_path / "a", sensors=6, days=2, seed=5)
    b = write_network_readings(toy, tmp_path / "b", sensors=6, days=2, seed=5)
    c = write_network_readings(toy, tmp_path / "c", sensors=6, days=2, seed=6)
    assert all(a[k].read_bytes() == b[k].read_bytes() for k in a)
    assert a["readings"].read_bytes() != c["readings"].read_bytes()


def test_cli(toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--net", str(toy), "--out", str(tmp_path / "o"), "--sensors", "5", "--days", "1"])
    assert "readings:" in capsys.readouterr().out and (tmp_path / "o" / "sensors.csv").exists()
    with pytest.raises(SystemExit) as exc:
        main(["--net", str(tmp_path / "missing_net.tntp"), "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "not found" in capsys.readouterr().err


def test_module_entry_point_dispatches_network(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    cmd = [sys.executable, "-m", "dff_core.data.synthetic", "network", "--net", str(toy), "--out", str(out)]
    proc = subprocess.run([*cmd, "--sensors", "4", "--days", "1"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_csv(out / "sensors.csv")) == 4
