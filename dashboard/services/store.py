"""The result store: finished runs on disk, keyed by the digest of data + run configuration.

Each run is a run folder in the engine's one format (:meth:`ComparisonResult.save`: summary,
per-instance and metric tables, arrays, the DFF model's ``.safetensors`` and a manifest of
checksums; nothing pickled), under ``DFF_CACHE_DIR`` (default ``<repo>/.dff_cache``) in a folder
named by the run digest. A stored run is loaded, never recomputed. A stored run's configuration
is read back from the run itself (:func:`~dashboard.services.config.run_config_of`).

The store repairs itself: an entry whose files do not match its manifest (truncated, edited,
partly written, from another version) is removed when it is read, so the next Start recomputes
and stores it; saving replaces whatever stale folder holds the digest's name; temporary folders
left by a process killed while saving are removed once they are :data:`STALE_TEMP_S` old.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.services import cache
from dashboard.services.config import get_scenario, run_config_of, run_digest
from dashboard.services.data import Loaded
from dashboard.services.folders import REPO_ROOT, cache_dir  # noqa: F401  (re-exported: the store names its folder)
from dff_core.errors import DataError
from dff_core.results import MANIFEST, ComparisonResult, read_run_meta

#: Seconds after which a temporary save folder (``.<name>.tmp-*``) or file (``*.tmp-*``) is left over, not in use.
STALE_TEMP_S = 600.0
_log = logging.getLogger("dff_studio.dashboard")
#: The fitted DFF correction in a run folder.
MODEL_FILE = "dff.safetensors"


def run_dir(digest: str) -> Path:
    """The store folder of run ``digest``; refuses anything that is not a digest (it may come from a URL)."""
    if not (len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        raise ValueError(f"Not a run digest: {digest!r}")
    return cache_dir() / digest


def has_result(digest: str) -> bool:
    """Whether run ``digest`` finished and was stored (its folder has a manifest: saving is atomic).

    Cheap: the files are checked against the manifest when the run is read (:func:`load_result`).
    """
    return (run_dir(digest) / MANIFEST).is_file()


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` is a readable run: a manifest whose every file is present with its checksum."""
    try:
        read_run_meta(folder)
    except (DataError, OSError, ValueError):
        return False
    return True


def _remove(folder: Path) -> None:
    """Remove a store folder at once (renamed aside first, so no reader sees it half deleted)."""
    aside = folder.with_name(f".{folder.name}.bad-{uuid.uuid4().hex[:8]}")
    try:
        folder.rename(aside)
    except FileNotFoundError:
        return
    shutil.rmtree(aside, ignore_errors=True)


def discard(digest: str) -> bool:
    """Remove stored run ``digest`` if its files do not match its manifest; returns whether it did.

    The next Start then computes the run again and stores it. A complete entry that fails to load
    for another reason (the scenario cannot be rebuilt, say) is kept: the store is not at fault.
    """
    folder = run_dir(digest)
    if not folder.exists() or is_complete(folder):
        return False
    _log.warning("removing damaged stored run %s (its files do not match its manifest)", digest)
    _remove(folder)
    return True


def clean_temporary(older_than: float = STALE_TEMP_S) -> int:
    """Remove temporary folders and files that saves killed mid-way left in the store; returns how many."""
    removed = 0
    now = time.time()
    for p in cache_dir().iterdir():
        if ".tmp-" not in p.name and ".old-" not in p.name and ".bad-" not in p.name:
            continue
        try:
            if now - p.stat().st_mtime < older_than:
                continue  # perhaps a save in progress
            shutil.rmtree(p) if p.is_dir() else p.unlink()
            removed += 1
        except OSError:
            continue
    return removed


def save_result(digest: str, result: ComparisonResult) -> Path:
    """Store ``result`` as the run folder of ``digest`` (atomic: a reader never sees a partial run).

    A stale or damaged folder under the digest's name is replaced. If the write fails (a full
    disk), nothing is left behind and the ``OSError`` says why; if another job stored the same run
    meanwhile, its folder is kept (the same digest is the same computation).
    """
    path = run_dir(digest)
    clean_temporary()
    if path.exists() and not is_complete(path):
        _remove(path)
    try:
        return result.save(path)
    except (OSError, DataError):
        if is_complete(path):
            return path
        raise


