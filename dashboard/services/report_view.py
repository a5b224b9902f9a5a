"""Data problems as a reader sees them: counts in words and a table without empty-value markers.

The engine's validation report (and the upload problems) are tables with ``None`` where an issue
has no file, row or column; shown raw, those cells read "None" and long messages are cut to one
line. These helpers give the page full sentences and blank cells.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

#: Column titles of the problem tables, by the engine's column names.
ISSUE_COLUMNS = {"severity": "Severity", "file": "File", "row": "Row", "column": "Column", "message": "Message"}
#: Up to this many problems are shown as a static table whose messages wrap; more scroll in a grid.
WRAPPED_ROWS = 30


def plural(count: int, noun: str, none: str | None = None) -> str:
    """``1 warning``, ``2 warnings``; ``none`` (e.g. ``no notes``) for a count of zero when given."""
    if count == 0 and none is not None:
        return none
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def report_counts(n_errors: int, n_warnings: int, n_notes: int) -> str:
    """The counts line of a validation report: ``no errors · 1 warning · 3 notes``."""
    return " · ".join(
        (plural(n_errors, "error", "no errors"), plural(n_warnings, "warning", "no warnings"),
         plural(n_notes, "note", "no notes"))
    )  # fmt: skip


def readable_issues(frame: pd.DataFrame) -> pd.DataFrame:
    """The problem table with titled columns, blank cells instead of ``None``/``NaN`` and rows as whole numbers."""
    out = frame.rename(columns=ISSUE_COLUMNS).copy()
    for col in out.columns:
        if col == "Row":
            out[col] = [("" if pd.isna(v) else f"{int(v):,}") for v in out[col]]
        else:
            out[col] = ["" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in out[col]]
    return out


def show_issues(frame: pd.DataFrame, key: str) -> None:
    """A problem table on the page: static with wrapped messages when short, a scrolling grid when long."""
    table = readable_issues(frame)
    if len(table) <= WRAPPED_ROWS:
        st.table(table.set_index("Severity"))
    else:
        st.dataframe(
            table,
            hide_index=True,
            key=key,
            column_config={"Message": st.column_config.TextColumn("Message", width="large")},
        )
