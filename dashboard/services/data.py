"""Datasets for the pages: the sample city or uploaded CSVs, validated by the engine, with display tables.

Loading is cached by the SHA-256 digest of the files' bytes (:func:`dff_core.data.digest.digest_bytes`;
see :mod:`dashboard.services.cache`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dashboard.services import cache
from dashboard.services.state import SAMPLE_NAME, UPLOADED_NAME
from dff_core.data import load_dataset, load_items
from dff_core.data import sample_paths as engine_sample_paths
from dff_core.data.digest import digest_bytes
from dff_core.errors import DataError

#: What the readings measure, as the Data page labels them.
VALUE_LABELS = {"speed_kmh": "Speed (km/h)", "speed_mph": "Speed (mph)", "count": "Count (vehicles per interval)"}


__all__ = [
    "VALUE_LABELS",
    "Loaded",
    "digest_bytes",
    "issues_frame",
    "links_segments",
    "load_sample_data",
    "load_uploaded_data",
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

    @property
    def is_sample(self) -> bool:
        """Whether this is the bundled sample city (so a run's scenario spec can name it)."""
        return self.name == SAMPLE_NAME


def upload_digest(
    files: Mapping[str, tuple[str, bytes]], value: str, start: str | None = None, freq: str | None = None
) -> str:
    """Digest of uploaded files (``{kind: (name, bytes)}``) and the options they are read with."""
    opts = f"{value}|{start or ''}|{freq or ''}".encode()
    return digest_bytes({**{k: blob for k, (_, blob) in files.items()}, "options": opts})


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


def _wrap(name: str, digest: str, dataset: Any, report: Any, items: pd.DataFrame | None = None) -> Loaded:
    if dataset is None:
        return Loaded(name, digest, None, report, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), "", items)
    sensors = sensors_frame(dataset.sensors)
    readings = dataset.readings
    means = readings.mean(axis=0)
    means.index = means.index.astype(str)
    sensors["mean_value"] = sensors["sensor_id"].map(means).to_numpy()
    links = links_segments(getattr(dataset, "links", None), sensors)
    label = VALUE_LABELS.get(getattr(dataset, "value_kind", ""), "Reading")
    return Loaded(name, digest, dataset, report, sensors, links, readings, label, items)


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
    digest: str, files: Mapping[str, tuple[str, bytes]], value: str, start: str | None, freq: str | None
) -> Loaded:
    dataset = report = items = None
    if "readings" in files:
        kw: dict[str, Any] = {"value": value, "start": start, "freq": freq}
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
    return _wrap(UPLOADED_NAME, digest, dataset, report, items)


def load_uploaded_data(
    files: Mapping[str, tuple[str, bytes]],
    value: str = "speed_kmh",
    start: str | None = None,
    freq: str | None = None,
) -> Loaded:
    """Validate and load uploaded CSVs: ``{kind: (file name, bytes)}`` with kind in ``state.UPLOAD_KINDS``.

    ``start``/``freq`` date a wide readings file that has no timestamp column (METR-LA's layout).
    Raises the engine's ``DataError`` (with ``.problems``) when the files are unusable.
    """
    digest = upload_digest(files, value, start, freq)
    files = dict(files)
    return cache.uploaded_data(digest, lambda: _read_uploaded(digest, files, value, start, freq))
