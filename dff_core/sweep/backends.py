"""Where sweep runs execute: a local process pool or a Ray cluster, behind one small protocol.

* ``"local"``: a process pool (``forkserver`` context, ``spawn`` where unavailable) over the
  machine's cores. The scenario is shipped once per worker through the pool initializer; each
  worker uses one torch thread.
* ``"ray"``: ``ray.init(address=...)`` on an existing cluster (or a local Ray instance when no
  address is given); the scenario is put once in the object store and passed by reference to
  ``num_cpus=1`` tasks. Ray is an optional dependency, imported only when this backend is used.

The sweep loop only sees :class:`Backend`: ``submit(run)``, ``wait_any()``, ``shutdown(abort)``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, Literal, Protocol

from dff_core.sweep.keys import RunSpec
from dff_core.sweep.worker import RunFn, init_worker, ray_run, worker_run

#: Names of the available backends.
BackendName = Literal["local", "ray"]
BACKENDS: tuple[str, ...] = ("local", "ray")

#: Seconds an aborted local backend gives its workers to exit after SIGTERM before SIGKILL.
TERMINATE_GRACE = 3.0

#: Modules the forkserver imports once, so workers start warm: a run's first ``compare`` otherwise
#: spends seconds importing scikit-learn and ``torch._dynamo`` (pulled in by ``torch.optim``).
_PRELOAD = (
    "__main__",
    "dff_core.sweep",
    "dff_core.scenarios",
    "dff_core.backbones",
    "dff_core.baselines",
    "dff_core.comparison",
    "sklearn.linear_model",
    "torch.optim",
    "torch._dynamo",
)


class Backend(Protocol):
    """Runs grid points somewhere and hands back their rows as they finish."""

    #: How many runs execute at once.
    workers: int

    def submit(self, run: RunSpec) -> None:
        """Start ``run`` (returns at once)."""
        ...

    def pending(self) -> int:
        """Runs submitted and not yet returned by :meth:`wait_any`."""
        ...

    def wait_any(self) -> list[tuple[RunSpec, dict]]:
        """Block until at least one run finished; its row, or ``{"run_id", "error"}`` when it failed."""
        ...

    def shutdown(self, abort: bool = False) -> None:
        """Release the workers; ``abort`` (an error, Ctrl-C) ends runs in progress instead of waiting."""
        ...


def mp_context() -> BaseContext:
    """``forkserver`` with the engine preloaded (workers start without re-importing torch), else ``spawn``.

    Both start workers from a clean single-threaded process, so they are safe in threaded hosts such
    as a Streamlit server; plain ``fork`` is not.
    """
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(list(_PRELOAD))
        return ctx
    return mp.get_context("spawn")


class LocalBackend:
    """A process pool on this machine; each worker receives the scenario(s) once, at start-up."""

    def __init__(self, scenarios: Mapping, run_fn: RunFn, train: Mapping, workers: int):
        self.workers = workers
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=mp_context(),
            initializer=init_worker,
            initargs=(dict(scenarios), run_fn, dict(train)),
        )
        self.inflight: dict[Any, RunSpec] = {}

    def submit(self, run: RunSpec) -> None:
        self.inflight[self.pool.submit(worker_run, run)] = run

    def pending(self) -> int:
        return len(self.inflight)

    def wait_any(self) -> list[tuple[RunSpec, dict]]:
        done, _ = wait(list(self.inflight), return_when=FIRST_COMPLETED)
        out = []
        for fut in done:
            run = self.inflight.pop(fut)
            try:
                out.append((run, fut.result()))
            except BrokenProcessPool:
                raise RuntimeError(
                    "a sweep worker process died (out of memory or killed); finished runs are saved, "
                    "rerun the same sweep to resume"
                ) from None
            except Exception as exc:
                out.append((run, {"run_id": run.run_id, "error": f"{type(exc).__name__}: {exc}"}))
        return out

    def shutdown(self, abort: bool = False) -> None:
        """Wait for the workers to finish; with ``abort``, end them: SIGTERM, then SIGKILL after a grace period.

        An aborted shutdown returns only once every worker has exited, so an interrupted sweep
        leaves no process behind (the forkserver and resource tracker end with this process).
        """
        procs = list((getattr(self.pool, "_processes", None) or {}).values())
        if abort:
            for proc in procs:
                proc.terminate()
        self.pool.shutdown(wait=not abort, cancel_futures=True)
        if abort:
            deadline = time.monotonic() + TERMINATE_GRACE
            for proc in procs:
                proc.join(max(0.0, deadline - time.monotonic()))
                if proc.exitcode is None:
                    proc.kill()
                    proc.join(TERMINATE_GRACE)


def import_ray() -> Any:
    """The ``ray`` module, or an ImportError saying how to install it (ray is optional)."""
    try:
        import ray  # optional dependency: only the Ray backend needs it
    except ImportError:
        raise ImportError(
            "backend='ray' needs the optional 'ray' package: pip install 'ray>=2.40' "
            "(or use backend='local', which needs nothing extra)"
        ) from None
    return ray


def _pythonpath(first: Path) -> str:
    """``PYTHONPATH`` for local Ray workers: this package's folder, then the caller's own entries."""
    parts = [str(first), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    return os.pathsep.join(dict.fromkeys(parts))


class RayBackend:
    """Ray tasks (``num_cpus=1``) on a cluster, or on a local Ray instance started (and stopped) here."""

    def __init__(self, scenarios: Mapping, run_fn: RunFn, train: Mapping, workers: int | None, address: str | None):
        ray = self.ray = import_ray()
        self.started = False
        if not ray.is_initialized():
            package = Path(__file__).resolve().parents[1]  # dff_core/
            if address:
                # Ship this package to the cluster so its nodes need only the dependencies.
                ray.init(address=address, runtime_env={"py_modules": [str(package)]}, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    log_to_driver=False,
                    runtime_env={"env_vars": {"PYTHONPATH": _pythonpath(package.parent)}},
                )
            self.started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, min(workers, cpus) if workers else cpus)
        self.scenarios_ref = ray.put(dict(scenarios))  # once; every task gets the reference
        self.run_fn_ref = ray.put(run_fn)
        self.train = dict(train)
        self.remote = ray.remote(num_cpus=1, max_retries=0)(ray_run)
        self.inflight: dict[Any, RunSpec] = {}

    def submit(self, run: RunSpec) -> None:
        ref = self.remote.remote(self.scenarios_ref, self.run_fn_ref, self.train, run)
        self.inflight[ref] = run

    def pending(self) -> int:
        return len(self.inflight)

    def wait_any(self) -> list[tuple[RunSpec, dict]]:
        ready, _ = self.ray.wait(list(self.inflight), num_returns=1)
        out = []
        for ref in ready:
            run = self.inflight.pop(ref)
            try:
                out.append((run, self.ray.get(ref)))
            except Exception as exc:  # worker crash, node loss
                out.append((run, {"run_id": run.run_id, "error": f"{type(exc).__name__}: {exc}"}))
        return out

    def shutdown(self, abort: bool = False) -> None:
        for ref in self.inflight:
            self.ray.cancel(ref, force=abort)
        if self.started:
            self.ray.shutdown()


def check_backend(name: str) -> None:
    """Fail before any work on an unknown backend, or on ``"ray"`` when ray is not installed."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be 'local' or 'ray'; got {name!r}")
    if name == "ray":
        import_ray()


def make_backend(
    name: BackendName,
    scenarios: Mapping[str | None, Any],
    run_fn: RunFn,
    train: Mapping[str, Any],
    *,
    n_runs: int,
    max_workers: int | None = None,
    address: str | None = None,
) -> Backend:
    """Start backend ``name`` for ``n_runs`` runs with at most ``max_workers`` at once.

    Local: ``max_workers`` processes (default: all cores), never more than runs. Ray: ``max_workers``
    concurrent tasks (default: the cluster's CPUs).
    """
    check_backend(name)
    if name == "local":
        workers = max(1, min(max_workers or os.cpu_count() or 1, n_runs or 1))
        return LocalBackend(scenarios, run_fn, train, workers)
    return RayBackend(scenarios, run_fn, train, max_workers, address)
