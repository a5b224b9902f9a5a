"""The dashboard's only link to the engine: cached loaders, the training job runner, the result store.

* Caching: the only module using ``st.cache_*``. Datasets are cached by the SHA-256 digest of
  their bytes, so identical inputs share one read-only copy and different users never see each
  other's data (nothing per-user lives in module globals).
* Jobs: one background thread per training run. The thread never calls ``st.*``; it writes
  progress into its :class:`Job` record and checks a cancel ``Event``. Pages poll the record
  from an ``@st.fragment(run_every=...)``.
* Store: finished results are written under ``DFF_CACHE_DIR`` (default ``<repo>/.dff_cache``)
  in a folder named by the digest of data + configuration, as ``.npz``/JSON/CSV plus the DFF
  model's own ``.safetensors`` file. Nothing is pickled. A run whose folder exists is loaded,
  never recomputed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dff_core.data.digest import digest_bytes, json_digest
from dff_core.progress import ProgressEvent
from dff_core.results import ComparisonResult, MethodResult

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Bumped when the on-disk layout or the meaning of a configuration changes.
STORE_VERSION = "1"
#: Upload limit in MB, mirrored from .streamlit/config.toml (server.maxUploadSize) for the label.
MAX_UPLOAD_MB = 50
UPLOAD_KINDS = ("readings", "sensors", "links", "allocation")


#: Choices offered on the Train page.
SCENARIO_LABELS = {"traffic": "Traffic routing", "allocation": "Allocation of response units"}
BACKBONE_LABELS = {
    "ridge": "Ridge regression",
    "linear": "Linear regression",
    "historical_profile": "Historical profile (time of week)",
    "gradient_boosting": "Gradient boosting",
    "random_forest": "Random forest",
    "mlp": "Neural network (MLP)",
}


def backbone_choices() -> tuple[str, ...]:
    """The engine's backbones, labelled ones first (imported on first use: it loads torch, which the
    Data page does not need, so the first page appears sooner)."""
    from dff_core.backbones import BACKBONES as engine

    return tuple([b for b in BACKBONE_LABELS if b in engine] + [b for b in engine if b not in BACKBONE_LABELS])


LOSSES = ("spo+", "pfyl", "nce")
LOSS_LABELS = {"spo+": "SPO+", "pfyl": "Perturbed Fenchel-Young (PFYL)", "nce": "Noise-contrastive (NCE)"}
HORIZONS = ("15min", "30min", "60min")
DEFAULT_EPSILON = 0.2
#: Epochs of DFF/DFL by default: the CLI's default, so the dashboard reproduces `dff compare`; the sample
#: comparison then takes about 10-20 s on 2 shared cores (early stopping usually ends before 30).
DEFAULT_EPOCHS = 30
DEFAULT_METHODS = ("two_stage", "dff", "dfl")
DEFAULT_BUDGET = 5


#: Keys of a run configuration (as stored in a result's ``config``) that identify the run.
CONFIG_KEYS = (
    "scenario", "backbone", "epsilon", "loss", "horizon", "epochs", "methods", "seed", "pairs", "budget", "source"
)  # fmt: skip
ALLOCATION_SOURCES = {"readings": "sensors (predicted delay)", "items": "allocation table items (predicted value)"}


def make_config(
    *,
    scenario: str,
    backbone: str,
    epsilon: float,
    loss: str,
    horizon: str,
    epochs: int,
    methods: list[str],
    pairs: list | None = None,
    budget: float | None = None,
    source: str | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The JSON-able run configuration the digest and the store are keyed on."""
    cfg: dict[str, Any] = {
        "scenario": scenario,
        "backbone": backbone,
        "epsilon": round(float(epsilon), 4),
        "loss": loss,
        "horizon": horizon,
        "epochs": int(epochs),
        "methods": list(methods),
        "seed": int(seed),
    }
    if scenario == "traffic":
        cfg["pairs"] = [[str(a), str(b)] for a, b in pairs] if pairs else None
    else:
        cfg["budget"] = float(budget if budget is not None else DEFAULT_BUDGET)
        cfg["source"] = source or "readings"
    return cfg


