"""The solver benchmark script runs end to end on tiny batches (no timing is asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("pyepo")
pytest.importorskip("ortools")


def test_bench_solvers_runs_every_case_on_tiny_batches() -> None:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_solvers.py"
    spec = importlib.util.spec_from_file_location("bench_solvers", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.ROWS.clear()
    bench.grid_vs_ortools(20)
    bench.metr_la(20, 2)  # prints a skip line when the shared data are absent
    bench.min_cost_flow(4, 2)
    bench.allocation(10, 2)
    bench.portfolio(2)
    bench.spo_plus(8)
    table = bench.markdown()
    cases = [r["case"] for r in bench.ROWS]
    assert any("5x5 grid" in c for c in cases) and any("SPO+" in c for c in cases)
    assert table.count("\n") == len(bench.ROWS) + 1
    for r in bench.ROWS:
        assert float(r["ratio"].rstrip("x").replace(",", "")) > 0