def load_result(digest: str, scenario: Any) -> ComparisonResult:
    """Read stored run ``digest``; its decision problem and display ``extra`` come from ``scenario``."""
    return ComparisonResult.load(run_dir(digest), scenario)


def _load_cached(digest: str, loaded: Loaded, config: Mapping[str, Any]) -> ComparisonResult:
    return cache.stored_result(digest, lambda: load_result(digest, get_scenario(loaded, config)))


def load_stored(loaded: Loaded, config: Mapping[str, Any]) -> tuple[str, ComparisonResult] | None:
    """The stored result for ``config`` on ``loaded``, if this exact run finished before.

    An unreadable entry (corrupt, partly written, from another version) is removed: the next
    Start computes the run again and stores it.
    """
    digest = run_digest(loaded.digest, dict(config))
    if not has_result(digest):
        return None
    try:
        return digest, _load_cached(digest, loaded, config)
    except (DataError, OSError, ValueError, KeyError):
        discard(digest)
        return None


def stored_run(loaded: Loaded, digest: str) -> tuple[dict[str, Any], ComparisonResult] | None:
    """The stored run ``digest`` (e.g. from the page URL) with its settings, if it was computed on ``loaded``."""
    try:
        folder = run_dir(digest)
    except ValueError:  # not a digest (it comes from the URL)
        return None
    if not folder.exists():
        return None
    try:
        cfg = run_config_of(read_run_meta(folder)["config"])
    except (DataError, ValueError, KeyError, OSError):  # damaged: removed, recomputed on the next Start
        discard(digest)
        return None
    if cfg is None or run_digest(loaded.digest, cfg) != digest:
        return None
    try:
        return cfg, _load_cached(digest, loaded, cfg)
    except (DataError, OSError, ValueError, KeyError):
        discard(digest)
        return None


def model_file(folder: str | Path) -> Path | None:
    """The DFF correction file of the run folder ``folder``, if it has one that matches its manifest.

    A damaged file (truncated, edited after the run) is never offered for download.
    """
    p = Path(folder) / MODEL_FILE
    try:
        listed = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))["files"][MODEL_FILE]
        return p if _sha256(p) == listed else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------ ε sweeps
def sweep_path(digest: str) -> Path:
    """The CSV of a finished ε sweep (``digest``: the sweep's run digest)."""
    return cache_dir() / f"sweep-{run_dir(digest).name}.csv"


def sweep_runs_dir(digest: str) -> Path:
    """Where the engine's sweep keeps the finished runs of a sweep (so a cancelled sweep resumes)."""
    return cache_dir() / f"sweep-runs-{run_dir(digest).name}"


def save_sweep(digest: str, table: pd.DataFrame) -> None:
    """Store a finished sweep's table (atomic rename; a failed write leaves nothing behind)."""
    tmp = sweep_path(digest).with_suffix(f".tmp-{uuid.uuid4().hex[:8]}")
    try:
        table.to_csv(tmp, index=False)
        tmp.replace(sweep_path(digest))
    finally:
        tmp.unlink(missing_ok=True)


def sweep_config(config: Mapping[str, Any], epsilons: tuple[float, ...]) -> dict[str, Any]:
    """The configuration a sweep over ``epsilons`` with ``config``'s other settings is keyed on."""
    return {**config, "sweep": list(epsilons)}


def stored_sweep(loaded: Loaded, config: Mapping[str, Any], epsilons: tuple[float, ...]) -> pd.DataFrame | None:
    """A finished ε sweep for this data and configuration, if one was stored."""
    p = sweep_path(run_digest(loaded.digest, sweep_config(config, epsilons)))
    if not p.is_file():
        return None
    try:
        table = pd.read_csv(p)
    except (OSError, ValueError):  # damaged: removed, so the sweep can run again
        p.unlink(missing_ok=True)
        return None
    return table if "epsilon" in table and len(table) == len(epsilons) else None
