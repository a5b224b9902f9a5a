"""Sweep throughput: runs per minute of a 12-run sweep on the sample city, three ways, one process.

    python benchmarks/bench_sweep.py                 # 12 runs (4 epsilons x 3 seeds), 5 epochs
    python benchmarks/bench_sweep.py --epochs 2      # quicker

Measures, on the same scenario and grid:

* ``local x1``: the local process pool with one worker (the competitor: a plain serial sweep
  that still isolates each run in a worker);
* ``local x2``: the local process pool with two workers;
* ``ray x2``: a local Ray instance with 2 CPUs (``ray.init`` time reported separately, as a user
  with a running cluster does not pay it per sweep).

Wall times include the pool's worker start-up and shipping the scenario; the three are measured
interleaved ``--repeat`` times and the best time of each counts. Prints runs/minute, the
speed-up of each over ``local x1`` (target: local x2 >= 1.6x), and whether the three tables are
identical apart from the timing columns. Also prints the load average before and after, since
the numbers mean little on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dff_core.scenarios.spec import ScenarioSpec
from dff_core.sweep import sweep
from dff_core.sweep.backends import mp_context


def _table(res) -> pd.DataFrame:
    df = res.runs
    return df.drop(columns=[c for c in df.columns if c.startswith("seconds")]).reset_index(drop=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray measurement")
    ap.add_argument("--repeat", type=int, default=2, help="interleaved repeats; the best time counts")
    args = ap.parse_args()

    grid = {"epsilon": [0.05, 0.1, 0.2, 0.3], "seed": [0, 1, 2], "backbone": ["ridge"], "loss": ["spo+"]}
    train = {"epochs": args.epochs}
    n_runs = 12
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
    t0 = time.perf_counter()
    scenario = ScenarioSpec().build()  # the bundled sample city, compare's defaults
    print(f"scenario: {scenario!r} built in {time.perf_counter() - t0:.1f}s")
    # Start the forkserver (it preloads the engine) outside the timings, as a long-lived app would.
    with ProcessPoolExecutor(1, mp_context=mp_context()) as ex:
        ex.submit(int).result()

    ray = None
    if not args.no_ray:
        try:
            import ray

            t = time.perf_counter()
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            print(f"ray.init(num_cpus=2): {time.perf_counter() - t:.1f}s (not counted)")
        except ImportError:
            print("ray x2: skipped (ray is not installed)")

    # Interleaved repeats; the best wall time of each backend counts (the machine may be shared).
    walls: dict[str, list[float]] = {}
    results: dict[str, tuple[float, pd.DataFrame]] = {}
    configs = [("local x1", "local", 1), ("local x2", "local", 2)] + ([("ray x2", "ray", 2)] if ray else [])
    for rep in range(args.repeat):
        for name, backend, workers in configs:
            t = time.perf_counter()
            res = sweep(scenario, grid, backend=backend, max_workers=workers, train=train)
            wall = time.perf_counter() - t
            assert res.complete and res.failed.empty, res.failed
            walls.setdefault(name, []).append(wall)
            results[name] = (min(walls[name]), _table(res))
            print(f"[{rep + 1}] {name}: {wall:.1f}s = {60 * n_runs / wall:.2f} runs/min  load {os.getloadavg()[0]:.1f}")
    if ray:
        ray.shutdown()

    base_wall, base_table = results["local x1"]
    print(f"\n{'backend':<10}{'seconds':>9}{'runs/min':>10}{'vs local x1':>13}  same table as local x1")
    for name, (wall, table) in results.items():
        same = table.equals(base_table)
        print(f"{name:<10}{wall:>9.1f}{60 * n_runs / wall:>10.2f}{base_wall / wall:>12.2f}x  {same}")
    speedup = base_wall / results["local x2"][0]
    print(f"\nlocal x2 vs local x1: {speedup:.2f}x (target >= 1.6x): {'met' if speedup >= 1.6 else 'NOT met'}")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
