"""Allocation items: one row per (period, item) with the realised value and numeric features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dff_core.data.io import INDEX_COLUMN, Source, Table, display_name, match_columns, read_table
from dff_core.data.parsing import parse_numbers, parse_times
from dff_core.data.report import Issue, IssueCollector, ValidationReport

__all__ = ["load_items"]


def load_items(items: Source, *, name: str | None = None) -> tuple[pd.DataFrame, ValidationReport]:
    """Read and validate an allocation items file ``period,item_id,value,<features...>``.

    ``period`` groups rows into one decision (e.g. an hour); it is parsed as a date/time when every
    value is one, otherwise as an integer, otherwise kept as text. Every period must list the same
    items, each once. ``value`` and all features must be numbers (missing features are an error:
    a decision needs them). Returns rows sorted by period then item, and the report.
    """
    report = ValidationReport()
    issues = IssueCollector(report)
    fname = display_name(items, name, "items.csv")
    table = read_table(items, fname, issues)
    out = None
    if table is not None and table.rows:
        out = _validate(table, issues, report)
    issues.flush()
    if report.ok and out is None:  # defensive: every failure path records an error
        report.errors.append(Issue(fname, None, None, "could not be loaded; see the warnings.", "error"))
    report.raise_if_errors()
    return out, report


def _validate(table: Table, issues: IssueCollector, report: ValidationReport) -> pd.DataFrame | None:
    name = table.name
    cols = match_columns(
        table,
        ["period", "item_id", "value"],
        [],
        {"period": ["time", "timestamp", "date", "day", "instance"], "item_id": ["item", "id", "district", "zone"]},
        issues,
        what="allocation item files",
    )
    if cols is None:
        return None
    df = table.frame()
    lines = df["_line"].astype(int).to_numpy()
    features = [c for c in table.columns if c not in cols.values() and c != INDEX_COLUMN]
    if INDEX_COLUMN in table.columns and INDEX_COLUMN not in cols.values():
        issues.warn(name, 1, INDEX_COLUMN, "looks like a row-number column and was ignored (not used as a feature).")
    if not features:
        issues.error(
            name,
            1,
            None,
            "has no feature columns. Add at least one numeric column after 'value' (e.g. hour, temperature) "
            "that the forecaster can learn from.",
        )
    ok = not issues.has_errors()
    raw_period = df[cols["period"]].astype(str)
    for ln in lines[(raw_period.str.strip() == "").to_numpy()]:
        issues.error(name, int(ln), cols["period"], "the period is empty. Fill it in.", kind="empty period")
        ok = False
    as_int = pd.to_numeric(raw_period, errors="coerce")
    if as_int.notna().all() and (as_int == as_int.round()).all():
        period = as_int.astype(np.int64)
    else:
        times = parse_times(raw_period).times
        if getattr(times.dt, "tz", None) is not None:  # periods are labels: keep the local clock
            times = times.dt.tz_localize(None)
        period = times if times.notna().all() else raw_period
    item = df[cols["item_id"]].astype(str).str.strip()
    for ln in lines[(item == "").to_numpy()]:
        issues.error(name, int(ln), cols["item_id"], "the item id is empty. Fill it in.", kind="empty item")
        ok = False
    out = pd.DataFrame({"period": period, "item_id": item})
    for canon, col in [("value", cols["value"])] + [(f, f) for f in features]:
        num, missing, bad = parse_numbers(df[col])
        for i in np.flatnonzero(bad):
            issues.error(
                name,
                int(lines[i]),
                col,
                f"'{df[col].iloc[i]}' is not a number. Use plain numbers (encode categories as 0/1 columns).",
                kind="not a number",
            )
            ok = False
        for i in np.flatnonzero(missing):
            issues.error(
                name,
                int(lines[i]),
                col,
                "the cell is empty. Every item needs a value and all features; fill it in or remove the row.",
                kind="missing",
            )
            ok = False
        out[canon] = num
    key = out[["period", "item_id"]]
    dup = key.duplicated(keep="first").to_numpy()
    if dup.any():
        first = {}
        for k, ln in zip(map(tuple, key.to_numpy()), lines):
            first.setdefault(k, int(ln))
        for i in np.flatnonzero(dup):
            k = tuple(key.iloc[i])
            issues.error(
                name,
                int(lines[i]),
                cols["item_id"],
                f"item '{k[1]}' appears twice in period {k[0]} (also on line {first[k]}). Keep one row per "
                "period and item.",
                kind="duplicate",
            )
        ok = False
    if not ok:
        return None
    all_items = sorted(set(out["item_id"]))
    per = out.groupby("period", sort=True)["item_id"].agg(set)
    incomplete = per[per.map(len) < len(all_items)]
    first_line = dict(zip(out["period"].iloc[::-1], lines[::-1]))
    for p, have in incomplete.items():
        lack = [i for i in all_items if i not in have]
        issues.error(
            name,
            int(first_line[p]),
            cols["period"],
            f"period {p} lacks item(s) {', '.join(lack[:10])}{', ...' if len(lack) > 10 else ''}; every period "
            f"must list the same {len(all_items)} items. Add the rows or remove the period.",
            kind="incomplete period",
        )
    if len(incomplete):
        return None
    n_periods = len(per)
    if n_periods < 10:
        issues.error(
            name,
            None,
            cols["period"],
            f"only {n_periods} period(s); at least 10 are needed to train and test a forecaster. Add more periods.",
        )
        return None
    out = out.sort_values(["period", "item_id"], kind="stable").reset_index(drop=True)
    report.info.append(
        f"loaded {n_periods} periods x {len(all_items)} items with {len(features)} feature(s): {', '.join(features)}"
    )
    return out
