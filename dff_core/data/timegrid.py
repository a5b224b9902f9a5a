"""Sensor readings, step 2: validate the cells and put them on a regular time grid.

:func:`to_grid` parses timestamps and values of :class:`~dff_core.data.readings.LongReadings`,
resolves repeated readings, treats a few impossible values as missing, finds the time step and
pivots to a wide frame (NaN = missing). :func:`fill_gaps` then interpolates short gaps and
drops sensors and timestamps with long ones, saying so in the report.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import numpy as np
import pandas as pd

from dff_core.data.parsing import format_duration, parse_numbers, parse_times
from dff_core.data.readings import LongReadings
from dff_core.data.report import IssueCollector, ValidationReport
from dff_core.data.timezones import zone_name
from dff_core.data.values import check_range, check_zeros, resolve_duplicates

__all__ = ["MAX_GRID_CELLS", "MAX_MISSING_SHARE", "MAX_STEPS_PER_TIME", "Grid", "fill_gaps", "to_grid"]

#: A sensor still missing more than this share of steps after short gaps are filled is dropped.
MAX_MISSING_SHARE = 0.1
#: A time grid longer than this many steps per distinct timestamp read (and than
#: :data:`MIN_SPARSE_GRID_STEPS`) is refused: it would be almost all gaps, usually from one wrong date.
MAX_STEPS_PER_TIME = 50
MIN_SPARSE_GRID_STEPS = 100_000
#: Most values (time steps x sensors) a time grid may hold: 100 million, 800 MB as floats.
MAX_GRID_CELLS = 100_000_000


class Grid(NamedTuple):
    """Readings on a regular grid: index ``timestamp`` every ``step``, one float column per sensor."""

    wide: pd.DataFrame
    step: pd.Timedelta


def _parse_cells(
    readings: LongReadings, name: str, timezone: str | None, issues: IssueCollector, report: ValidationReport
) -> tuple[pd.DataFrame, bool, dt.tzinfo | None]:
    """Add parsed ``ts`` and ``value`` columns; report unreadable timestamps and numbers (False = errors).

    Timestamps with UTC offsets become UTC instants (naive) and the zone the grid is shown in is
    returned (and named in ``report.timezone``); otherwise ``ts`` holds the file's local clock times.
    """
    long, ts_col = readings.frame, readings.time_column
    ok = True
    zone = None
    if readings.generated_times:
        ts = pd.to_datetime(long["ts_raw"]).astype("datetime64[ns]")
    else:
        parsed = parse_times(long["ts_raw"], timezone)
        ts = parsed.times
        if parsed.note and parsed.warning:
            issues.warn(name, None, ts_col, parsed.note)
        elif parsed.note:
            report.info.append(f"{name}: {parsed.note}")
        if getattr(ts.dt, "tz", None) is not None:
            zone = ts.dt.tz
            report.timezone = zone_name(zone)
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        lacks = parsed.lacks_offset if parsed.lacks_offset is not None else np.zeros(len(ts), dtype=bool)
        for raw_t, ln in zip(long.loc[lacks, "ts_raw"].drop_duplicates(), long.loc[lacks, "line"]):
            ok = False
            issues.error(
                name,
                int(ln),
                ts_col,
                f"'{raw_t}' has no UTC offset while other timestamps have one; give every timestamp an offset "
                "(e.g. +01:00) or none.",
                kind="missing offset",
            )
        bad_ts = (ts.isna().to_numpy()) & ~lacks
        if bad_ts.any():
            ok = False
            seen: set[int] = set()
            for raw_t, ln in zip(long.loc[bad_ts, "ts_raw"], long.loc[bad_ts, "line"]):
                if ln in seen:
                    continue
                seen.add(int(ln))
                shown = f"'{raw_t}'" if str(raw_t).strip() else "an empty cell"
                issues.error(
                    name,
                    int(ln),
                    ts_col,
                    f"cannot read {shown} as a date and time. Use ISO format, e.g. 2025-03-03 07:15.",
                    kind="bad timestamp",
                )
    num, _missing, bad_num = parse_numbers(long["raw"])
    if bad_num.any():
        ok = False
        for raw_v, ln, col in zip(long.loc[bad_num, "raw"], long.loc[bad_num, "line"], long.loc[bad_num, "col"]):
            issues.error(
                name,
                int(ln),
                str(col),
                f"'{raw_v}' is not a number. Use a plain number with a '.' decimal point, or leave the cell empty "
                "if the reading is missing.",
                kind="not a number",
            )
    long = long.assign(ts=ts.astype("datetime64[ns]"), value=num)
    return long[long["ts"].notna()], ok, zone


def _step_problem(native: pd.Timedelta, freq: pd.Timedelta) -> str | None:
    """Why a requested ``freq`` cannot be used with data every ``native`` (finer, or not a multiple)."""
    if freq == native or (freq > native and freq % native == pd.Timedelta(0)):
        return None
    fmt = format_duration
    return f"the readings come every {fmt(native)} but freq={fmt(freq)} was requested; " + (
        "a finer step would invent readings. Leave freq unset or use a multiple of the data's step."
        if freq < native
        else f"freq must be a whole multiple of {fmt(native)} (e.g. {fmt(native * 2)}) to average."
    )


def _local(t: object, tz: dt.tzinfo | None) -> pd.Timestamp:
    """A grid time (UTC when the file had offsets) as the user reads it."""
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC").tz_convert(tz) if tz else ts


def _report_off_grid(
    long: pd.DataFrame,
    off: pd.Series,
    uniq: np.ndarray,
    t0: pd.Timestamp,
    step: pd.Timedelta,
    name: str,
    ts_col: str,
    issues: IssueCollector,
    tz: dt.tzinfo | None,
) -> None:
    """One error per timestamp that does not lie on the grid ``t0 + k * step``."""
    sub = long[off].drop_duplicates("ts").sort_values("ts")
    prev_of = dict(zip(uniq[1:], uniq[:-1]))
    for t, ln in zip(sub["ts"], sub["line"]):
        prev = prev_of.get(np.datetime64(t, "ns"))
        gap = format_duration(pd.Timestamp(t) - pd.Timestamp(prev)) if prev else ""
        after = f" ({gap} after the previous one)" if prev else ""
        issues.error(
            name,
            int(ln),
            ts_col,
            f"timestamp {_local(t, tz)} is off the regular {format_duration(step)} grid that starts at "
            f"{_local(t0, tz)}{after}. Readings must be evenly spaced: fix or remove this timestamp, or pass freq= "
            "to average onto a coarser step.",
            kind="irregular interval",
        )


def to_grid(
    readings: LongReadings,
    name: str,
    value: str,
    freq: pd.Timedelta | None,
    issues: IssueCollector,
    report: ValidationReport,
    *,
    duplicates: str = "error",
    zero_speeds: str = "missing",
    timezone: str | None = None,
) -> Grid | None:
    """Validate timestamps and values; pivot to a regular wide grid (NaN = missing), averaging onto ``freq``.

    ``None`` when an error was recorded. The step is the most common interval unless ``freq`` asks for
    a coarser multiple of it. ``duplicates`` and ``zero_speeds`` say how repeated rows and zero speeds
    are treated (see :mod:`dff_core.data.values`); timestamps with UTC offsets are converted to
    ``timezone`` (default: the file's zone) and the grid's index carries that zone.
    """
    ts_col = readings.time_column
    long, ok, tz = _parse_cells(readings, name, timezone, issues, report)
    long, ok_repeats = resolve_duplicates(long, duplicates, name, ts_col, issues, report)
    ok_zeros = check_zeros(long, name, value, zero_speeds, issues, report)
    ok_range = check_range(long, name, value, issues, report)
    if not (ok and ok_repeats and ok_zeros and ok_range):
        return None
    if long.empty:
        issues.error(name, None, None, "has no readings. Give at least one value per sensor and time step.")
        return None
    uniq = np.sort(long["ts"].unique())
    if len(uniq) < 2:
        issues.error(
            name, None, ts_col, "has readings for only one time step; a time series needs many (see min_steps)."
        )
        return None
    diffs = pd.Series(np.diff(uniq)).astype("timedelta64[ns]")
    native = pd.Timedelta(diffs.mode().iloc[0])
    step = native if freq is None else freq
    problem = _step_problem(native, freq) if freq is not None else None
    if problem:
        issues.error(name, None, ts_col, problem)
        return None
    # anchor the grid on the most common phase, so one odd first timestamp does not shift the grid
    uniq_ts = pd.DatetimeIndex(uniq)
    phase = pd.Series((uniq_ts - pd.Timestamp(0)) % native)
    t0 = pd.Timestamp(uniq_ts[phase == phase.mode().iloc[0]][0])
    if freq is not None and freq > native:
        long = long.assign(ts=t0 + ((long["ts"] - t0) // freq) * freq)
        long = long.groupby(["ts", "sensor"], as_index=False, sort=False).agg(
            value=("value", "mean"), line=("line", "first"), col=("col", "first")
        )
        report.info.append(
            f"{name}: readings every {format_duration(native)} were averaged to the requested {format_duration(freq)}"
        )
    else:  # after averaging every timestamp lies on the freq grid
        off = ((long["ts"] - t0) % native) != pd.Timedelta(0)
        if off.any():
            _report_off_grid(long, off, uniq, t0, step, name, ts_col, issues, tz)
            return None
    ts_sorted = long["ts"].sort_values()
    if not _grid_size_ok(long, ts_sorted, step, len(uniq), name, ts_col, issues):
        return None
    grid = pd.date_range(ts_sorted.iloc[0], ts_sorted.iloc[-1], freq=step, name="timestamp")
    sensor_order = list(pd.unique(long["sensor"]))
    wide = long.pivot(index="ts", columns="sensor", values="value").reindex(index=grid, columns=sensor_order)
    wide = wide.astype(float)
    if tz is not None:
        wide.index = wide.index.tz_localize("UTC").tz_convert(tz)
    wide.index.name = "timestamp"
    wide.columns = pd.Index([str(c) for c in wide.columns], dtype=object, name=None)
    return Grid(wide, step)


def _grid_size_ok(
    long: pd.DataFrame,
    ts_sorted: pd.Series,
    step: pd.Timedelta,
    n_times: int,
    name: str,
    ts_col: str,
    issues: IssueCollector,
) -> bool:
    """False (with an error) when the time grid would be mostly empty or too large to hold.

    One wrong date (a year typed as 2095) stretches the grid over decades: millions of empty steps
    that would take minutes and gigabytes to build, for a file of a few lines.
    """
    first, last = ts_sorted.iloc[0], ts_sorted.iloc[-1]
    n_steps = (last - first) // step + 1
    n_cells = n_steps * long["sensor"].nunique()
    if n_steps <= max(MIN_SPARSE_GRID_STEPS, MAX_STEPS_PER_TIME * n_times) and n_cells <= MAX_GRID_CELLS:
        return True
    lines = long.loc[[ts_sorted.index[0], ts_sorted.index[-1]], "line"].tolist()
    why = (
        f"only {n_times:,} distinct times were read, so almost all of it would be empty"
        if n_steps > MAX_STEPS_PER_TIME * n_times
        else f"{n_cells:,} values, more than the {MAX_GRID_CELLS:,} that are accepted"
    )
    issues.error(
        name,
        None,
        ts_col,
        f"the timestamps run from {first} (line {lines[0]}) to {last} (line {lines[1]}): {n_steps:,} steps of "
        f"{format_duration(step)}, but {why}. Check the first and last timestamps for a wrong date, or give a "
        "shorter period.",
    )
    return False


def _summarise_ranges(index: pd.DatetimeIndex, rows: np.ndarray, shown: int = 5) -> str:
    """The runs of True in ``rows`` as time ranges: 'a to b; c; ...' (first ``shown``), plus how many more."""
    pos = np.flatnonzero(rows)
    breaks = np.flatnonzero(np.diff(pos) != 1)
    starts = np.r_[pos[0], pos[breaks + 1]]
    ends = np.r_[pos[breaks], pos[-1]]
    ranges = [f"{index[s]}" if s == e else f"{index[s]} to {index[e]}" for s, e in zip(starts[:shown], ends[:shown])]
    more = f" and {len(starts) - shown} more" if len(starts) > shown else ""
    return f"{'; '.join(ranges)}{more}"


def _gap_mask(mask: pd.DataFrame, max_gap: int) -> pd.DataFrame:
    """True where a value is missing in a run of at most ``max_gap`` steps (and the sensor has some data)."""
    fill = pd.DataFrame(False, index=mask.index, columns=mask.columns)
    for c in mask.columns:
        m = mask[c].to_numpy()
        if not m.any() or m.all():
            continue
        run_id = np.cumsum(~m)
        lengths = pd.Series(run_id[m]).value_counts()
        runlen = np.zeros(len(m), dtype=int)
        runlen[m] = lengths.reindex(run_id[m]).to_numpy()
        fill[c] = m & (runlen <= max_gap)
    return fill


def fill_gaps(
    wide: pd.DataFrame, max_gap: int, name: str, freq: pd.Timedelta, issues: IssueCollector, report: ValidationReport
) -> pd.DataFrame:
    """Interpolate NaN runs up to ``max_gap`` steps; drop sensors / timestamps with longer gaps."""
    mask = wide.isna()
    if not mask.to_numpy().any():
        return wide
    fill = _gap_mask(mask, max_gap)
    interp = wide.interpolate(method="linear", limit_area="inside").ffill().bfill()
    filled = wide.where(~fill, interp)
    n_filled = int(fill.to_numpy().sum())
    report.filled_values += n_filled
    if n_filled:
        report.info.append(
            f"{name}: filled {n_filled} missing value(s) in gaps of up to {max_gap} step(s) by linear interpolation"
        )
    still = filled.isna()
    share = still.mean()
    empty = [c for c in filled.columns if still[c].all()]
    for c in empty:
        issues.warn(name, None, str(c), f"sensor '{c}' has no valid readings; it was dropped.", kind="no readings")
    sparse = [c for c in filled.columns if c not in empty and share[c] > MAX_MISSING_SHARE]
    for c in sparse:
        issues.warn(
            name,
            None,
            str(c),
            f"sensor '{c}' misses {share[c]:.0%} of the time steps even after filling gaps of up to {max_gap} "
            "steps; it was dropped.",
            kind="sparse sensor",
        )
    drop = empty + sparse
    for c in empty:
        report.drop_sensor(str(c), "without valid readings")
    for c in sparse:
        report.drop_sensor(str(c), f"missing over {MAX_MISSING_SHARE:.0%} of time steps")
    filled = filled.drop(columns=drop)
    rows = filled.isna().any(axis=1)
    if rows.any():
        issues.warn(
            name,
            None,
            None,
            f"{int(rows.sum())} time step(s) in gaps longer than {max_gap} steps ({format_duration(freq)} each) "
            f"were removed: {_summarise_ranges(filled.index, rows.to_numpy())}. Raise max_gap_steps to interpolate "
            "longer gaps.",
        )
        report.dropped_timestamps += int(rows.sum())
        filled = filled[~rows]
    return filled
