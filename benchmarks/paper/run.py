"""Paper-style synthetic experiments: two-stage vs end-to-end DFL vs DFF on three decision problems.

One command regenerates every number of the ``## Paper-style synthetic experiments`` section of
RESULTS.md::

    python -m benchmarks.paper.run --out benchmarks/paper/out            # full table
    python -m benchmarks.paper.run --quick --out /tmp/paper-quick        # seconds, for smoke tests

Per (task, degree, training size, backbone, seed) "cell" the harness

1. draws train + test instances from one generator call (same hidden cost map),
2. holds out the last ``val_fraction`` of the training instances for validation (the data are
   i.i.d., so the order does not matter),
3. fits the backbone on the rest and predicts ``ĉ`` (out-of-fold on the training rows, so DFF does
   not learn from in-sample residuals),
4. trains DFF for every ε and the end-to-end DFL baseline (early stopping on validation regret),
5. scores every method on the test instances: normalized regret, MSE, and the prediction shift
   relative to the backbone (mean / max relative shift, minimum cosine similarity).

"DFF (ε by val.)" picks, per seed, the ε with the lowest validation regret; test data never
influences any choice. Output: ``raw.csv`` (one row per cell and method), ``summary.csv``,
``targets.csv``, ``table.md`` and ``config.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.paper import report
from benchmarks.paper.config import FULL, QUICK, Config, with_overrides
from benchmarks.paper.data import Task, make_task

#: Relative cost of one cell by task (portfolio solves are slower), used to start long cells first.
_TASK_COST = {"shortest_path": 1.0, "allocation": 1.0, "portfolio": 10.0}


def cells(cfg: Config) -> list[dict[str, Any]]:
    """All (task, deg, n_train, seed) combinations of ``cfg``, most expensive first.

    The backbones are looped over inside a cell, so the data and the end-to-end DFL baseline
    (which does not use the backbone) are built once per cell.
    """
    out = [
        {"task": task, "deg": deg, "n_train": n, "seed": seed, "backbones": tuple(g.backbones)}
        for task, g in cfg.grid.items()
        for deg in g.degs
        for n in g.n_trains
        for seed in (g.seeds if g.seeds is not None else cfg.seeds)
    ]
    out.sort(key=lambda c: -c["n_train"] * _TASK_COST.get(c["task"], 1.0))
    return out


def evaluate(task: Task, C_hat_test: np.ndarray, C_pred: np.ndarray, W_true: np.ndarray) -> dict[str, float]:
    """Test metrics of one method; shift and cosine are measured against the backbone's ``ĉ``.

    Same definitions as ``dff_core.comparison.run_comparison`` (:func:`dff_core.metrics.shift_metrics`):
    the mean relative shift skips coefficients whose ``ĉ`` is exactly 0 (infinite ratio), the max keeps them.
    """
    from dff_core import metrics

    return {
        "normalized_regret": metrics.normalized_regret(task.problem, task.C_test, C_pred, W_true=W_true),
        "mse": metrics.mse(task.C_test, C_pred),
        **metrics.shift_metrics(C_hat_test, C_pred),
    }


def _val_regret(task: Task, C_val: np.ndarray, W_val: np.ndarray, C_pred_val: np.ndarray) -> float:
    from dff_core import metrics

    return metrics.normalized_regret(task.problem, C_val, C_pred_val, W_true=W_val)


def fit_backbone(name: str, X_fit: np.ndarray, C_fit: np.ndarray, seed: int, folds: int = 0) -> tuple[Any, np.ndarray]:
    """Fit the named backbone on the training rows; return it and its training predictions for DFF
    (out-of-fold from ``folds``-fold cross-fitting when ``folds >= 2``; in-sample otherwise).
    """
    from dff_core import backbones

    model = backbones.make_backbone(name, seed=seed).fit(X_fit, C_fit)
    if folds >= 2:
        C_hat_fit = backbones.cross_fit_predict(
            backbones.make_backbone(name, seed=seed), X_fit, C_fit, n_splits=folds, time_ordered=False, seed=seed
        )
    else:
        C_hat_fit = model.predict(X_fit)
    return model, np.asarray(C_hat_fit, dtype=np.float64)


def run_cell(cell: dict[str, Any], cfg: Config) -> list[dict[str, Any]]:
    """Run every backbone and method on one (task, deg, n_train, seed) cell; one result row per
    (backbone, method). The DFL baseline is trained once and reported under every backbone
    (its shift is measured against that backbone's predictions).
    """
    import torch

    from dff_core.dff import DFF

    torch.set_num_threads(1)
    t_cell, cpu_cell = time.perf_counter(), time.process_time()
    seed = int(cell["seed"])
    g = cfg.grid[cell["task"]]
    n_test = g.n_test or cfg.n_test
    patience = g.patience or cfg.patience
    dff_epochs, dfl_epochs = g.epochs or cfg.dff_epochs, g.epochs or cfg.dfl_epochs
    task = make_task(cell["task"], cell["deg"], cell["n_train"], n_test, seed=1000 + seed, **g.data_kwargs)
    problem = task.problem
    n = task.X_train.shape[0]
    n_val = max(1, round(cfg.val_fraction * n))
    X_fit, C_fit = task.X_train[:-n_val], task.C_train[:-n_val]
    X_val, C_val = task.X_train[-n_val:], task.C_train[-n_val:]
    W_test = problem.solve(task.C_test)
    W_val = problem.solve(C_val)
    base = {k: cell[k] for k in ("task", "deg", "n_train", "seed")}
    base.update({"n_fit": len(X_fit), "n_val": n_val, "n_test": len(task.X_test)})
    rows: list[dict[str, Any]] = []

    # End-to-end DFL: a linear model warm-started from least squares, trained on SPO+ (no trust region).
    t0 = time.perf_counter()
    dfl = make_dfl(problem, cfg, seed, dfl_epochs, patience).fit(X_fit, C_fit, X_val=X_val, C_val=C_val)
    C_dfl = np.asarray(dfl.predict(task.X_test), dtype=np.float64)
    dfl_val = _val_regret(task, C_val, W_val, np.asarray(dfl.predict(X_val)))
    dfl_seconds = time.perf_counter() - t0

    for bb in cell["backbones"]:
        b = {**base, "backbone": bb}
        t0 = time.perf_counter()
        model, C_hat_fit = fit_backbone(bb, X_fit, C_fit, seed, cfg.folds(bb, int(cell["n_train"])))
        C_hat_val = np.asarray(model.predict(X_val), dtype=np.float64)
        C_hat_test = np.asarray(model.predict(task.X_test), dtype=np.float64)
        rows.append(
            {
                **b,
                "method": "two_stage",
                "epsilon": np.nan,
                **evaluate(task, C_hat_test, C_hat_test, W_test),
                "val_normalized_regret": _val_regret(task, C_val, W_val, C_hat_val),
                "seconds": time.perf_counter() - t0,
                "best_epoch": np.nan,
            }
        )
        rows.append(
            {
                **b,
                "method": "dfl",
                "epsilon": np.nan,
                **evaluate(task, C_hat_test, C_dfl, W_test),
                "val_normalized_regret": dfl_val,
                "seconds": dfl_seconds,
                "best_epoch": dfl.best_epoch_,
            }
        )
        dff_rows = []
        for eps in cfg.epsilons:
            t0 = time.perf_counter()
            m = DFF(
                problem,
                epsilon=eps,
                loss="spo+",
                hidden=cfg.hidden,
                epochs=dff_epochs,
                lr=cfg.lr,
                batch_size=cfg.batch_size,
                seed=seed,
                patience=patience,
                **cfg.dff_kwargs,
            )
            m.fit(X_fit, C_hat_fit, C_fit, X_val, C_hat_val, C_val)
            dff_rows.append(
                {
                    **b,
                    "method": f"dff@{eps:g}",
                    "epsilon": float(eps),
                    **evaluate(task, C_hat_test, m.predict(task.X_test, C_hat_test), W_test),
                    "val_normalized_regret": _val_regret(task, C_val, W_val, m.predict(X_val, C_hat_val)),
                    "seconds": time.perf_counter() - t0,
                    "best_epoch": m.best_epoch_,
                }
            )
        rows.extend(dff_rows)
        # ε chosen on validation regret (ties -> smaller ε, the more conservative correction).
        best = min(dff_rows, key=lambda r: (r["val_normalized_regret"], r["epsilon"]))
        rows.append({**best, "method": "dff@val"})
    wall, cpu = time.perf_counter() - t_cell, time.process_time() - cpu_cell
    for r in rows:
        r["cell_seconds"], r["cell_cpu_seconds"] = wall, cpu
    return rows


def make_dfl(problem: Any, cfg: Config, seed: int, epochs: int, patience: int) -> Any:
    """The end-to-end DFL baseline of ``dff_core.baselines`` with this run's training settings."""
    from dff_core import baselines

    return baselines.DFL(
        problem,
        epochs=epochs,
        lr=cfg.lr,
        batch_size=cfg.batch_size,
        seed=seed,
        patience=patience,
        **{"model": "linear", **cfg.dfl_kwargs},
    )


def _worker(cell: dict[str, Any], cfg: Config) -> list[dict[str, Any]]:
    try:
        return run_cell(cell, cfg)
    except ImportError as exc:  # a problem the engine does not provide (e.g. no Portfolio)
        return [{**cell, "method": "skipped", "error": f"{type(exc).__name__}: {exc}"}]
    finally:
        sys.stdout.flush()


def _git_commit() -> str | None:
    """The repository's HEAD commit (with ``+dirty`` when the engine or harness has uncommitted edits)."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "dff_core", "benchmarks/paper"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def run(cfg: Config, out: Path, jobs: int = 2, command: str = "", log=print) -> pd.DataFrame:
    """Run every cell of ``cfg`` with ``jobs`` processes and write the CSV/markdown outputs to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    commit = _git_commit()  # at the start: the code that is imported and run
    todo = cells(cfg)
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    t0 = time.perf_counter()

    def collect(res: list[dict[str, Any]], i: int) -> None:
        for r in res:
            if r.get("method") == "skipped":
                skipped[r["task"]] = r["error"]
            else:
                rows.append(r)
        if res and res[0].get("method") != "skipped":
            c = res[0]
            log(
                f"[{i}/{len(todo)}] {c['task']} deg={c['deg']} n={c['n_train']} seed={c['seed']}: "
                f"{c['cell_seconds']:.1f}s (elapsed {time.perf_counter() - t0:.0f}s)"
            )

    if jobs <= 1:
        for i, c in enumerate(todo, 1):
            collect(_worker(c, cfg), i)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            futs = [ex.submit(_worker, c, cfg) for c in todo]
            for i, f in enumerate(as_completed(futs), 1):
                collect(f.result(), i)
    wall = time.perf_counter() - t0
    for task, err in skipped.items():
        log(f"skipped task {task}: {err}")
    raw = pd.DataFrame(rows)
    if raw.empty:
        raise RuntimeError("No cell ran; see the skipped-task messages above.")
    raw = raw.sort_values(["task", "deg", "n_train", "backbone", "seed", "method"]).reset_index(drop=True)
    raw.to_csv(out / "raw.csv", index=False)
    cpu = float(raw.groupby(["task", "deg", "n_train", "seed"])["cell_cpu_seconds"].first().sum())
    meta = {
        **cfg.to_json(),
        "jobs": jobs,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "command": command,
        "git_commit": commit,
        "skipped": skipped,
    }
    (out / "config.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    report.write_outputs(raw, out)
    return raw


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/paper/out"), help="output folder")
    ap.add_argument("--quick", action="store_true", help="tiny grid, few epochs (seconds; for smoke tests)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    ap.add_argument("--tasks", nargs="*", default=None, help="subset of tasks (shortest_path portfolio allocation)")
    ap.add_argument("--seeds", type=int, default=None, help="number of seeds (0..k-1)")
    ap.add_argument("--dff-epochs", type=int, default=None)
    ap.add_argument("--dfl-epochs", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--use-c-hat", action="store_true", help="feed ĉ to DFF's correction net as well")
    ap.add_argument("--results", type=Path, default=None, help="also rewrite this section of RESULTS.md")
    ap.add_argument("--notes", type=Path, default=None, help="markdown notes to include in the RESULTS.md section")
    args = ap.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.tasks:
        unknown = set(args.tasks) - set(cfg.grid)
        if unknown:
            ap.error(f"--tasks: unknown task(s) {sorted(unknown)}; choose from {sorted(cfg.grid)}")
        cfg = with_overrides(cfg, grid={t: cfg.grid[t] for t in args.tasks})
    dff_kwargs = {**cfg.dff_kwargs, **({"use_c_hat": True} if args.use_c_hat else {})}
    cfg = with_overrides(
        cfg,
        seeds=tuple(range(args.seeds)) if args.seeds else None,
        dff_epochs=args.dff_epochs,
        dfl_epochs=args.dfl_epochs,
        lr=args.lr,
        dff_kwargs=dff_kwargs,
    )
    command = "python -m benchmarks.paper.run " + " ".join(argv if argv is not None else sys.argv[1:])
    run(cfg, args.out, jobs=args.jobs, command=command.strip())
    if args.results is not None:
        notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
        report.update_results(args.results, args.out, notes)
    print((args.out / "table.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