def cache_dir() -> Path:
    """Folder of stored results: ``$DFF_CACHE_DIR`` or ``<repo>/.dff_cache``."""
    d = Path(os.environ.get("DFF_CACHE_DIR") or REPO_ROOT / ".dff_cache")
    d.mkdir(parents=True, exist_ok=True)
    return d


def run_digest(data_digest: str, config: Mapping[str, Any]) -> str:
    """Key of one comparison: the data's digest and the full configuration."""
    return json_digest({"v": STORE_VERSION, "data": data_digest, "config": config})


# ============================================================================ data
@dataclass
class Loaded:
    """A dataset ready for the pages: the engine's dataset, its report and display tables."""

    name: str
    digest: str
    dataset: Any
    report: Any
    sensors: pd.DataFrame  # sensor_id, name, lat, lon, mean_value
    links: pd.DataFrame  # link_id, lon0, lat0, lon1, lat1, length_km
    readings: pd.DataFrame  # wide: index time, columns sensor ids
    value_label: str = "Speed (mph)"
    items: pd.DataFrame | None = None  # allocation items table (period, item_id, value, ...)


def _sensors_frame(dataset: Any) -> pd.DataFrame:
    """``sensor_id, name, lat, lon`` from the dataset's sensors GeoDataFrame (index = sensor id)."""
    g = dataset.sensors
    return pd.DataFrame(
        {
            "sensor_id": g.index.astype(str),
            "name": g["name"].astype(str).to_numpy() if "name" in g else g.index.astype(str),
            "lat": g["latitude"].astype(float).to_numpy(),
            "lon": g["longitude"].astype(float).to_numpy(),
        }
    )


def links_segments(links: Any, sensors: pd.DataFrame) -> pd.DataFrame:
    """Map segments ``link_id, lon0, lat0, lon1, lat1`` (+ ``length_km``) for a links table
    with ``from_id``/``to_id`` sensor ids; row order is kept (so it matches the problem's arcs)."""
    cols = ["link_id", "lon0", "lat0", "lon1", "lat1", "length_km"]
    if links is None or len(links) == 0:
        return pd.DataFrame(columns=cols)
    L = pd.DataFrame(links).reset_index(drop=True)
    pos = sensors.set_index("sensor_id")
    f, t = L["from_id"].astype(str), L["to_id"].astype(str)
    a, b = pos.reindex(f), pos.reindex(t)
    return pd.DataFrame(
        {
            "link_id": (f + " → " + t).to_numpy(),
            "lon0": a["lon"].to_numpy(),
            "lat0": a["lat"].to_numpy(),
            "lon1": b["lon"].to_numpy(),
            "lat1": b["lat"].to_numpy(),
            "length_km": pd.to_numeric(L.get("length_km", pd.Series(np.nan, index=L.index)), errors="coerce"),
        }
    )[cols]


VALUE_LABELS = {"speed_kmh": "Speed (km/h)", "speed_mph": "Speed (mph)", "count": "Count (vehicles per interval)"}


def _wrap(name: str, digest: str, dataset: Any, report: Any, items: pd.DataFrame | None = None) -> Loaded:
    if dataset is None:
        return Loaded(name, digest, None, report, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), "", items)
    sensors = _sensors_frame(dataset)
    readings = dataset.readings
    means = readings.mean(axis=0)
    means.index = means.index.astype(str)
    sensors["mean_value"] = sensors["sensor_id"].map(means).to_numpy()
    links = links_segments(getattr(dataset, "links", None), sensors)
    label = VALUE_LABELS.get(getattr(dataset, "value_kind", ""), "Reading")
    return Loaded(name, digest, dataset, report, sensors, links, readings, label, items)


def sample_paths() -> dict[str, Path]:
    """Paths of the sample city's files (readings, sensors, links, items)."""
    from dff_core.data import sample_paths as engine_paths

    return {k: Path(v) for k, v in engine_paths().items()}


def sample_files() -> dict[str, bytes]:
    """Bytes of the sample city's files (for the digest and the downloadable examples)."""
    return {k: p.read_bytes() for k, p in sample_paths().items() if p.is_file()}


