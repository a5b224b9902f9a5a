"""The portfolio benchmark runs end to end on tiny batches (no timing is asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_bench_portfolio_runs_both_paths_on_tiny_batches() -> None:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_portfolio.py"
    spec = importlib.util.spec_from_file_location("bench_portfolio", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.main(["--quick"])
    assert [r["case"].split(",")[0] for r in rows] == ["20 assets"] * 2 + ["50 assets"] * 2
    for r in rows:
        assert float(r["ratio"].rstrip("x").replace(",", "")) > 0
        assert float(r["rel"]) < 1e-6  # the kernel and CLARABEL reach the same optimum
