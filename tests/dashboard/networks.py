"""A small road network and matching readings as a user uploads them, for the dashboard's network tests.

The network is the engine tests' 6 x 6 TNTP grid with four corner zones (``tests/roadnet_toy.py``);
the readings are simulated at 12 of its links by the engine (``write_network_readings``), whose
sensors sit on the links' midpoints. Two sensors are then moved, so matching has something to
report: :data:`NEAR_ID` 0.001 degrees north of its east-west link (about 111 m, within the default
200 m) and :data:`FAR_ID` 0.1 degree north (over 5 km from the grid: dropped, too far).
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pandas as pd

from dff_core.data.graph import haversine_km
from dff_core.data.synthetic import write_network_readings
from tests.roadnet_toy import write_toy_network

#: Links of the toy grid (both directions of its streets, and the zone connectors).
TOY_LINKS = 128
NEAR_ID, FAR_ID = "S001", "S002"
NEAR_SHIFT_DEG = 0.001


def write_toy(folder: Path) -> dict[str, Path]:
    """Write the toy network and its readings to ``folder``; returns the paths by upload kind."""
    write_toy_network(folder)
    paths = write_network_readings(folder / "Toy_net.tntp", folder, sensors=12, days=6, seed=1)
    sensors = pd.read_csv(paths["sensors"], dtype={"sensor_id": str})
    near = sensors["sensor_id"] == NEAR_ID
    ends = sensors.loc[near, "name"].str.extract(r"link (\d+) -> (\d+)").astype(int).iloc[0]
    assert abs(ends[0] - ends[1]) == 1, "the near sensor must sit on an east-west street"
    sensors.loc[near, "latitude"] += NEAR_SHIFT_DEG
    sensors.loc[sensors["sensor_id"] == FAR_ID, "latitude"] += 0.1
    sensors.to_csv(paths["sensors"], index=False)
    return {
        "readings": paths["readings"],
        "sensors": paths["sensors"],
        "network": folder / "Toy_net.tntp",
        "network_nodes": folder / "Toy_node.tntp",
    }


def near_distance_m(latitude: float = 52.0) -> float:
    """How far (m) the near sensor was moved from its link: its distance to the network."""
    return float(haversine_km(latitude, 5.0, latitude + NEAR_SHIFT_DEG, 5.0) * 1000)


def upload_files(paths: dict[str, Path]) -> dict[str, tuple[str, bytes]]:
    """``{kind: (file name, bytes)}`` for the Data page's uploaders."""
    return {kind: (p.name, p.read_bytes()) for kind, p in paths.items()}


def coords(trace: dict, axis: str) -> np.ndarray:
    """A map trace's ``lon`` or ``lat`` from the chart's JSON (a list, or plotly's binary array form).

    Offline maps are plane charts (longitude on x, latitude on y); street maps keep ``lon``/``lat``.
    """
    raw = trace.get(axis, trace.get({"lon": "x", "lat": "y"}[axis]))
    if isinstance(raw, dict):
        return np.frombuffer(base64.b64decode(raw["bdata"]), dtype=np.dtype(raw["dtype"])).astype(float)
    return np.asarray([np.nan if v is None else v for v in raw or []], dtype=float)


def segments(trace: dict) -> int:
    """How many separate lines a gap-separated line trace draws."""
    lon = coords(trace, "lon")
    ok = np.isfinite(lon)
    return int(np.sum(ok & ~np.r_[False, ok[:-1]]))