@st.cache_resource(max_entries=2, show_spinner="Loading the sample city…")
def _sample(digest: str) -> Loaded:
    from dff_core import data as D

    paths = sample_paths()
    # The same call as dff_core.data.load_sample, keeping the validation report for the Data page.
    dataset, report = D.load_dataset(
        paths["readings"], paths["sensors"], paths["links"], value="speed_kmh", source="sample"
    )
    items = None
    if paths.get("items") is not None and paths["items"].is_file():
        items, _ = D.load_items(paths["items"])
    return _wrap("Sample city", digest, dataset, report, items)


def load_sample_data() -> Loaded:
    """The sample city (cached by the digest of its files)."""
    files = sample_files()
    if "readings" not in files:
        raise FileNotFoundError(
            "sample_data/readings.csv is missing; regenerate it with `python -m dff_core.data.synthetic`."
        )
    return _sample(digest_bytes(files))


@st.cache_resource(max_entries=8, show_spinner="Validating the uploaded files…")
def _uploaded(
    digest: str, _files: tuple[tuple[str, str, bytes], ...], value: str, start: str | None, freq: str | None
) -> Loaded:
    from dff_core import data as D

    files = {kind: (name, blob) for kind, name, blob in _files}
    dataset = report = items = None
    if "readings" in files:
        kw: dict[str, Any] = {"value": value, "start": start, "freq": freq}
        for kind in ("readings", "sensors", "links"):
            if kind in files:
                kw[kind] = files[kind][1]
                kw[f"{kind}_name"] = files[kind][0]
        dataset, report = D.load_dataset(**kw)
    if "allocation" in files:
        name, blob = files["allocation"]
        items, rep2 = D.load_items(blob, name=name)
        report = report or rep2
    if dataset is None and items is None:
        from dff_core.errors import DataError

        raise DataError(["No readings or allocation file: upload a readings CSV (with sensors) or an allocation CSV."])
    return _wrap("Uploaded data", digest, dataset, report, items)


def load_uploaded_data(
    files: Mapping[str, tuple[str, bytes]],
    value: str = "speed_kmh",
    start: str | None = None,
    freq: str | None = None,
) -> Loaded:
    """Validate and load uploaded CSVs: ``{kind: (file name, bytes)}`` with kind in :data:`UPLOAD_KINDS`.

    ``start``/``freq`` date a wide readings file that has no timestamp column (METR-LA's layout).
    Raises the engine's ``DataError`` (with ``.problems``) when the files are unusable.
    """
    opts = f"{value}|{start or ''}|{freq or ''}".encode()
    digest = digest_bytes({**{k: v[1] for k, v in files.items()}, "options": opts})
    return _uploaded(digest, tuple(sorted((k, n, b) for k, (n, b) in files.items())), value, start, freq)


def issues_frame(items: list) -> pd.DataFrame:
    """Issues (or plain strings) as a table: severity, file, row, column, message."""
    rows = []
    for it in items:
        if isinstance(it, str):
            rows.append({"severity": "error", "file": None, "row": None, "column": None, "message": it})
        else:
            rows.append(
                {
                    "severity": getattr(it, "severity", "error"),
                    "file": getattr(it, "file", None),
                    "row": getattr(it, "row", None),
                    "column": getattr(it, "column", None),
                    "message": getattr(it, "message", str(it)),
                }
            )
    df = pd.DataFrame(rows, columns=["severity", "file", "row", "column", "message"])
    df["row"] = df["row"].astype("Int64")
    return df


# ============================================================================ scenarios
@st.cache_resource(max_entries=8, show_spinner="Building the scenario…")
def _scenario(data_digest: str, options_json: str, _loaded: Loaded) -> Any:
    opts = json.loads(options_json)
    kind = opts.pop("scenario")
    from dff_core.scenarios import build_allocation_scenario, build_traffic_scenario

    if kind == "traffic":
        return build_traffic_scenario(_loaded.dataset, **opts)
    source = opts.pop("source", "readings")
    if _loaded.dataset is None or source == "items":
        opts.pop("horizon", None)
        return build_allocation_scenario(items=_loaded.items, **opts)
    return build_allocation_scenario(_loaded.dataset, **opts)


