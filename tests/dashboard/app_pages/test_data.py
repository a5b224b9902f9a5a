"""Data page: the validation report's counts read as words and its table has no "None" cells."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from tests.dashboard.saved_runs import APP


def test_validation_report_counts_and_blank_cells():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    counts = next(c.value for c in at.caption if re.search(r"errors?\b.*·.*warnings?\b.*·.*notes?\b", c.value))
    assert not re.search(r"\b1 (errors|warnings|notes)\b", counts)
    tables = [t.value for t in at.table] + [d.value for d in at.dataframe if "Message" in d.value.columns]
    assert tables and all("None" not in t.to_string() for t in tables)
