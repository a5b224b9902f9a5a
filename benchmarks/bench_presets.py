"""Time cost of the comparison presets and of DFF's default training settings.

Run from the repository root:  python benchmarks/bench_presets.py  [--quick]

Two measurements, each a ratio against a named competitor measured in the same run:

1. ``compare`` on the bundled sample city (traffic routing, ridge backbone, the scenario's defaults),
   with the ``fast`` preset (the command line's and the dashboard's default: ε = 0.2, up to 30
   epochs) against the ``thorough`` preset (ε chosen on held-out validation rows, the tuned
   budget, the mean of five fits per method), each with the default methods (plain, DFF, DFL). The
   scenario is built once before timing, as in the dashboard's warm comparison.
2. ``DFF(problem).fit`` with the defaults (ε "auto", the tuned budget, the mean of five fits: the first
   chooses ε, four more reuse it) and one fit of them (``n_members=1``) against a single fit with the
   previous defaults (ε = 0.5, 50 epochs, lr 1e-3, patience 10), on PyEPO's 5x5 grid shortest path
   (degree 6, linear backbone) at 100 and 1000 training instances.

Times are wall seconds of one run each (best of ``--repeats``) on one torch thread.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best_of(f, repeats: int) -> tuple[float, object]:
    out, best = None, float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="smaller grid data (n=100 only)")
    args = ap.parse_args(argv)

    import torch

    from benchmarks.paper.data import make_task
    from dff_core.backbones import LinearBackbone
    from dff_core.comparison import compare
    from dff_core.data import load_sample
    from dff_core.dff import DFF
    from dff_core.scenarios import build_traffic_scenario

    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    sc = build_traffic_scenario(load_sample())
    print("| compare on the sample city | wall (s) | DFF ε | DFF epochs run | ratio to fast |")
    print("|---|---:|---:|---:|---:|")
    fast_s = None
    for preset in ("fast", "thorough"):
        sec, res = best_of(lambda preset=preset: compare(sc, preset=preset), args.repeats)
        fast_s = sec if fast_s is None else fast_s
        tr = res.summary()["training"]["dff"]
        print(f"| preset {preset} | {sec:.1f} | {tr['epsilon']:g} | {tr['epochs_run']} | {sec / fast_s:.2f}x |")

    print("\n| DFF.fit, grid shortest path deg 6 | wall (s) | ratio to previous defaults |")
    print("|---|---:|---:|")
    for n in (100,) if args.quick else (100, 1000):
        t = make_task("shortest_path", 6, n, 1, seed=7)
        C_hat = LinearBackbone().fit(t.X_train, t.C_train).predict(t.X_train)
        old, _ = best_of(
            lambda t=t, C_hat=C_hat: DFF(t.problem, epsilon=0.5, epochs=50, lr=1e-3, patience=10, n_members=1).fit(
                t.X_train, C_hat, t.C_train
            ),
            args.repeats,
        )
        one, m = best_of(
            lambda t=t, C_hat=C_hat: DFF(t.problem, n_members=1).fit(t.X_train, C_hat, t.C_train), args.repeats
        )
        new, _ = best_of(lambda t=t, C_hat=C_hat: DFF(t.problem).fit(t.X_train, C_hat, t.C_train), args.repeats)
        print(f"| n={n}, previous defaults (ε 0.5, 50 epochs, lr 1e-3, patience 10) | {old:.3f} | 1.00x |")
        print(f"| n={n}, one fit of the defaults (ε auto, chosen {m.epsilon_:g}; `n_members=1`) | {one:.3f} "
              f"| {one / old:.2f}x |")  # fmt: skip
        print(f"| n={n}, defaults (mean of 5 fits) | {new:.3f} | {new / old:.2f}x ({new / one:.2f}x one fit) |")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
