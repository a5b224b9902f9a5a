"""Open files safely: only regular files, and arrays whose size is checked before they are read.

A device such as ``/dev/zero``, a named pipe or a socket is refused before anything is read;
``.npz`` arrays are never unpickled and their header's shape and type must fit a size cap before
any memory is allocated. Problems are :class:`DataError` naming the file.
"""

from __future__ import annotations

import io
import math
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from dff_core.errors import DataError

__all__ = ["MAX_ARRAY_BYTES", "read_npz", "read_regular_file", "regular_file_problem"]

#: Largest array read from an ``.npz`` file, from the shape and type in its header, checked before
#: anything is decompressed (a dense float32 adjacency of 8,000 sensors).
MAX_ARRAY_BYTES = 256 * 1024**2


def _file_kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def regular_file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be read as a data file (missing, a folder, a device, pipe or socket), or ``None``.

    Only ``stat`` is called: nothing is opened or read, so a device such as ``/dev/zero`` or a named
    pipe (which would block or never end) is refused before any byte is read.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"file not found: '{path}'. Check the path and the file name."
    except OSError as exc:
        return f"could not read '{path}' ({exc.strerror or exc}). Check that it is readable."
    if stat.S_ISDIR(mode):
        return f"'{path}' is a folder, not a file. Give the file inside it."
    if not stat.S_ISREG(mode):
        return f"'{path}' is {_file_kind(mode)}, not a regular file; nothing was read. Give a file saved on disk."
    return None


class _Unreadable(Exception):
    """A file that is not read; the message says why and what to do."""


def _read_regular(path: Path) -> bytes:
    """The bytes of regular file ``path``; :class:`_Unreadable` for anything else.

    The file is opened without blocking and checked again on the open descriptor, so a path swapped
    for a pipe or device after the first check is still refused without reading it.
    """
    problem = regular_file_problem(path)
    if problem:
        raise _Unreadable(problem)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise _Unreadable(f"could not read the file ({exc.strerror or exc}). Check that it is readable.") from exc
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _Unreadable(f"'{path}' is {_file_kind(mode)}, not a regular file; nothing was read.")
        try:
            return fh.read()
        except OSError as exc:
            raise _Unreadable(f"could not read the file ({exc.strerror or exc}). Check that it is readable.") from exc


def read_npz(
    path: str | os.PathLike[str],
    names: tuple[str, ...] | None = None,
    max_bytes: int = MAX_ARRAY_BYTES,
    *,
    max_total_bytes: int = 4 * MAX_ARRAY_BYTES,
    name: str | None = None,
) -> dict[str, np.ndarray]:
    """Arrays ``names`` (default: all) of an ``.npz`` file: numbers and strings only, never pickles.

    Every array's header (shape and type) is checked before its data are decompressed: object arrays are
    refused, and no array may exceed ``max_bytes`` nor all of them ``max_total_bytes``, so a small file
    cannot ask for a huge allocation. Errors are :class:`DataError` naming the file (``name`` or the file
    name) and the array.
    """
    path = Path(path)
    label = name or path.name
    data = read_regular_file(path, label)
    out: dict[str, np.ndarray] = {}
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.namelist()
            if names is None:
                names = tuple(m.removesuffix(".npy") for m in members if m.endswith(".npy"))
            for key in names:
                if f"{key}.npy" not in members:
                    have = ", ".join(sorted(m.removesuffix(".npy") for m in members)) or "none"
                    raise DataError([f"{label}: has no array '{key}' (arrays: {have})."])
                with zf.open(f"{key}.npy") as fh:
                    total += _checked_npy_bytes(fh, label, key, max_bytes)
                if total > max_total_bytes:
                    raise DataError(
                        [f"{label}: its arrays would need {total / 1024**2:,.0f} MiB in all, more than the "
                         f"{max_total_bytes / 1024**2:g} MiB limit."]
                    )  # fmt: skip
                with zf.open(f"{key}.npy") as fh:  # read_array reads the (checked) header again
                    out[key] = np.lib.format.read_array(fh, allow_pickle=False)
    except DataError:
        raise
    except Exception as exc:  # not a zip, truncated, damaged header or data
        raise DataError([f"{label}: not a readable .npz array file ({type(exc).__name__}: {exc})."]) from exc
    return out


def _checked_npy_bytes(fh: Any, label: str, key: str, max_bytes: int) -> int:
    """Size in bytes of the ``.npy`` array whose header starts ``fh``; refuses objects and sizes over ``max_bytes``."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise DataError([f"{label}: array '{key}' uses .npy format {version}; save it again."])
    if dtype.hasobject:
        raise DataError(
            [f"{label}: array '{key}' holds Python objects, which are never loaded (they could run code). "
             "Save it as numbers or strings (e.g. ids as a string array)."]
        )  # fmt: skip
    size = math.prod(shape) * dtype.itemsize
    if size > max_bytes:
        raise DataError(
            [f"{label}: array '{key}' of shape {shape} would need {size / 1024**2:,.0f} MiB, "
             f"more than the {max_bytes / 1024**2:g} MiB limit."]
        )  # fmt: skip
    return size


def read_regular_file(path: str | os.PathLike[str], name: str | None = None) -> bytes:
    """The bytes of the regular file ``path``; :class:`DataError` naming the file (``name`` or the file
    name) for a missing file, a folder, a device, a pipe or a socket (see :func:`regular_file_problem`)."""
    path = Path(path)
    try:
        return _read_regular(path)
    except _Unreadable as exc:
        raise DataError([f"{name or path.name}: {exc}"]) from None
