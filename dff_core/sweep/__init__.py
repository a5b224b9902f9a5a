"""Parameter sweeps over ε, seeds, backbones, losses (and horizons) that scale from a laptop to a Ray cluster.

Call it as::

    from dff_core.sweep import sweep
    res = sweep(scenario, {"epsilon": [0.1, 0.2], "seed": [0, 1]}, out_dir="runs/eps")

The package itself is callable as :func:`sweep`, so ``import dff_core; dff_core.sweep(...)`` and
``from dff_core import sweep`` work too (``dff_core.sweep`` is always this package).

A sweep runs :func:`dff_core.compare` once per grid point and writes, as runs finish:

* ``runs.csv``: one row per run (grid columns, per-method regret / normalized regret / MSE / MAE,
  DFF's prediction shift and cosine, wall seconds, ``run_id``), appended and flushed per run;
* ``summary.csv``: mean and standard deviation across seeds per (ε, backbone, loss[, horizon]);
* ``pareto.csv``: the Pareto front of DFF regret against DFF's mean prediction shift.

Every run is keyed by a digest of the scenario's data and the run's configuration, so a sweep that
was killed or stopped resumes where it left off: finished ``run_id`` values found in ``runs.csv``
are not recomputed. Every file is written atomically (a failed write leaves the previous file and
names the file in its ``OSError``); SIGTERM/SIGINT end a sweep by stopping its workers
(:class:`SweepInterrupted`), and its workers end by themselves when the sweep's process is killed.

Runs execute on a local process pool or on Ray (:mod:`.backends`); both give the same table for
the same seeds (up to the ``seconds`` columns), because every run starts from its own seed in a
fresh single-threaded worker.

Modules: :mod:`.config` (the TOML file), :mod:`.keys` (run keys), :mod:`.worker` (one run),
:mod:`.backends`, :mod:`.lifecycle` (process lifetime, signals), :mod:`.store` (the files),
:mod:`.summary` (summary and Pareto tables), :mod:`.loop` (:func:`sweep`). The command line is
``python -m dff_core sweep`` (:mod:`dff_core.cli`).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from dff_core.scenarios.spec import ScenarioSpec
from dff_core.sweep.backends import Backend, BackendName, LocalBackend, RayBackend, make_backend, mp_context
from dff_core.sweep.config import (
    GridConfig,
    SweepConfig,
    SweepConfigError,
    TrainConfig,
    check_loss,
    known_backbones,
    load_config,
    parse_config,
)
from dff_core.sweep.keys import GRID_KEYS, RunSpec, plan_runs, scenario_digest
from dff_core.sweep.lifecycle import SweepInterrupted, exit_with_parent, interrupt_on_signals
from dff_core.sweep.loop import ProgressFn, SweepResult, sweep
from dff_core.sweep.store import (
    FAILED_FILE,
    METHOD_METRICS,
    PARETO_FILE,
    RUNS_FILE,
    SHIFT_METRICS,
    SUMMARY_FILE,
    SweepBusyError,
    read_runs,
    result_row,
)
from dff_core.sweep.summary import GROUP_KEYS, metric_columns, pareto_front, summarize
from dff_core.sweep.worker import RunFn, compare_run


class _CallableModule(types.ModuleType):
    """The ``dff_core.sweep`` package, callable as :func:`sweep`.

    ``dff_core.sweep`` is the name of this package and of the engine's sweep entry point; a callable
    package serves as both, so ``dff_core.sweep(...)`` and ``dff_core.sweep.<module>`` both work.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> SweepResult:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = [
    "FAILED_FILE",
    "GRID_KEYS",
    "GROUP_KEYS",
    "METHOD_METRICS",
    "PARETO_FILE",
    "RUNS_FILE",
    "SHIFT_METRICS",
    "SUMMARY_FILE",
    "Backend",
    "BackendName",
    "GridConfig",
    "LocalBackend",
    "ProgressFn",
    "RayBackend",
    "RunFn",
    "RunSpec",
    "ScenarioSpec",
    "SweepBusyError",
    "SweepConfig",
    "SweepConfigError",
    "SweepInterrupted",
    "SweepResult",
    "TrainConfig",
    "check_loss",
    "compare_run",
    "exit_with_parent",
    "interrupt_on_signals",
    "known_backbones",
    "load_config",
    "make_backend",
    "metric_columns",
    "mp_context",
    "pareto_front",
    "parse_config",
    "plan_runs",
    "read_runs",
    "result_row",
    "scenario_digest",
    "summarize",
    "sweep",
]
