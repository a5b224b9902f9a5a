"""Allocation items: period,item_id,value,<features...>."""

from __future__ import annotations

import pytest

from dff_core.data import DataError, load_items
from tests.data.conftest import to_csv

HEADER = ["period", "item_id", "value", "hour", "rain_mm"]


def item_rows(n_periods: int = 12, items=("North", "South", "East")) -> list[list]:
    rows = []
    for p in range(n_periods):
        rows += [[f"2025-03-03 {p:02d}:00", it, (p * 3 + k) % 7, p, 0.5 * k] for k, it in enumerate(items)]
    return rows


def problems(data: bytes, **kw) -> list:
    with pytest.raises(DataError) as exc:
        load_items(data, **kw)
    return exc.value.problems


def test_valid_items():
    df, rep = load_items(to_csv(HEADER, item_rows()))
    assert rep.ok and list(df.columns) == HEADER and len(df) == 36
    assert str(df["period"].dtype).startswith("datetime64")
    assert df["value"].dtype == float and df.iloc[0]["item_id"] == "East"  # sorted by period, item
    assert "3 items" in rep.info[0] and "hour, rain_mm" in rep.info[0]


def test_integer_and_text_periods():
    rows = [[p, it, 1, 2] for p in range(12) for it in ("a", "b")]
    df, _ = load_items(to_csv(["period", "item_id", "value", "f"], rows))
    assert df["period"].dtype.kind == "i"
    rows = [[f"week-{p:02d}", it, 1, 2] for p in range(12) for it in ("a", "b")]
    df, _ = load_items(to_csv(["period", "item_id", "value", "f"], rows))
    assert df["period"].iloc[0] == "week-00"


def test_missing_column_and_no_features():
    issues = problems(to_csv(["period", "item", "valeu", "hour", "rain_mm"], item_rows()), name="demand.csv")
    i = next(i for i in issues if i.column == "value")
    assert i.file == "demand.csv" and i.row == 1 and "'valeu'" in i.message
    issues = problems(to_csv(["period", "item_id", "value"], [r[:3] for r in item_rows()]))
    assert any("no feature columns" in i.message for i in issues)


def test_bad_cells_named_by_line_and_column():
    rows = item_rows()
    rows[4][2] = "lots"
    rows[7][4] = ""
    issues = problems(to_csv(HEADER, rows))
    bad = next(i for i in issues if i.row == 6)
    assert bad.column == "value" and "'lots'" in bad.message
    empty = next(i for i in issues if i.row == 9)
    assert empty.column == "rain_mm" and "empty" in empty.message


def test_duplicates_and_incomplete_periods():
    rows = item_rows()
    rows.append(list(rows[0]))
    issues = problems(to_csv(HEADER, rows))
    dup = next(i for i in issues if i.row == len(rows) + 1)
    assert "twice" in dup.message and "line 2" in dup.message
    rows = item_rows()
    del rows[10]  # period 3 loses item 'South'
    issues = problems(to_csv(HEADER, rows))
    assert any(i.column == "period" and "South" in i.message and i.row == 11 for i in issues)


def test_too_few_periods():
    issues = problems(to_csv(HEADER, item_rows(n_periods=3)))
    assert any("only 3 period(s)" in i.message for i in issues)


def test_header_shorter_than_every_row():
    issues = problems(to_csv(["period", "item_id", "value", "hour"], item_rows()))
    assert len(issues) == 1 and issues[0].row == 1 and "5 fields" in issues[0].message


def test_not_csv():
    assert "Excel" in problems(b"PK\x03\x04rest", name="items.xlsx")[0].message
