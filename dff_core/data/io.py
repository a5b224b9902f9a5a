"""Read user files (path, bytes or uploaded file) into a small table of strings with line numbers.

The reader never raises on user-caused problems: it records an :class:`Issue` instead, so that
every problem in every file can be reported at once. It recognises files that are not CSV
(Excel, JSON, Parquet, other binary), strips a UTF-8 byte-order mark, accepts ``;`` and tab
delimiters (with a warning, including decimal commas), and keeps the editor line number of
every row so messages can point at it.

Resources are bounded: only regular files are opened (a device such as ``/dev/zero``, a named
pipe or a socket is refused before anything is read), gzip content is decompressed in chunks and
refused beyond :data:`MAX_DECOMPRESSED_BYTES`, and the text is parsed line by line from the bytes
(no decoded copy of the whole file is kept while the rows are built).
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import gzip
import io
import os
import re
import stat
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO, TypeGuard

import pandas as pd

# Re-exported: reading user files includes opening them safely.
from dff_core.data.files import (
    MAX_ARRAY_BYTES,
    _file_kind,
    _read_regular,
    _Unreadable,
    read_npz,
    read_regular_file,
    regular_file_problem,
)
from dff_core.data.report import IssueCollector

__all__ = [
    "INDEX_COLUMN",
    "MAX_ARRAY_BYTES",
    "MAX_DECOMPRESSED_BYTES",
    "UPLOAD_LIMIT_BYTES",
    "Source",
    "Table",
    "display_name",
    "match_columns",
    "normalize_column",
    "read_bytes",
    "read_npz",
    "read_regular_file",
    "read_table",
    "regular_file_problem",
]

#: Name given to a leading row-number column ('', 'index', 'Unnamed: 0'); loaders ignore it.
INDEX_COLUMN = "index"

#: What a loader reads: a path, CSV text or bytes, an open or uploaded file, or a DataFrame.
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | io.IOBase | BinaryIO | TextIO | pd.DataFrame

#: The dashboard's upload limit per file (``server.maxUploadSize = 50`` MB in .streamlit/config.toml).
UPLOAD_LIMIT_BYTES = 50 * 1024**2
#: Largest content a gzip file may expand to (4 x the upload limit = 200 MiB). CSV compresses about
#: 5-10x, so a real upload stays below it, while a small "gzip bomb" cannot fill the memory: the
#: content is decompressed in chunks and refused as soon as it grows past this size.
MAX_DECOMPRESSED_BYTES = 4 * UPLOAD_LIMIT_BYTES
_CHUNK = 1024**2
_GZIP_MAGIC = b"\x1f\x8b"
_NON_SPACE = re.compile(r"\S")


@dataclass
class Table:
    """A parsed CSV: column names, rows of stripped strings, and each row's 1-based line number."""

    name: str
    columns: list[str]
    rows: list[list[str]]
    lines: list[int]
    delimiter: str = ","

    def column(self, name: str) -> list[str]:
        j = self.columns.index(name)
        return [r[j] for r in self.rows]

    def frame(self) -> pd.DataFrame:
        """All cells as strings, plus a ``_line`` column with the editor line number."""
        df = pd.DataFrame(self.rows, columns=self.columns, dtype=object)
        df["_line"] = self.lines
        return df


def display_name(src: Source, given: str | None, default: str) -> str:
    """The file name as the user knows it: the explicit name, the upload's ``.name``, the path's name."""
    if given:
        return given
    if isinstance(src, pd.DataFrame):
        return default
    if isinstance(src, (str, os.PathLike)) and not _looks_like_text(src):
        fname = Path(src).name
        return fname if len(fname) <= 100 else fname[:60] + "..."
    name = getattr(src, "name", None)
    if isinstance(name, str) and name:
        return Path(name).name
    return default


def _looks_like_text(src: object) -> TypeGuard[str]:
    """A ``str`` holding CSV content rather than a path (it has a line break and is no existing file)."""
    if not isinstance(src, str) or "\n" not in src:
        return False
    try:
        return not Path(src.splitlines()[0]).exists()
    except (OSError, ValueError):  # name too long, NUL byte: not a path
        return True


