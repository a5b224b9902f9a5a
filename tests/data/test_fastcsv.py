"""dff_core.data.fastcsv: large plain files read by pyarrow give the careful reader's table; others go to it."""

from __future__ import annotations

import pandas as pd
import pytest

from dff_core.data import fastcsv, load_dataset
from dff_core.data.fastcsv import ColumnTable, read_table_fast
from dff_core.data.io import read_table
from dff_core.data.report import IssueCollector, ValidationReport
from tests.data.conftest import long_rows, to_csv

HEADER = ["timestamp", "sensor_id", "value"]


@pytest.fixture
def fast_for_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastcsv, "FAST_MIN_BYTES", 0)


def both(data: bytes) -> tuple:
    slow_rep, fast_rep = ValidationReport(), ValidationReport()
    slow = read_table(data, "r.csv", IssueCollector(slow_rep))
    fast = read_table_fast(data, "r.csv", IssueCollector(fast_rep))
    return slow, fast, slow_rep, fast_rep


def test_plain_file_gives_the_same_table_with_line_numbers(fast_for_all) -> None:
    rows = long_rows(20)
    rows[3][2] = " 41.5 "  # spaces are stripped by both readers
    slow, fast, _, _ = both(to_csv(HEADER, rows))
    assert isinstance(fast, ColumnTable) and fast.columns == slow.columns
    assert list(fast.lines) == list(slow.lines) and fast.rows[3] == slow.rows[3] == [rows[3][0], rows[3][1], "41.5"]
    pd.testing.assert_frame_equal(fast.frame().astype(object), slow.frame().astype(object), check_dtype=False)


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text.replace("\n", "\n\n", 3),  # blank lines
        lambda text: text.replace(",", ";"),  # another delimiter
        lambda text: text.replace("A,", '"A",'),  # quotes
        lambda text: text + "2025-01-06 00:00,A,1,extra\n",  # a row with too many fields
    ],
)
def test_files_that_are_not_plain_go_to_the_careful_reader(fast_for_all, edit) -> None:
    text = to_csv(HEADER, long_rows(20)).decode()
    slow, fast, slow_rep, fast_rep = both(edit(text).encode())
    assert not isinstance(fast, ColumnTable)
    assert [str(i) for i in fast_rep.errors] == [str(i) for i in slow_rep.errors]
    assert fast.rows == slow.rows and fast.lines == slow.lines


def test_bad_cells_of_a_fast_read_file_are_named_by_line(fast_for_all, sensors_csv) -> None:
    rows = long_rows()
    rows[40][2] = "fast"
    with pytest.raises(Exception) as exc:
        load_dataset(to_csv(HEADER, rows), sensors_csv)
    assert any(p.row == 42 and p.column == "value" and "'fast'" in p.message for p in exc.value.problems)


def test_fast_and_careful_loads_give_the_same_dataset(monkeypatch: pytest.MonkeyPatch, sensors_csv) -> None:
    data = to_csv(HEADER, long_rows())
    careful, _ = load_dataset(data, sensors_csv)
    monkeypatch.setattr(fastcsv, "FAST_MIN_BYTES", 0)
    fast, _ = load_dataset(data, sensors_csv)
    pd.testing.assert_frame_equal(fast.readings, careful.readings)
    assert fast.digest() == careful.digest()
