"""Read user files (path, bytes or uploaded file) into a small table of strings with line numbers.

The reader never raises on user-caused problems: it records an :class:`Issue` instead, so that
every problem in every file can be reported at once. It recognises files that are not CSV
(Excel, JSON, Parquet, other binary), strips a UTF-8 byte-order mark, accepts ``;`` and tab
delimiters (with a warning, including decimal commas), and keeps the editor line number of
every row so messages can point at it.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

import pandas as pd

from dff_core.data.report import IssueCollector

__all__ = [
    "INDEX_COLUMN",
    "Source",
    "Table",
    "display_name",
    "match_columns",
    "normalize_column",
    "read_bytes",
    "read_table",
]

#: Name given to a leading row-number column ('', 'index', 'Unnamed: 0'); loaders ignore it.
INDEX_COLUMN = "index"

#: What a loader reads: a path, CSV text or bytes, an open or uploaded file, or a DataFrame.
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | io.IOBase | BinaryIO | TextIO | pd.DataFrame


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


def _looks_like_text(src: object) -> bool:
    """A ``str`` holding CSV content rather than a path (it has a line break and is no existing file)."""
    if not isinstance(src, str) or "\n" not in src:
        return False
    try:
        return not Path(src.splitlines()[0]).exists()
    except (OSError, ValueError):  # name too long, NUL byte: not a path
        return True


def read_bytes(src: Source, name: str, issues: IssueCollector) -> bytes | None:
    """Raw bytes of a path, bytes object or file-like; ``None`` (with an issue) if it cannot be read."""
    try:
        if isinstance(src, (bytes, bytearray, memoryview)):
            return bytes(src)
        if _looks_like_text(src):
            return src.encode("utf-8")
        if isinstance(src, (str, os.PathLike)):
            path = Path(src)
            if not path.exists():
                issues.error(name, None, None, f"file not found: '{path}'. Check the path and the file name.")
                return None
            if path.is_dir():
                issues.error(name, None, None, f"'{path}' is a folder, not a file. Give the CSV file inside it.")
                return None
            return path.read_bytes()
        if hasattr(src, "getvalue"):
            data = src.getvalue()
        elif hasattr(src, "read"):
            if hasattr(src, "seek"):
                src.seek(0)
            data = src.read()
        else:
            issues.error(name, None, None, f"cannot read a {type(src).__name__}; give a file path, bytes or a file.")
            return None
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    except OSError as exc:
        issues.error(name, None, None, f"could not read the file ({exc.strerror or exc}). Check that it is readable.")
        return None


def _decode(data: bytes, name: str, issues: IssueCollector) -> str | None:
    """Bytes -> text, rejecting content that is not a CSV with a message saying what it looks like."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            issues.error(name, None, None, "looks like a damaged gzip archive; decompress it and give the CSV file.")
            return None
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
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = data.decode("cp1252", errors="replace")
        line = data[: exc.start].count(b"\n") + 1
        issues.warn(
            name,
            line,
            None,
            "is not UTF-8 encoded; read it as Windows-1252. Save it as 'CSV UTF-8' if names look wrong.",
        )
    if not text.strip():
        issues.error(name, None, None, "is empty. Give a CSV file with a header line and data rows.")
        return None
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        issues.error(
            name,
            None,
            None,
            "looks like JSON, not CSV. Give a comma-separated file with a header line (see 'Data formats').",
        )
        return None
    if stripped[:5].lower() in ("<?xml", "<html", "<!doc"):
        issues.error(name, None, None, "looks like HTML/XML, not CSV. Give a comma-separated file with a header line.")
        return None
    return text


def _sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: ',' unless ';' or a tab clearly dominates."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    header = lines[0] if lines else ""
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        return ","
    if best != "," and counts[best] > counts[","]:
        return best
    return ","


def read_table(src: Source, name: str, issues: IssueCollector) -> Table | None:
    """Parse ``src`` into a :class:`Table`; ``None`` if unreadable (issues say why)."""
    if isinstance(src, pd.DataFrame):
        rows = [["" if pd.isna(v) else str(v).strip() for v in r] for r in src.itertuples(index=False)]
        return Table(name, [str(c).strip() for c in src.columns], rows, list(range(2, len(rows) + 2)))
    data = read_bytes(src, name, issues)
    if data is None:
        return None
    if not data.strip():
        issues.error(name, None, None, "is empty. Give a CSV file with a header line and data rows.")
        return None
    text = _decode(data, name, issues)
    if text is None:
        return None
    delim = _sniff_delimiter(text)
    if delim != ",":
        label = {";": "';' (semicolon)", "\t": "tab", "|": "'|'"}[delim]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, skipinitialspace=True)
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
    dup = sorted({c for c in header if header.count(c) > 1 and c})
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
