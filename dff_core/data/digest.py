"""SHA-256 digests of input data and configurations, the keys of caches, result stores and sweep runs.

Every digest in the project comes from here, so the same content always gets the same key.
The values are persisted (the dashboard's result folders, sweep ``run_id`` values, the
``data_digest`` of saved runs): changing how any of them is computed orphans stored results.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from dff_core.data.dataset import Dataset

__all__ = ["dataset_digest", "digest_bytes", "fingerprint", "frame_digest", "json_digest", "object_digest"]

#: Nesting depth beyond which :func:`fingerprint` records only the type name.
MAX_DEPTH = 6


def digest_bytes(parts: Mapping[str, bytes]) -> str:
    """SHA-256 over named byte strings (e.g. uploaded files by role); independent of their order."""
    h = hashlib.sha256()
    for name in sorted(parts):
        h.update(name.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(parts[name]).digest())
    return h.hexdigest()


def dataset_digest(dataset: Dataset) -> str:
    """SHA-256 of a :class:`Dataset`'s content (readings, sensors, links, units, step), stable across runs."""
    h = hashlib.sha256()
    h.update(f"{dataset.value_kind}|{dataset.freq.value}|".encode())
    readings, sensors, links = dataset.readings, dataset.sensors, dataset.links
    h.update(np.asarray(readings.index.asi8, dtype=np.int64).tobytes())
    h.update("\x1f".join(map(str, readings.columns)).encode())
    h.update(np.ascontiguousarray(readings.to_numpy(dtype=np.float64)).tobytes())
    h.update("\x1f".join(map(str, sensors.index)).encode())
    h.update(np.ascontiguousarray(sensors[["latitude", "longitude"]].to_numpy(np.float64)).tobytes())
    h.update("\x1f".join(map(str, sensors["name"])).encode())
    h.update("\x1f".join(links["from_id"].astype(str) + ">" + links["to_id"].astype(str)).encode())
    h.update(np.ascontiguousarray(links[["length_km", "capacity"]].to_numpy(np.float64)).tobytes())
    # content that older datasets never had enters only when present, so their digests stay the same
    tz = getattr(readings.index, "tz", None)
    if tz is not None:
        h.update(f"|tz={getattr(tz, 'key', None) or tz}".encode())
    for col in ("lanes", "free_flow_kmh"):
        if col in links.columns:
            h.update(f"|{col}".encode())
            h.update(np.ascontiguousarray(links[col].to_numpy(np.float64)).tobytes())
    return h.hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's values row by row (its index ignored), e.g. validated allocation items."""
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def json_digest(obj: Any) -> str:
    """SHA-256 of ``obj`` as canonical JSON (sorted keys; non-JSON values by ``str``): a configuration's key."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def object_digest(obj: Any, skip: Collection[str] = ()) -> str:
    """SHA-256 of :func:`fingerprint` over an object's public fields (dataclass fields or attributes) but ``skip``."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        parts = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    else:
        parts = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    h = hashlib.sha256()
    fingerprint({k: v for k, v in parts.items() if k not in skip}, h)
    return h.hexdigest()


def fingerprint(obj: Any, h: Any, depth: int = 0) -> None:
    """Feed a stable description of ``obj`` (arrays, tables, containers, dataclasses, plain objects) into ``h``."""
    if depth > MAX_DEPTH:
        h.update(type(obj).__name__.encode())
        return
    if obj is None or isinstance(obj, (bool, int, float, str)):
        h.update(repr(obj).encode())
    elif isinstance(obj, bytes):
        h.update(obj)
    elif isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"nd{a.dtype.str}{a.shape}".encode())
        h.update(repr(a.tolist()).encode() if a.dtype == object else a.tobytes())
    elif isinstance(obj, np.generic):
        h.update(repr(obj.item()).encode())
    elif isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
        h.update(type(obj).__name__.encode())
        h.update(pd.util.hash_pandas_object(obj if not isinstance(obj, pd.Index) else obj.to_series()).values.tobytes())
        if isinstance(obj, pd.DataFrame):
            h.update(repr(list(obj.columns)).encode())
    elif isinstance(obj, Mapping):
        h.update(b"{")
        for k in sorted(obj, key=repr):
            h.update(repr(k).encode())
            fingerprint(obj[k], h, depth + 1)
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(b"[")
        for v in obj:
            fingerprint(v, h, depth + 1)
        h.update(b"]")
    elif isinstance(obj, (set, frozenset)):
        fingerprint(sorted(obj, key=repr), h, depth + 1)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(type(obj).__qualname__.encode())
        fingerprint({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, h, depth + 1)
    elif hasattr(obj, "__dict__") and not callable(obj):
        h.update(type(obj).__qualname__.encode())
        fingerprint({k: v for k, v in vars(obj).items() if not k.startswith("_")}, h, depth + 1)
    else:
        h.update(type(obj).__qualname__.encode())
