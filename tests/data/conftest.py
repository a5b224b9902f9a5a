"""Small, valid input files for the data tests; each test breaks one thing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

SENSORS = [("A", 52.000, 5.000), ("B", 52.000, 5.015), ("C", 52.010, 5.000), ("D", 52.010, 5.015)]
N_STEPS = 120
START = pd.Timestamp("2025-01-06 00:00")
FREQ = pd.Timedelta("15min")


def to_csv(header: list[str], rows: list[list], sep: str = ",") -> bytes:
    lines = [sep.join(header)] + [sep.join(str(c) for c in r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def speed(i: int, k: int) -> float:
    return round(45.0 + 10.0 * np.sin(i / 10.0 + k), 1)


def long_rows(n_steps: int = N_STEPS, sensors=SENSORS) -> list[list]:
    rows = []
    for i in range(n_steps):
        t = (START + i * FREQ).strftime("%Y-%m-%d %H:%M")
        rows += [[t, s, speed(i, k)] for k, (s, _, _) in enumerate(sensors)]
    return rows


def readings_line(rows: list[list], pred) -> int:
    """Editor line number (header = 1) of the first row matching ``pred``."""
    return next(i for i, r in enumerate(rows) if pred(r)) + 2


@pytest.fixture
def sensors_csv() -> bytes:
    return to_csv(
        ["sensor_id", "latitude", "longitude", "name"], [[s, la, lo, f"Junction {s}"] for s, la, lo in SENSORS]
    )


@pytest.fixture
def links_csv() -> bytes:
    pairs = [("A", "B"), ("B", "A"), ("A", "C"), ("C", "A"), ("B", "D"), ("D", "B"), ("C", "D"), ("D", "C")]
    return to_csv(["from_id", "to_id", "length_km", "capacity"], [[f, t, 1.2, 900] for f, t in pairs])


@pytest.fixture
def rows() -> list[list]:
    return long_rows()


@pytest.fixture
def readings_csv(rows) -> bytes:
    return to_csv(["timestamp", "sensor_id", "value"], rows)
