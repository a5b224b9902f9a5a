"""Paper-style synthetic experiments: two-stage vs DFF vs decision-focused baselines on four decision problems.

One command regenerates every number of the ``## Paper-style synthetic experiments`` section of
RESULTS.md::

    python -m benchmarks.paper.run --out benchmarks/paper/out            # full grid (hours: see --estimate)
    python -m benchmarks.paper.run --quick --out /tmp/paper-quick        # minutes, to check it works
    python -m benchmarks.paper.run --estimate                            # time of the full grid on this machine

Per (task, degree, training size, seed) "cell" and backbone the harness

1. draws train + test instances from one generator call (same hidden cost map),
2. holds out the last ``val_fraction`` of the training instances for validation (the data are
   i.i.d., so the order does not matter),
3. fits the backbone on the rest and predicts ``ĉ`` (forward-chained out-of-sample on the training
   rows for the backbones listed in ``Config.cross_fit``),
4. trains every decision-focused arm with the same budget (epochs, learning rate, early-stopping
   patience; best validation epoch kept): DFF with its default settings (ε chosen on held-out
   validation rows, ``dff``), DFF at each fixed ε (``dff@ε``) and without the trust region
   (``dff_unbounded``) for the backbones of ``Config.sweep_backbones``, decision-focused training of
   the backbone's own model class from its weights (``dfl_backbone``) and from scratch
   (``dfl_scratch``) for linear and MLP backbones, and the linear DFL from its own ridge fit
   (``dfl``, under the linear backbone only),
5. scores every arm on the test instances: normalized regret, MSE, and the prediction shift
   relative to the backbone (mean / max relative shift, minimum cosine similarity).

Test data never influences any choice. Output: ``raw.csv`` (one row per cell, backbone and arm),
``summary.csv``, ``paired.csv``, ``targets.csv``, ``table.md``, ``regret_vs_shift.png`` and ``config.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.paper import report
from benchmarks.paper.config import ARMS, EXTRA_ARMS, FULL, QUICK, Config, with_overrides
from benchmarks.paper.data import Task, make_task
from benchmarks.paper.targets import targets
from dff_core.selection import EPSILON_GRID

#: Relative cost of one cell by task (knapsack and 50-asset portfolio solves are slower): long cells start first.
_TASK_COST = {"shortest_path": 1.0, "knapsack": 1.5, "allocation": 1.0, "portfolio": 2.0}


def cells(cfg: Config) -> list[dict[str, Any]]:
    """All (task, deg, n_train, seed) combinations of ``cfg``, most expensive first.

    The backbones are looped over inside a cell, so the data and the linear DFL (which does not
    use the backbone) are built once per cell.
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

    r = metrics.regret(task.problem, task.C_test, C_pred, W_true=W_true)
    z = task.problem.objective(task.C_test, W_true)
    return {
        "normalized_regret": float(r.sum() / (np.abs(z).sum() + 1e-7)),
        "regret_mean": float(r.mean()),
        "mse": metrics.mse(task.C_test, C_pred),
        **metrics.shift_metrics(C_hat_test, C_pred),
    }


def _val_regret(task: Task, C_val: np.ndarray, W_val: np.ndarray, C_pred_val: np.ndarray) -> float:
    from dff_core import metrics

    return metrics.normalized_regret(task.problem, C_val, C_pred_val, W_true=W_val)


def fit_backbone(
    name: str, X_fit: np.ndarray, C_fit: np.ndarray, seed: int, folds: int = 0, scheme: str = "forward"
) -> tuple[Any, np.ndarray]:
    """Fit the named backbone on the training rows; return it and its training predictions for DFF
    (out-of-sample from ``folds``-block cross-fitting when ``folds >= 2``, ``NaN`` on rows without an
    honest prediction; in-sample otherwise).
    """
    from dff_core import backbones

    model = backbones.make_backbone(name, seed=seed).fit(X_fit, C_fit)
    if folds >= 2:
        C_hat_fit = backbones.cross_fit_predict(
            backbones.make_backbone(name, seed=seed), X_fit, C_fit, n_splits=folds, seed=seed, scheme=scheme
        )
    else:
        C_hat_fit = model.predict(X_fit)
    return model, np.asarray(C_hat_fit, dtype=np.float64)


def _mean_over_members(model: Any, get: Any) -> float:
    """``get(history)`` averaged over the members' training histories (one for a single fit)."""
    return float(np.mean([get(h) for h in model.member_histories_]))


