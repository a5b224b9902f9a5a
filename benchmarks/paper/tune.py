"""Choose the training settings of the paper-style run on VALIDATION data of separate tuning seeds.

The benchmark seeds (0-4) are never looked at here: this script draws its own data sets (seeds
100 and 101), holds out the last 20% of each training set, and reports the validation regret of
DFF and DFL relative to the two-stage backbone for a few learning rates and for feeding ``ĉ`` to
DFF's correction network. Its CSV (``tune.csv``) is summarised in the RESULTS.md section::

    python -m benchmarks.paper.tune --out benchmarks/paper/out
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.paper.data import make_task
from benchmarks.paper.report import cross_fit_table, tune_table
from benchmarks.paper.run import fit_backbone

TUNING_SEEDS = (100, 101)
LRS = (1e-3, 5e-3, 2e-2)
EPSILONS = (0.2, 0.5)


def tune(
    seeds: tuple[int, ...] = TUNING_SEEDS,
    n_trains: tuple[int, ...] = (100, 1000),
    backbones: tuple[str, ...] = ("linear", "random_forest"),
    lrs: tuple[float, ...] = LRS,
    epsilons: tuple[float, ...] = EPSILONS,
    deg: int = 6,
    epochs: int = 50,
    patience: int = 10,
    log=print,
) -> pd.DataFrame:
    """Validation regret ratios (method / two-stage) on the grid shortest path; one row per run."""
    import torch

    from dff_core import metrics
    from dff_core.baselines import DFL
    from dff_core.dff import DFF

    torch.set_num_threads(1)
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        for n in n_trains:
            t = make_task("shortest_path", deg, n, 1, seed=seed)
            nv = max(1, round(0.2 * n))
            Xf, Cf, Xv, Cv = t.X_train[:-nv], t.C_train[:-nv], t.X_train[-nv:], t.C_train[-nv:]
            Wv = t.problem.solve(Cv)

            def val(C_pred: np.ndarray, t=t, Cv=Cv, Wv=Wv) -> float:
                return metrics.normalized_regret(t.problem, Cv, C_pred, W_true=Wv)

            lin = fit_backbone("linear", Xf, Cf, seed)[0]
            lin_val = val(lin.predict(Xv))
            for lr in lrs:
                t0 = time.perf_counter()
                m = DFL(t.problem, lr=lr, epochs=epochs, patience=patience, seed=seed).fit(Xf, Cf, Xv, Cv)
                rows.append(
                    {
                        "seed": seed,
                        "n_train": n,
                        "backbone": "linear",
                        "method": "dfl",
                        "lr": lr,
                        "use_c_hat": False,
                        "folds": 0,
                        "epsilon": np.nan,
                        "val_ratio": val(m.predict(Xv)) / lin_val,
                        "best_epoch": m.best_epoch_,
                        "seconds": time.perf_counter() - t0,
                    }
                )
            for bb in backbones:
                model, Chf = fit_backbone(bb, Xf, Cf, seed, folds=2 if bb != "linear" else 0)
                Chv = model.predict(Xv)
                base = val(Chv)
                variants = [(lr, False) for lr in lrs] + [(5e-3, True)]
                for lr, use_c_hat in variants:
                    for eps in epsilons:
                        t0 = time.perf_counter()
                        m = DFF(
                            t.problem,
                            epsilon=eps,
                            lr=lr,
                            epochs=epochs,
                            patience=patience,
                            seed=seed,
                            use_c_hat=use_c_hat,
                        ).fit(Xf, Chf, Cf, Xv, Chv, Cv)
                        rows.append(
                            {
                                "seed": seed,
                                "n_train": n,
                                "backbone": bb,
                                "method": "dff",
                                "lr": lr,
                                "use_c_hat": use_c_hat,
                                "folds": 2 if bb != "linear" else 0,
                                "epsilon": eps,
                                "val_ratio": val(m.predict(Xv, Chv)) / base,
                                "best_epoch": m.best_epoch_,
                                "seconds": time.perf_counter() - t0,
                            }
                        )
            log(f"tuning seed {seed} n={n} done")
    return pd.DataFrame(rows)


def tune_cross_fit(
    seeds: tuple[int, ...] = (100, 101, 102),
    backbones: tuple[str, ...] = ("random_forest", "mlp"),
    folds: tuple[int, ...] = (0, 2, 5),
    epsilons: tuple[float, ...] = EPSILONS,
    n_trains: tuple[int, ...] = (100, 1000),
    deg: int = 6,
    lr: float = 5e-3,
    log=print,
) -> pd.DataFrame:
    """Validation regret ratio of DFF when its training ``ĉ`` is in-sample (``folds=0``) or out-of-fold."""
    import torch

    from dff_core import metrics
    from dff_core.dff import DFF

    torch.set_num_threads(1)
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        for n_train in n_trains:
            t = make_task("shortest_path", deg, n_train, 1, seed=seed)
            nv = max(1, round(0.2 * n_train))
            Xf, Cf, Xv, Cv = t.X_train[:-nv], t.C_train[:-nv], t.X_train[-nv:], t.C_train[-nv:]
            Wv = t.problem.solve(Cv)
            for bb in backbones:
                for k in folds:
                    model, Chf = fit_backbone(bb, Xf, Cf, seed, folds=k)
                    Chv = model.predict(Xv)
                    base = metrics.normalized_regret(t.problem, Cv, Chv, W_true=Wv)
                    for eps in epsilons:
                        m = DFF(t.problem, epsilon=eps, lr=lr, seed=seed).fit(Xf, Chf, Cf, Xv, Chv, Cv)
                        v = metrics.normalized_regret(t.problem, Cv, m.predict(Xv, Chv), W_true=Wv)
                        rows.append(
                            {
                                "seed": seed,
                                "n_train": n_train,
                                "backbone": bb,
                                "folds": k,
                                "epsilon": eps,
                                "val_ratio": v / base,
                            }
                        )
            log(f"cross-fit study seed {seed} n={n_train} done")
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Validation-only tuning of the paper-style run's learning rate.")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/paper/out"))
    ap.add_argument("--part", choices=("all", "lr", "cross_fit"), default="all", help="which study to run")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.part in ("all", "lr"):
        df = tune()
        df.to_csv(args.out / "tune.csv", index=False)
        print(tune_table(df))
    if args.part in ("all", "cross_fit"):
        cf = tune_cross_fit()
        cf.to_csv(args.out / "tune_cross_fit.csv", index=False)
        print(cross_fit_table(cf))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