def scenario_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of a run configuration that defines the scenario (not the training)."""
    if config["scenario"] == "traffic":
        out = {"scenario": "traffic", "horizon": config["horizon"]}
        if config.get("pairs"):
            out["pairs"] = [list(p) for p in config["pairs"]]
        return out
    out = {"scenario": "allocation", "budget": config["budget"], "horizon": config["horizon"]}
    if config.get("source") == "items":
        out["source"] = "items"
    return out


def scenario_unit(loaded: Loaded, config: Mapping[str, Any]) -> str:
    """Unit of regret for ``config`` on ``loaded`` (e.g. vehicle-minutes); empty if the scenario cannot be built."""
    try:
        return str(get_scenario(loaded, config).unit)
    except (ValueError, KeyError):
        return ""


def get_scenario(loaded: Loaded, config: Mapping[str, Any]) -> Any:
    """The scenario of ``config`` on ``loaded`` (cached; rebuilding is deterministic)."""
    return _scenario(loaded.digest, json.dumps(scenario_options(config), sort_keys=True), loaded)


@st.cache_data(max_entries=8, show_spinner=False)
def _candidate_pairs(data_digest: str, n_pairs: int, _dataset: Any) -> list[str]:
    from dff_core.scenarios.traffic import default_pairs, network_arcs

    ids = [str(c) for c in _dataset.readings.columns]
    s = _dataset.sensors.copy()
    s.index = s.index.astype(str)
    arcs = network_arcs(_dataset, ids)
    lat = s.loc[ids, "latitude"].astype(float).to_numpy()
    lon = s.loc[ids, "longitude"].astype(float).to_numpy()
    return [f"{a} → {b}" for a, b in default_pairs(ids, lat, lon, arcs, n_pairs=n_pairs)]


def candidate_pairs(loaded: Loaded, n_pairs: int = 20) -> list[str]:
    """Reachable long trips (``"origin → destination"``) offered for routing, from the engine's chooser."""
    try:
        return _candidate_pairs(loaded.digest, n_pairs, loaded.dataset)
    except (ValueError, KeyError):
        return []


# ============================================================================ decisions
def route_decisions(result: ComparisonResult, i: int, pair: int | None = None) -> tuple[dict, dict]:
    """Link flows and realised travel times of each method (and hindsight) at test instance ``i``.

    ``pair`` restricts the routing to one origin-destination pair (index into the scenario's
    pairs); ``None`` routes all trips. Travel times are the true link times of instance ``i``
    times the flows, in the result's unit (vehicle-minutes; minutes for one vehicle).
    """
    from dff_core.decisions import route_decisions as engine_routes

    return engine_routes(result, i, pair)


# ============================================================================ interpretability
def corrections_by_hour(result: ComparisonResult) -> pd.DataFrame | None:
    """Mean DFF factor φ per predicted value (rows, problem order) and hour of day (columns).

    ``None`` when the run has no DFF factors.
    """
    m = result.methods.get("dff")
    if m is None or m.factors is None:
        return None
    from dff_core.explain import correction_summary

    by = ("output", "hour") if result.times is not None else "output"
    table = correction_summary(result, by=by)
    if by == "output":
        table = table.assign(hour="all")
    wide = table.pivot(index="output", columns="hour", values="mean")
    order = [str(o) for o in result.output_names] or list(wide.index)
    wide.index = wide.index.astype(str)
    return wide.reindex([o for o in order if o in wide.index])


def decision_differences(result: ComparisonResult) -> pd.DataFrame | None:
    """Test instances where DFF decided differently from plain: ``instance, time, n_changed, saved``."""
    if "dff" not in result.methods or "two_stage" not in result.methods:
        return None
    from dff_core.explain import decision_differences as engine_diff

    d = engine_diff(result, level="instance")
    d = d[d["n_changed"] > 0].rename(columns={"regret_saved": "saved"})
    labels = time_labels(result)
    return d.assign(time=[labels[int(k)] for k in d["instance"]]).reset_index(drop=True)


