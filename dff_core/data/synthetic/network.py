"""Synthetic sensor readings for a given road network (tests and benchmarks on real network files).

``python -m dff_core.data.synthetic network --net NET --out DIR [--sensors 200] [--days 28]``
picks sensor sites on the network's links and writes ``readings.csv`` (long:
``timestamp,sensor_id,value`` in km/h every 15 minutes), ``sensors.csv`` (``sensor_id,latitude,
longitude,name``; each sensor at the midpoint of its link) and ``sensor_links.csv`` (which link
each sensor measures). Everything comes from one seeded generator.

Sites are spread over the network by farthest-point sampling of link midpoints (one direction
per road, no zone connectors). Speeds follow the sample city's model (:mod:`.city`): a
volume-delay curve of time-varying demand with weekday AM/PM peaks (inbound links peak in the
morning, outbound in the evening), weekend middays, day-to-day variation per district (a sector
around the network's centre), incidents that spill back to nearby sensors, autocorrelated noise
and a few short gaps. The free-flow speed of a site is its link's straight-line length over its
free-flow time, within 20..130 km/h.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from shapely import get_coordinates, line_interpolate_point

from dff_core.data.graph import haversine_km
from dff_core.data.roadnet import RoadNetwork, load_road_network
from dff_core.data.synthetic.city import _bump
from dff_core.errors import DataError

__all__ = ["pick_sensor_links", "simulate_network_speeds", "write_network_readings"]

START = pd.Timestamp("2025-03-03 00:00")  # a Monday
STEP_MIN = 15
SEED = 20250304


def _midpoints(network: RoadNetwork) -> tuple[np.ndarray, np.ndarray]:
    """Link midpoints as (lon, lat) degrees and as local x/y km."""
    mid = get_coordinates(line_interpolate_point(np.asarray(network.geometry, dtype=object), 0.5, normalized=True))
    lat0 = float(np.median(mid[:, 1]))
    xy = np.column_stack(
        [(mid[:, 0] - np.median(mid[:, 0])) * 111.32 * np.cos(np.radians(lat0)), (mid[:, 1] - lat0) * 111.32]
    )
    return mid, xy


def pick_sensor_links(network: RoadNetwork, n: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of ``network.links`` for ``n`` sensor sites spread over the network (farthest-point sampling).

    Candidates: links with a positive free-flow time (zone connectors often have none) that touch no
    zone that is never passed through, one direction per road.
    """
    links = network.links
    zone_ids = {network.node_ids[z] for z in network.zones}
    ok = (links["free_flow_min"].to_numpy() > 0) & ~links["from_id"].isin(zone_ids).to_numpy()
    ok &= ~links["to_id"].isin(zone_ids).to_numpy()
    u, v = links["u"].to_numpy(), links["v"].to_numpy()
    key = np.minimum(u, v) * network.num_nodes + np.maximum(u, v)
    first = np.zeros(len(links), bool)
    cand = np.flatnonzero(ok)
    _, pick = np.unique(key[cand], return_index=True)
    first[cand[pick]] = True
    cand = np.flatnonzero(first)
    if len(cand) < n:
        raise ValueError(f"the network has {len(cand)} roads that can hold a sensor; ask for at most that many.")
    _, xy = _midpoints(network)
    pts = xy[cand]
    chosen = [int(rng.integers(len(cand)))]
    dist = np.hypot(*(pts - pts[chosen[0]]).T)
    for _ in range(n - 1):
        k = int(np.argmax(dist))
        chosen.append(k)
        dist = np.minimum(dist, np.hypot(*(pts - pts[k]).T))
    return np.sort(cand[chosen])


