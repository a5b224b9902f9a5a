"""dff_core.data.values: repeated rows, zero speeds and all-zero files, reported once per sensor."""

from __future__ import annotations

import numpy as np
import pytest

from dff_core.data import DataError, load_dataset
from tests.data.conftest import N_STEPS, START, long_rows, to_csv

HEADER = ["timestamp", "sensor_id", "value"]


def _with_conflicts(n: int) -> tuple[list[list], list[list]]:
    """Readings where sensor A repeats its first ``n`` timestamps with value + 10."""
    rows = long_rows()
    extra = [[r[0], r[1], r[2] + 10] for r in rows if r[1] == "A"][:n]
    return rows, extra


def test_conflicting_repeats_are_one_error_per_sensor_naming_the_option(sensors_csv) -> None:
    rows, extra = _with_conflicts(30)
    with pytest.raises(DataError) as exc:
        load_dataset(to_csv(HEADER, rows + extra), sensors_csv)
    (problem,) = [p for p in exc.value.problems if "different readings" in p.message]
    assert problem.row == len(rows) + 2 and problem.column == "timestamp"
    assert "'A'" in problem.message and "30 timestamp(s)" in problem.message and "line 2" in problem.message
    assert "duplicates='mean'" in problem.message and "--duplicates mean" in problem.message


@pytest.mark.parametrize(("policy", "expected"), [("mean", 5.0), ("sum", 10.0), ("first", 0.0), ("last", 10.0)])
def test_the_duplicate_policy_combines_conflicting_readings(sensors_csv, policy: str, expected: float) -> None:
    rows = long_rows()
    first_a = next(r for r in rows if r[1] == "A")
    first_a[2] = 0.0
    extra = [[first_a[0], "A", 10.0]]
    ds, rep = load_dataset(to_csv(HEADER, rows + extra), sensors_csv, value="count", duplicates=policy)
    assert ds.readings.loc[START, "A"] == expected
    assert rep.merged_readings == {"A": 2} and rep.merge_policy == policy
    assert any("2 conflicting readings at 1 sensor(s) merged" in line for line in rep.summary_lines())


def test_merged_readings_are_reported_in_one_line_per_sensor(sensors_csv) -> None:
    rows, extra = _with_conflicts(25)
    extra += [[r[0], r[1], r[2] + 5] for r in rows if r[1] == "B"][:3]
    ds, rep = load_dataset(to_csv(HEADER, rows + extra), sensors_csv, duplicates="mean")
    merged = [w for w in rep.warnings if "merged" in w.message]
    assert len(merged) == 2 and "50 readings at 25 timestamp(s)" in merged[0].message
    assert rep.merged_readings == {"A": 50, "B": 6} and ds.readings.shape == (N_STEPS, 4)


def test_identical_repeats_are_ignored_with_one_warning_per_sensor(sensors_csv) -> None:
    rows = long_rows()
    copies = [list(r) for r in rows if r[1] == "C"][:12]
    ds, rep = load_dataset(to_csv(HEADER, rows + copies), sensors_csv)
    (w,) = [w for w in rep.warnings if "repeat" in w.message]
    assert "'C': 12 row(s)" in w.message and rep.ignored_repeats == 12 and ds.readings.shape == (N_STEPS, 4)


def test_summing_speeds_is_refused_by_argument_name(readings_csv, sensors_csv) -> None:
    with pytest.raises(ValueError, match="duplicates='sum'"):
        load_dataset(readings_csv, sensors_csv, duplicates="sum")
    with pytest.raises(ValueError, match="duplicates='median'"):
        load_dataset(readings_csv, sensors_csv, duplicates="median")


def test_zero_speeds_are_missing_by_default_and_kept_on_request(sensors_csv) -> None:
    rows = long_rows()
    zeroed = [i for i, r in enumerate(rows) if r[1] == "B"][10:12]
    for i in zeroed:
        rows[i][2] = 0
    ds, rep = load_dataset(to_csv(HEADER, rows), sensors_csv)
    assert rep.zero_speeds == 2 and rep.filled_values == 2 and (ds.readings["B"] > 0).all()
    (w,) = [w for w in rep.warnings if "exactly 0" in w.message]
    assert "zero_speeds='keep'" in w.message and "'B' (2)" in w.message
    kept, rep2 = load_dataset(to_csv(HEADER, rows), sensors_csv, zero_speeds="keep")
    assert rep2.zero_speeds == 0 and (kept.readings["B"] == 0).sum() == 2


def test_zero_counts_are_readings_but_an_all_zero_file_is_refused(sensors_csv) -> None:
    rows = long_rows()
    for r in rows[:40]:
        r[2] = 0
    ds, rep = load_dataset(to_csv(HEADER, rows), sensors_csv, value="count")
    assert rep.zero_speeds == 0 and (ds.readings.to_numpy() == 0).sum() == 40
    for r in rows:
        r[2] = 0
    with pytest.raises(DataError, match="every reading is 0"):
        load_dataset(to_csv(HEADER, rows), sensors_csv, value="count")


def test_nothing_changed_means_no_summary(readings_csv, sensors_csv) -> None:
    _, rep = load_dataset(readings_csv, sensors_csv)
    assert rep.summary_lines() == [] and not rep.changed and rep.quality()["sensors_dropped"] == 0
    assert np.isclose(rep.quality()["values_filled"], 0)
