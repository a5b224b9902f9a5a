"""Deterministic synthetic city: the sample data the dashboard opens with.

``python -m dff_core.data.synthetic [--out DIR]`` writes ``readings.csv``, ``sensors.csv``,
``links.csv`` and ``items.csv`` (default: ``sample_data/``). Everything is drawn from one seeded
``numpy`` generator, so the files are reproduced byte for byte.

The city: a 6 x 6 street grid (two arterials through the centre) inside a 14-sensor ring road,
joined by radial connectors; one speed sensor per junction. Speeds (km/h, every 15 minutes,
four weeks) follow a volume-delay curve of time-varying demand with

- weekday AM/PM peaks whose timing and size differ by corridor and district, and weekends
  with a single midday bump;
- day-to-day variation of peak size and timing per corridor (a forecaster that only knows
  the time of day is systematically wrong on heavy days, in a way recent readings reveal);
- incidents (more likely when traffic is heavy) that slow a sensor and spill back to its
  upstream neighbours with a delay;
- autocorrelated sensor noise, and gaps (short NaN runs and one 4-hour outage).

``items.csv`` holds hourly emergency-call demand per district (the allocation example) with
weather-like features and the traffic state of the district.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dff_core.data.paths import SAMPLE_DIR

__all__ = ["SEED", "City", "build_city", "simulate_speeds", "write_sample"]

SEED = 20250303
START = pd.Timestamp("2025-03-03 00:00")  # a Monday
DAYS = 28
STEP_MIN = 15
STEPS_PER_DAY = 24 * 60 // STEP_MIN
CENTER_LAT, CENTER_LON = 50.45, 7.55  # a generic mid-latitude location
KM_PER_DEG_LAT = 111.32

AVENUES = ["Elm", "Oak", "Main", "Park", "Mill", "Lake"]  # grid rows, south to north
STREETS = ["1st", "2nd", "3rd", "4th", "5th", "6th"]  # grid columns, west to east
ARTERIAL_ROW, ARTERIAL_COL = 2, 3  # Main Avenue (east-west) and 4th Street (north-south)
DISTRICTS = ["North", "East", "South", "West", "Centre", "Ring"]


@dataclass
class City:
    """Sensors (one per junction) and directed road links of the synthetic city."""

    ids: list[str]
    names: list[str]
    x_km: np.ndarray
    y_km: np.ndarray
    corridor: list[str]  # "ring" | "arterial" | "local"
    district: list[str]
    links: pd.DataFrame  # from_id, to_id, length_km, capacity

    @property
    def lat(self) -> np.ndarray:
        return CENTER_LAT + self.y_km / KM_PER_DEG_LAT

    @property
    def lon(self) -> np.ndarray:
        return CENTER_LON + self.x_km / (KM_PER_DEG_LAT * np.cos(np.radians(CENTER_LAT)))


def _district(x: float, y: float, corridor: str) -> str:
    if corridor == "ring":
        return "Ring"
    if abs(x) < 0.9 and abs(y) < 0.9:
        return "Centre"
    if abs(y) >= abs(x):
        return "North" if y > 0 else "South"
    return "East" if x > 0 else "West"


def build_city(rng: np.random.Generator) -> City:
    """Grid + ring + connectors, with jittered positions and per-class capacities (veh/h)."""
    xs, ys, names, corridor = [], [], [], []
    for r in range(6):
        for c in range(6):
            xs.append((c - 2.5) * 0.8 + rng.normal(0, 0.05))
            ys.append((r - 2.5) * 0.8 + rng.normal(0, 0.05))
            names.append(f"{AVENUES[r]} Ave / {STREETS[c]} St")
            corridor.append("arterial" if r == ARTERIAL_ROW or c == ARTERIAL_COL else "local")
    n_ring = 14
    for k in range(n_ring):
        a = 2 * np.pi * k / n_ring + np.pi / n_ring
        rad = 3.4 + rng.normal(0, 0.1)
        xs.append(rad * np.cos(a))
        ys.append(rad * np.sin(a))
        names.append(f"Ring Road {k + 1}")
        corridor.append("ring")
    x, y = np.array(xs), np.array(ys)
    ids = [f"S{i + 1:02d}" for i in range(len(xs))]
    cap = {"local": 800.0, "arterial": 1600.0, "ring": 3000.0, "connector": 1600.0}
    edges: list[tuple[int, int, str]] = []
    for r in range(6):
        for c in range(6):
            i = r * 6 + c
            if c < 5:
                edges.append((i, i + 1, "arterial" if r == ARTERIAL_ROW else "local"))
            if r < 5:
                edges.append((i, i + 6, "arterial" if c == ARTERIAL_COL else "local"))
    for k in range(n_ring):
        edges.append((36 + k, 36 + (k + 1) % n_ring, "ring"))
    perimeter = [r * 6 + c for r in range(6) for c in range(6) if r in (0, 5) or c in (0, 5)]
    for k in range(n_ring):
        j = 36 + k
        d = np.hypot(x[perimeter] - x[j], y[perimeter] - y[j])
        edges.append((j, perimeter[int(np.argmin(d))], "connector"))
    rows = []
    for i, j, kind in edges:
        length = round(float(np.hypot(x[i] - x[j], y[i] - y[j]) * 1.1), 3)
        rows.append((ids[i], ids[j], length, cap[kind]))
        rows.append((ids[j], ids[i], length, cap[kind]))
    links = pd.DataFrame(rows, columns=["from_id", "to_id", "length_km", "capacity"])
    district = [_district(a, b, c) for a, b, c in zip(x, y, corridor)]
    return City(ids, names, x, y, corridor, district, links)


def _bump(hours: np.ndarray, centre: np.ndarray | float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((hours - centre) / width) ** 2)


def simulate_speeds(city: City, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Speeds (steps x sensors, km/h, NaN = gap) and the incident log."""
    n = len(city.ids)
    T = DAYS * STEPS_PER_DAY
    index = pd.date_range(START, periods=T, freq=f"{STEP_MIN}min", name="timestamp")
    hours = (np.arange(T) % STEPS_PER_DAY) * STEP_MIN / 60.0
    day = np.arange(T) // STEPS_PER_DAY
    weekend = np.asarray(index.day_of_week >= 5)
    corr = np.array(city.corridor)
    vfree = np.select([corr == "ring", corr == "arterial"], [80.0, 50.0], 40.0) * rng.uniform(0.93, 1.07, n)
    # peak timing: inbound AM earlier on the ring and in the north/west, PM later on arterials
    dist = np.array(city.district)
    am_centre = 8.0 + np.select([corr == "ring", corr == "arterial"], [-0.4, 0.0], 0.25)
    am_centre = am_centre + np.where(np.isin(dist, ["North", "West"]), -0.25, 0.2) + rng.normal(0, 0.1, n)
    pm_centre = 17.0 + np.select([corr == "ring", corr == "arterial"], [0.3, 0.5], -0.2) + rng.normal(0, 0.15, n)
    am_size = np.select([corr == "ring", corr == "arterial"], [1.05, 0.95], 0.7) * rng.uniform(0.85, 1.15, n)
    pm_size = np.select([corr == "ring", corr == "arterial"], [0.9, 1.05], 0.75) * rng.uniform(0.85, 1.15, n)
    # day-to-day state per corridor group: size multiplier and timing shift (hours)
    groups = {g: i for i, g in enumerate(["ring", "arterial", "local"])}
    gi = np.array([groups[c] for c in city.corridor])
    day_size = rng.lognormal(0.0, 0.12, (DAYS, 3))
    day_shift = rng.normal(0.0, 0.3, (DAYS, 3))
    size_t = day_size[day][:, gi]
    shift_t = day_shift[day][:, gi]
    h = hours[:, None]
    weekday_q = 0.15 + 0.25 * _bump(h, 13.0, 3.5) + am_size * _bump(h, am_centre + shift_t, 0.75)
    weekday_q = weekday_q + pm_size * _bump(h, pm_centre + shift_t, 1.0)
    weekend_q = 0.12 + 0.55 * _bump(h, 14.0, 3.0) * np.where(corr == "ring", 1.2, 0.9)
    night = 0.6 + 0.4 * np.clip((h - 5.0) / 2.0, 0, 1) * np.clip((24.5 - h) / 3.0, 0, 1)
    q = np.where(weekend[:, None], weekend_q, weekday_q) * size_t * night  # demand / capacity
    speed = vfree / (1.0 + 0.9 * q**4)
    # incidents: more likely when q is high; spill back to upstream neighbours with delay
    upstream: dict[int, list[int]] = {i: [] for i in range(n)}
    pos = {s: i for i, s in enumerate(city.ids)}
    for f, t in zip(city.links["from_id"], city.links["to_id"]):
        upstream[pos[t]].append(pos[f])
    p_inc = 0.0012 * (0.3 + q**2)
    hits = np.argwhere(rng.random((T, n)) < p_inc)
    factor = np.ones((T, n))
    log = []
    for t0, s in hits:
        dur = int(rng.integers(2, 11))
        sev = float(rng.uniform(0.3, 0.7)) * min(1.0, 0.5 + np.float64(q[t0, s]))
        log.append((index[t0], city.ids[s], dur * STEP_MIN, round(sev, 3)))
        frontier, seen = [(s, 0, sev)], {s}
        while frontier:
            node, hop, sv = frontier.pop()
            a, b = t0 + hop, min(T, t0 + dur + hop)
            if b <= a:
                continue
            ramp = np.ones(b - a)  # recovery over the last two steps
            ramp[-1] = 0.33
            if b - a >= 2:
                ramp[-2] = 0.66
            factor[a:b, node] *= 1.0 - sv * ramp
            if hop < 2:
                for u in upstream[node]:
                    if u not in seen:
                        seen.add(u)
                        frontier.append((u, hop + 1, sv * 0.55))
    speed = speed * factor
    # autocorrelated multiplicative noise + measurement noise
    eps = np.zeros((T, n))
    z = rng.normal(0.0, 0.035, (T, n))
    for t in range(1, T):
        eps[t] = 0.75 * eps[t - 1] + z[t]
    speed = speed * (1.0 + eps) + rng.normal(0.0, 0.8, (T, n))
    speed = np.clip(speed, 3.0, vfree * 1.15)
    # gaps: short runs of 1-3 steps, and one 4-hour outage
    for _ in range(30):
        s, t0, ln = int(rng.integers(n)), int(rng.integers(T - 3)), int(rng.integers(1, 4))
        speed[t0 : t0 + ln, s] = np.nan
    s, t0 = int(rng.integers(n)), 9 * STEPS_PER_DAY + 40
    speed[t0 : t0 + 16, s] = np.nan
    frame = pd.DataFrame(np.round(speed, 1), index=index, columns=city.ids)
    incidents = pd.DataFrame(log, columns=["start", "sensor_id", "duration_min", "severity"])
    return frame, incidents


