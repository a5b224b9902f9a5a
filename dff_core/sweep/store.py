"""A sweep's files: ``runs.csv`` (one row per finished run, appended as runs finish), ``failed.csv``,
and the tables derived from them.

``runs.csv`` is the resume state: a run whose ``run_id`` is in it is not recomputed. Rows are
appended and synced one by one, each in a single write that is cut back off if it fails (disk
full); reading tolerates a truncated last line (a sweep killed mid-write) and drops it, and the
file is then rewritten without it. Every other write goes through a temporary file, ``fsync`` and
``os.replace`` (:func:`replace_file`), so a failed write leaves the previous file as it was. Every
file this module writes goes through :func:`write_table` or :class:`RunsWriter`; a failed write
raises ``OSError`` naming the file.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from dff_core.sweep.keys import GRID_KEYS

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one sweep per folder is then up to the user
    fcntl = None  # type: ignore[assignment]

#: Per-method metric columns (``<metric>_<method>``) copied from ``ComparisonResult.metrics``.
METHOD_METRICS = ("regret_mean", "normalized_regret", "mse", "mae")
#: DFF's prediction-shift columns (against the backbone prediction), copied without suffix.
SHIFT_METRICS = ("max_relative_shift", "mean_relative_shift", "min_cosine")
#: Files written to ``out_dir``.
RUNS_FILE, SUMMARY_FILE, PARETO_FILE, FAILED_FILE = "runs.csv", "summary.csv", "pareto.csv", "failed.csv"
#: Lock file held by the sweep writing to a folder (see :func:`folder_lock`).
LOCK_FILE = ".sweep.lock"


@dataclass(frozen=True)
class SweepFiles:
    """Paths of a sweep's files in ``out_dir``."""

    runs: Path
    summary: Path
    pareto: Path
    failed: Path

    @classmethod
    def in_dir(cls, out_dir: Path) -> SweepFiles:
        return cls(out_dir / RUNS_FILE, out_dir / SUMMARY_FILE, out_dir / PARETO_FILE, out_dir / FAILED_FILE)

    def as_dict(self) -> dict[str, Path]:
        return {"runs": self.runs, "summary": self.summary, "pareto": self.pareto, "failed": self.failed}


# ---------------------------------------------------------------------------- the runs table
def result_row(result: Any) -> dict[str, Any]:
    """Flatten a ``ComparisonResult`` (or a mapping of columns) into ``runs.csv`` columns."""
    if isinstance(result, Mapping):
        return dict(result)
    m: pd.DataFrame = result.metrics
    row: dict[str, Any] = {}
    for method in m.index:
        for metric in METHOD_METRICS:
            if metric in m.columns:
                name = "regret" if metric == "regret_mean" else metric
                row[f"{name}_{method}"] = float(m.at[method, metric])
        for metric in SHIFT_METRICS:
            if metric in m.columns:
                col = metric if method == "dff" else f"{metric}_{method}"
                if method != "two_stage":
                    row[col] = float(m.at[method, metric])
        if "seconds" in m.columns:
            row[f"seconds_{method}"] = float(m.at[method, "seconds"])
    return row


def column_order(axes: Sequence[str], methods: Sequence[str]) -> list[str]:
    """``runs.csv`` columns: grid values (in :data:`GRID_KEYS` order), metrics per method, shift, timings."""
    cols = [k for k in GRID_KEYS if k in axes]
    for metric in ("regret", "normalized_regret", "mse", "mae"):
        cols += [f"{metric}_{m}" for m in methods]
    cols += list(SHIFT_METRICS)
    cols += [f"{s}_dfl" for s in SHIFT_METRICS if "dfl" in methods]
    cols += [f"seconds_{m}" for m in methods]
    return [*cols, "seconds", "run_id"]


def read_runs(path: Path) -> pd.DataFrame:
    """Read ``runs.csv`` tolerating a truncated last line (a sweep killed mid-write)."""
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return pd.DataFrame()
    header, body = rows[0], rows[1:]
    complete = text.endswith("\n")
    good = [r for i, r in enumerate(body) if len(r) == len(header) and (complete or i < len(body) - 1)]
    df = pd.read_csv(io.StringIO("\n".join([",".join(header)] + [_csv_line(r) for r in good])))
    if "run_id" not in df.columns:
        raise ValueError(f"{path}: not a sweep runs file (no run_id column); choose another output folder")
    df["run_id"] = df["run_id"].astype(str)
    return df.dropna(subset=["run_id"]).drop_duplicates("run_id", keep="last").reset_index(drop=True)


