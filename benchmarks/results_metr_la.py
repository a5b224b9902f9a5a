"""Traffic routing regret on the real METR-LA week: two-stage vs DFF vs end-to-end DFL.

    python benchmarks/results_metr_la.py                 # the RESULTS.md table (about 5-10 min on 2 cores)
    python benchmarks/results_metr_la.py --seeds 0 --epsilons 0.2   # quick look

Setup (fixed, so the numbers can be reproduced): the METR-LA week (207 sensors, 5-minute speeds,
Thu 1 - Wed 7 March 2012), the default traffic scenario (decisions every 15 min, paces 30 min
ahead, the 5 default long trips across the network, 1 vehicle each), trained on the first 5 days,
validated (best epoch) on Tuesday 6 March and tested on Wednesday 7 March. For each backbone, the
two-stage decisions and DFF at every epsilon are run for each seed (``ridge:cf``: DFF learns from
out-of-fold ridge predictions, 2-fold time-ordered cross-fitting), and end-to-end DFL (which does
not use the backbone) once per seed; the table gives
the mean (and the spread across seeds) of the normalized regret and the mean regret in vehicle-minutes
per decision.
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
    ap.add_argument(
        "--backbones",
        default="ridge,ridge:cf,historical_profile",
        help="comma separated; NAME:cf trains DFF on out-of-fold (cross-fitted) backbone predictions",
    )
    ap.add_argument("--epsilons", default="0.05,0.1,0.2,0.3,0.5")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--csv", default=None, help="also write every run's metrics to this CSV")
    args = ap.parse_args(argv)

    from dff_core import compare
    from dff_core.data import load_metr_la
    from dff_core.scenarios import build_traffic_scenario

    t0 = time.perf_counter()
    ds = load_metr_la()
    sc = build_traffic_scenario(ds, split=("5D", "1D", "1D"))
    print(sc.describe())
    backbones = [b.strip() for b in args.backbones.split(",") if b.strip()]
    epsilons = [float(e) for e in args.epsilons.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    baseline: dict[tuple[str, int], np.ndarray] = {}  # two-stage regret per (backbone, seed)
    for bb in backbones:
        name_, _, flag = bb.partition(":")
        cross_fit = flag == "cf"
        for seed in seeds:
            for k, eps in enumerate(epsilons):
                # DFL does not use the backbone: run it once per seed (with the first backbone)
                methods = ("two_stage", "dff", "dfl") if k == 0 and bb == backbones[0] else ("two_stage", "dff")
                methods = methods if k == 0 else ("dff",)
                res = compare(
                    sc, backbone=name_, epsilon=eps, methods=methods, seed=seed, epochs=args.epochs, cross_fit=cross_fit
                )
                if "two_stage" in res.methods:
                    baseline[bb, seed] = res.methods["two_stage"].regret
                ref = baseline[bb, seed]
                for name in methods:
                    m = res.metrics.loc[name]
                    r = res.methods[name].regret
                    rows.append(
                        {
                            "backbone": bb,
                            "method": name,
                            "epsilon": eps if name == "dff" else np.nan,
                            "seed": seed,
                            "normalized_regret": m["normalized_regret"],
                            "regret_mean": m["regret_mean"],
                            "better": float((r < ref - 1e-9).mean()),
                            "worse": float((r > ref + 1e-9).mean()),
                            "mse": m["mse"],
                            "max_relative_shift": m["max_relative_shift"],
                            "min_cosine": m["min_cosine"],
                            "seconds": m["seconds"],
                        }
                    )
                print(
                    f"  {bb} seed={seed} eps={eps}: "
                    + ", ".join(f"{n} {res.metrics.loc[n, 'normalized_regret']:.4f}" for n in methods),
                    flush=True,
                )
    runs = pd.DataFrame(rows)
    if args.csv:
        runs.to_csv(args.csv, index=False)
    keys = ["backbone", "method", "epsilon"]
    g = runs.fillna({"epsilon": -1}).groupby(keys, sort=False)
    table = g.agg(
        nreg=("normalized_regret", "mean"),
        nreg_min=("normalized_regret", "min"),
        nreg_max=("normalized_regret", "max"),
        regret=("regret_mean", "mean"),
        better=("better", "mean"),
        worse=("worse", "mean"),
        mse=("mse", "mean"),
        shift=("max_relative_shift", "max"),
        cosine=("min_cosine", "min"),
        seconds=("seconds", "mean"),
    ).reset_index()
    order = {"two_stage": 0, "dff": 1, "dfl": 2}
    table["_b"] = table["backbone"].map({b: i for i, b in enumerate(backbones)})
    table["_m"] = table["method"].map(order)
    table = table.sort_values(["_b", "_m", "epsilon"], kind="stable")
    n_test = len(sc.split["test"])
    print(f"\n{len(seeds)} seed(s), {args.epochs} epochs, test n={n_test} decisions; {time.perf_counter() - t0:.0f} s")
    print(
        "\n| backbone | method | ε | normalized regret (min–max over seeds) | regret, veh-min per decision "
        "| decisions better / worse than two-stage | MSE (min/km)² | max shift | min cosine | train s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for _, r in table.iterrows():
        eps = "" if r["epsilon"] < 0 else f"{r['epsilon']:g}"
        spread = "" if r["nreg_min"] == r["nreg_max"] else f" ({r['nreg_min']:.4f}–{r['nreg_max']:.4f})"
        shift = "" if r["method"] == "two_stage" else f"{r['shift']:.3f}"
        cos = "" if r["method"] == "two_stage" else f"{r['cosine']:.4f}"
        better = "" if r["method"] == "two_stage" else f"{r['better']:.0%} / {r['worse']:.0%}"
        print(
            f"| {r['backbone']} | {r['method']} | {eps} | {r['nreg']:.4f}{spread} | {r['regret']:.3f} | "
            f"{better} | {r['mse']:.4f} | {shift} | {cos} | {r['seconds']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