def read_bytes(src: Source, name: str, issues: IssueCollector) -> bytes | None:
    """Raw bytes of a path, bytes object or file-like; ``None`` (with an issue) if it cannot be read.

    Paths and open files must be regular files (see :func:`regular_file_problem`).
    """
    try:
        if isinstance(src, (bytes, bytearray, memoryview)):
            return bytes(src)
        if _looks_like_text(src):
            return src.encode("utf-8")
        if isinstance(src, (str, os.PathLike)):
            try:
                return _read_regular(Path(src))
            except _Unreadable as exc:
                issues.error(name, None, None, str(exc))
                return None
        # File-likes are duck-typed (BytesIO, uploads, open files): look their methods up by name.
        fileno: Callable[[], int] | None = getattr(src, "fileno", None)
        if callable(fileno):
            with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
                mode = os.fstat(fileno()).st_mode
                if not stat.S_ISREG(mode):
                    issues.error(name, None, None, f"is {_file_kind(mode)}, not a regular file; nothing was read.")
                    return None
        getvalue: Any = getattr(src, "getvalue", None)
        read: Any = getattr(src, "read", None)
        if getvalue is not None:
            data = getvalue()
        elif read is not None:
            seek: Any = getattr(src, "seek", None)
            if seek is not None:
                seek(0)
            data = read()
        else:
            issues.error(name, None, None, f"cannot read a {type(src).__name__}; give a file path, bytes or a file.")
            return None
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    except OSError as exc:
        issues.error(name, None, None, f"could not read the file ({exc.strerror or exc}). Check that it is readable.")
        return None


def _gunzip(data: bytes, name: str, issues: IssueCollector, limit: int) -> bytes | None:
    """Decompress gzip ``data`` in chunks; ``None`` (with an issue) when damaged or larger than ``limit`` bytes.

    At most ``limit`` plus one chunk of output is ever held, however far the archive would expand.
    """
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as gz:
            while chunk := gz.read(min(_CHUNK, limit + 1 - out.tell())):
                out.write(chunk)
                if out.tell() > limit:
                    issues.error(
                        name,
                        None,
                        None,
                        f"decompresses to more than {limit / 1024**2:g} MiB (the limit for gzip files); "
                        "nothing was loaded. Give the CSV file itself, or a smaller extract.",
                    )
                    return None
    except (OSError, EOFError, zlib.error):
        issues.error(name, None, None, "looks like a damaged gzip archive; decompress it and give the CSV file.")
        return None
    return out.getvalue()  # the buffer itself, not a copy


def _decode(
    data: bytes, name: str, issues: IssueCollector, max_decompressed: int | None = None
) -> tuple[bytes, str] | None:
    """The file's content and the encoding to read it with, or ``None`` (with an issue) for content that
    is not a CSV: the message says what it looks like. gzip content is decompressed (bounded by
    ``max_decompressed`` bytes, default :data:`MAX_DECOMPRESSED_BYTES`); UTF-16 is converted to UTF-8.
    """
    if data[:2] == _GZIP_MAGIC:
        limit = MAX_DECOMPRESSED_BYTES if max_decompressed is None else max_decompressed
        unpacked = _gunzip(data, name, issues, limit)
        if unpacked is None:
            return None
        data = unpacked
    head = data[:8]
    if head.startswith(b"PK\x03\x04"):
        issues.error(
            name,
            None,
            None,
            "is an Excel workbook or ZIP archive, not a CSV file. In Excel use File > Save As > "
            "'CSV UTF-8 (comma delimited)' and upload the .csv file.",
        )
        return None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        issues.error(name, None, None, "is an old Excel (.xls) workbook, not a CSV file. Save it as CSV UTF-8.")
        return None
    if head.startswith(b"PAR1"):
        issues.error(name, None, None, "is a Parquet file, not a CSV file. Export it as CSV.")
        return None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        with contextlib.suppress(UnicodeDecodeError):
            data = data.decode("utf-16").encode("utf-8")
    if b"\x00" in data[:4096]:
        issues.error(name, None, None, "contains binary data, not text. Give a comma-separated text (CSV) file.")
        return None
    encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)  # checks the whole file; dropped before the rows are parsed
    except UnicodeDecodeError as exc:
        encoding = "cp1252"
        text = data.decode(encoding, errors="replace")
        line = data.count(b"\n", 0, exc.start) + 1
        issues.warn(
            name,
            line,
            None,
            "is not UTF-8 encoded; read it as Windows-1252. Save it as 'CSV UTF-8' if names look wrong.",
        )
    first = _NON_SPACE.search(text)
    if first is None:
        issues.error(name, None, None, "is empty. Give a CSV file with a header line and data rows.")
        return None
    lead = text[first.start() : first.start() + 5]
    if lead[:1] in ("{", "["):
        issues.error(
            name,
            None,
            None,
            "looks like JSON, not CSV. Give a comma-separated file with a header line (see 'Data formats').",
        )
        return None
    if lead.lower() in ("<?xml", "<html", "<!doc"):
        issues.error(name, None, None, "looks like HTML/XML, not CSV. Give a comma-separated file with a header line.")
        return None
    return data, encoding


