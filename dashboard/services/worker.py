"""What runs inside a job's worker process: one comparison, its progress sent back, its result saved to disk.

The server starts these through :mod:`dashboard.services.runner`. A worker:

* ends with the server (:func:`dff_core.sweep.exit_with_parent`: the parent's sentinel pipe and,
  on Linux, a parent-death signal), and turns SIGTERM into a normal exit so a half-written run
  folder is cleaned up;
* runs below the server's priority (``nice``) on one thread, so the server stays responsive;
* sends typed :class:`~dff_core.progress.ProgressEvent` objects and small status messages through
  its pipe, and writes the finished result as a run folder in the store (atomic). Only when the
  store cannot be written (a full disk) does the result itself go through the pipe, so the user
  still sees it.

Messages on the pipe, as tuples: ``("stage", text)``, ``("event", ProgressEvent)``, ``("saved",)``,
``("unsaved", result, reason)``, ``("cancelled",)``, ``("error", type name, message, traceback)``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from dashboard.services.store import save_result
from dff_core.comparison import compare
from dff_core.sweep.lifecycle import exit_with_parent
from dff_core.sweep.worker import single_thread

#: How much lower than the server a worker runs (``nice`` increment): the server answers first.
WORKER_NICENESS = 10


@dataclass
class TrainTask:
    """Everything a worker needs for one comparison (sent to it once, at start)."""

    scenario: Any
    compare_kwargs: dict[str, Any]
    digest: str
    cache_dir: Path


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def lower_priority() -> None:
    """Run below the server (and use one thread): training never competes with answering users."""
    with contextlib.suppress(OSError, AttributeError):  # not permitted, or no nice() on this platform
        os.nice(WORKER_NICENESS)


def prepare() -> None:
    """Start-up of every worker process: die with the server, SIGTERM exits cleanly, low priority, one thread."""
    exit_with_parent()
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _terminate)
    lower_priority()
    single_thread()


def _send(conn: Connection, *message: Any) -> None:
    with contextlib.suppress(OSError, EOFError):  # the server is gone: exit_with_parent ends us next
        conn.send(message)


def main(target: Callable[[Any, Connection, Any], None], payload: Any, conn: Connection, stop: Any) -> None:
    """Entry point of every job worker process: :func:`prepare` first, then ``target(payload, conn, stop)``."""
    prepare()
    target(payload, conn, stop)


def run_training(task: TrainTask, conn: Connection, stop: Any) -> None:
    """Worker process body: compare, save to the store, report. Never raises (errors go to the pipe)."""
    os.environ["DFF_CACHE_DIR"] = str(task.cache_dir)  # the server's store, whatever this process inherited
    try:
        _send(conn, "stage", "training")
        result = compare(
            task.scenario,
            **task.compare_kwargs,
            on_progress=lambda event: _send(conn, "event", event),
            should_stop=stop.is_set,
        )
        if stop.is_set():
            _send(conn, "cancelled")
            return
        _send(conn, "stage", "saving")
        save(conn, task.digest, result)
    except BaseException as exc:  # SystemExit from SIGTERM included: report, then end
        if stop.is_set() or isinstance(exc, (SystemExit, KeyboardInterrupt)):
            _send(conn, "cancelled")
        else:
            _send(conn, "error", type(exc).__name__, str(exc), traceback.format_exc())
    finally:
        conn.close()
        sys.stdout.flush()


def save(conn: Connection, digest: str, result: Any) -> None:
    """Store ``result``; if the store cannot be written, send the result itself so it is still shown."""
    try:
        save_result(digest, result)
    except OSError as exc:  # full disk, file size limit, read-only store
        reason = f"{type(exc).__name__}: {exc}"
        try:
            conn.send(("unsaved", result, reason))
        except Exception as send_exc:  # the result cannot travel either: say so
            _send(conn, "error", "OSError", f"the result could not be stored ({reason}) nor sent ({send_exc})", "")
        return
    _send(conn, "saved")


@functools.cache
def _lowered() -> bool:
    lower_priority()
    return True


def niced_compare(scenario: Any, **kwargs: Any) -> Any:
    """The ε sweep's run function: :func:`dff_core.compare` below the server's priority (sweep pool workers)."""
    _lowered()
    return compare(scenario, **kwargs)
