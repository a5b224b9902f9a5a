"""Runtime of ``dff_core.compare`` with default settings, stage by stage.

    python benchmarks/bench_compare.py            # sample city and METR-LA week (if present)
    python benchmarks/bench_compare.py --only sample

Prints, per dataset: loading, feature building, backbone fit, DFF and DFL training, the
time spent inside the decision solver (all ``solve``/``solve_surrogate`` calls, counted by
wrapping the problem), the total, and two ratios: DFF's training time against end-to-end
DFL's (the competitor trained in the same run) and the total against its budget
(60 s for the sample, 180 s for METR-LA).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUDGET_S = {"sample": 60.0, "metr-la": 180.0}


class SolveTimer:
    """Wraps ``problem.solve``/``solve_surrogate`` on the instance to add up their seconds."""

    def __init__(self, problem: Any) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.rows = 0
        for name in ("solve", "solve_surrogate"):
            setattr(problem, name, self._wrap(getattr(problem, name)))

    def _wrap(self, fn: Any) -> Any:
        def timed(C: Any, *a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(C, *a, **k)
            finally:
                self.seconds += time.perf_counter() - t
                self.calls += 1
                self.rows += len(C) if getattr(C, "ndim", 1) == 2 else 1

        return timed


def _epochs(res: Any, name: str) -> int:
    m = res.methods.get(name)
    h = getattr(m, "history", None)
    return 0 if h is None else int(h["epoch"].max())


def run(name: str, epochs: int | None) -> dict[str, float]:
    from dff_core import compare
    from dff_core.data import load_dataset, load_metr_la, sample_paths
    from dff_core.scenarios import build_traffic_scenario

    t0 = time.perf_counter()
    if name == "sample":
        p = sample_paths()
        ds, _ = load_dataset(p["readings"], p["sensors"], p["links"], source="sample")
    else:
        ds = load_metr_la()
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    sc = build_traffic_scenario(ds)
    t_build = time.perf_counter() - t1
    timer = SolveTimer(sc.problem)
    kw = {} if epochs is None else {"epochs": epochs}
    t2 = time.perf_counter()
    res = compare(sc, **kw)
    t_compare = time.perf_counter() - t2
    total = t_load + t_build + t_compare
    tm = res.timings
    row = {
        "loading": t_load,
        "features": sc.timings.get("features", t_build),
        "scenario (graph, pairs)": t_build - sc.timings.get("features", 0.0),
        "backbone fit + test predictions": tm.get("backbone", float("nan")),
        "backbone train predictions": tm.get("backbone_train_predictions", 0.0),
        "DFF training": tm.get("dff", float("nan")),
        "DFL training": tm.get("dfl", float("nan")),
        "scoring (test decisions)": t_compare
        - sum(tm.get(k, 0.0) for k in ("backbone", "backbone_train_predictions", "dff", "dfl")),
        "solves (inside the above)": timer.seconds,
        "total": total,
    }
    print(f"\n== {name}: {sc!r}")
    print(f"   compare(scenario) with defaults{'' if epochs is None else f', epochs={epochs}'}; test n={res.n_test}")
    for k, v in row.items():
        print(f"   {k:<34}{v:8.2f} s")
    print(
        f"   solver calls: {timer.calls} batched calls, {timer.rows} instances; DFF epochs run: {_epochs(res, 'dff')}, "
        f"DFL epochs run: {_epochs(res, 'dfl')}"
    )
    if tm.get("dfl"):
        print(f"   ratio DFF / end-to-end DFL training time: {tm.get('dff', float('nan')) / tm['dfl']:.2f}")
    print(f"   ratio total / budget ({BUDGET_S[name]:.0f} s): {total / BUDGET_S[name]:.2f}")
    m = res.metrics
    print("   normalized regret: " + ", ".join(f"{k} {m.loc[k, 'normalized_regret']:.4f}" for k in m.index))
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("sample", "metr-la"), default=None)
    ap.add_argument("--epochs", type=int, default=None, help="override the default number of epochs")
    args = ap.parse_args(argv)
    from dff_core.data import shared_data_dir

    print(f"cores: {os.cpu_count()}")
    names = [args.only] if args.only else ["sample", "metr-la"]
    for name in names:
        if name == "metr-la" and (shared_data_dir() is None or not (shared_data_dir() / "metr-la-week").is_dir()):
            print("\n== metr-la: data not found (set DFF_SHARED_DATA); skipped")
            continue
        run(name, args.epochs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