def simulate_items(city: City, speeds: pd.DataFrame, incidents: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Hourly emergency-call demand per district, with weather and traffic-state features."""
    hourly = speeds.resample("1h").mean()
    periods = hourly.index
    H = len(periods)
    hour = np.asarray(periods.hour)
    dow = np.asarray(periods.day_of_week)
    # weather: daily level + diurnal cycle; rain as a two-state Markov chain with gamma amounts
    day_level = np.repeat(rng.normal(7.0, 3.0, DAYS), 24)
    temperature = day_level + 4.0 * np.sin((hour - 9.0) / 24 * 2 * np.pi) + rng.normal(0, 0.7, H)
    wet = np.zeros(H, dtype=bool)
    for t in range(1, H):
        wet[t] = rng.random() < (0.8 if wet[t - 1] else 0.06)
    rain = np.where(wet, rng.gamma(1.2, 1.3, H), 0.0)
    inc_hour = incidents.assign(start=incidents["start"].dt.floor("1h"))
    sensor_district = dict(zip(city.ids, city.district))
    population = {"North": 38.0, "East": 31.0, "South": 44.0, "West": 27.0, "Centre": 22.0, "Ring": 12.0}
    vfree = speeds.quantile(0.95)
    rows = []
    for d in DISTRICTS:
        cols = [s for s in city.ids if sensor_district[s] == d]
        congestion = (1.0 - (hourly[cols] / vfree[cols]).mean(axis=1)).clip(0, 1).to_numpy()
        inc = (
            inc_hour[inc_hour["sensor_id"].isin(cols)].groupby("start").size().reindex(periods, fill_value=0)
        ).to_numpy()
        daily = 0.35 + 0.65 * _bump(hour, 11.0, 4.0) + 0.45 * _bump(hour, 19.0, 2.5)
        weekend_night = np.where((dow >= 5) & ((hour >= 22) | (hour <= 3)), 1.6 if d == "Centre" else 1.15, 1.0)
        cold = 1.0 + 0.05 * np.clip(3.0 - temperature, 0, None)
        rain_eff = 1.0 + 0.12 * np.sqrt(rain) * (1.5 if d == "Ring" else 1.0)
        lam = population[d] * 0.09 * daily * weekend_night * cold * rain_eff * (1.0 + 0.8 * congestion + 0.6 * inc)
        value = rng.poisson(lam)
        for t in range(H):
            rows.append(
                (
                    periods[t].strftime("%Y-%m-%d %H:%M"),
                    d,
                    int(value[t]),
                    int(hour[t]),
                    int(dow[t]),
                    f"{temperature[t]:.1f}",
                    f"{rain[t]:.1f}",
                    f"{population[d]:.0f}",
                    f"{congestion[t]:.3f}",
                    int(inc[t]),
                )
            )
    items = pd.DataFrame(
        rows,
        columns=[
            "period",
            "item_id",
            "value",
            "hour",
            "weekday",
            "temperature_c",
            "rain_mm",
            "population_k",
            "congestion",
            "incidents",
        ],
    )
    return items.sort_values(["period", "item_id"], kind="stable").reset_index(drop=True)


def write_sample(out: str | Path = SAMPLE_DIR, seed: int = SEED) -> dict[str, Path]:
    """Generate the synthetic city and write its four CSV files to ``out``; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    city = build_city(rng)
    speeds, incidents = simulate_speeds(city, rng)
    items = simulate_items(city, speeds, incidents, rng)
    paths = {k: out / f"{k}.csv" for k in ("readings", "sensors", "links", "items")}
    ts = speeds.index.strftime("%Y-%m-%d %H:%M").to_numpy()
    vals = speeds.to_numpy()
    lines = ["timestamp,sensor_id,value"]
    for i, t in enumerate(ts):
        row = vals[i]
        lines.extend(f"{t},{s},{v:.1f}" for s, v in zip(city.ids, row) if v == v)
    paths["readings"].write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    sensors = ["sensor_id,latitude,longitude,name"]
    sensors += [f"{s},{la:.5f},{lo:.5f},{nm}" for s, la, lo, nm in zip(city.ids, city.lat, city.lon, city.names)]
    paths["sensors"].write_text("\n".join(sensors) + "\n", encoding="utf-8", newline="\n")
    links = ["from_id,to_id,length_km,capacity"]
    links += [f"{f},{t},{ln:.3f},{c:.0f}" for f, t, ln, c in city.links.itertuples(index=False)]
    paths["links"].write_text("\n".join(links) + "\n", encoding="utf-8", newline="\n")
    items.to_csv(paths["items"], index=False, lineterminator="\n")
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the synthetic sample city (deterministic).")
    parser.add_argument("--out", default=str(SAMPLE_DIR), help="output folder (default: sample_data/)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default: {SEED})")
    args = parser.parse_args(argv)
    for key, path in write_sample(args.out, args.seed).items():
        print(f"{key}: {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