def _csv_line(values: Sequence[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(values)
    return buf.getvalue()


def _named(exc: OSError, path: Path) -> OSError:
    """``exc`` with ``path`` as its file name, so the message says which file could not be written."""
    if exc.filename is None:
        exc.filename = str(path)
    return exc


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Write ``path`` atomically: ``write(fh)`` fills a temporary sibling, which is synced and renamed over ``path``.

    A failed write (disk full, file size limit, a signal) removes the temporary file and leaves
    the previous ``path`` unchanged; the ``OSError`` names ``path``.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise _named(exc, path) from None
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _replace_with(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` through a temporary file, so a reader never sees half a table."""
    replace_file(path, lambda fh: df.to_csv(fh, index=False))


class RunsWriter:
    """Append-and-sync writer of ``runs.csv`` with a fixed column order.

    Opening rewrites the rows kept from an earlier sweep (dropping a truncated line and aligning
    columns) atomically; each :meth:`write` appends one whole row in a single write and syncs it
    before returning. A failed append (disk full) is cut back off, so the file keeps exactly the
    rows written before, and the ``OSError`` names the file.
    """

    def __init__(self, path: Path, columns: list[str], existing: pd.DataFrame):
        self.path = path
        self.columns = list(columns)
        if not existing.empty:
            self.columns += [c for c in existing.columns if c not in self.columns]
        _replace_with(existing.reindex(columns=self.columns), path)
        self.fd: int | None = None
        self._open()

    def _open(self) -> None:
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise _named(exc, self.path) from None

    def add_columns(self, row: Mapping[str, Any]) -> None:
        """Widen the file when a run reports columns not seen before (the header is rewritten once)."""
        new = [c for c in row if c not in self.columns]
        if new:
            self.close()
            self.columns += new
            _replace_with(read_runs(self.path).reindex(columns=self.columns), self.path)
            self._open()

    def line(self, row: Mapping[str, Any]) -> bytes:
        """One ``runs.csv`` line for ``row`` (floats written exactly, with ``repr``)."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
        return buf.getvalue().encode("utf-8")

    def write(self, row: Mapping[str, Any]) -> None:
        self.add_columns(row)
        assert self.fd is not None
        data = self.line(row)
        size = os.fstat(self.fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
            os.fsync(self.fd)
        except OSError as exc:
            # Drop the partial row, so the file keeps whole rows only (were this to fail too, the partial
            # last line is dropped when the file is read).
            with suppress(OSError):
                os.ftruncate(self.fd, size)
            raise _named(exc, self.path) from None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class SweepBusyError(RuntimeError):
    """Another running sweep is writing to the same output folder."""


@contextmanager
def folder_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir/.sweep.lock`` for the block: one sweep at a time may write to a folder.

    Two sweeps appending to one ``runs.csv`` would lose rows when either rewrites it. The lock is an
    ``flock`` on the file (POSIX; elsewhere this does nothing), which the system releases when the
    process ends, ``kill -9`` included, so a killed sweep never leaves a stale lock. A second sweep
    raises :class:`SweepBusyError` naming the folder and the process holding it.
    """
    if fcntl is None:
        yield
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _named(exc, path) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            raise SweepBusyError(
                f"{out_dir}: another sweep (process {holder}) is writing to this folder; "
                "wait for it to finish or choose another output folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        os.close(fd)  # releases the lock


def open_runs(
    out_dir: Path, columns: list[str], plan_ids: Mapping[str, Any], resume: bool
) -> tuple[RunsWriter, dict[str, dict]]:
    """Open ``out_dir/runs.csv`` for this sweep; returns the writer and the finished rows of this plan.

    With ``resume=False`` this plan's rows are dropped (recomputed) while rows of other sweeps that
    share the folder are kept.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RUNS_FILE
    existing = read_runs(path)
    if not resume and not existing.empty:
        existing = existing[~existing["run_id"].isin(plan_ids)].reset_index(drop=True)
    done: dict[str, dict] = {}
    for rec in existing.to_dict(orient="records") if not existing.empty else []:
        if rec["run_id"] in plan_ids:
            done[rec["run_id"]] = rec
    return RunsWriter(path, columns, existing), done


# ---------------------------------------------------------------------------- derived tables
def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write one derived table (summary, Pareto front, failed runs) as CSV, atomically (see :func:`replace_file`)."""
    _replace_with(df, path)


def write_outputs(files: SweepFiles, summary: pd.DataFrame, pareto: pd.DataFrame, failed: pd.DataFrame) -> None:
    """Write ``summary.csv`` and ``pareto.csv``; ``failed.csv`` only when runs failed (an old one is removed)."""
    write_table(summary, files.summary)
    write_table(pareto, files.pareto)
    if len(failed):
        write_table(failed, files.failed)
    elif files.failed.exists():
        files.failed.unlink()