def run_cell(cell: dict[str, Any], cfg: Config) -> list[dict[str, Any]]:
    """Run every backbone and arm on one (task, deg, n_train, seed) cell; one result row per (backbone, arm)."""
    import torch

    from dff_core.ablation import DFFUnbounded
    from dff_core.backbones import dfl_model_class
    from dff_core.baselines import DFL
    from dff_core.dff import DFF

    torch.set_num_threads(1)
    t_cell, cpu_cell = time.perf_counter(), time.process_time()
    seed = int(cell["seed"])
    g = cfg.grid[cell["task"]]
    n_test = g.n_test or cfg.n_test
    train = {
        "epochs": g.epochs or cfg.epochs,
        "lr": cfg.lr,
        "patience": g.patience or cfg.patience,
        "batch_size": cfg.batch_size,
        "seed": seed,
        "loss": "spo+",
    }
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
    arms = set(cfg.arms)

    def row(b: dict, method: str, model: Any, C_pred: np.ndarray, C_pred_val: np.ndarray, C_hat: np.ndarray,
            seconds: float, epsilon: float = np.nan) -> dict[str, Any]:  # fmt: skip
        return {
            **b,
            "method": method,
            "epsilon": epsilon,
            **evaluate(task, C_hat, C_pred, W_test),
            "val_normalized_regret": _val_regret(task, C_val, W_val, C_pred_val),
            "seconds": seconds,
            "best_epoch": np.nan if model is None else float(np.mean(model.best_epochs_)),
            "epochs_run": np.nan if model is None else _mean_over_members(model, lambda h: h["epoch"].max()),
            "lr": np.nan if model is None else model.lr_,
        }

    dfl_linear = None
    if "dfl" in arms and "linear" in cell["backbones"]:
        t0 = time.perf_counter()
        dfl_linear = DFL(problem, model="linear", n_members=cfg.members, **train).fit(X_fit, C_fit, X_val, C_val)
        dfl_seconds = time.perf_counter() - t0

    for bb in cell["backbones"]:
        b = {**base, "backbone": bb}
        t0 = time.perf_counter()
        model, C_hat_fit = fit_backbone(bb, X_fit, C_fit, seed, cfg.folds(bb, int(cell["n_train"])),
                                        cfg.cross_fit_scheme)  # fmt: skip
        honest = np.isfinite(C_hat_fit).all(axis=1)
        X_corr, C_hat_corr, C_corr = X_fit[honest], C_hat_fit[honest], C_fit[honest]
        C_hat_val = np.asarray(model.predict(X_val), dtype=np.float64)
        C_hat_test = np.asarray(model.predict(task.X_test), dtype=np.float64)
        rows.append(row(b, "two_stage", None, C_hat_test, C_hat_val, C_hat_test, time.perf_counter() - t0))
        corr_fit = (X_corr, C_hat_corr, C_corr, X_val, C_hat_val, C_val)

        def corrected(make: Any, b: dict = b, C_hat_test: np.ndarray = C_hat_test, C_hat_val: np.ndarray = C_hat_val,
                      corr_fit: tuple = corr_fit) -> tuple[Any, np.ndarray, np.ndarray, float]:  # fmt: skip
            t0 = time.perf_counter()
            m = make().fit(*corr_fit)
            return m, m.predict(task.X_test, C_hat_test), m.predict(X_val, C_hat_val), time.perf_counter() - t0

        for arm, members in (("dff", cfg.members), ("dff_single", 1)):
            if arm in arms:
                m, Ct, Cv, sec = corrected(
                    lambda members=members: DFF(problem, epsilon="auto", hidden=cfg.hidden, n_members=members,
                                                **train, **cfg.dff_kwargs)
                )  # fmt: skip
                rows.append(row(b, arm, m, Ct, Cv, C_hat_test, sec, m.epsilon_))
        if bb in cfg.sweep_backbones:
            if "dff_eps" in arms:
                for eps in cfg.epsilons:
                    m, Ct, Cv, sec = corrected(
                        lambda eps=eps: DFF(
                            problem,
                            epsilon=eps,
                            hidden=cfg.hidden,
                            n_members=cfg.sweep_members,
                            **train,
                            **cfg.dff_kwargs,
                        )
                    )
                    rows.append(row(b, f"dff@{eps:g}", m, Ct, Cv, C_hat_test, sec, float(eps)))
            if "dff_unbounded" in arms:
                m, Ct, Cv, sec = corrected(
                    lambda: DFFUnbounded(problem, hidden=cfg.hidden, n_members=cfg.sweep_members, **train)
                )
                rows.append(row(b, "dff_unbounded", m, Ct, Cv, C_hat_test, sec, np.inf))
        own = dfl_model_class(bb)
        own_kw = {"model": own, **({"hidden": tuple(model.hidden)} if own == "mlp" else {})}
        for arm, kw, fit_kw, members in (
            ("dfl_backbone", own_kw, {"start_from": model}, cfg.members),
            ("dfl_scratch", {**own_kw, "warm_start": False}, {}, cfg.members),
            ("dfl_backbone_single", own_kw, {"start_from": model}, 1),
        ):
            if arm in arms and own is not None:
                t0 = time.perf_counter()
                m = DFL(problem, **kw, n_members=members, **train).fit(X_fit, C_fit, X_val, C_val, **fit_kw)
                rows.append(row(b, arm, m, m.predict(task.X_test), m.predict(X_val), C_hat_test,
                                time.perf_counter() - t0))  # fmt: skip
        if bb == "linear" and dfl_linear is not None:
            rows.append(row(b, "dfl", dfl_linear, dfl_linear.predict(task.X_test), dfl_linear.predict(X_val),
                            C_hat_test, dfl_seconds))  # fmt: skip
    wall, cpu = time.perf_counter() - t_cell, time.process_time() - cpu_cell
    for r in rows:
        r["cell_seconds"], r["cell_cpu_seconds"] = wall, cpu
    return rows


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


