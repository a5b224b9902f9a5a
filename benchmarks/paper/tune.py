"""Choose the default training budget of DFF on data the reported results never use.

The benchmark seeds (0-99) are never looked at here: every study draws its own data sets from
tuning seeds (100 and up). Two studies::

    python -m benchmarks.paper.tune --part budget --out benchmarks/paper/out     # epochs x lr x patience
    python -m benchmarks.paper.tune --part cross_fit --out benchmarks/paper/out  # backbone training predictions

**Budget.** The number of epochs, the learning rate and the early-stopping patience are varied
independently: for every learning rate one long run (``max_epochs``, no early stopping) is
recorded twice with the same seed, once scoring every epoch on the validation rows and once on
a large held-out set of the tuning seed (the two runs train identically; the script checks that
their training losses agree). Any budget ``(epochs E, patience P)`` is then replayed from the
validation history: training stops at ``E`` or after ``P`` epochs without a better validation
regret, and the epoch with the lowest validation regret is kept, exactly as ``DFF.fit`` does.
Its held-out regret (relative to the two-stage backbone's) is what the budget is judged by, so
the choice of the budget never uses the data that chose the epoch.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.paper.data import make_task
from benchmarks.paper.run import fit_backbone
from benchmarks.paper.tables import budget_table, cross_fit_table

TUNING_SEEDS = (100, 101, 102, 103, 104)
LRS = (1e-3, 3e-3, 1e-2, 3e-2)
EPOCHS = (25, 50, 100, 200, 300)
PATIENCES = (5, 10, 20, 40, None)
EPSILONS = (0.2, 0.5)


def replay(val: np.ndarray, epochs: int, patience: int | None) -> tuple[int, int]:
    """``(kept epoch, epochs run)`` of a fit with budget ``epochs``/``patience`` given its per-epoch
    validation regret ``val`` (``val[0]`` = the untrained start), mirroring the training loop's rule."""
    best, best_epoch, wait = val[0], 0, 0
    last = min(int(epochs), len(val) - 1)
    for e in range(1, last + 1):
        if val[e] < best - 1e-12 * max(1.0, abs(best)):
            best, best_epoch, wait = val[e], e, 0
        else:
            wait += 1
        if patience is not None and wait >= patience:
            return best_epoch, e
    return best_epoch, last


