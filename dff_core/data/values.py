"""Sensor readings, values step: repeated rows, impossible values and zero speeds.

Works on the long table of parsed readings (``ts``, ``sensor``, ``value``, ``line``, ``col``)
before it is put on the time grid. Every repair is counted in the
:class:`~dff_core.data.report.ValidationReport` and reported once per sensor (not once per row),
so a file with thousands of repeated rows still gives a short report.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from dff_core.data.dataset import MPH_TO_KMH
from dff_core.data.report import IssueCollector, ValidationReport
from dff_core.errors import option_hint

__all__ = [
    "DUPLICATE_POLICIES",
    "MAX_BAD_VALUE_SHARE",
    "MAX_KMH",
    "ZERO_SPEED_POLICIES",
    "DuplicatePolicy",
    "check_range",
    "check_zeros",
    "resolve_duplicates",
]

#: Speeds above this (km/h) are treated as impossible readings.
MAX_KMH = 250.0
#: Up to this share of impossible values (negative, too fast) is treated as missing with a warning.
MAX_BAD_VALUE_SHARE = 0.01

#: What to do with rows that give one sensor different values at one timestamp.
DuplicatePolicy = Literal["error", "mean", "sum", "first", "last"]
DUPLICATE_POLICIES: tuple[str, ...] = ("error", "mean", "sum", "first", "last")
#: What a speed of exactly 0 means: a missing reading (a detector's usual failure value) or standstill.
ZERO_SPEED_POLICIES: tuple[str, ...] = ("missing", "keep")

_UNIT_LABEL = {"speed_kmh": "km/h", "speed_mph": "mph", "count": "vehicles"}
_KEY = ["ts", "sensor"]


def _lines(lines: pd.Series, shown: int = 5) -> str:
    vals = [str(int(v)) for v in lines.iloc[:shown]]
    return ", ".join(vals) + (", ..." if len(lines) > shown else "")


def resolve_duplicates(
    long: pd.DataFrame,
    policy: str,
    name: str,
    ts_col: str,
    issues: IssueCollector,
    report: ValidationReport,
) -> tuple[pd.DataFrame, bool]:
    """One reading per (time, sensor): identical copies are ignored, different ones follow ``policy``.

    ``policy="error"`` (the default) records one error per sensor naming its first repeated line
    and the ``duplicates`` option; ``"mean"``, ``"sum"``, ``"first"`` and ``"last"`` (in file order)
    combine them, with one warning per sensor saying how many readings were merged. Returns the
    rows left and False when an error was recorded.
    """
    dup = long.duplicated(_KEY, keep=False).to_numpy()
    if not dup.any():
        return long, True
    d = long[dup].sort_values("line", kind="stable")
    grouped = d.groupby(_KEY, sort=False)["value"]
    vmin, vmax = grouped.transform("min"), grouped.transform("max")
    n_valid, size = grouped.transform("count"), grouped.transform("size")
    same = ((vmin == vmax) & (n_valid == size)) | (n_valid == 0)
    later = d.duplicated(_KEY, keep="first")
    ok = True
    original = d[~later].set_index(_KEY)["line"]
    repeats = d[same & later]
    for sid, grp in repeats.groupby("sensor", sort=False):
        report.ignored_repeats += len(grp)
        orig = int(original.loc[(grp["ts"].iloc[0], sid)])
        issues.warn(
            name,
            int(grp["line"].iloc[0]),
            ts_col,
            f"sensor '{sid}': {len(grp)} row(s) repeat an earlier row with the same timestamp and value (this line "
            f"repeats line {orig}; copies on lines {_lines(grp['line'])}); the copies were ignored.",
            kind="duplicate same",
        )
    conflicting = d[~same]
    if len(conflicting):
        if policy == "error":
            ok = False
            for sid, grp in conflicting[later[~same]].groupby("sensor", sort=False):
                n_ts = grp["ts"].nunique()
                orig = int(original.loc[(grp["ts"].iloc[0], sid)])
                also = f"; also lines {_lines(grp['line'].iloc[1:])}" if len(grp) > 1 else ""
                issues.error(
                    name,
                    int(grp["line"].iloc[0]),
                    ts_col,
                    f"sensor '{sid}' has different readings for the same timestamp at {n_ts} timestamp(s) (this line "
                    f"repeats line {orig}{also}). Keep one row per timestamp and sensor, or combine them with "
                    f"{option_hint('duplicates', 'mean')} (also sum, first or last).",
                    kind="duplicate different",
                )
        else:
            how = {"sum": lambda s: s.sum(min_count=1)}.get(policy, policy)
            merged = conflicting.groupby(_KEY, sort=False)["value"].agg(how)
            report.merge_policy = policy
            for sid, grp in conflicting.groupby("sensor", sort=False):
                n_ts = grp["ts"].nunique()
                report.merged_readings[str(sid)] = report.merged_readings.get(str(sid), 0) + len(grp)
                issues.warn(
                    name,
                    int(grp["line"].iloc[0]),
                    ts_col,
                    f"sensor '{sid}': {len(grp)} readings at {n_ts} timestamp(s) had different values for the same "
                    f"timestamp and were merged into one per timestamp ({policy}; lines {_lines(grp['line'])}).",
                    kind="duplicate merged",
                )
    kept = long.drop_duplicates(_KEY, keep="first")
    if len(conflicting) and policy != "error":
        firsts = kept.set_index(_KEY).index
        pos = firsts.get_indexer(merged.index)
        values = kept["value"].to_numpy(copy=True)
        values[pos] = merged.to_numpy(dtype=float)
        kept = kept.assign(value=values)
    return kept, ok


def check_range(long: pd.DataFrame, name: str, value: str, issues: IssueCollector, report: ValidationReport) -> bool:
    """Negative or too-fast values: a few become missing (warning, in place), many are errors (False)."""
    unit = _UNIT_LABEL[value]
    v = long["value"].to_numpy()
    neg = v < 0
    hi = np.zeros_like(neg)
    limit = None
    if value != "count":
        limit = MAX_KMH if value == "speed_kmh" else MAX_KMH / MPH_TO_KMH
        hi = v > limit
    out_of_range = neg | hi
    if not out_of_range.any():
        return True
    few = out_of_range.sum() <= MAX_BAD_VALUE_SHARE * max(int(np.isfinite(v).sum()), 1)
    sub = long[out_of_range]
    for val, ln, col in zip(sub["value"], sub["line"], sub["col"]):
        if val < 0:
            why = f"{val:g} is negative; a {'count' if value == 'count' else 'speed'} cannot be below 0"
        else:
            why = (
                f"{val:g} {unit} is faster than {limit:g} {unit}; if the values are counts "
                "pass value='count', if they are mph pass value='speed_mph'"
            )
        if few:
            issues.warn(name, int(ln), str(col), f"{why}. Treated as missing.", kind="out of range")
        else:
            issues.error(name, int(ln), str(col), f"{why}. Fix the value or the declared unit.", kind="range")
    if few:
        long.loc[out_of_range, "value"] = np.nan
        report.impossible_values += int(out_of_range.sum())
    return bool(few)


def check_zeros(
    long: pd.DataFrame, name: str, value: str, zero_speeds: str, issues: IssueCollector, report: ValidationReport
) -> bool:
    """Refuse a file whose readings are all 0; treat zero speeds as missing unless ``zero_speeds="keep"``.

    A loop detector that fails typically reports a speed of 0, which would otherwise read as a
    standstill and dominate travel times. Returns False (with an error) for an all-zero file.
    """
    v = long["value"].to_numpy()
    finite = np.isfinite(v)
    zero = finite & (v == 0)
    if finite.any() and zero.sum() == finite.sum():
        issues.error(
            name,
            None,
            None,
            f"every reading is 0 ({int(zero.sum())} values); this looks like an export of an empty or failed "
            "system. Check the value column and the export.",
        )
        return False
    if value == "count" or zero_speeds == "keep" or not zero.any():
        return True
    per_sensor = long.loc[zero, "sensor"].value_counts()
    long.loc[zero, "value"] = np.nan
    report.zero_speeds += int(zero.sum())
    worst = ", ".join(f"'{s}' ({n})" for s, n in per_sensor.head(5).items())
    issues.warn(
        name,
        int(long.loc[zero, "line"].min()),
        None,
        f"{int(zero.sum())} speed(s) of exactly 0 at {len(per_sensor)} sensor(s) were treated as missing (most: "
        f"{worst}); detectors usually report 0 when they fail. Set {option_hint('zero_speeds', 'keep')} if "
        "traffic really stood still.",
    )
    return True