def _cell_key(c: dict[str, Any]) -> tuple[str, int, int, int]:
    return (str(c["task"]), int(c["deg"]), int(c["n_train"]), int(c["seed"]))


def run(cfg: Config, out: Path, jobs: int = 2, command: str = "", log=print, resume: bool = False) -> pd.DataFrame:
    """Run every cell of ``cfg`` with ``jobs`` processes and write the CSV/markdown outputs to ``out``.

    Each finished cell's rows are appended to ``raw.partial.csv`` at once, so a long run that is stopped
    keeps what it finished; ``resume=True`` reads that file and runs only the cells it lacks.
    """
    out.mkdir(parents=True, exist_ok=True)
    commit = _git_commit()  # at the start: the code that is imported and run
    todo = cells(cfg)
    rows: list[dict[str, Any]] = []
    partial = out / "raw.partial.csv"
    if resume and partial.exists():
        done = pd.read_csv(partial)
        rows.extend(done.to_dict("records"))
        keys = {_cell_key(r) for r in rows}
        todo = [c for c in todo if _cell_key(c) not in keys]
        log(f"resuming: {len(keys)} cells kept from {partial}, {len(todo)} to run")
    elif partial.exists():
        partial.unlink()
    skipped: dict[str, str] = {}
    t0 = time.perf_counter()

    def collect(res: list[dict[str, Any]], i: int) -> None:
        done = [r for r in res if r.get("method") != "skipped"]
        for r in res:
            if r.get("method") == "skipped":
                skipped[r["task"]] = r["error"]
        rows.extend(done)
        if done:
            pd.DataFrame(done).to_csv(partial, mode="a", header=not partial.exists(), index=False)
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