def _histories(make: Any, fit_args: tuple, val: tuple, held: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train the same model twice, validating on ``val`` and on ``held`` (same seed: same trajectory)."""
    h_val = make().fit(*fit_args, *val).history_
    h_held = make().fit(*fit_args, *held).history_
    if not np.allclose(h_val["train_loss"].to_numpy(), h_held["train_loss"].to_numpy(), rtol=1e-9, atol=1e-12):
        raise RuntimeError("tune: the two replays of one fit diverged; training is not deterministic here.")
    return h_val, h_held


def tune_budget(
    seeds: tuple[int, ...] = TUNING_SEEDS,
    cells: tuple[tuple[str, int, int, int], ...] = (
        ("shortest_path", 6, 100, 5),
        ("shortest_path", 6, 200, 3),
        ("shortest_path", 6, 1000, 2),
        ("knapsack", 6, 100, 3),
    ),
    lrs: tuple[float, ...] = LRS,
    epsilons: tuple[float, ...] = EPSILONS,
    max_epochs: int = 300,
    n_held: int = 1000,
    backbone: str = "linear",
    log=print,
) -> pd.DataFrame:
    """One row per (cell, seed, ε, lr, epochs, patience): held-out regret ratio to two-stage and epochs run.

    Each cell is ``(task, degree, n_train, number of seeds)``: it uses the first seeds of ``seeds``.
    """
    import torch

    from dff_core import metrics
    from dff_core.dff import DFF

    torch.set_num_threads(1)
    rows: list[dict[str, Any]] = []
    for (task, deg, n, k), seed in itertools.product(cells, seeds):
        if seed not in seeds[:k]:
            continue
        t0 = time.perf_counter()
        t = make_task(task, deg, n, n_held, seed=seed)
        nv = max(1, round(0.2 * n))
        Xf, Cf, Xv, Cv = t.X_train[:-nv], t.C_train[:-nv], t.X_train[-nv:], t.C_train[-nv:]
        model, Chf = fit_backbone(backbone, Xf, Cf, seed)
        Chv, Chh = model.predict(Xv), model.predict(t.X_test)
        base = metrics.regret(t.problem, t.C_test, Chh).mean()
        for eps, lr in itertools.product(epsilons, lrs):
            ts = time.perf_counter()

            def make(eps=eps, lr=lr, problem=t.problem, seed=seed) -> Any:
                return DFF(problem, epsilon=eps, lr=lr, epochs=max_epochs, patience=None, seed=seed, n_members=1)

            h_val, h_held = _histories(make, (Xf, Chf, Cf), (Xv, Chv, Cv), (t.X_test, Chh, t.C_test))
            per_epoch = (time.perf_counter() - ts) / (2 * max_epochs)
            val, held = h_val["val_regret"].to_numpy(), h_held["val_regret"].to_numpy()
            for epochs, P in itertools.product(EPOCHS, PATIENCES):
                if epochs > max_epochs:
                    continue
                kept, ran = replay(val, epochs, P)
                rows.append(
                    {
                        "task": task,
                        "deg": deg,
                        "n_train": n,
                        "seed": seed,
                        "backbone": backbone,
                        "epsilon": eps,
                        "lr": lr,
                        "epochs": epochs,
                        "patience": -1 if P is None else P,
                        "kept_epoch": kept,
                        "epochs_run": ran,
                        "held_ratio": held[kept] / base if base > 0 else np.nan,
                        "seconds_est": ran * per_epoch,
                    }
                )
        log(f"budget study {task} deg={deg} n={n} seed={seed}: {time.perf_counter() - t0:.0f}s")
    return pd.DataFrame(rows)


#: Backbone training predictions compared by :func:`tune_cross_fit`: (scheme, blocks); blocks 0 = in-sample.
CROSS_FIT_VARIANTS = (
    ("in-sample", 0),
    ("kfold", 2),
    ("kfold", 5),
    ("kfold", 10),
    ("forward", 3),
    ("forward", 5),
    ("forward", 10),
    ("forward", 20),
)


def tune_cross_fit(
    seeds: tuple[int, ...] = (100, 101, 102),
    backbones: tuple[str, ...] = ("random_forest", "mlp"),
    variants: tuple[tuple[str, int], ...] = CROSS_FIT_VARIANTS,
    epsilons: tuple[float, ...] = EPSILONS,
    n_trains: tuple[int, ...] = (100, 1000),
    deg: int = 6,
    n_held: int = 1000,
    log=print,
) -> pd.DataFrame:
    """Held-out regret ratio (DFF / two-stage) when DFF learns from in-sample, k-fold or forward-chained
    backbone predictions (default training budget; the held-out rows of the tuning seed never chose anything)."""
    import torch

    from dff_core import metrics
    from dff_core.backbones import cross_fit_predict, make_backbone
    from dff_core.dff import DFF

    torch.set_num_threads(1)
    rows: list[dict[str, Any]] = []
    for seed, n_train in itertools.product(seeds, n_trains):
        t = make_task("shortest_path", deg, n_train, n_held, seed=seed)
        nv = max(1, round(0.2 * n_train))
        Xf, Cf, Xv, Cv = t.X_train[:-nv], t.C_train[:-nv], t.X_train[-nv:], t.C_train[-nv:]
        Wh = t.problem.solve(t.C_test)
        for bb in backbones:
            model = make_backbone(bb, seed=seed).fit(Xf, Cf)
            Chv, Chh = model.predict(Xv), model.predict(t.X_test)
            base = metrics.normalized_regret(t.problem, t.C_test, Chh, W_true=Wh)
            for scheme, k in variants:
                if k == 0:
                    Chf = model.predict(Xf)
                else:
                    Chf = cross_fit_predict(make_backbone(bb, seed=seed), Xf, Cf, n_splits=k, scheme=scheme)
                keep = np.isfinite(Chf).all(axis=1)
                for eps in epsilons:
                    m = DFF(t.problem, epsilon=eps, seed=seed, n_members=1).fit(
                        Xf[keep], Chf[keep], Cf[keep], Xv, Chv, Cv
                    )
                    v = metrics.normalized_regret(t.problem, t.C_test, m.predict(t.X_test, Chh), W_true=Wh)
                    rows.append(
                        {
                            "seed": seed,
                            "n_train": n_train,
                            "backbone": bb,
                            "scheme": scheme,
                            "blocks": k,
                            "rows_used": int(keep.sum()),
                            "epsilon": eps,
                            "held_ratio": v / base,
                        }
                    )
        log(f"cross-fit study seed {seed} n={n_train} done")
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Tuning of the paper-style run's training budget on tuning seeds.")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/paper/out"))
    ap.add_argument("--part", choices=("budget", "cross_fit"), default="budget", help="which study to run")
    ap.add_argument("--quick", action="store_true", help="one seed, one small cell, 20 epochs (smoke test)")
    ap.add_argument("--seeds", type=int, nargs="*", default=None, help="tuning seeds (>= 100; cross_fit part)")
    ap.add_argument("--backbones", nargs="*", default=None, help="backbones (cross_fit part)")
    ap.add_argument("--sizes", type=int, nargs="*", default=None, help="training sizes (cross_fit part)")
    ap.add_argument("--epsilons", type=float, nargs="*", default=None, help="DFF's ε values (cross_fit part)")
    args = ap.parse_args(argv)
    if args.seeds and min(args.seeds) < 100:
        ap.error("--seeds: tuning seeds start at 100; seeds 0-99 are the reported results' and are never used here")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.part == "budget":
        kw: dict[str, Any] = {}
        if args.quick:
            kw = {"seeds": (100,), "cells": (("shortest_path", 6, 40, 1),), "max_epochs": 25, "n_held": 50}
        df = tune_budget(**kw)
        df.to_csv(args.out / "tune_budget.csv", index=False)
        print(budget_table(df))
    if args.part == "cross_fit":
        kw = {
            k: tuple(v)
            for k, v in (
                ("seeds", args.seeds),
                ("backbones", args.backbones),
                ("n_trains", args.sizes),
                ("epsilons", args.epsilons),
            )
            if v
        }
        cf = tune_cross_fit(**kw)
        cf.to_csv(args.out / "tune_cross_fit.csv", index=False)
        print(cross_fit_table(cf))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
