"""How should ``epsilon="auto"`` choose the trust region? A study on tuning seeds (100 and up).

For every (cell, tuning seed) and every ε of :data:`~dff_core.selection.EPSILON_GRID`, DFF (the default
budget, linear backbone) is fitted the way the benchmark fits it and scored four ways:

- ``halves``: epoch chosen on the earlier half of the validation rows, scored on the later half (the rule
  ``epsilon="auto"`` uses);
- ``swapped``: the same with the halves' roles swapped (``halves + swapped`` scores on every validation row);
- ``best_epoch``: the regret on all validation rows at the epoch they chose (optimistic: favours loose ε);
- ``cv``: ``folds``-fold cross-validation over all training rows, each fold repeating the whole protocol
  (backbone, fit and validation split) on the other folds;
- ``test``: regret on 1000 held-out instances of the model fitted with all validation rows (what is reported).

A rule picks one ε per run from its scores; its test regret is then compared with two-stage and with DFL of
the linear model from the backbone's weights (same budget). ``oracle`` picks by the test regret itself: no rule
can do better, so it bounds what any choice of ε can buy.

    python -m benchmarks.paper.tune_epsilon --out benchmarks/paper/out --jobs 2
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.paper.data import make_task
from benchmarks.paper.run import fit_backbone
from benchmarks.paper.tables import rule_table

#: (task, degree, n_train) cells of the study: misspecified (degree >= 4) and well-specified ones.
CELLS: tuple[tuple[str, int, int], ...] = (
    ("shortest_path", 4, 100),
    ("shortest_path", 4, 200),
    ("shortest_path", 6, 100),
    ("shortest_path", 6, 200),
    ("shortest_path", 6, 1000),
    ("knapsack", 4, 200),
    ("knapsack", 6, 100),
    ("knapsack", 6, 200),
    ("allocation", 4, 100),
    ("allocation", 4, 200),
    ("allocation", 6, 100),
    ("allocation", 6, 1000),
    ("shortest_path", 1, 100),
    ("shortest_path", 1, 200),
    ("shortest_path", 1, 1000),
    ("shortest_path", 2, 100),
    ("shortest_path", 2, 200),
    ("knapsack", 1, 100),
    ("knapsack", 1, 200),
    ("knapsack", 2, 200),
    ("allocation", 1, 100),
    ("allocation", 1, 1000),
    ("allocation", 2, 200),
)
SEEDS = tuple(range(100, 108))
FOLDS = 5
N_TEST = 1000
VAL_FRACTION = 0.2


def _split(X: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, ...]:
    nv = max(1, round(VAL_FRACTION * len(X)))
    return X[:-nv], C[:-nv], X[-nv:], C[-nv:]


def _study_seed(cell: tuple[str, int, int, int], folds: int) -> list[dict[str, Any]]:
    """Every score of every ε for one (task, degree, n_train, seed), plus two-stage and DFL from the backbone."""
    import torch

    from dff_core import metrics
    from dff_core.baselines import DFL
    from dff_core.dff import DFF
    from dff_core.selection import DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_PATIENCE, EPSILON_GRID

    torch.set_num_threads(1)
    task_name, deg, n, seed = cell
    task = make_task(task_name, deg, n, N_TEST, seed=1000 + seed)
    pb = task.problem
    train = {"epochs": DEFAULT_EPOCHS, "lr": DEFAULT_LR, "patience": DEFAULT_PATIENCE, "batch_size": 32, "seed": seed}

    def nr(C: np.ndarray, P: np.ndarray, W: np.ndarray | None = None) -> float:
        return metrics.normalized_regret(pb, C, P, W_true=W)

    def dff(eps: float, fit: tuple, val: tuple) -> DFF:
        return DFF(pb, epsilon=eps, hidden=(32, 32, 32), loss="spo+", n_members=1, **train).fit(*fit, *val)

    Xf, Cf, Xv, Cv = _split(task.X_train, task.C_train)
    model, Chf = fit_backbone("linear", Xf, Cf, seed)
    Chv, Cht = model.predict(Xv), model.predict(task.X_test)
    Wt = pb.solve(task.C_test)
    base = {"task": task_name, "deg": deg, "n_train": n, "seed": seed}
    rows = [{**base, "method": "two_stage", "test": nr(task.C_test, Cht, Wt)}]
    dfl = DFL(pb, model="linear", loss="spo+", n_members=1, **train).fit(Xf, Cf, Xv, Cv, start_from=model)
    rows.append({**base, "method": "dfl_backbone", "test": nr(task.C_test, dfl.predict(task.X_test), Wt)})
    h = len(Xv) // 2
    a, b = slice(0, h), slice(h, len(Xv))
    # cross-validation: each fold repeats the whole protocol (backbone, fit/validation split) on the other rows
    edges = np.linspace(0, n, folds + 1).round().astype(int)
    cv: dict[float, list[float]] = {eps: [] for eps in EPSILON_GRID}
    for k in range(folds):
        held = np.zeros(n, dtype=bool)
        held[edges[k] : edges[k + 1]] = True
        kf, kCf, kv, kCv = _split(task.X_train[~held], task.C_train[~held])
        km, kChf = fit_backbone("linear", kf, kCf, seed)
        kChv, kChh = km.predict(kv), km.predict(task.X_train[held])
        for eps in EPSILON_GRID:
            m = dff(eps, (kf, kChf, kCf), (kv, kChv, kCv))
            cv[eps].append(nr(task.C_train[held], m.predict(task.X_train[held], kChh)))
    for eps in EPSILON_GRID:
        full = dff(eps, (Xf, Chf, Cf), (Xv, Chv, Cv))
        first = dff(eps, (Xf, Chf, Cf), (Xv[a], Chv[a], Cv[a]))
        second = dff(eps, (Xf, Chf, Cf), (Xv[b], Chv[b], Cv[b]))
        rows.append(
            {
                **base,
                "method": "dff",
                "epsilon": eps,
                "test": nr(task.C_test, full.predict(task.X_test, Cht), Wt),
                "best_epoch": nr(Cv, full.predict(Xv, Chv)),
                "halves": nr(Cv[b], first.predict(Xv[b], Chv[b])),
                "swapped": nr(Cv[a], second.predict(Xv[a], Chv[a])),
                "cv": float(np.mean(cv[eps])),
            }
        )
    return rows


def run_study(
    cells: tuple[tuple[str, int, int], ...] = CELLS,
    seeds: tuple[int, ...] = SEEDS,
    folds: int = FOLDS,
    jobs: int = 2,
    log=print,
) -> pd.DataFrame:
    """Raw scores of every (cell, seed, ε); cells run in ``jobs`` processes."""
    if min(seeds) < 100:
        raise ValueError("tune_epsilon: tuning seeds start at 100; seeds 0-99 belong to the reported results.")
    work = [(t, d, n, s) for (t, d, n) in cells for s in seeds]
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max(1, int(jobs))) as ex:
        for i, res in enumerate(ex.map(_study_seed, work, [folds] * len(work))):
            rows += res
            if (i + 1) % len(seeds) == 0:
                log(f"epsilon study: {i + 1}/{len(work)} runs, {time.perf_counter() - t0:.0f}s")
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Compare rules for choosing DFF's ε on tuning seeds.")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/paper/out"))
    ap.add_argument("--seeds", type=int, nargs="*", default=None, help="tuning seeds (>= 100)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="two small cells, one seed (smoke test)")
    args = ap.parse_args(argv)
    seeds = tuple(args.seeds) if args.seeds else SEEDS
    if min(seeds) < 100:
        ap.error("--seeds: tuning seeds start at 100; seeds 0-99 are the reported results' and are never used here")
    cells = (("shortest_path", 6, 30), ("shortest_path", 1, 30)) if args.quick else CELLS
    raw = run_study(cells, seeds[:1] if args.quick else seeds, folds=2 if args.quick else FOLDS, jobs=args.jobs)
    args.out.mkdir(parents=True, exist_ok=True)
    raw.to_csv(args.out / "tune_epsilon.csv", index=False)
    print(rule_table(raw))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
