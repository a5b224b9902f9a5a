"""The result store: finished runs on disk, keyed by the digest of data + run configuration.

Each run is a run folder in the engine's one format (:meth:`ComparisonResult.save`: summary,
per-instance and metric tables, arrays, the DFF model's ``.safetensors`` and a manifest of
checksums; nothing pickled), under ``DFF_CACHE_DIR`` (default ``<repo>/.dff_cache``) in a folder
named by the run digest. A run whose folder exists is loaded, never recomputed. A stored run's
configuration is read back from the run itself (:func:`~dashboard.services.config.run_config_of`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.services import cache
from dashboard.services.config import get_scenario, run_config_of, run_digest
from dashboard.services.data import Loaded
from dff_core.errors import DataError
from dff_core.results import MANIFEST, ComparisonResult, read_run_meta

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """Folder of stored results: ``$DFF_CACHE_DIR`` or ``<repo>/.dff_cache``."""
    d = Path(os.environ.get("DFF_CACHE_DIR") or REPO_ROOT / ".dff_cache")
    d.mkdir(parents=True, exist_ok=True)
    return d


def run_dir(digest: str) -> Path:
    """The store folder of run ``digest``; refuses anything that is not a digest (it may come from a URL)."""
    if not (len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        raise ValueError(f"Not a run digest: {digest!r}")
    return cache_dir() / digest


def has_result(digest: str) -> bool:
    """Whether run ``digest`` finished and was stored (its folder has a manifest: saving is atomic)."""
    return (run_dir(digest) / MANIFEST).is_file()


def save_result(digest: str, result: ComparisonResult) -> Path:
    """Store ``result`` as the run folder of ``digest`` (atomic: a reader never sees a partial run)."""
    return result.save(run_dir(digest))


def load_result(digest: str, scenario: Any) -> ComparisonResult:
    """Read stored run ``digest``; its decision problem and display ``extra`` come from ``scenario``."""
    return ComparisonResult.load(run_dir(digest), scenario)


def _load_cached(digest: str, loaded: Loaded, config: Mapping[str, Any]) -> ComparisonResult:
    return cache.stored_result(digest, lambda: load_result(digest, get_scenario(loaded, config)))


def load_stored(loaded: Loaded, config: Mapping[str, Any]) -> tuple[str, ComparisonResult] | None:
    """The stored result for ``config`` on ``loaded``, if this exact run finished before."""
    digest = run_digest(loaded.digest, dict(config))
    if not has_result(digest):
        return None
    try:
        return digest, _load_cached(digest, loaded, config)
    except Exception:  # an unreadable entry (corrupt, or from another version) is recomputed on Start
        return None


def stored_run(loaded: Loaded, digest: str) -> tuple[dict[str, Any], ComparisonResult] | None:
    """The stored run ``digest`` (e.g. from the page URL) with its settings, if it was computed on ``loaded``."""
    try:
        cfg = run_config_of(read_run_meta(run_dir(digest))["config"])
    except (DataError, ValueError, KeyError, OSError):  # not a digest, no such run, or unreadable
        return None
    if cfg is None or run_digest(loaded.digest, cfg) != digest:
        return None
    try:
        return cfg, _load_cached(digest, loaded, cfg)
    except Exception:  # an unreadable entry: the page opens without it
        return None


def model_file(folder: str | Path) -> Path | None:
    """The DFF correction file of the run folder ``folder``, if it has one."""
    p = Path(folder) / "dff.safetensors"
    return p if p.is_file() else None


# ------------------------------------------------------------------------------ ε sweeps
def sweep_path(digest: str) -> Path:
    """The CSV of a finished ε sweep (``digest``: the sweep's run digest)."""
    return cache_dir() / f"sweep-{run_dir(digest).name}.csv"


def sweep_runs_dir(digest: str) -> Path:
    """Where the engine's sweep keeps the finished runs of a sweep (so a cancelled sweep resumes)."""
    return cache_dir() / f"sweep-runs-{run_dir(digest).name}"


def save_sweep(digest: str, table: pd.DataFrame) -> None:
    """Store a finished sweep's table (atomic rename)."""
    tmp = sweep_path(digest).with_suffix(f".tmp-{uuid.uuid4().hex[:8]}")
    table.to_csv(tmp, index=False)
    tmp.replace(sweep_path(digest))


def sweep_config(config: Mapping[str, Any], epsilons: tuple[float, ...]) -> dict[str, Any]:
    """The configuration a sweep over ``epsilons`` with ``config``'s other settings is keyed on."""
    return {**config, "sweep": list(epsilons)}


def stored_sweep(loaded: Loaded, config: Mapping[str, Any], epsilons: tuple[float, ...]) -> pd.DataFrame | None:
    """A finished ε sweep for this data and configuration, if one was stored."""
    p = sweep_path(run_digest(loaded.digest, sweep_config(config, epsilons)))
    return pd.read_csv(p) if p.is_file() else None
