"""Traffic routing regret on the real METR-LA week as a rolling-origin backtest with confidence intervals.

    python benchmarks/results_metr_la.py                         # the RESULTS.md table (see --help for the time)
    python benchmarks/results_metr_la.py --seeds 0 --folds 2     # a quick look

Setup (fixed, so the numbers can be reproduced): the METR-LA week (207 sensors, 5-minute speeds,
Thu 1 - Wed 7 March 2012), the default traffic scenario (decisions every 15 min, paces 30 min ahead,
the 5 default long trips across the network, 1 vehicle each) with the split ("5D", "1D", "1D"). The
backtest (``compare(..., folds=k)``) tests on the last ``k`` days in turn, each fold trained on every
earlier day but the one just before its test day, which validates (best epoch, and ε when "auto").
Every decision-focused method gets the same budget (``--preset``). For each backbone and seed the
table pools the test decisions of all folds; the interval and p-value compare each method with the
two-stage decisions decision by decision (per-decision regret averaged over the seeds, then a
moving-block bootstrap over the time-ordered decisions and a Wilcoxon signed-rank test;
dff_core.stats). ``NAME:cf`` trains DFF on forward-chained out-of-sample backbone predictions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbones", default="ridge,ridge:cf,historical_profile", help="comma separated")
    ap.add_argument("--methods", default="all", help="comma separated method keys, or 'all' (those that apply)")
    ap.add_argument("--epsilon", default="0.2", help="DFF's trust region: a number or 'auto'")
    ap.add_argument("--preset", default="fast", choices=("fast", "thorough"), help="the shared training budget")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--folds", type=int, default=3, help="test days (the last K days of the week)")
    ap.add_argument("--csv", default=None, help="also write every (backbone, seed, method) row to this CSV")
    args = ap.parse_args(argv)

    from dff_core.comparison import available_methods, compare
    from dff_core.data import load_metr_la
    from dff_core.scenarios import build_traffic_scenario
    from dff_core.stats import paired_difference

    t0 = time.perf_counter()
    sc = build_traffic_scenario(load_metr_la(), split=("5D", "1D", "1D"))
    print(sc.describe())
    backbones = [b.strip() for b in args.backbones.split(",") if b.strip()]
    seeds = [int(s) for s in args.seeds.split(",")]
    eps = args.epsilon if args.epsilon == "auto" else float(args.epsilon)
    rows, regrets, budgets = [], {}, {}
    for bb in backbones:
        name, _, flag = bb.partition(":")
        methods = available_methods(name) if args.methods == "all" else tuple(args.methods.split(","))
        for seed in seeds:
            bt = compare(sc, backbone=name, epsilon=eps, methods=methods, seed=seed, folds=args.folds,
                         preset=args.preset, cross_fit=flag == "cf")  # fmt: skip
            budgets[bb] = bt.summary().get("training_budget")
            pooled = bt.metrics
            for m in bt.methods:
                regrets.setdefault((bb, m), []).append(bt.regret(m))
                rows.append(
                    {
                        "backbone": bb,
                        "seed": seed,
                        "method": m,
                        "regret_mean": pooled.loc[m, "regret_mean"],
                        "normalized_regret": pooled.loc[m, "normalized_regret"],
                        "mse": pooled.loc[m, "mse"],
                        "max_relative_shift": pooled.loc[m, "max_relative_shift"],
                        "epsilon": [f.config.get("training", {}).get("dff", {}).get("epsilon") for f in bt.folds]
                        if m == "dff"
                        else None,
                        "seconds": pooled.loc[m, "seconds"],
                    }
                )
            print(f"  {bb} seed={seed}: " + ", ".join(f"{m} {pooled.loc[m, 'regret_mean']:.3f}" for m in bt.methods),
                  flush=True)  # fmt: skip
    runs = pd.DataFrame(rows)
    if args.csv:
        runs.to_csv(args.csv, index=False)
    n_test = len(next(iter(regrets.values()))[0])
    print(
        f"\n{len(seeds)} seed(s), {args.folds} test days (folds), {n_test} pooled test decisions per run, preset "
        f"{args.preset}, ε {args.epsilon}; {time.perf_counter() - t0:.0f} s"
    )
    for bb, b in budgets.items():
        if b:
            print(f"budget ({bb}): up to {b['epochs']} epochs, lr {b['lr']}, patience {b['patience']}, every method")
    print(
        "\n| backbone | method | regret, veh-min per decision | normalized regret | method − two-stage [95% CI] "
        "| p | verdict | MSE (min/km)² | max shift | train s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for bb in backbones:
        base = np.mean(regrets[(bb, "two_stage")], axis=0)
        for m in [m for (b, m) in regrets if b == bb]:
            r = np.mean(regrets[(bb, m)], axis=0)
            sub = runs[(runs["backbone"] == bb) & (runs["method"] == m)]
            if m == "two_stage":
                ci = p = verdict = ""
            else:
                pc = paired_difference(r, base, time_ordered=True)
                ci = f"{pc.mean_difference:+.3f} [{pc.ci_low:+.3f}, {pc.ci_high:+.3f}]"
                p, verdict = f"{pc.p_value:.2g}", pc.verdict
            shift = "" if m == "two_stage" else f"{sub['max_relative_shift'].max():.3g}"
            print(
                f"| {bb} | {m} | {r.mean():.3f} | {sub['normalized_regret'].mean():.4f} | {ci} | {p} | {verdict} | "
                f"{sub['mse'].mean():.4f} | {shift} | {sub['seconds'].mean():.1f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