def estimate(cfg: Config, probe_n: int = 200, probe_epochs: int = 3, log=print) -> dict[str, Any]:
    """Time of ``cfg`` on this machine: each task's training cost per instance-epoch measured on a probe
    fit, times the instance-epochs the grid asks for (an upper bound without early stopping)."""
    import torch

    from dff_core.dff import DFF

    torch.set_num_threads(1)
    per_task: dict[str, float] = {}
    for task_name, g in cfg.grid.items():
        t = make_task(task_name, max(g.degs), probe_n, 10, seed=999, **g.data_kwargs)
        C_hat = t.C_train * 1.1
        # a first short fit compiles the task's kernels (seconds, once per process), which would
        # otherwise be counted as training time: knapsack's probe read 5x its real cost
        probe = {"epsilon": 0.5, "patience": None, "hidden": cfg.hidden, "n_members": 1}
        DFF(t.problem, epochs=1, **probe).fit(t.X_train[:40], C_hat[:40], t.C_train[:40])
        t0 = time.perf_counter()
        DFF(t.problem, epochs=probe_epochs, **probe).fit(t.X_train, C_hat, t.C_train)
        per_task[task_name] = (time.perf_counter() - t0) / (probe_epochs * probe_n)
    n_auto = len(EPSILON_GRID) + 1
    total = 0.0
    for c in cells(cfg):
        g = cfg.grid[c["task"]]
        epochs = g.epochs or cfg.epochs
        fits = 0
        for bb in c["backbones"]:
            fits += n_auto + cfg.members - 1 if "dff" in cfg.arms else 0
            fits += n_auto if "dff_single" in cfg.arms else 0
            if bb in cfg.sweep_backbones:
                sweep = len(cfg.epsilons) * ("dff_eps" in cfg.arms) + ("dff_unbounded" in cfg.arms)
                fits += sweep * cfg.sweep_members
            if bb in ("linear", "mlp"):
                fits += cfg.members * (("dfl_backbone" in cfg.arms) + ("dfl_scratch" in cfg.arms))
                fits += "dfl_backbone_single" in cfg.arms
            fits += cfg.members * (bb == "linear" and "dfl" in cfg.arms)
        total += fits * epochs * c["n_train"] * per_task[c["task"]]
    out = {"seconds_per_instance_epoch": per_task, "cpu_seconds_upper_bound": total, "cells": len(cells(cfg))}
    log(json.dumps(out, indent=1))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/paper/out"), help="output folder")
    ap.add_argument("--quick", action="store_true", help="small grid, short budget (minutes; to check it works)")
    ap.add_argument("--estimate", action="store_true", help="print the grid's CPU time on this machine and stop")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    ap.add_argument("--tasks", nargs="*", default=None, help="subset of tasks (shortest_path knapsack ...)")
    ap.add_argument("--seeds", type=int, default=None, help="number of seeds (0..k-1); at least 10 for RESULTS.md")
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first..first+k-1 (tuning studies use >= 100)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs of every decision-focused arm")
    ap.add_argument("--lr", type=float, default=None, help="learning rate of every decision-focused arm")
    ap.add_argument("--degs", type=int, nargs="*", default=None, help="polynomial degrees (every task)")
    ap.add_argument("--sizes", type=int, nargs="*", default=None, help="training sizes (every task)")
    ap.add_argument("--backbones", nargs="*", default=None, help="backbones (linear random_forest mlp)")
    ap.add_argument("--arms", nargs="*", default=None, help=f"arms to run, of {' '.join(ARMS + EXTRA_ARMS)}")
    ap.add_argument("--epsilons", type=float, nargs="*", default=None, help="fixed ε of the dff@ε arms")
    ap.add_argument("--resume", action="store_true", help="keep the cells already in OUT/raw.partial.csv")
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
    unknown_arms = set(args.arms or ()) - set(ARMS + EXTRA_ARMS)
    if unknown_arms:
        ap.error(f"--arms: unknown arm(s) {sorted(unknown_arms)}; choose from {' '.join(ARMS + EXTRA_ARMS)}")
    grid_kw = {"degs": args.degs, "n_trains": args.sizes, "backbones": args.backbones}
    grid_kw = {k: tuple(v) for k, v in grid_kw.items() if v}
    if grid_kw:
        cfg = with_overrides(cfg, grid={t: replace(g, **grid_kw) for t, g in cfg.grid.items()})
    dff_kwargs = {**cfg.dff_kwargs, **({"use_c_hat": True} if args.use_c_hat else {})}
    cfg = with_overrides(
        cfg,
        seeds=tuple(range(args.first_seed, args.first_seed + args.seeds)) if args.seeds else None,
        epochs=args.epochs,
        lr=args.lr,
        dff_kwargs=dff_kwargs,
        arms=tuple(args.arms) if args.arms else None,
        epsilons=tuple(args.epsilons) if args.epsilons else None,
    )
    if args.estimate:
        est = estimate(cfg)
        hours = est["cpu_seconds_upper_bound"] / 3600
        print(f"at most {hours:.1f} CPU-hours ({hours / max(1, args.jobs):.1f} h wall with {args.jobs} workers)")
        return 0
    command = "python -m benchmarks.paper.run " + " ".join(argv if argv is not None else sys.argv[1:])
    raw = run(cfg, args.out, jobs=args.jobs, command=command.strip(), resume=args.resume)
    if args.results is not None:
        notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
        report.update_results(args.results, args.out, notes)
    print((args.out / "table.md").read_text(encoding="utf-8"))
    report.print_targets(targets(raw))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
