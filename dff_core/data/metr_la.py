"""METR-LA (Los Angeles freeway loop detectors, one week) and a safe reader for its pickle."""

from __future__ import annotations

import io
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy._core.multiarray import scalar as _np_scalar
from numpy._core.numeric import _frombuffer as _np_frombuffer  # pyright: ignore[reportAttributeAccessIssue]  # private, not in the stubs

from dff_core.data.dataset import Dataset
from dff_core.data.graph import DETOUR_FACTOR, haversine_km
from dff_core.data.io import MAX_ARRAY_BYTES, Source, read_npz, read_regular_file, regular_file_problem
from dff_core.data.load import load_dataset
from dff_core.data.paths import shared_data_dir
from dff_core.errors import DataError

__all__ = [
    "MAX_ARRAY_BYTES",
    "MAX_PICKLE_BYTES",
    "METR_LA_FREQ",
    "METR_LA_START",
    "load_metr_la",
    "read_restricted_pickle",
]

#: Row i of los_speed.csv is this start + 5 min * i (see the dataset's SOURCE.md).
METR_LA_START = pd.Timestamp("2012-03-01 00:00")
METR_LA_FREQ = pd.Timedelta("5min")

#: Largest pickle :func:`read_restricted_pickle` reads (the METR-LA ``adj_mx.pkl`` is 0.7 MB).
MAX_PICKLE_BYTES = 64 * 1024**2


class _ArrayType:
    """Stands in for ``numpy.ndarray`` inside a pickle: passed to ``_reconstruct``, refused when called
    (``ndarray(shape)`` would allocate whatever shape the file names)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise pickle.UnpicklingError("refused to call 'numpy.ndarray': arrays are only rebuilt from their data")


_ARRAY = _ArrayType()


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's array stub, allowed only empty: the data (and real shape) come from the file in BUILD."""
    if subtype is not _ARRAY or not isinstance(shape, tuple) or math.prod(shape) != 0:
        raise pickle.UnpicklingError(f"refused to allocate a numpy array of shape {shape!r} before its data")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _dtype(*args: Any) -> np.dtype:
    """``numpy.dtype`` without object types (object arrays hold arbitrary Python objects)."""
    dt = np.dtype(*args)
    if dt.hasobject:
        raise pickle.UnpicklingError("refused an object array: only numbers and strings are allowed")
    return dt


def _latin1(obj: Any, encoding: str = "latin1", *args: Any) -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it: a str to latin-1 bytes (same size), nothing else."""
    if not isinstance(obj, str) or encoding.replace("-", "").replace("_", "").lower() != "latin1" or args:
        raise pickle.UnpicklingError(f"refused '_codecs.encode' with encoding {encoding!r}")
    return obj.encode("latin-1")


#: Everything a pickle may name: what numpy arrays and Python 2/3 pickles of them need. Lists, dicts,
#: tuples, strings and numbers are built by the pickle's own opcodes and need no global. Callables
#: that could allocate a size named in the file (``bytearray(n)``, ``ndarray(shape)``) are not here;
#: ``scalar`` and ``_frombuffer`` build from the file's bytes, so they allocate no more than it holds.
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _ARRAY,
    ("numpy", "dtype"): _dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): _np_scalar,
    ("numpy._core.multiarray", "scalar"): _np_scalar,
    ("numpy.core.numeric", "_frombuffer"): _np_frombuffer,  # protocol 5
    ("numpy._core.numeric", "_frombuffer"): _np_frombuffer,
    # protocol-2 pickles written by Python 3 store an array's raw bytes via _codecs.encode(str, "latin1")
    ("_codecs", "encode"): _latin1,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Admits only plain containers, strings, numbers and numpy arrays of numbers/strings; anything else
    (any other global, object arrays, calls that allocate a size named in the file) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(
                f"refused to load '{module}.{name}': only lists, dicts, tuples, strings, numbers and numpy arrays "
                "are allowed in this pickle"
            )
        return _ALLOWED[(module, name)]


def read_restricted_pickle(path: str | Path) -> Any:
    """Load a pickle that may only contain containers, strings, numbers and numpy arrays.

    Used for the original METR-LA ``adj_mx.pkl`` (a Python 2 pickle, read with latin1). Any other
    global (functions, classes such as ``os.system``) raises :class:`DataError` instead of running;
    so do object arrays, files larger than :data:`MAX_PICKLE_BYTES`, and calls that would allocate a
    size the file names (``bytearray(2**31)``, an array shape without its data).
    """
    path = Path(path)
    data = read_regular_file(path)
    if len(data) > MAX_PICKLE_BYTES:
        raise DataError(
            [f"{path.name}: {len(data) / 1024**2:.0f} MiB is larger than the {MAX_PICKLE_BYTES // 1024**2} MiB "
             "accepted for a pickle; convert it to .npz in a trusted step."]
        )  # fmt: skip
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise DataError([f"{path.name}: {exc}. The file was not loaded."]) from exc
    except Exception as exc:  # any malformed pickle: EOFError, ValueError, TypeError, MemoryError, ...
        raise DataError([f"{path.name}: not a readable pickle ({type(exc).__name__}: {exc})."]) from exc


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


def _read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv`` of a regular file, with any parsing failure as a :class:`DataError` naming the file."""
    data = read_regular_file(path)
    try:
        return pd.read_csv(io.BytesIO(data), **kwargs)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:  # incl. UnicodeDecodeError
        raise DataError([f"{path.name}: not a readable CSV file ({str(exc).splitlines()[0]})."]) from exc


