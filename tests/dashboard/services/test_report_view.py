"""Data problems shown without "None" cells, cut messages or "1 warnings"."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.services import report_view as R


def test_counts_in_words():
    assert R.report_counts(0, 1, 3) == "no errors · 1 warning · 3 notes"
    assert R.report_counts(2, 0, 1) == "2 errors · no warnings · 1 note"
    assert R.plural(1200, "row") == "1,200 rows"


def test_readable_issues_blank_cells_and_titled_columns():
    frame = pd.DataFrame(
        {"severity": ["error", "info"], "file": ["a.csv", None], "row": pd.array([1234, None], dtype="Int64"),
         "column": [None, np.nan], "message": ["bad value", "note"]}
    )  # fmt: skip
    out = R.readable_issues(frame)
    assert list(out.columns) == ["Severity", "File", "Row", "Column", "Message"]
    assert out.iloc[0].tolist() == ["error", "a.csv", "1,234", "", "bad value"]
    assert out.iloc[1].tolist() == ["info", "", "", "", "note"]
    assert "None" not in out.to_string() and "nan" not in out.to_string().lower()
