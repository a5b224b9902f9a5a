"""A fast reader for large, plain CSV files, with the exact line numbers of the careful reader.

:func:`dff_core.data.io.read_table` reads any CSV a user may upload (odd delimiters, quotes,
blank lines, bad rows) and keeps each row's editor line, at Python speed. Large readings files are
almost always plain: UTF-8, comma-separated, no quotes, one record per line. For those,
:func:`read_table_fast` parses with pyarrow's multi-threaded CSV reader into string columns and
numbers the rows itself (row ``i`` is on line ``i + 2``), which is exact because such a file has
no blank lines and no quoted line breaks. Any file that is not plain in this sense, or that pyarrow
cannot parse, goes to ``read_table``, so every message still names the right line and column.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from dff_core.data.io import INDEX_COLUMN, Source, Table, normalize_column, read_bytes, read_table
from dff_core.data.report import IssueCollector

__all__ = ["FAST_MIN_BYTES", "ColumnTable", "read_table_fast"]

#: Files smaller than this are read by the careful reader (fast enough, and the behaviour is its own).
FAST_MIN_BYTES = 1 << 20


class _Rows(Sequence):
    """Row view of a :class:`ColumnTable` (built on demand; the loaders only look at the first rows)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def __len__(self) -> int:
        return len(self._frame)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return [str(v) for v in self._frame.iloc[i].tolist()]

    def __iter__(self) -> Iterator[list[str]]:
        for i in range(len(self)):
            yield self[i]


class ColumnTable(Table):
    """A :class:`Table` stored by columns (pyarrow strings): same interface, built without Python rows."""

    def __init__(self, name: str, frame: pd.DataFrame) -> None:
        lines = np.arange(2, len(frame) + 2, dtype=np.int64)
        super().__init__(name, [str(c) for c in frame.columns], _Rows(frame), lines, ",")  # type: ignore[arg-type]
        self._frame = frame

    def column(self, name: str) -> list[str]:
        return self._frame[name].astype(str).tolist()

    def frame(self) -> pd.DataFrame:
        out = self._frame.copy()
        out["_line"] = self.lines
        return out


def _plain_text(data: bytes) -> bytes | None:
    """The bytes without a UTF-8 byte-order mark if the file is plain (see module docstring), else ``None``."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if len(data) < FAST_MIN_BYTES or b'"' in data or b"\x00" in data or b"\r" in data:
        return None
    if data[:2] == b"\x1f\x8b" or data[:4] in (b"PK\x03\x04", b"PAR1"):
        return None
    body = data.rstrip(b"\n")
    if b"\n\n" in body:
        return None  # blank lines: the careful reader keeps their line numbers
    header = body[: body.find(b"\n")] if b"\n" in body else body
    if header.count(b",") == 0 or any(header.count(d) > header.count(b",") for d in (b";", b"\t", b"|")):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return data


def _header_ok(names: list[str]) -> bool:
    """Headers the careful reader treats specially (empty, repeated, trailing separators) go there."""
    return all(n.strip() for n in names) and len(set(names)) == len(names)


def read_table_fast(src: Source, name: str, issues: IssueCollector) -> Table | None:
    """Like :func:`~dff_core.data.io.read_table`, much faster for large plain CSV files.

    Returns a :class:`ColumnTable` for a plain file pyarrow parses, else what ``read_table`` returns.
    """
    if isinstance(src, pd.DataFrame):
        return read_table(src, name, issues)
    data = read_bytes(src, name, issues)
    if data is None:
        return None
    plain = _plain_text(data)
    if plain is None:
        return read_table(data, name, issues)
    try:
        header = [c.strip() for c in plain[: plain.find(b"\n")].decode("utf-8").split(",")]
        if not _header_ok(header):
            return read_table(data, name, issues)
        types = dict.fromkeys(header, pa.string())
        parsed = pacsv.read_csv(
            io.BytesIO(plain),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=",", quote_char=False, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, ValueError):
        return read_table(data, name, issues)  # wrong field counts and the like: messages with line numbers
    n_lines = plain.rstrip(b"\n").count(b"\n")
    if parsed.num_rows != n_lines or parsed.num_rows == 0:
        return read_table(data, name, issues)
    columns = {}
    for col_name, col in zip(header, parsed.columns):
        columns[col_name] = pd.Series(pd.arrays.ArrowStringArray(col.combine_chunks())).str.strip()
    frame = pd.DataFrame(columns)
    if normalize_column(header[0]) in ("unnamed:_0", "index"):
        frame = frame.rename(columns={header[0]: INDEX_COLUMN})
    return ColumnTable(name, frame)
