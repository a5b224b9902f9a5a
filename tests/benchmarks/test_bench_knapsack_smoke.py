"""The knapsack benchmark runs end to end on tiny batches (no timing is asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from dff_core.data.synthetic import knapsack_data

pytest.importorskip("pyepo")
pytest.importorskip("ortools")


def test_bench_knapsack_compares_dp_mip_and_ortools_on_tiny_batches() -> None:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_knapsack.py"
    spec = importlib.util.spec_from_file_location("bench_knapsack", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    one = knapsack_data(8, 5, 12, dim=1, deg=2, noise_width=0.5, seed=0)
    two = knapsack_data(8, 5, 12, dim=2, deg=2, noise_width=0.5, seed=0)
    rows = [
        bench.case("dim 1", one.problem.weights, one.C, 3),
        bench.case("dim 2", two.problem.weights, two.C, 3),
        bench.case("dim 2 whole", np.ceil(two.problem.weights), two.C, 3),
    ]
    assert [r["dp"] == "n/a" for r in rows] == [False, True, False]
    for r in rows:
        assert float(r["mip"].replace(",", "")) > 0 and float(r["ort"].replace(",", "")) > 0
        assert r["mip_ratio"].endswith("x")