def _sniff_delimiter(head: str) -> str:
    """The delimiter of the header line (from the file's first 64 KiB): ',' unless ';' or a tab clearly dominates."""
    lines = [ln for ln in head.splitlines()[:20] if ln.strip()]
    header = lines[0] if lines else ""
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        return ","
    if best != "," and counts[best] > counts[","]:
        return best
    return ","


def _frame_table(frame: pd.DataFrame, name: str) -> Table:
    """A table already in memory as a :class:`Table` of stripped strings (row numbers as in its CSV)."""
    rows = [["" if pd.isna(v) else str(v).strip() for v in r] for r in frame.itertuples(index=False)]
    return Table(name, [str(c).strip() for c in frame.columns], rows, list(range(2, len(rows) + 2)))


def read_table(src: Source, name: str, issues: IssueCollector) -> Table | None:
    """Parse ``src`` into a :class:`Table`; ``None`` if unreadable (issues say why)."""
    if isinstance(src, pd.DataFrame):
        return _frame_table(src, name)
    data = read_bytes(src, name, issues)
    if data is None:
        return None
    if not data or data.isspace():
        issues.error(name, None, None, "is empty. Give a CSV file with a header line and data rows.")
        return None
    content = _decode(data, name, issues)
    if content is None:
        return None
    data, encoding = content
    delim = _sniff_delimiter(data[: 64 * 1024].decode(encoding, errors="replace"))
    if delim != ",":
        label = {";": "';' (semicolon)", "\t": "tab", "|": "'|'"}[delim]
    # Lines are decoded one at a time from the bytes (no whole-file text copy); same line splitting
    # as a text file opened with newline="".
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace", newline="")
    reader = csv.reader(text, delimiter=delim, skipinitialspace=True)
    header: list[str] | None = None
    header_line = 1
    rows: list[list[str]] = []
    lines: list[int] = []
    prev_end = 0
    try:
        for rec in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if not rec or not "".join(rec).strip():
                continue
            cells = list(map(str.strip, rec))
            if header is None:
                header, header_line = cells, start
                continue
            rows.append(cells)
            lines.append(start)
    except csv.Error as exc:
        issues.error(name, reader.line_num, None, f"is not valid CSV here ({exc}). Check quotes on this line.")
        return None
    if header is None:
        issues.error(name, None, None, "is empty. Give a CSV file with a header line and data rows.")
        return None
    if delim != ",":
        issues.warn(name, header_line, None, f"uses {label} as the delimiter instead of ','; it was read that way.")
    # Drop trailing empty header cells (a trailing delimiter) and matching empty cells.
    while len(header) > 1 and header[-1] == "":
        header = header[:-1]
    n = len(header)
    good_rows, good_lines = [], []
    counts: dict[int, int] = {}
    trimmed = []
    for cells in rows:
        while len(cells) > n and cells[-1] == "":
            cells = cells[:-1]
        trimmed.append(cells)
        counts[len(cells)] = counts.get(len(cells), 0) + 1
    common = max(counts, key=lambda k: counts[k]) if counts else n
    if common != n and counts[common] >= 0.9 * len(rows):
        issues.error(
            name,
            header_line,
            None,
            f"the header names {n} column(s) but the rows have {common} fields. Add the missing column "
            "name(s) to the header or remove the extra separators.",
        )
        return Table(name, header, [], [], delim)
    for cells, ln in zip(trimmed, lines):
        if len(cells) != n:
            issues.error(
                name,
                ln,
                None,
                f"has {len(cells)} fields but the header (line {header_line}) has {n}. "
                "Fix the number of separators on this line.",
                kind="wrong number of fields",
            )
            continue
        good_rows.append(cells)
        good_lines.append(ln)
    if delim == ";" and any("," in c for r in good_rows[:200] for c in r):
        # decimal commas (European export): 12,5 -> 12.5
        good_rows = [[c.replace(",", ".") if _is_decimal_comma(c) else c for c in r] for r in good_rows]
    if header[0] == "" or normalize_column(header[0]) in ("unnamed:_0", "index"):
        header = [INDEX_COLUMN, *header[1:]]  # a row-number column written by pandas or a spreadsheet
    blank = [c for c in header if c == ""]
    if blank:
        issues.error(name, header_line, None, "the header has an empty column name. Name every column.")
    dup = sorted(c for c, k in Counter(header).items() if k > 1 and c)
    for c in dup:
        issues.error(name, header_line, c, "this column name appears more than once. Keep one column per name.")
    if not good_rows and not issues.has_errors():
        issues.error(name, None, None, "has a header line but no data rows.")
    return Table(name, header, good_rows, good_lines, delim)


