"""Upload speed: validating and loading a large long-format readings file, against plain pandas.

Run from the repository root:  python benchmarks/bench_load.py  [--rows 400000] [--repeats 3]

Writes a long-format readings file (``timestamp,sensor_id,value``; 100 sensors every 15 minutes,
as many steps as the row count needs) and a sensors file to a temporary folder, then times in the
same run, best of ``--repeats``:

* ``pandas.read_csv`` of the readings file (the competitor: reading alone, no validation);
* ``dff_core.data.load_dataset`` (reading, validating every cell, the time grid, gap filling, the
  sensors and the nearest-neighbour road graph) - what an upload costs;
* the same load through the careful row-by-row reader only (every file that is not plain CSV).

It prints one Markdown table with seconds and the ratio to ``pandas.read_csv``. The machine is
shared, so the ratios are more stable than the seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import best_of  # noqa: E402
from dff_core.data import fastcsv, load_dataset  # noqa: E402

N_SENSORS = 100


def write_files(folder: Path, rows: int, seed: int = 0) -> tuple[Path, Path]:
    """A long readings file of ``rows`` rows (speeds with a daily cycle and noise) and its sensors file."""
    rng = np.random.default_rng(seed)
    steps = max(200, rows // N_SENSORS)
    times = pd.date_range("2025-01-06", periods=steps, freq="15min")
    ids = [f"S{i:03d}" for i in range(N_SENSORS)]
    hour = times.hour.to_numpy() + times.minute.to_numpy() / 60
    base = 70 - 25 * np.exp(-((hour - 8) ** 2) / 3)[:, None] + rng.normal(0, 4, (steps, N_SENSORS))
    frame = pd.DataFrame(
        {
            "timestamp": np.repeat(times.strftime("%Y-%m-%d %H:%M").to_numpy(), N_SENSORS),
            "sensor_id": np.tile(ids, steps),
            "value": np.round(np.clip(base, 5, None).ravel(), 1),
        }
    ).iloc[:rows]
    readings = folder / "readings.csv"
    frame.to_csv(readings, index=False)
    sensors = folder / "sensors.csv"
    pd.DataFrame(
        {
            "sensor_id": ids,
            "latitude": 52 + rng.uniform(0, 0.1, N_SENSORS),
            "longitude": 5 + rng.uniform(0, 0.1, N_SENSORS),
        }
    ).to_csv(sensors, index=False)
    return readings, sensors


def run(rows: int, repeats: int) -> list[dict]:
    """Time the three readers on a fresh file of ``rows`` rows; one dict per row of the table."""
    with tempfile.TemporaryDirectory() as tmp:
        readings, sensors = write_files(Path(tmp), rows)
        load_dataset(readings, sensors)  # warm-up: imports, pyarrow and pyproj start-up
        t_pandas = best_of(lambda: pd.read_csv(readings), repeats, warm_up=False)
        t_load = best_of(lambda: load_dataset(readings, sensors), repeats, warm_up=False)
        keep = fastcsv.FAST_MIN_BYTES
        fastcsv.FAST_MIN_BYTES = 1 << 62  # every file through the careful reader
        try:
            t_careful = best_of(lambda: load_dataset(readings, sensors), max(1, repeats - 1), warm_up=False)
        finally:
            fastcsv.FAST_MIN_BYTES = keep
        size = readings.stat().st_size
    return [
        {"what": "pandas.read_csv (read only, no validation)", "seconds": t_pandas, "size": size},
        {"what": "load_dataset (read, validate, grid, graph)", "seconds": t_load, "size": size},
        {"what": "load_dataset, careful reader only", "seconds": t_careful, "size": size},
    ]


def markdown(rows: int, table: list[dict]) -> str:
    base = table[0]["seconds"]
    lines = [
        f"| {rows:,} rows ({table[0]['size'] / 1e6:.1f} MB) | seconds | / pandas.read_csv |",
        "|---|---:|---:|",
    ]
    lines += [f"| {r['what']} | {r['seconds']:.2f} | {r['seconds'] / base:.1f} |" for r in table]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000, help="readings rows (default 400,000)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (default 3)")
    args = parser.parse_args(argv)
    table = run(args.rows, args.repeats)
    print(markdown(args.rows, table))
    load = table[1]["seconds"]
    print(f"\nload_dataset: {load:.2f} s for {args.rows:,} rows (target <= 5 s on 2 cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