def simulate_network_speeds(
    network: RoadNetwork, rows: np.ndarray, days: int, rng: np.random.Generator, start: pd.Timestamp = START
) -> pd.DataFrame:
    """Speeds (km/h, every 15 minutes, NaN = gap) at the sensor sites ``rows`` (links), one column per site."""
    n = len(rows)
    steps_day = 24 * 60 // STEP_MIN
    T = days * steps_day
    index = pd.date_range(start, periods=T, freq=f"{STEP_MIN}min", name="timestamp")
    hours = (np.arange(T) % steps_day) * STEP_MIN / 60.0
    day = np.arange(T) // steps_day
    weekend = np.asarray(index.day_of_week >= 5)
    links = network.links.iloc[rows]
    geom = [network.geometry[r] for r in rows]
    a = np.array([g.coords[0] for g in geom])
    b = np.array([g.coords[-1] for g in geom])
    km = haversine_km(a[:, 1], a[:, 0], b[:, 1], b[:, 0])
    fftt = links["free_flow_min"].to_numpy(float)
    vfree = np.clip(km / np.maximum(fftt, 1e-6) * 60.0 * 1.15, 20.0, 130.0) * rng.uniform(0.95, 1.05, n)
    _, xy_all = _midpoints(network)
    xy = xy_all[rows]
    centre = np.median(xy, axis=0)
    rel = xy - centre
    heading = np.column_stack([b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]])
    inbound = np.einsum("ij,ij->i", heading, -rel) > 0
    sector = ((np.arctan2(rel[:, 1], rel[:, 0]) + np.pi) / (2 * np.pi) * 6).astype(int) % 6
    sector[np.hypot(*rel.T) < 0.25 * np.median(np.hypot(*rel.T))] = 6  # the centre
    fast = vfree > np.quantile(vfree, 0.7)
    am_c = 7.9 + np.where(fast, -0.3, 0.2) + rng.normal(0, 0.12, n)
    pm_c = 17.1 + np.where(fast, 0.3, -0.1) + rng.normal(0, 0.15, n)
    am_size = np.where(inbound, 1.05, 0.65) * rng.uniform(0.8, 1.2, n)
    pm_size = np.where(inbound, 0.7, 1.05) * rng.uniform(0.8, 1.2, n)
    day_size = rng.lognormal(0.0, 0.12, (days, 7))[day][:, sector]
    day_shift = rng.normal(0.0, 0.3, (days, 7))[day][:, sector]
    h = hours[:, None]
    weekday_q = 0.15 + 0.25 * _bump(h, 13.0, 3.5) + am_size * _bump(h, am_c + day_shift, 0.75)
    weekday_q = weekday_q + pm_size * _bump(h, pm_c + day_shift, 1.0)
    weekend_q = 0.12 + 0.55 * _bump(h, 14.0, 3.0) * np.where(fast, 1.2, 0.9)
    night = 0.6 + 0.4 * np.clip((h - 5.0) / 2.0, 0, 1) * np.clip((24.5 - h) / 3.0, 0, 1)
    q = np.where(weekend[:, None], weekend_q, weekday_q) * day_size * night
    speed = vfree / (1.0 + 0.9 * q**4)
    # incidents: more likely when busy; they slow the site and, a step later, its 3 nearest sites
    _, near = cKDTree(xy).query(xy, k=min(4, n))
    near = np.atleast_2d(near)[:, 1:]
    factor = np.ones((T, n))
    for t0, s in np.argwhere(rng.random((T, n)) < 0.0012 * (0.3 + q**2)):
        dur = int(rng.integers(2, 11))
        sev = float(rng.uniform(0.3, 0.7)) * min(1.0, 0.5 + q[t0, s])
        factor[t0 : t0 + dur, s] *= 1.0 - sev
        for u in near[s]:
            factor[t0 + 1 : t0 + dur + 1, u] *= 1.0 - 0.5 * sev
    speed = speed * factor
    eps = np.zeros((T, n))
    z = rng.normal(0.0, 0.035, (T, n))
    for t in range(1, T):
        eps[t] = 0.75 * eps[t - 1] + z[t]
    speed = np.clip(speed * (1.0 + eps) + rng.normal(0.0, 0.8, (T, n)), 3.0, vfree * 1.15)
    for _ in range(max(1, n // 2)):  # short gaps
        s, t0, ln = int(rng.integers(n)), int(rng.integers(T - 3)), int(rng.integers(1, 4))
        speed[t0 : t0 + ln, s] = np.nan
    return pd.DataFrame(np.round(speed, 1), index=index, columns=[f"L{r}" for r in rows])


def write_network_readings(
    network: RoadNetwork | str | Path,
    out: str | Path,
    *,
    sensors: int = 200,
    days: int = 28,
    seed: int = SEED,
    nodes: str | Path | None = None,
    crs: str | None = None,
) -> dict[str, Path]:
    """Simulate ``days`` of speeds at ``sensors`` sites of ``network`` (a :class:`RoadNetwork` or a network
    file, read with ``nodes``/``crs``) and write readings, sensors and sensor links CSVs to ``out``."""
    if sensors < 2 or days < 1:
        raise ValueError(f"need at least 2 sensors and 1 day; got sensors={sensors}, days={days}.")
    net = network if isinstance(network, RoadNetwork) else load_road_network(network, nodes=nodes, crs=crs)
    rng = np.random.default_rng(seed)
    rows = pick_sensor_links(net, sensors, rng)
    speeds = simulate_network_speeds(net, rows, days, rng)
    ids = [f"S{k + 1:03d}" for k in range(len(rows))]
    speeds.columns = ids
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / f"{k}.csv" for k in ("readings", "sensors", "sensor_links")}
    long = speeds.stack(future_stack=True).dropna()
    stamps = long.index.get_level_values(0).strftime("%Y-%m-%d %H:%M")
    body = pd.DataFrame({"timestamp": stamps, "sensor_id": long.index.get_level_values(1), "value": long.to_numpy()})
    body.to_csv(paths["readings"], index=False, float_format="%.1f", lineterminator="\n")
    mid, _ = _midpoints(net)
    links = net.links.iloc[rows]
    names = [f"link {f} -> {t}" for f, t in zip(links["from_id"], links["to_id"])]
    pd.DataFrame(
        {"sensor_id": ids, "latitude": mid[rows, 1].round(6), "longitude": mid[rows, 0].round(6), "name": names}
    ).to_csv(paths["sensors"], index=False, lineterminator="\n")
    pd.DataFrame({"sensor_id": ids, "from_id": links["from_id"].to_numpy(), "to_id": links["to_id"].to_numpy()}).to_csv(
        paths["sensor_links"], index=False, lineterminator="\n"
    )
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dff_core.data.synthetic network",
        description="Simulate speed readings at sensor sites of a road network (deterministic).",
    )
    parser.add_argument("--net", required=True, help="network file (TNTP _net.tntp, links CSV, GeoJSON/GeoPackage)")
    parser.add_argument("--nodes", default=None, help="node coordinates file (default: X_node.tntp next to X_net.tntp)")
    parser.add_argument("--crs", default=None, help="coordinate system of the node coordinates (default WGS84)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--sensors", type=int, default=200, help="number of sensor sites (default 200)")
    parser.add_argument("--days", type=int, default=28, help="days of 15-minute readings (default 28)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    args = parser.parse_args(argv)
    try:
        paths = write_network_readings(
            args.net, args.out, sensors=args.sensors, days=args.days, seed=args.seed, nodes=args.nodes, crs=args.crs
        )
    except (DataError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    for key, path in paths.items():
        print(f"{key}: {path} ({path.stat().st_size:,} bytes)")