def _is_decimal_comma(cell: str) -> bool:
    head, sep, tail = cell.partition(",")
    return bool(sep) and head.lstrip("-").isdigit() and tail.isdigit()


def normalize_column(col: str) -> str:
    """A header as compared: lower case, spaces and dashes as underscores ('Sensor ID' -> 'sensor_id')."""
    return col.strip().lower().replace(" ", "_").replace("-", "_")


def match_columns(
    table: Table,
    required: list[str],
    optional: list[str],
    aliases: dict[str, list[str]],
    issues: IssueCollector,
    *,
    what: str,
) -> dict[str, str] | None:
    """Map canonical column names to the table's columns.

    Exact names match regardless of case and spaces; common synonyms (``lat``, ``lon``, ``speed``)
    match with a warning. A missing required column is an error that suggests the closest
    existing column (difflib). Returns ``None`` when a required column is missing.
    """
    by_norm = {normalize_column(c): c for c in table.columns}
    found: dict[str, str] = {}
    used: set[str] = set()
    for canon in required + optional:
        if canon in by_norm:
            found[canon] = by_norm[canon]
            used.add(by_norm[canon])
    for canon in required + optional:
        if canon in found:
            continue
        for alias in aliases.get(canon, []):
            if alias in by_norm and by_norm[alias] not in used:
                found[canon] = by_norm[alias]
                used.add(by_norm[alias])
                issues.warn(
                    table.name,
                    1,
                    by_norm[alias],
                    f"read as the '{canon}' column. Rename it to '{canon}' to silence this warning.",
                )
                break
    missing = [c for c in required if c not in found]
    for canon in missing:
        free = [c for c in table.columns if c not in used]
        close = difflib.get_close_matches(canon, free, n=1, cutoff=0.5) or difflib.get_close_matches(
            canon, [normalize_column(c) for c in free], n=1, cutoff=0.5
        )
        hint = f" The closest column is '{close[0]}': rename it to '{canon}'." if close else ""
        have = ", ".join(f"'{c}'" for c in table.columns[:12]) + (", ..." if len(table.columns) > 12 else "")
        issues.error(
            table.name,
            1,
            canon,
            f"required column '{canon}' is missing ({what} need: {', '.join(required)}; found: {have}).{hint}",
        )
    return None if missing else found
