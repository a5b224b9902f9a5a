"""Saved runs opened from a folder, such as ``python -m dff_core compare --out DIR`` writes.

A run folder is read with the engine's :func:`dff_core.comparison.load_run`, which rebuilds the
run's scenario from the spec stored with it, so the data files it names must still be where the
run found them. The dashboard's own store holds run folders too, so they open the same way.
Imports the comparison engine (torch): only the Train page imports this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboard.services.config import run_config_of
from dff_core.comparison import load_run
from dff_core.errors import DataError
from dff_core.results import MANIFEST, ComparisonResult


@dataclass
class OpenedRun:
    """A run read from a folder: the result, an id for it and its run configuration (if it records one)."""

    folder: Path
    digest: str
    result: ComparisonResult
    config: dict[str, Any] | None


def run_id(folder: Path) -> str:
    """Id of a run folder: the SHA-256 of its manifest, which lists every file's checksum."""
    return hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()


def open_run(path: str | Path) -> OpenedRun:
    """Read the run folder ``path``; :class:`~dff_core.errors.DataError` says what is wrong with it."""
    folder = Path(str(path).strip()).expanduser()
    if not str(path).strip():
        raise DataError("Open a saved run: give the folder of a run, e.g. the DIR of `dff_core compare --out DIR`.")
    if not folder.is_dir():
        raise DataError(f"Open a saved run: {folder} is not a folder on this computer.")
    if not (folder / MANIFEST).is_file():
        raise DataError(
            f"Open a saved run: {folder} has no {MANIFEST}, so it is not a run folder; give the folder written by "
            "`python -m dff_core compare --out DIR`."
        )
    folder = folder.resolve()
    result = load_run(folder)
    if result.C_test.shape[1] != result.problem.d:
        raise DataError(
            f"Open a saved run: {folder} holds {result.C_test.shape[1]} values per instance, but the scenario rebuilt "
            f"from its spec has {result.problem.d}; the data files it names have changed since the run."
        )
    return OpenedRun(folder, run_id(folder), result, run_config_of(result.config))
