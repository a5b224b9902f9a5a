"""The load benchmark runs end to end on a small file (no timing is asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_bench_load_times_every_reader_on_a_small_file() -> None:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_load.py"
    spec = importlib.util.spec_from_file_location("bench_load", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    table = bench.run(20_000, 1)
    assert [r["what"].split(" ")[0].rstrip(",") for r in table] == ["pandas.read_csv", "load_dataset", "load_dataset"]
    assert all(r["seconds"] > 0 for r in table)
    text = bench.markdown(20_000, table)
    assert text.count("\n") == len(table) + 1 and "/ pandas.read_csv" in text
