"""A sweep's files: ``runs.csv`` (one row per finished run, appended as runs finish), ``failed.csv``,
and the tables derived from them.

``runs.csv`` is the resume state: a run whose ``run_id`` is in it is not recomputed. Rows are
appended, flushed and synced one by one; reading tolerates a truncated last line (a sweep killed
mid-write) and rewriting goes through a temporary file and ``os.replace``. Every file this module
writes goes through :func:`write_table` or :class:`RunsWriter`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dff_core.sweep.keys import GRID_KEYS

#: Per-method metric columns (``<metric>_<method>``) copied from ``ComparisonResult.metrics``.
METHOD_METRICS = ("regret_mean", "normalized_regret", "mse", "mae")
#: DFF's prediction-shift columns (against the backbone prediction), copied without suffix.
SHIFT_METRICS = ("max_relative_shift", "mean_relative_shift", "min_cosine")
#: Files written to ``out_dir``.
RUNS_FILE, SUMMARY_FILE, PARETO_FILE, FAILED_FILE = "runs.csv", "summary.csv", "pareto.csv", "failed.csv"


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


def _replace_with(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` through a temporary file, so a reader never sees half a table."""
    tmp = path.with_suffix(".csv.tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


class RunsWriter:
    """Append-and-flush writer of ``runs.csv`` with a fixed column order.

    Opening rewrites the rows kept from an earlier sweep (dropping a truncated line and aligning
    columns); each :meth:`write` appends one row and syncs it to disk before returning.
    """

    def __init__(self, path: Path, columns: list[str], existing: pd.DataFrame):
        self.path = path
        self.columns = list(columns)
        if not existing.empty:
            self.columns += [c for c in existing.columns if c not in self.columns]
        _replace_with(existing.reindex(columns=self.columns), path)
        self._open()

    def _open(self) -> None:
        self.fh = self.path.open("a", encoding="utf-8", newline="")
        self.writer = csv.DictWriter(self.fh, fieldnames=self.columns, extrasaction="ignore")

    def add_columns(self, row: Mapping[str, Any]) -> None:
        """Widen the file when a run reports columns not seen before (the header is rewritten once)."""
        new = [c for c in row if c not in self.columns]
        if new:
            self.fh.close()
            self.columns += new
            _replace_with(read_runs(self.path).reindex(columns=self.columns), self.path)
            self._open()

    def write(self, row: Mapping[str, Any]) -> None:
        self.add_columns(row)
        self.writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


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
    """Write one derived table (summary, Pareto front, failed runs) as CSV."""
    df.to_csv(path, index=False)


def write_outputs(files: SweepFiles, summary: pd.DataFrame, pareto: pd.DataFrame, failed: pd.DataFrame) -> None:
    """Write ``summary.csv`` and ``pareto.csv``; ``failed.csv`` only when runs failed (an old one is removed)."""
    write_table(summary, files.summary)
    write_table(pareto, files.pareto)
    if len(failed):
        write_table(failed, files.failed)
    elif files.failed.exists():
        files.failed.unlink()
