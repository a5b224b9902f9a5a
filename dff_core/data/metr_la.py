"""METR-LA (Los Angeles freeway loop detectors, one week) and a safe reader for its pickle."""

from __future__ import annotations

import _compat_pickle
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dff_core.data.dataset import Dataset
from dff_core.data.graph import DETOUR_FACTOR, haversine_km
from dff_core.data.io import Source
from dff_core.data.load import load_dataset
from dff_core.data.paths import shared_data_dir
from dff_core.errors import DataError

__all__ = ["METR_LA_FREQ", "METR_LA_START", "load_metr_la", "read_restricted_pickle"]

#: Row i of los_speed.csv is this start + 5 min * i (see the dataset's SOURCE.md).
METR_LA_START = pd.Timestamp("2012-03-01 00:00")
METR_LA_FREQ = pd.Timedelta("5min")

_SAFE_BUILTINS = {
    "list",
    "dict",
    "tuple",
    "set",
    "frozenset",
    "str",
    "bytes",
    "bytearray",
    "int",
    "float",
    "complex",
    "bool",
}
_SAFE_NUMPY = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),  # protocol 5
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    # protocol-2 pickles written by Python 3 store an array's raw bytes via _codecs.encode(str, "latin1"),
    # a pure function that only builds a bytes object
    ("_codecs", "encode"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Admits only plain containers, strings, numbers and numpy arrays; anything else is refused."""

    def find_class(self, module: str, name: str) -> Any:
        mod, nm = module, name
        if (mod, nm) in _compat_pickle.NAME_MAPPING:  # Python 2 names
            mod, nm = _compat_pickle.NAME_MAPPING[(mod, nm)]
        elif mod in _compat_pickle.IMPORT_MAPPING:
            mod = _compat_pickle.IMPORT_MAPPING[mod]
        if mod == "builtins" and nm in _SAFE_BUILTINS:
            return super().find_class(module, name)
        if (mod, nm) in _SAFE_NUMPY:
            if mod.startswith("numpy.core"):  # numpy >= 2 moved numpy.core to numpy._core
                mod = "numpy._core" + mod[len("numpy.core") :]
            return super().find_class(mod, nm)
        raise pickle.UnpicklingError(
            f"refused to load '{module}.{name}': only lists, dicts, tuples, strings, numbers and numpy arrays "
            "are allowed in this pickle"
        )


def read_restricted_pickle(path: str | Path) -> Any:
    """Load a pickle that may only contain containers, strings, numbers and numpy arrays.

    Used for the original METR-LA ``adj_mx.pkl`` (a Python 2 pickle, read with latin1). Any other
    global (functions, classes such as ``os.system``) raises :class:`DataError` instead of running.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise DataError([f"{path.name}: {exc}. The file was not loaded."]) from exc
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise DataError([f"{path.name}: not a readable pickle ({exc})."]) from exc


def _folder(folder: str | Path | None) -> Path:
    if folder is not None:
        return Path(folder)
    base = shared_data_dir()
    if base is None:
        raise FileNotFoundError(
            "METR-LA data not found: set DFF_SHARED_DATA to the folder holding 'metr-la-week', or pass folder="
        )
    return base / "metr-la-week"


def metr_la_links(sensor_ids: list[str], adj: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> pd.DataFrame:
    """Directed links where the adjacency is non-zero (no self loops); length = haversine x detour."""
    i, j = np.nonzero(adj)
    off = i != j
    i, j = i[off], j[off]
    ids = np.asarray(sensor_ids, dtype=object)
    return pd.DataFrame(
        {
            "from_id": ids[i],
            "to_id": ids[j],
            "length_km": DETOUR_FACTOR * haversine_km(lat[i], lon[i], lat[j], lon[j]),
            "capacity": np.nan,
        }
    )


def load_metr_la(folder: str | Path | None = None, *, days: int | None = None) -> Dataset:
    """The METR-LA week (207 sensors, 5-minute speeds in mph, 1-7 March 2012) as a :class:`Dataset`.

    Links are the non-zero entries of ``adj_mx.npz`` (DCRNN road-distance kernel), lengths from
    coordinates. ``days`` keeps only the first days.
    """
    folder = _folder(folder)
    speed = folder / "los_speed.csv"
    if not speed.exists():
        raise FileNotFoundError(f"{speed} not found; is {folder} the metr-la-week folder?")
    with np.load(folder / "adj_mx.npz", allow_pickle=False) as z:
        ids = [str(s) for s in z["sensor_ids"]]
        adj = np.asarray(z["adj"], dtype=float)
    loc = pd.read_csv(folder / "graph_sensor_locations.csv", dtype={"sensor_id": str})
    loc = loc.set_index("sensor_id").loc[ids]
    links = metr_la_links(ids, adj, loc["latitude"].to_numpy(), loc["longitude"].to_numpy())
    readings: Source = speed
    if days is not None:
        if days < 1:
            raise ValueError(f"days={days} must be at least 1")
        rows = days * int(pd.Timedelta("1D") / METR_LA_FREQ)
        readings = pd.read_csv(speed, dtype=str, nrows=rows)
    ds, _ = load_dataset(
        readings,
        folder / "graph_sensor_locations.csv",
        links,
        value="speed_mph",
        start=METR_LA_START,
        freq=METR_LA_FREQ,
        readings_name="los_speed.csv",
        links_name="adj_mx.npz",
        min_steps=min(288, days * 288 if days else 288),
        source="metr-la",
    )
    return ds
