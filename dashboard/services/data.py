"""Datasets for the pages: the sample city or uploaded CSVs, validated by the engine, with display tables.

Loading is cached by the SHA-256 digest of the files' bytes (:func:`dff_core.data.digest.digest_bytes`;
see :mod:`dashboard.services.cache`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dashboard.services import cache
from dashboard.services.labels import in_app, value_label
from dashboard.services.network import NETWORK_KINDS, RoadView, load_network, network_options
from dashboard.services.state import SAMPLE_NAME, UPLOADED_NAME
from dff_core.data import load_dataset, load_items
from dff_core.data import sample_paths as engine_sample_paths
from dff_core.data.digest import digest_bytes
from dff_core.errors import DataError

#: Loader options the Data page sets, beyond ``value`` (the scenario spec's reading fields), and their defaults.
READ_DEFAULTS: dict[str, str | None] = {
    "start": None,
    "freq": None,
    "duplicates": "error",
    "zero_speeds": "missing",
    "timezone": None,
    "crs": None,
    "count_unit": None,
}


__all__ = [
    "READ_DEFAULTS",
    "Loaded",
    "digest_bytes",
    "issues_frame",
    "links_segments",
    "load_sample_data",
    "load_uploaded_data",
    "read_options",
    "report_frame",
    "sample_files",
    "sample_paths",
    "sensors_frame",
    "upload_digest",
]


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
    #: How the files were read (``value`` and the non-default loader options): they enter the scenario spec.
    options: dict[str, Any] = field(default_factory=dict)
    #: The uploaded road network and the sensors' matches onto it (routing then uses its links), else ``None``.
    network: RoadView | None = None

    @property
    def is_sample(self) -> bool:
        """Whether this is the bundled sample city (so a run's scenario spec can name it)."""
        return self.name == SAMPLE_NAME


def read_options(value: str = "speed_kmh", **options: str | None) -> dict[str, str]:
    """How to read uploaded readings: ``value`` and the options that differ from the loader's defaults.

    Empty text counts as not given; options that do not apply to ``value`` are left out (a count unit
    for speeds, a zero-speed policy for counts), so the same reading has one description.
    """
    unknown = set(options) - set(READ_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown reading option(s): {', '.join(sorted(unknown))}; use {', '.join(READ_DEFAULTS)}.")
    out = {"value": value}
    for key, default in READ_DEFAULTS.items():
        raw = options.get(key)
        v = raw.strip() if isinstance(raw, str) else raw
        if v in (None, "", default):
            continue
        if (key == "count_unit" and value != "count") or (key == "zero_speeds" and value == "count"):
            continue
        out[key] = v
    return out


def upload_digest(
    files: Mapping[str, tuple[str, bytes]],
    value: str = "speed_kmh",
    *,
    network: Mapping[str, Any] | None = None,
    **options: str | None,
) -> str:
    """Digest of uploaded files (``{kind: (name, bytes)}``) and the options they are read with.

    ``network`` holds the road network's options (:func:`~dashboard.services.network.network_options`);
    they count only when a network file is uploaded. A network's file names count too: messages name them.
    """
    opts = dict(read_options(value, **options))
    if any(k in files for k in NETWORK_KINDS):
        opts.update(network_options(**dict(network or {})))
        opts["network_names"] = "/".join(files[k][0] for k in NETWORK_KINDS if k in files)
    text = "|".join(f"{k}={v}" for k, v in sorted(opts.items())).encode()
    return digest_bytes({**{k: blob for k, (_, blob) in files.items()}, "options": text})


# ------------------------------------------------------------------------------ display tables
def sensors_frame(g: pd.DataFrame) -> pd.DataFrame:
    """``sensor_id, name, lat, lon`` from a sensors table (index = sensor id; ``latitude``, ``longitude``)."""
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


def issues_frame(items: list) -> pd.DataFrame:
    """Issues (or plain strings) as a display table: severity, file, line, column, message.

    Every cell is text and a missing file, line or column is an empty cell (never ``None``); options
    the message tells the user to set are named as the pages' controls (:func:`labels.in_app`).
    """
    rows = []
    for it in items:
        if isinstance(it, str):
            it = {"message": it}
        get = it.get if isinstance(it, dict) else lambda k, d=None, it=it: getattr(it, k, d)
        row = get("row")
        rows.append(
            {
                "severity": str(get("severity") or "error"),
                "file": str(get("file") or ""),
                "line": "" if row is None or pd.isna(row) else str(int(row)),
                "column": str(get("column") or ""),
                "message": in_app(str(get("message", None) or it)),
            }
        )
    return pd.DataFrame(rows, columns=["severity", "file", "line", "column", "message"])


def report_frame(report: Any) -> pd.DataFrame:
    """A validation report's errors, warnings and notes as an :func:`issues_frame` table."""
    items: list = [*report.errors, *report.warnings]
    items += [{"severity": "note", "message": m} for m in report.info]
    return issues_frame(items)


def _wrap(
    name: str,
    digest: str,
    dataset: Any,
    report: Any,
    items: pd.DataFrame | None = None,
    options: Mapping[str, Any] | None = None,
    network: RoadView | None = None,
) -> Loaded:
    options = dict(options or {})
    if dataset is None:
        empty = pd.DataFrame()
        return Loaded(name, digest, None, report, empty, empty, empty, "", items, options)
    sensors = sensors_frame(dataset.sensors)
    readings = dataset.readings
    means = readings.mean(axis=0)
    means.index = means.index.astype(str)
    sensors["mean_value"] = sensors["sensor_id"].map(means).to_numpy()
    links = links_segments(getattr(dataset, "links", None), sensors)
    label = value_label(dataset.value_kind, dataset.unit)
    return Loaded(name, digest, dataset, report, sensors, links, readings, label, items, options, network)


# ------------------------------------------------------------------------------ loaders
def sample_paths() -> dict[str, Path]:
    """Paths of the sample city's files (readings, sensors, links, items)."""
    return {k: Path(v) for k, v in engine_sample_paths().items()}


def sample_files() -> dict[str, bytes]:
    """Bytes of the sample city's files (for the digest and the downloadable examples)."""
    return {k: p.read_bytes() for k, p in sample_paths().items() if p.is_file()}


def _read_sample(digest: str) -> Loaded:
    paths = sample_paths()
    # The same call as dff_core.data.load_sample, keeping the validation report for the Data page.
    dataset, report = load_dataset(
        paths["readings"], paths["sensors"], paths["links"], value="speed_kmh", source="sample"
    )
    items = None
    if paths.get("items") is not None and paths["items"].is_file():
        items, _ = load_items(paths["items"])
    return _wrap(SAMPLE_NAME, digest, dataset, report, items)


def load_sample_data() -> Loaded:
    """The sample city (cached by the digest of its files)."""
    files = sample_files()
    if "readings" not in files:
        raise FileNotFoundError(
            "sample_data/readings.csv is missing; regenerate it with `python -m dff_core.data.synthetic`."
        )
    digest = digest_bytes(files)
    return cache.sample_data(digest, lambda: _read_sample(digest))


def _read_uploaded(
    digest: str, files: Mapping[str, tuple[str, bytes]], options: Mapping[str, str], network: Mapping[str, Any]
) -> Loaded:
    dataset = report = items = road = None
    if "readings" in files:
        kw: dict[str, Any] = dict(options)
        for kind in ("readings", "sensors", "links"):
            if kind in files:
                kw[kind] = files[kind][1]
                kw[f"{kind}_name"] = files[kind][0]
        dataset, report = load_dataset(**kw)
    if "allocation" in files:
        name, blob = files["allocation"]
        items, rep2 = load_items(blob, name=name)
        report = report or rep2
    if dataset is None and items is None:
        raise DataError(["No readings or allocation file: upload a readings CSV (with sensors) or an allocation CSV."])
    if any(k in files for k in NETWORK_KINDS):
        road = load_network({k: files[k] for k in NETWORK_KINDS if k in files}, dataset, report, network)
    return _wrap(UPLOADED_NAME, digest, dataset, report, items, options if dataset is not None else {}, road)


def load_uploaded_data(
    files: Mapping[str, tuple[str, bytes]],
    value: str = "speed_kmh",
    *,
    network: Mapping[str, Any] | None = None,
    **options: str | None,
) -> Loaded:
    """Validate and load uploaded files: ``{kind: (file name, bytes)}`` with kind in ``state.UPLOAD_KINDS``
    or a road network's (:data:`~dashboard.services.network.NETWORK_KINDS`).

    ``value`` says what the readings measure; ``options`` are the loader's reading options
    (:data:`READ_DEFAULTS`: ``start``/``freq`` date a wide file without timestamps, as METR-LA's;
    ``duplicates``, ``zero_speeds``, ``timezone``, ``crs``, ``count_unit``); ``network`` the road
    network's (``network_crs``, ``match_distance``): the network is checked and the sensors matched
    onto its links by the engine, as a run will. Raises the engine's ``DataError`` (with ``.problems``)
    when the files are unusable, ``ValueError`` for bad options.
    """
    opts = read_options(value, **options)
    net_opts = network_options(**dict(network or {})) if any(k in files for k in NETWORK_KINDS) else {}
    digest = upload_digest(files, value, network=network, **options)
    files = dict(files)
    return cache.uploaded_data(digest, lambda: _read_uploaded(digest, files, opts, net_opts))