def _locations(path: Path, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of each of ``ids`` from the locations file (NaN where not a number)."""
    loc = _read_csv(path, dtype={"sensor_id": str})
    absent = [c for c in ("sensor_id", "latitude", "longitude") if c not in loc.columns]
    if absent:
        raise DataError(
            [f"{path.name}: column(s) {', '.join(absent)} missing; the file needs sensor_id,latitude,longitude."]
        )
    loc = loc.set_index(loc["sensor_id"].astype(str).str.strip())
    loc = loc[~loc.index.duplicated()]
    missing = [s for s in ids if s not in loc.index]
    if missing:
        first = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise DataError(
            [f"{path.name}: {len(missing)} of the {len(ids)} sensors of adj_mx.npz have no location "
             f"(first: {first}). Add their sensor_id,latitude,longitude rows."]
        )  # fmt: skip
    loc = loc.loc[ids]
    return (pd.to_numeric(loc["latitude"], errors="coerce").to_numpy(dtype=float),
            pd.to_numeric(loc["longitude"], errors="coerce").to_numpy(dtype=float))  # fmt: skip


def load_metr_la(folder: str | Path | None = None, *, days: int | None = None) -> Dataset:
    """The METR-LA week (207 sensors, 5-minute speeds in mph, 1-7 March 2012) as a :class:`Dataset`.

    Links are the non-zero entries of ``adj_mx.npz`` (DCRNN road-distance kernel), lengths from
    coordinates. ``days`` keeps only the first days.
    """
    folder = _folder(folder)
    speed = folder / "los_speed.csv"
    if not speed.exists():
        raise FileNotFoundError(f"{speed} not found; is {folder} the metr-la-week folder?")
    problem = regular_file_problem(speed)
    if problem:
        raise DataError([f"los_speed.csv: {problem}"])
    arrays = read_npz(folder / "adj_mx.npz", ("sensor_ids", "adj"))
    ids = [str(s) for s in np.atleast_1d(arrays["sensor_ids"])]
    adj = arrays["adj"]
    if adj.shape != (len(ids), len(ids)) or not np.issubdtype(adj.dtype, np.number):
        raise DataError(
            [f"adj_mx.npz: 'adj' must be a {len(ids)} x {len(ids)} numeric matrix (one row and column per "
             f"sensor id); it has shape {adj.shape} and type {adj.dtype}."]
        )  # fmt: skip
    lat, lon = _locations(folder / "graph_sensor_locations.csv", ids)
    links = metr_la_links(ids, np.asarray(adj, dtype=float), lat, lon)
    readings: Source = speed
    if days is not None:
        if days < 1:
            raise ValueError(f"days={days} must be at least 1")
        rows = days * int(pd.Timedelta("1D") / METR_LA_FREQ)
        readings = _read_csv(speed, dtype=str, nrows=rows)
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
