"""The result store: finished runs on disk, keyed by the digest of data + run configuration.

Results are written under ``DFF_CACHE_DIR`` (default ``<repo>/.dff_cache``) in a folder named by
the run digest, as ``.npz``/JSON/CSV plus the DFF model's own ``.safetensors`` file. Nothing is
pickled. A run whose folder exists is loaded, never recomputed.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import dff_core
from dashboard.services import cache
from dashboard.services.config import STORE_VERSION, get_scenario, run_digest
from dashboard.services.data import Loaded
from dff_core.results import ComparisonResult, MethodResult

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
    """Whether run ``digest`` finished and was stored."""
    return (run_dir(digest) / "meta.json").is_file()


def save_result(
    digest: str,
    result: ComparisonResult,
    run_config: Mapping[str, Any] | None = None,
    data_digest: str | None = None,
) -> Path:
    """Write ``result`` as npz (arrays) + JSON/CSV (tables) + safetensors (DFF model); atomic rename."""
    final = run_dir(digest)
    tmp = final.with_name(f"{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    arrays = {k: np.asarray(getattr(result, k)) for k in ("X_test", "C_test", "W_test", "z_test", "C_hat")}
    methods_meta = {}
    for name, m in result.methods.items():
        arrays[f"{name}__C_pred"] = np.asarray(m.C_pred)
        arrays[f"{name}__W"] = np.asarray(m.W)
        arrays[f"{name}__regret"] = np.asarray(m.regret)
        if m.factors is not None:
            arrays[f"{name}__factors"] = np.asarray(m.factors)
        saved_model = None
        if m.model is not None and hasattr(m.model, "save") and name == "dff":
            try:
                m.model.save(tmp / f"{name}.safetensors")
                saved_model = f"{name}.safetensors"
            except Exception:  # a model that cannot be saved still leaves a usable result
                saved_model = None
        methods_meta[name] = {
            "seconds": float(m.seconds),
            "history": None if m.history is None else json.loads(m.history.to_json(orient="split", index=False)),
            "model_file": saved_model,
        }
    np.savez_compressed(tmp / "arrays.npz", **arrays)
    result.metrics.to_csv(tmp / "metrics.csv")
    result.per_instance.to_csv(tmp / "per_instance.csv", index=False)
    meta = {
        "store_version": STORE_VERSION,
        "data_digest": data_digest,
        "run_config": dict(run_config) if run_config is not None else None,
        "config": result.config,
        "timings": result.timings,
        "feature_names": list(result.feature_names),
        "output_names": [str(x) for x in result.output_names],
        "unit": result.unit,
        "n_train": int(result.n_train),
        "n_val": int(result.n_val),
        "times": None if result.times is None else [pd.Timestamp(t).isoformat() for t in result.times],
        "methods": methods_meta,
    }
    (tmp / "meta.json").write_text(json.dumps(meta, default=str, indent=1))
    try:
        tmp.rename(final)
    except OSError:  # another session stored the same run first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def load_result(digest: str, scenario: Any) -> ComparisonResult:
    """Rebuild a stored result; ``problem`` and display ``extra`` come from the (rebuilt) scenario."""
    d = run_dir(digest)
    meta = json.loads((d / "meta.json").read_text())
    with np.load(d / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    methods = {}
    for name, mm in meta["methods"].items():
        hist = None
        if mm.get("history"):
            h = mm["history"]
            hist = pd.DataFrame(h["data"], columns=h["columns"])
        model = None
        if mm.get("model_file") and (d / mm["model_file"]).is_file():
            try:  # through the engine's lazy entry point: reading a result loads torch only for a model
                model = dff_core.DFF.load(d / mm["model_file"], scenario.problem)
            except Exception:
                model = None
        methods[name] = MethodResult(
            name=name,
            C_pred=arrays[f"{name}__C_pred"],
            W=arrays[f"{name}__W"],
            regret=arrays[f"{name}__regret"],
            seconds=mm["seconds"],
            history=hist,
            factors=arrays.get(f"{name}__factors"),
            model=model,
        )
    per = pd.read_csv(d / "per_instance.csv")
    if "time" in per:
        per["time"] = pd.to_datetime(per["time"])
    times = None if meta["times"] is None else pd.DatetimeIndex(pd.to_datetime(meta["times"]))
    return ComparisonResult(
        problem=scenario.problem,
        X_test=arrays["X_test"],
        C_test=arrays["C_test"],
        W_test=arrays["W_test"],
        z_test=arrays["z_test"],
        C_hat=arrays["C_hat"],
        methods=methods,
        metrics=pd.read_csv(d / "metrics.csv", index_col=0),
        per_instance=per,
        times=times,
        feature_names=meta["feature_names"],
        output_names=meta["output_names"],
        config=meta["config"],
        timings=meta["timings"],
        n_train=meta["n_train"],
        n_val=meta["n_val"],
        unit=meta["unit"],
        extra=dict(getattr(scenario, "extra", {}) or {}),
    )


def _run_config(digest: str) -> dict[str, Any] | None:
    """The run configuration stored with run ``digest`` (``None`` when unreadable)."""
    try:
        return json.loads((run_dir(digest) / "meta.json").read_text()).get("run_config")
    except (ValueError, OSError):
        return None


def _load_cached(digest: str, loaded: Loaded, config: Mapping[str, Any]) -> ComparisonResult:
    return cache.stored_result(digest, lambda: load_result(digest, get_scenario(loaded, config)))


def load_stored(loaded: Loaded, config: Mapping[str, Any]) -> tuple[str, ComparisonResult] | None:
    """The stored result for ``config`` on ``loaded``, if this exact run finished before."""
    digest = run_digest(loaded.digest, dict(config))
    if not has_result(digest):
        return None
    try:
        return digest, _load_cached(digest, loaded, config)
    except Exception:
        return None


def stored_run(loaded: Loaded, digest: str) -> tuple[dict[str, Any], ComparisonResult] | None:
    """The stored run ``digest`` (e.g. from the page URL) with its settings, if it was computed on ``loaded``."""
    try:
        cfg = _run_config(digest)
    except ValueError:  # not a digest
        return None
    if not cfg or run_digest(loaded.digest, cfg) != digest:
        return None
    try:
        return cfg, _load_cached(digest, loaded, cfg)
    except Exception:
        return None


def model_file(digest: str) -> Path | None:
    """The stored DFF correction file of a run, if any."""
    p = run_dir(digest) / "dff.safetensors"
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
