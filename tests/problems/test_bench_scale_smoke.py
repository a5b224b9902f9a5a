"""The scaling benchmark runs end to end on tiny networks (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest


def _load():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_scale.py"
    spec = importlib.util.spec_from_file_location("bench_scale", path)
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    return bench


def test_bench_scale_rows_exponent_and_plot(tmp_path: Path) -> None:
    pytest.importorskip("pymetis")
    bench = _load()
    rng = np.random.default_rng(0)
    rows = [bench.bench_network(bench.road_grid(k, rng), 4, rng, 1e6) for k in (6, 9)]
    for r in rows:
        assert r["auto"] == "dijkstra" and r["cch /s"] != "-"  # both algorithms timed
        assert float(r["max |objective gap| dijkstra vs cch"]) < 1e-9
        assert float(str(r["ours / scipy"]).rstrip("x").replace(",", "")) > 0
        assert r["dff_sec"] > 0 and any(k.startswith("DFF s/epoch") for k in r)  # the DFF column
    table = bench.markdown(rows, skip=("sec_per_solve", "scipy_sec_per_solve", "dff_sec"))
    assert table.count("\n") == len(rows) + 1 and "sec_per_solve" not in table and "dff_sec" not in table
    assert np.isfinite(bench.growth_exponent(rows, "sec_per_solve"))
    assert np.isfinite(bench.growth_exponent(rows, "dff_sec"))
    assert list(bench.families(rows)) == ["grids"]
    bench.negative_costs(3, rng)  # prints a skip line when the shared data are absent
    pytest.importorskip("matplotlib")
    out = tmp_path / "scale.png"
    bench.plot(rows, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
