"""What runs inside a sweep worker: one grid point per call, single-threaded, never raising.

Both backends execute :func:`execute`; a local pool worker receives the scenario(s) once through
:func:`init_worker` (which also ties the worker's life to the sweep's process, see
:mod:`.lifecycle`), a Ray task by reference through :func:`ray_run`.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from dff_core.comparison import compare
from dff_core.sweep.keys import RunSpec
from dff_core.sweep.lifecycle import exit_with_parent
from dff_core.sweep.store import result_row

#: The function run per grid point: ``run_fn(scenario, epsilon=, seed=, backbone=, loss=, **train)``
#: returning a ``ComparisonResult`` or a mapping of ``runs.csv`` columns.
RunFn = Callable[..., Any]


def compare_run(scenario: Any, **kwargs: Any) -> Any:
    """The default run function: :func:`dff_core.comparison.compare` on the run's scenario."""
    return compare(scenario, **kwargs)


def execute(scenarios: Mapping[str | None, Any], run_fn: RunFn, train: Mapping[str, Any], spec: RunSpec) -> dict:
    """Run one grid point; never raises (errors come back as ``{"run_id", "error", "traceback"}``).

    ``scenarios`` maps each horizon (``None`` without a horizon axis) to its scenario. The returned
    row holds the grid values, the result's columns, the wall ``seconds`` and the ``run_id``.
    """
    t0 = time.perf_counter()
    params = spec.params
    try:
        scenario = scenarios[params.pop("horizon", None)]
        row = result_row(run_fn(scenario, **params, **train))
    except Exception as exc:  # reported per run so one failure does not end the sweep
        tb = traceback.format_exc(limit=8)
        return {"run_id": spec.run_id, "error": f"{type(exc).__name__}: {exc}", "traceback": tb}
    out = {k: v for k, v in spec.values}
    out.update(row)
    out["seconds"] = time.perf_counter() - t0
    out["run_id"] = spec.run_id
    return out


def single_thread() -> None:
    """One thread for torch and for BLAS/OpenMP in this worker.

    Parallelism comes from running many runs at once; single-threaded math also makes a run's
    floating-point results independent of the backend and of how many cores the worker sees.
    """
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    threadpool_limits(limits=1)


#: A pool worker's scenario(s), run function and training options, set once by :func:`init_worker`.
_WORKER_STATE: dict[str, Any] = {}


def init_worker(scenarios: Mapping[str | None, Any], run_fn: RunFn, train: Mapping[str, Any]) -> None:
    """Process-pool initializer: end with the sweep's process, receive the scenario(s) once, one torch thread."""
    exit_with_parent()
    single_thread()
    _WORKER_STATE.update(scenarios=scenarios, run_fn=run_fn, train=dict(train))


def worker_run(spec: RunSpec) -> dict:
    """Process-pool task: one grid point on the scenario(s) this worker received at start-up."""
    s = _WORKER_STATE
    return execute(s["scenarios"], s["run_fn"], s["train"], spec)


def ray_run(scenarios: Mapping[str | None, Any], run_fn: RunFn, train: Mapping[str, Any], spec: RunSpec) -> dict:
    """Ray task body (``scenarios`` arrives dereferenced from the object store)."""
    single_thread()
    return execute(scenarios, run_fn, train, spec)
