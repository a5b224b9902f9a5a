"""Process lifetime of a sweep: workers die with the process that started them; signals end a sweep cleanly.

The local backend's processes, with ``forkserver`` (Linux, macOS)::

    main process ──starts──> resource tracker   exits on EOF of its pipe (write ends: main + workers)
                 └─starts──> forkserver         exits on EOF of its "alive" pipe (write ends: main + workers)
                                └─forks──> workers

Both helpers already exit on their own once every process holding their pipe's write end is gone,
so the workers are the one link that must notice the main process's death. They do it two ways
(:func:`exit_with_parent`, run by every worker at start-up):

* **the parent's sentinel pipe** (all platforms): multiprocessing gives each worker the read end
  of a pipe whose write end only the main process holds; the kernel closes it when the main
  process ends for any reason, ``kill -9`` included. A daemon thread blocks on it and ends the
  worker at once. The same thread checks once a second that the worker's direct parent (the
  forkserver) is still its parent, which covers a killed forkserver where the next point is
  unavailable.
* **``prctl(PR_SET_PDEATHSIG, SIGKILL)``** (Linux): the kernel kills the worker when its parent
  process ends. The signal follows the parent *thread* that forked the worker: under forkserver
  that is the forkserver's only thread; under ``spawn`` it is the sweep's own thread, which
  submits every run and outlives the pool.

The forkserver itself gets no parent-death signal: it would be bound to the thread that happened
to start it (in a dashboard, one user's sweep thread), and its end would break the pools of other
sweeps sharing it. Its alive pipe gives the right behaviour instead: it exits when the main
process and its workers are gone. A forkserver killed with its parent while still importing the
engine at start-up finishes those imports, then exits.

In the main process, :func:`interrupt_on_signals` turns SIGTERM, SIGINT and SIGHUP into
:class:`SweepInterrupted`, so the sweep loop's cleanup runs: workers are terminated, finished runs
stay in ``runs.csv`` and a rerun resumes.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import wait

#: ``prctl`` option number of ``PR_SET_PDEATHSIG`` (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: Exit status of a worker that ended because the process that started it is gone.
EXIT_PARENT_GONE = 75
#: Seconds between checks of the worker's direct parent by the watchdog thread.
WATCH_INTERVAL = 1.0
#: Signals :func:`interrupt_on_signals` turns into :class:`SweepInterrupted` (those this platform has).
INTERRUPT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class SweepInterrupted(KeyboardInterrupt):
    """A signal (SIGTERM, SIGINT, SIGHUP) ended the sweep; its workers were stopped and finished runs kept.

    ``exit_code`` is the shell convention ``128 + signal number`` (130 for SIGINT, 143 for SIGTERM).
    The sweep fills in ``n_done`` / ``n_total`` (finished runs of the grid) and ``runs_file``.
    """

    def __init__(self, signum: int):
        self.signum = int(signum)
        self.signame = signal.Signals(self.signum).name
        self.exit_code = 128 + self.signum
        self.n_done: int | None = None
        self.n_total: int | None = None
        self.runs_file: os.PathLike | None = None
        super().__init__(f"sweep interrupted by {self.signame}")


def set_parent_death_signal(sig: int = signal.SIGKILL if hasattr(signal, "SIGKILL") else 9) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent ends; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(int(sig)), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(sentinel: int | None, parent_pid: int, interval: float) -> None:
    """Watchdog loop: end this process when the sentinel pipe hits EOF or the direct parent changes."""
    while True:
        if sentinel is not None:
            gone = bool(wait([sentinel], timeout=interval))
        else:
            time.sleep(interval)
            gone = False
        if gone or os.getppid() != parent_pid:
            os._exit(EXIT_PARENT_GONE)


def exit_with_parent(interval: float = WATCH_INTERVAL) -> None:
    """Make this worker process end when the process that started it (or its direct parent) ends.

    Call it first thing in a pool worker (the local backend's initializer does). See the module
    docstring for the two mechanisms and why they suffice for the forkserver and resource tracker.
    """
    set_parent_death_signal()
    parent_pid = os.getppid()
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None) if parent is not None else None
    if parent is not None and not parent.is_alive():  # gone before the watch started
        os._exit(EXIT_PARENT_GONE)
    threading.Thread(
        target=_watch, args=(sentinel, parent_pid, interval), name="dff-sweep-parent-watch", daemon=True
    ).start()


def _is_default_handler(sig: int, handler: object) -> bool:
    """Whether ``handler`` is Python's default for ``sig`` (so replacing it takes nothing from the host)."""
    if sig == signal.SIGINT:
        return handler is signal.default_int_handler
    return handler in (signal.SIG_DFL, None)


class SignalGuard:
    """What :func:`interrupt_on_signals` yields: :meth:`held` defers a signal over a cleanup step."""

    def __init__(self) -> None:
        self.fired = False
        self.holding = False
        self.pending: int | None = None

    def handle(self, signum: int, frame: object) -> None:
        """The signal handler: raise :class:`SweepInterrupted` once, or record it while held."""
        if self.fired:
            return  # the first signal's cleanup is under way
        if self.holding:
            self.pending = signum
            return
        self.fired = True
        raise SweepInterrupted(signum)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Within the block a signal is recorded, not raised; it raises when the block ends.

        Used around the steps that stop the workers and close ``runs.csv``, so a signal cannot cut
        them short.
        """
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.pending is not None and not self.fired:
            self.fired = True
            raise SweepInterrupted(self.pending)


@contextmanager
def interrupt_on_signals() -> Iterator[SignalGuard]:
    """Within the block, SIGTERM/SIGINT/SIGHUP raise :class:`SweepInterrupted` in the main thread.

    Only signals still at their default handler are taken over (a host's own handlers are left
    alone), and only in the main thread (signals cannot be handled elsewhere; a sweep run from a
    thread relies on its workers' parent-death handling instead). After the first signal, further
    ones are ignored until the block ends, so the cleanup that stops the workers is not cut short;
    :meth:`SignalGuard.held` defers a signal over a cleanup step.
    """
    guard = SignalGuard()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    previous: dict[int, object] = {}
    for sig in INTERRUPT_SIGNALS:
        current = signal.getsignal(sig)
        if _is_default_handler(sig, current):
            previous[sig] = current
            signal.signal(sig, guard.handle)
    try:
        yield guard
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
