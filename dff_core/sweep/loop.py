"""The sweep itself: plan the grid's runs, skip finished ones, run the rest on a backend, write the tables."""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dff_core.scenarios.spec import ScenarioSpec, build
from dff_core.sweep.backends import Backend, BackendName, check_backend, make_backend
from dff_core.sweep.config import GridConfig, TrainConfig, as_grid, as_spec, as_train
from dff_core.sweep.keys import RunSpec, plan_runs, scenario_digest
from dff_core.sweep.lifecycle import SweepInterrupted, interrupt_on_signals
from dff_core.sweep.store import RunsWriter, SweepFiles, column_order, folder_lock, open_runs, write_outputs
from dff_core.sweep.summary import pareto_front, summarize
from dff_core.sweep.worker import RunFn, compare_run

#: ``on_progress(done, total, row)``: called in the calling process after each finished run.
ProgressFn = Callable[[int, int, dict[str, Any]], None]


@dataclass
class SweepResult:
    """Outcome of :func:`sweep`.

    runs: one row per finished run of this grid (grid order), including runs resumed from disk.
    summary: mean/std across seeds (:func:`summarize`); pareto: :func:`pareto_front` of ``summary``.
    failed: runs that raised (``run_id``, grid values, ``error``); they are retried on resume.
    n_total / n_resumed / n_ran: grid size, runs found finished on disk, runs computed now.
    stopped: ``should_stop`` ended the sweep early.
    """

    runs: pd.DataFrame
    summary: pd.DataFrame
    pareto: pd.DataFrame
    failed: pd.DataFrame
    n_total: int
    n_resumed: int
    n_ran: int
    stopped: bool = False
    backend: str = "local"
    workers: int = 1
    seconds: float = 0.0
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether every run of the grid has finished."""
        return len(self.runs) == self.n_total


def scenarios_for(scenario: Any, grid: GridConfig) -> tuple[dict[str | None, Any], dict | None]:
    """Build (or accept) one scenario per horizon; returns them and the spec options for run keys."""
    spec = as_spec(scenario) if isinstance(scenario, (ScenarioSpec, Mapping)) else None
    horizons = grid.horizon if grid.horizon is not None else [None]
    if spec is not None:
        return {
            h: build(spec if h is None else spec.model_copy(update={"horizon": h})) for h in horizons
        }, spec.options()
    if callable(scenario) and not hasattr(scenario, "X"):
        return {h: scenario(h) for h in horizons}, None
    if grid.horizon is not None:
        raise ValueError(
            "grid.horizon needs one scenario per horizon: pass a ScenarioSpec (or a callable horizon -> Scenario) "
            "instead of a built scenario, or remove horizon from the grid"
        )
    return {None: scenario}, None


@dataclass
class _Tally:
    """What a sweep has so far: finished rows by ``run_id`` (resumed ones included) and failed runs."""

    done: dict[str, dict] = field(default_factory=dict)
    failed: list[dict] = field(default_factory=list)
    n_ran: int = 0
    stopped: bool = False


def _drive(
    be: Backend,
    todo: Iterator[RunSpec],
    n_total: int,
    tally: _Tally,
    writer: RunsWriter | None,
    on_progress: ProgressFn | None,
    should_stop: Callable[[], bool] | None,
) -> None:
    """Keep ``be`` busy with runs from ``todo`` until none is left (or ``should_stop``); record each result."""
    for spec in itertools.islice(todo, be.workers):
        be.submit(spec)
    while be.pending():
        for spec, row in be.wait_any():
            if "error" in row:
                row = {**spec.params, **row}
                tally.failed.append({**spec.params, "run_id": spec.run_id, "error": row["error"]})
                if "traceback" in row:
                    print(f"sweep: run {spec.params} failed:\n{row['traceback']}", file=sys.stderr)
            else:
                tally.n_ran += 1
                tally.done[spec.run_id] = row
                if writer is not None:
                    writer.write(row)
            if on_progress is not None:
                on_progress(len(tally.done) + len(tally.failed), n_total, dict(row))
            if not tally.stopped and should_stop is not None and should_stop():
                tally.stopped = True
            if not tally.stopped:
                nxt = next(todo, None)
                if nxt is not None:
                    be.submit(nxt)


def sweep(
    scenario: Any,
    grid: GridConfig | Mapping[str, Any],
    backend: BackendName = "local",
    address: str | None = None,
    on_progress: ProgressFn | None = None,
    out_dir: str | Path | None = None,
    max_workers: int | None = None,
    resume: bool = True,
    *,
    train: TrainConfig | Mapping[str, Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    run_fn: RunFn | None = None,
) -> SweepResult:
    """Run ``compare`` over every combination of ``grid`` on the chosen backend.

    Parameters
    ----------
    scenario: a built ``Scenario``; or a :class:`ScenarioSpec` / mapping of ``[scenario]`` options
        (needed when ``grid`` sweeps ``horizon``: one scenario is built per horizon); or a callable
        ``horizon -> Scenario``.
    grid: lists of ``epsilon``, ``seed``, ``backbone``, ``loss`` and optionally ``horizon``.
    backend: ``"local"`` (process pool, default ``os.cpu_count()`` workers) or ``"ray"``.
    address: Ray cluster address (e.g. ``"auto"`` or ``"ray://head:10001"``); ``None`` starts a local
        Ray instance with ``max_workers`` CPUs. An already initialised Ray session is reused.
    on_progress: called in this process as ``on_progress(done, total, row)`` after each finished run
        (``row`` is the run's ``runs.csv`` row, or ``{"run_id", "error"}`` for a failed run).
    out_dir: folder for ``runs.csv``/``summary.csv``/``pareto.csv``; ``None`` keeps results in memory only.
    max_workers: parallel runs (local: processes; ray: concurrent tasks, default the cluster's CPUs).
    resume: skip runs whose ``run_id`` is already in ``out_dir/runs.csv``.
    train: options for every ``compare`` call (``epochs``, ``methods``).
    should_stop: polled after each finished run; when it returns True no new run starts, runs in
        progress finish and are saved, and the result has ``stopped=True``.
    run_fn: the function run per grid point, ``run_fn(scenario, epsilon=, seed=, backbone=, loss=,
        **train)`` returning a ``ComparisonResult`` or a mapping of columns (default
        :func:`dff_core.compare`). It must be importable by name for the process backends.
    """
    t_start = time.perf_counter()
    check_backend(backend)  # fail before any work (unknown name, ray missing)
    if max_workers is not None and (not isinstance(max_workers, int) or max_workers < 1):
        raise ValueError(f"max_workers must be a positive integer; got {max_workers!r}")
    grid = as_grid(grid)
    train = as_train(train)
    train_kw = train.compare_kwargs()

    scenarios, spec_options = scenarios_for(scenario, grid)
    digests = {h: scenario_digest(s) for h, s in scenarios.items()}
    plan = plan_runs(grid, digests, train_kw, spec_options)
    order = {r.run_id: i for i, r in enumerate(plan)}
    columns = column_order(list(grid.axes()), train.methods)

    out_path = Path(out_dir) if out_dir is not None else None
    files = SweepFiles.in_dir(out_path) if out_path is not None else None
    tally = _Tally()
    writer: RunsWriter | None = None
    with ExitStack() as stack:
        try:
            # One sweep per folder at a time; SIGTERM/SIGINT/SIGHUP end the sweep through the cleanup below.
            if out_path is not None:
                stack.enter_context(folder_lock(out_path))
            signals = stack.enter_context(interrupt_on_signals())
            if out_path is not None:
                writer, tally.done = open_runs(out_path, columns, order, resume)
            n_resumed = len(tally.done)
            todo = [r for r in plan if r.run_id not in tally.done]
            workers = max(1, min(max_workers or os.cpu_count() or 1, len(todo) or 1))
            be: Backend | None = None
            aborted = False
            try:
                if todo:
                    aborted = True  # until every run is back
                    be = make_backend(
                        backend,
                        scenarios,
                        run_fn or compare_run,
                        train_kw,
                        n_runs=len(todo),
                        max_workers=max_workers,
                        address=address,
                    )
                    workers = be.workers
                    _drive(be, iter(todo), len(plan), tally, writer, on_progress, should_stop)
                    aborted = False
            finally:
                with signals.held():  # a signal now waits until the workers are stopped and runs.csv closed
                    if be is not None:
                        be.shutdown(abort=aborted)
                    if writer is not None:
                        writer.close()
            runs = pd.DataFrame(sorted(tally.done.values(), key=lambda r: order[r["run_id"]]))
            if not runs.empty:
                runs = runs.reindex(columns=columns + [c for c in runs.columns if c not in columns])
                runs = runs.dropna(axis=1, how="all")
            summary = summarize(runs)
            pareto = pareto_front(summary)
            failed_df = pd.DataFrame(tally.failed)
            if files is not None:
                write_outputs(files, summary, pareto, failed_df)
        except SweepInterrupted as exc:
            exc.n_done, exc.n_total = len(tally.done), len(plan)
            exc.runs_file = files.runs if files is not None else None
            raise
    return SweepResult(
        runs=runs,
        summary=summary,
        pareto=pareto,
        failed=failed_df,
        n_total=len(plan),
        n_resumed=n_resumed,
        n_ran=tally.n_ran,
        stopped=tally.stopped,
        backend=backend,
        workers=workers,
        seconds=time.perf_counter() - t_start,
        out_dir=out_path,
        files=files.as_dict() if files is not None else {},
    )
