"""Unexpected errors: one friendly line on the page, the full traceback in the server log, joined by an id.

Streamlit itself is set (``client.showErrorDetails = "none"`` in .streamlit/config.toml) never to
send a traceback to the browser; this module adds the id a user can quote and the log entry it
names. The log goes to stderr and to ``<cache dir>/logs/dashboard.log`` (rotated at 5 MB).

* :func:`run_page` runs a page under the guard (the router calls it instead of ``page.run()``);
* :func:`guard` wraps a component's ``render`` (or a fragment) the same way;
* :func:`report` logs an exception and returns its id; :func:`public_message` strips server paths
  from a message meant for the page (job errors, for instance).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import streamlit as st

from dashboard.services.labels import in_app
from dashboard.services.store import cache_dir

#: Name of the dashboard's logger; its entries carry the error ids shown on the pages.
LOGGER_NAME = "dff_studio.dashboard"
LOG_FILE = "dashboard.log"
LOG_MAX_BYTES = 5_000_000
_FORMAT = "%(asctime)s %(levelname)s [%(process)d %(threadName)s] %(name)s: %(message)s"
_SETUP_LOCK = threading.Lock()

P = ParamSpec("P")
R = TypeVar("R")


def log_dir() -> Path:
    """Folder of the server log: ``logs/`` in the result store's folder (``$DFF_CACHE_DIR``)."""
    return cache_dir() / "logs"


def logger() -> logging.Logger:
    """The dashboard's logger, writing to stderr and to :func:`log_dir` ``/dashboard.log``.

    Set up on first use, and again when the cache folder changes (tests use one per test). If the
    log file cannot be opened (read-only or full disk) the entries still go to stderr.
    """
    log = logging.getLogger(LOGGER_NAME)
    try:
        path = log_dir() / LOG_FILE
    except OSError:
        path = None
    with _SETUP_LOCK:
        files = [h for h in log.handlers if isinstance(h, RotatingFileHandler)]
        if not any(
            isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) for h in log.handlers
        ):
            stderr = logging.StreamHandler()
            stderr.setFormatter(logging.Formatter(_FORMAT))
            log.addHandler(stderr)
        if path is not None and not any(Path(h.baseFilename) == path.resolve() for h in files):
            for h in files:
                log.removeHandler(h)
                h.close()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handler = RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES, backupCount=3, encoding="utf-8", delay=True)
                handler.setFormatter(logging.Formatter(_FORMAT))
                log.addHandler(handler)
            except OSError:
                pass
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


def log_file() -> Path:
    """The current log file (it exists once something was logged)."""
    return log_dir() / LOG_FILE


def new_error_id() -> str:
    """A short random id for one error: unique enough to find its entry in the log."""
    return uuid.uuid4().hex[:10]


def report(exc: BaseException, where: str, session: str | None = None, error_id: str | None = None) -> str:
    """Log ``exc`` with its traceback under a new error id (or ``error_id``); returns the id."""
    error_id = error_id or new_error_id()
    logger().error(
        "error id %s in %s (session %s, pid %d): %s: %s",
        error_id,
        where,
        session or "-",
        os.getpid(),
        type(exc).__name__,
        exc,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return error_id


def log_text(error_id: str, where: str, text: str, session: str | None = None) -> None:
    """Log an error that arrived as text (a worker process's traceback) under ``error_id``."""
    logger().error("error id %s in %s (session %s):\n%s", error_id, where, session or "-", text.rstrip())


# An absolute path (POSIX, ``~/``, or a Windows drive) of at least two parts, not inside a word or URL.
_PATH = re.compile(r"(?<![\w.:/\\~-])(?:~|[A-Za-z]:)?(?:[\\/][^\s\\/'\"`,;:()<>\[\]{}|]+){2,}[\\/]?")


def public_message(text: str) -> str:
    """``text`` for the page: every absolute path replaced by its last part (the file name the user knows),
    and the options it names as the pages' controls (:func:`labels.in_app`)."""

    def name(m: re.Match[str]) -> str:
        return m.group(0).rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]

    return in_app(_PATH.sub(name, text))


def show(error_id: str, what: str = "this page") -> None:
    """The one line a user sees for an unexpected error: what failed, and the id to quote."""
    st.error(
        f"Something went wrong while showing {what}. Try again, or change the settings; if it keeps happening, "
        f"the server log has the details under error id `{error_id}`.",
        icon=":material/error:",
    )


def _session() -> str | None:
    try:
        return st.session_state.get("session_id")
    except Exception:  # no session (a bare script or a worker): log without it
        return None


def run_page(page: Any) -> None:
    """Run a ``st.Page`` so an unexpected error shows one friendly line and an id, never a traceback.

    Streamlit's own control flow (``st.stop``, ``st.rerun``, ``st.switch_page``) raises
    ``BaseException`` subclasses, which pass through untouched.
    """
    try:
        page.run()
    except Exception as exc:
        show(report(exc, f"page {getattr(page, 'title', page)!s}", _session()))


def guard(fn: Callable[P, R]) -> Callable[P, R | None]:
    """Decorator: run ``fn`` (a component's ``render`` or a fragment) under the same guard as a page.

    On an unexpected error the component's place shows the friendly line and ``None`` is returned,
    so the rest of the page is still drawn.
    """

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            show(report(exc, f"{fn.__module__}.{fn.__qualname__}", _session()), what="this part of the page")
            return None

    return guarded