def row_label(result: ComparisonResult) -> str:
    """What one predicted value is: a sensor (readings-based scenarios) or an item (allocation table)."""
    from_items = result.config.get("source") == "items" or result.extra.get("sensors") is None
    return "Item" if result.config.get("scenario") == "allocation" and from_items else "Sensor"


def most_changed_instance(result: ComparisonResult) -> int:
    """Test instance where DFF's (else DFL's) regret differs most from plain's; 0 when none differs."""
    other = "dff" if "dff" in result.methods else ("dfl" if "dfl" in result.methods else None)
    if other is None or "two_stage" not in result.methods:
        return 0
    gap = np.abs(np.asarray(result.methods["two_stage"].regret) - np.asarray(result.methods[other].regret))
    return int(np.argmax(gap)) if gap.size and gap.max() > 0 else 0


def time_labels(result: ComparisonResult) -> list[str]:
    """Test times as labels (``instance k`` when the result has no times)."""
    if result.times is not None and len(result.times) == result.n_test:
        return [pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") for t in result.times]
    return [f"instance {k}" for k in range(result.n_test)]


@st.cache_data(max_entries=8, show_spinner="Attributing the correction to the inputs…")
def _attribution(run: str, _result: ComparisonResult, n_max: int) -> pd.DataFrame | None:
    from dff_core.explain import feature_attribution as engine_attr

    model = _result.methods["dff"].model
    idx = np.linspace(0, _result.n_test - 1, min(n_max, _result.n_test)).astype(int)
    names = list(_result.feature_names) or None
    return engine_attr(model, _result.X_test[idx], _result.C_hat[idx], feature_names=names, steps=16)


def feature_attribution(result: ComparisonResult, run: str, n_max: int = 64) -> pd.DataFrame | None:
    """``feature, value, signed``: integrated-gradients importance of each input for DFF's correction
    (on up to ``n_max`` evenly spread test instances), or ``None`` when the run has no DFF model."""
    m = result.methods.get("dff")
    if m is None or m.model is None or not hasattr(m.model, "module_"):
        return None
    out = _attribution(run, result, n_max)
    return out.rename(columns={"importance": "value"})[["feature", "value", "signed"]]


# ============================================================================ result store
def _run_dir(digest: str) -> Path:
    if not (len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        raise ValueError(f"Not a run digest: {digest!r}")
    return cache_dir() / digest


def has_result(digest: str) -> bool:
    return (_run_dir(digest) / "meta.json").is_file()


def save_result(
    digest: str,
    result: ComparisonResult,
    run_config: Mapping[str, Any] | None = None,
    data_digest: str | None = None,
) -> Path:
    """Write ``result`` as npz (arrays) + JSON/CSV (tables) + safetensors (DFF model); atomic rename."""
    final = _run_dir(digest)
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
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return final


def load_result(digest: str, scenario: Any) -> ComparisonResult:
    """Rebuild a stored result; ``problem`` and display ``extra`` come from the (rebuilt) scenario."""
    d = _run_dir(digest)
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
            from dff_core.dff import DFF

            try:
                model = DFF.load(d / mm["model_file"], scenario.problem)
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


def stored_run(loaded: Loaded, digest: str) -> tuple[dict[str, Any], ComparisonResult] | None:
    """The stored run ``digest`` (e.g. from the page URL) with its settings, if it was computed on ``loaded``."""
    try:
        meta = json.loads((_run_dir(digest) / "meta.json").read_text())
    except (ValueError, OSError):
        return None
    cfg = meta.get("run_config")
    if not cfg or meta.get("data_digest") != loaded.digest or run_digest(loaded.digest, cfg) != digest:
        return None
    try:
        return cfg, _load_cached(digest, loaded)
    except Exception:
        return None


def widget_state(cfg: Mapping[str, Any], loaded: Loaded) -> dict[str, Any]:
    """Train-page widget values (by key) that reproduce the run configuration ``cfg``."""
    out: dict[str, Any] = {
        "cfg_scenario": cfg["scenario"],
        "cfg_backbone": cfg["backbone"],
        "cfg_loss": cfg["loss"],
        "cfg_epsilon": float(cfg["epsilon"]),
        "cfg_horizon": cfg["horizon"],
        "cfg_epochs": int(cfg["epochs"]),
        "cfg_methods": list(cfg["methods"]),
    }
    if cfg["scenario"] == "traffic":
        pairs = [f"{a} → {b}" for a, b in cfg.get("pairs") or []]
        if all(p in candidate_pairs(loaded) for p in pairs):
            out["cfg_pairs"] = pairs
    else:
        out["cfg_budget"] = int(cfg["budget"])
        out["cfg_source"] = cfg.get("source", "readings")
    return out


def model_file(digest: str) -> Path | None:
    """The stored DFF correction file of a run, if any."""
    p = _run_dir(digest) / "dff.safetensors"
    return p if p.is_file() else None


# ============================================================================ jobs
@dataclass
class Job:
    """One training run. Written by its worker thread, read by the polling fragment."""

    id: str
    session: str
    digest: str
    config: dict[str, Any]
    data_digest: str = ""
    status: str = "queued"  # queued | running | done | error | cancelled
    stage: str = "starting"
    events: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    result: Any = None  # ComparisonResult (training) or DataFrame (ε sweep)
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of the progress for display."""
        with self.lock:
            return {
                "status": self.status,
                "stage": self.stage,
                "events": list(self.events),
                "error": self.error,
                "elapsed": self.elapsed,
            }

    def progress_fraction(self) -> float:
        """Share of the configured epochs done, over the trained methods (approximate)."""
        epochs = max(1, int(self.config.get("epochs", 1)))
        trained = [m for m in self.config.get("methods", ()) if m != "two_stage"] or ["dff"]
        with self.lock:
            done = {}
            for e in self.events:
                m, ep = e.get("method"), e.get("epoch")
                if m in trained and isinstance(ep, (int, float)):
                    done[m] = max(done.get(m, 0), int(ep))
        if self.status == "done":
            return 1.0
        return float(min(0.99, sum(min(v, epochs) for v in done.values()) / (epochs * len(trained))))


@st.cache_resource
def _jobs() -> dict[str, Job]:
    """Process-wide job table. Sessions only reach their own jobs through the id in their session state."""
    return {}


_JOBS_LOCK = threading.Lock()
#: What the progress bar says for each engine stage.
STAGE_LABELS = {
    "backbone": "fitting the backbone",
    "dff": "training DFF",
    "dfl": "training end-to-end DFL",
    "evaluate": "scoring on the test set",
}


#: Finished jobs are dropped from the table after this many seconds (their results live in the store).
JOB_TTL_S = 1800.0


def _register(job: Job) -> None:
    """Add ``job`` to the table, dropping finished jobs past :data:`JOB_TTL_S` and this session's older ones."""
    now = time.perf_counter()
    with _JOBS_LOCK:
        table = _jobs()
        for jid, j in list(table.items()):
            stale = j.finished is not None and now - j.finished > JOB_TTL_S
            replaced = j.session == job.session and not j.running and j.config.get("sweep") == job.config.get("sweep")
            if stale or replaced:
                table.pop(jid, None)
        table[job.id] = job


def _progress_event(args: tuple, kwargs: dict) -> dict[str, Any]:
    """Normalise whatever the engine passes to ``on_progress`` into one flat record."""
    ev: dict[str, Any] = {}
    for a in args:
        if isinstance(a, ProgressEvent):  # the engine's typed event, flattened as before (stage names as methods)
            rec = dataclasses.asdict(a)
            ev.update({**rec.pop("metrics"), **{k: v for k, v in rec.items() if k != "stage" and v is not None}})
            ev.setdefault("method", a.stage)
        elif isinstance(a, Mapping):
            ev.update(a)
        elif isinstance(a, str):
            ev.setdefault("method" if "method" not in ev else "stage", a)
        elif isinstance(a, (int, np.integer)) and "epoch" not in ev:
            ev["epoch"] = int(a)
    ev.update(kwargs)
    out = {}
    for k, v in ev.items():
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        if isinstance(v, (str, int, float, bool)) or v is None:
            out[k] = v
    return out


def _work(job: Job, compare_fn: Callable[[], Any], save: Callable[[str, Any], Any] | None = None) -> None:
    """Worker thread body: never touches ``st``."""
    try:
        import torch

        torch.set_num_threads(1)
    except Exception:
        pass
    with job.lock:
        job.status = "running"
    try:
        result = compare_fn()
        if job.cancel.is_set():
            with job.lock:
                job.status, job.stage = "cancelled", "cancelled"
            return
        with job.lock:
            job.stage = "saving"
        if save is None:
            save_result(job.digest, result, job.config, job.data_digest)
        else:
            save(job.digest, result)
        with job.lock:
            job.result, job.status, job.stage = result, "done", "done"
    except Exception as exc:
        with job.lock:
            if job.cancel.is_set():
                job.status, job.stage = "cancelled", "cancelled"
            else:
                job.status, job.stage = "error", "error"
                job.error = f"{type(exc).__name__}: {exc}"
                job.events.append({"stage": "traceback", "text": traceback.format_exc(limit=6)})
    finally:
        job.finished = time.perf_counter()


def compare_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments of :func:`dff_core.compare` taken from a run configuration."""
    return {
        "backbone": config["backbone"],
        "epsilon": float(config["epsilon"]),
        "methods": tuple(config["methods"]),
        "seed": int(config.get("seed", 0)),
        "loss": config["loss"],
        "epochs": int(config["epochs"]),
    }


def start_job(session: str, loaded: Loaded, config: Mapping[str, Any]) -> Job:
    """Start (or reuse) the comparison of ``config`` on ``loaded`` in a background thread.

    A stored result for the same digest is loaded instead of recomputed.
    """
    config = dict(config)
    digest = run_digest(loaded.digest, config)
    job = Job(id=uuid.uuid4().hex, session=session, digest=digest, config=config, data_digest=loaded.digest)
    _register(job)
    if has_result(digest):
        try:
            job.result = load_result(digest, get_scenario(loaded, config))
            job.status, job.stage, job.finished = "done", "loaded from the result store", time.perf_counter()
            return job
        except Exception:  # unreadable store entry: recompute it
            pass

    def on_progress(*args: Any, **kwargs: Any) -> None:
        ev = _progress_event(args, kwargs)
        with job.lock:
            job.events.append(ev)
            if ev.get("stage"):
                job.stage = str(ev["stage"])
            elif ev.get("method"):
                job.stage = STAGE_LABELS.get(str(ev["method"]), str(ev["method"]))

    scenario = get_scenario(loaded, config)  # here, in the script thread: cached and Streamlit-aware

    def run() -> ComparisonResult:
        import dff_core

        with job.lock:
            job.stage = "training"
        return dff_core.compare(
            scenario, **compare_kwargs(config), on_progress=on_progress, should_stop=job.cancel.is_set
        )

    threading.Thread(target=_work, args=(job, run), name=f"dff-job-{job.id[:8]}", daemon=True).start()
    return job


def get_job(job_id: str | None, session: str) -> Job | None:
    """This session's job with ``job_id`` (other sessions' jobs are invisible)."""
    if not job_id:
        return None
    job = _jobs().get(job_id)
    return job if job is not None and job.session == session else None


def load_stored(loaded: Loaded, config: Mapping[str, Any]) -> tuple[str, ComparisonResult] | None:
    """The stored result for ``config`` on ``loaded``, if this exact run finished before."""
    digest = run_digest(loaded.digest, dict(config))
    if not has_result(digest):
        return None
    try:
        return digest, _load_cached(digest, loaded)
    except Exception:
        return None


@st.cache_resource(max_entries=4, scope="session")
def _load_cached_inner(digest: str, options_json: str, _loaded: Loaded) -> ComparisonResult:
    scenario = _scenario(_loaded.digest, options_json, _loaded)
    return load_result(digest, scenario)


def _load_cached(digest: str, loaded: Loaded) -> ComparisonResult:
    meta = json.loads((_run_dir(digest) / "meta.json").read_text())
    cfg = meta.get("run_config") or meta["config"]
    return _load_cached_inner(digest, json.dumps(scenario_options(cfg), sort_keys=True), loaded)


# ============================================================================ ε sweep
SWEEP_EPSILONS = (0.05, 0.1, 0.2, 0.3, 0.5)


def _sweep_path(digest: str) -> Path:
    return cache_dir() / f"sweep-{_run_dir(digest).name}.csv"


def _save_sweep(digest: str, table: pd.DataFrame) -> None:
    tmp = _sweep_path(digest).with_suffix(f".tmp-{uuid.uuid4().hex[:8]}")
    table.to_csv(tmp, index=False)
    tmp.replace(_sweep_path(digest))


def stored_sweep(loaded: Loaded, config: Mapping[str, Any], epsilons: tuple[float, ...]) -> pd.DataFrame | None:
    """A finished ε sweep for this data and configuration, if one was stored."""
    p = _sweep_path(run_digest(loaded.digest, {**config, "sweep": list(epsilons)}))
    return pd.read_csv(p) if p.is_file() else None


def start_sweep(session: str, loaded: Loaded, config: Mapping[str, Any], epsilons: tuple[float, ...]) -> Job:
    """Run the ε trade-off sweep for ``config`` in a background thread (stored as CSV)."""
    cfg = {**config, "sweep": list(epsilons)}
    job = Job(id=uuid.uuid4().hex, session=session, digest=run_digest(loaded.digest, cfg), config=dict(cfg))
    _register(job)

    def on_progress(*args: Any, **kwargs: Any) -> None:
        ev = _progress_event(args, kwargs)
        with job.lock:
            job.events.append(ev)
            if ev.get("stage"):
                job.stage = str(ev["stage"])

    scenario = get_scenario(loaded, config)

    def run() -> pd.DataFrame:
        import os

        from dff_core.sweep import sweep as run_sweep

        kw = compare_kwargs(config)
        grid = {"epsilon": list(epsilons), "seed": [kw["seed"]], "backbone": [kw["backbone"]], "loss": [kw["loss"]]}
        total = len(epsilons)

        def progress(done: int, n: int, row: Mapping[str, Any]) -> None:
            on_progress({"stage": f"{done} of {n} ε values done", "method": "dff", "epoch": done, "epochs": n})

        on_progress({"stage": f"0 of {total} ε values done", "method": "dff", "epoch": 0, "epochs": total})
        # The engine's local sweep backend: one process per core, each run a full plain-vs-DFF
        # comparison; finished runs are kept under the cache folder, so a cancelled sweep resumes.
        res = run_sweep(
            scenario,
            grid,
            backend="local",
            max_workers=max(1, min(total, os.cpu_count() or 1)),
            out_dir=cache_dir() / f"sweep-runs-{_run_dir(job.digest).name}",
            train={"epochs": kw["epochs"], "methods": ["two_stage", "dff"]},
            on_progress=progress,
            should_stop=job.cancel.is_set,
        )
        if len(res.failed):
            raise RuntimeError(f"{len(res.failed)} sweep run(s) failed: {res.failed['error'].iloc[0]}")
        runs = res.runs.sort_values("epsilon").reset_index(drop=True)
        return pd.DataFrame(
            {
                "epsilon": runs["epsilon"].astype(float),
                "regret_mean": runs["regret_dff"],
                "normalized_regret": runs["normalized_regret_dff"],
                "mse": runs["mse_dff"],
                "mean_relative_shift": runs["mean_relative_shift"],
                "max_relative_shift": runs["max_relative_shift"],
                "min_cosine": runs["min_cosine"],
                "plain_regret": runs["regret_two_stage"],
                "seconds": runs["seconds"],
            }
        )

    threading.Thread(target=_work, args=(job, run, _save_sweep), name=f"dff-sweep-{job.id[:8]}", daemon=True).start()
    return job
