"""Causal features and horizon targets from wide sensor readings, and chronological splits.

One feature matrix is shared by every sensor: at decision time ``t`` the row holds each
sensor's value at ``t`` and ``t - 1 step`` (and optionally at ``t - 1 day``), each sensor's
rolling mean over the last hour, and calendar columns. The target row holds each sensor's
value at ``t + horizon``. Every feature uses readings at or before ``t`` only, so the target
never leaks into the features (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dff_core.data.parsing import format_duration, parse_duration

#: Calendar columns appended after the per-sensor blocks, in this order.
CALENDAR_COLUMNS = ("tod_sin", "tod_cos", "dow_sin", "dow_cos", "weekend", "slot_of_day", "slot_of_week")
#: Without a horizon, predict the smallest multiple of the reading interval at least this far ahead.
MIN_AUTO_HORIZON = pd.Timedelta("30min")
#: Without a spacing, decide at the smallest multiple of the reading interval of at least this.
MIN_AUTO_EVERY = pd.Timedelta("15min")


def smallest_multiple(freq: pd.Timedelta, at_least: pd.Timedelta) -> pd.Timedelta:
    """The smallest whole multiple of ``freq`` that is at least ``at_least`` (and at least ``freq``)."""
    return freq * max(1, int(np.ceil(at_least / freq - 1e-9)))


@dataclass(frozen=True)
class Timing:
    """When decisions are made and how far ahead they look, with which of the two were chosen automatically."""

    horizon: pd.Timedelta
    every: pd.Timedelta | None
    freq: pd.Timedelta
    auto: tuple[str, ...] = ()

    def options(self) -> dict[str, object]:
        """The JSON form stored in a scenario's options: ``horizon``, ``every`` (compact) and ``auto``."""
        every = None if self.every is None else format_duration(self.every, compact=True)
        return {"horizon": format_duration(self.horizon, compact=True), "every": every, "auto": list(self.auto)}

    def describe(self) -> str:
        """One line a user reads: horizon and spacing, and where they came from."""
        step = format_duration(self.freq)
        h = f"horizon {format_duration(self.horizon)}"
        if "horizon" in self.auto:
            least = format_duration(MIN_AUTO_HORIZON)
            h += f" (auto: the smallest multiple of the {step} reading interval of at least {least})"
        e = f"decisions every {format_duration(self.every or self.freq)}"
        if "every" in self.auto:
            e += " (auto)"
        return f"{h}; {e}"


def resolve_timing(
    freq: pd.Timedelta, horizon: str | pd.Timedelta | None = None, every: str | pd.Timedelta | None = "auto"
) -> Timing:
    """Horizon and decision spacing for readings every ``freq``; unset ones are derived from ``freq``.

    ``horizon=None`` is the smallest multiple of ``freq`` of at least :data:`MIN_AUTO_HORIZON` (30 min
    for 5- or 15-minute data, 1 h for hourly data), so no interval makes the default fail.
    ``every="auto"`` is the smallest multiple of ``freq`` of at least :data:`MIN_AUTO_EVERY` (every
    reading when readings are 15 minutes or more apart); ``None`` decides at every reading. Given
    values must be whole multiples of ``freq`` (``ValueError`` naming them otherwise).
    """
    freq = pd.Timedelta(freq)
    auto = []
    if horizon is None or (isinstance(horizon, str) and horizon.strip().lower() == "auto"):
        h = smallest_multiple(freq, MIN_AUTO_HORIZON)
        auto.append("horizon")
    else:
        h = parse_duration(horizon, "horizon", allow_zero=True)
        steps_of(h, freq, "horizon")
    if isinstance(every, str) and every.strip().lower() == "auto":
        e = smallest_multiple(freq, MIN_AUTO_EVERY)
        auto.append("every")
    elif every is None:
        e = None
    else:
        e = parse_duration(every, "every", allow_zero=True)
        steps_of(e, freq, "every")
    return Timing(h, e, freq, tuple(auto))


@dataclass
class FeatureSet:
    """Instances built from a wide frame: ``X`` (n, p), targets ``C`` (n, d), decision ``times``.

    ``target_times[i]`` is ``times[i] + horizon``; ``slot_column`` is the index of the
    ``slot_of_week`` column (the group key of the historical-profile backbone).
    """

    X: np.ndarray
    C: np.ndarray
    times: pd.DatetimeIndex
    target_times: pd.DatetimeIndex
    feature_names: list[str]
    output_names: list[str]
    horizon_steps: int
    slot_column: int
    dropped: int = 0


def infer_freq(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The step of a regular DatetimeIndex (the most common difference)."""
    if len(index) < 2:
        raise ValueError("readings: need at least two time steps to infer the reading interval.")
    diffs = np.diff(index.as_unit("ns").asi8)
    vals, counts = np.unique(diffs, return_counts=True)
    return pd.Timedelta(int(vals[np.argmax(counts)]), unit="ns")


def steps_of(duration: pd.Timedelta, freq: pd.Timedelta, name: str) -> int:
    """Whole number of ``freq`` steps in ``duration``; raises if it is not a multiple."""
    k = duration / freq
    if k < 0 or abs(k - round(k)) > 1e-9:
        have, step = format_duration(duration, compact=True), format_duration(freq, compact=True)
        raise ValueError(
            f"{name} ({have}) must be a whole multiple of the reading interval ({step}); "
            f"use e.g. {format_duration(freq * max(1, round(k)), compact=True)}."
        )
    return round(k)


def make_features(
    source: pd.DataFrame,
    target: pd.DataFrame | None = None,
    *,
    horizon: str | pd.Timedelta = "30min",
    freq: pd.Timedelta | str | None = None,
    lags: Sequence[int] = (0, 1),
    rolling: str | pd.Timedelta | None = "1h",
    daily_lag: bool | None = None,
    every: str | pd.Timedelta | None = None,
    target_fill_steps: int = 2,
) -> FeatureSet:
    """Build causal features from ``source`` and ``horizon``-ahead targets from ``target``.

    Parameters
    ----------
    source:
        Wide frame (DatetimeIndex, one column per sensor) the features are read from.
    target:
        Wide frame with the same index and columns holding the quantity to predict (e.g.
        pace); defaults to ``source``.
    horizon:
        How far ahead the target lies; converted to steps with the reading interval.
    lags:
        Steps back (0 = the reading at ``t``) whose values become features, per sensor.
    rolling:
        Window of the trailing per-sensor mean (``None`` to omit).
    daily_lag:
        Add each sensor's value one day before ``t``; ``None`` adds it when the data span
        at least 8 days (so losing the first day costs little).
    every:
        Spacing of decision times (e.g. ``"15min"``); default every reading.
    target_fill_steps:
        Isolated missing target values are carried forward at most this many steps; decision
        times whose target or features are still missing are dropped (counted in ``dropped``).
    """
    if not isinstance(source.index, pd.DatetimeIndex):
        raise ValueError("readings: the index must be a DatetimeIndex (one row per reading time).")
    if source.shape[1] == 0:
        raise ValueError("readings: no sensor columns.")
    goal: pd.DataFrame = source if target is None else target
    if not goal.index.equals(source.index) or list(goal.columns) != list(source.columns):
        raise ValueError("make_features: target must have the same index and columns as source.")
    freq_td = parse_duration(freq, "freq", allow_zero=True) if freq is not None else infer_freq(source.index)
    if freq_td is None or freq_td <= pd.Timedelta(0):
        raise ValueError(f"freq must be a positive duration; got {freq!r}.")
    h = steps_of(parse_duration(horizon, "horizon", allow_zero=True), freq_td, "horizon")
    if h < 1:
        step = format_duration(freq_td, compact=True)
        raise ValueError(f"horizon must be at least one reading interval ({step}); got {horizon!r}.")
    # Reindex to a regular grid so that a shift by k rows is a shift by k * freq in time.
    full = pd.date_range(source.index[0], source.index[-1], freq=freq_td)
    src = source.reindex(full).astype(np.float64)
    tgt = goal.reindex(full).astype(np.float64)
    lags = sorted({int(k) for k in lags})
    if not lags or lags[0] < 0:
        raise ValueError(f"lags must be non-negative step counts; got {lags!r}.")
    day = steps_of(pd.Timedelta("1D"), freq_td, "one day") if pd.Timedelta("1D") % freq_td == pd.Timedelta(0) else 0
    if daily_lag is None:
        daily_lag = day > 0 and len(full) >= 8 * day
    elif daily_lag and day == 0:
        raise ValueError(f"daily_lag needs a reading interval that divides one day; got {freq_td}.")

    cols = [str(c) for c in source.columns]
    blocks: list[np.ndarray] = []
    names: list[str] = []
    # Causal fill of short gaps in the features (past values only).
    src_f = src.ffill(limit=max(1, target_fill_steps))
    vals = src_f.to_numpy()
    for k in lags:
        blocks.append(_shift(vals, k))
        names += [f"{c}@t-{k}" if k else f"{c}@t" for c in cols]
    if daily_lag:
        blocks.append(_shift(vals, day))
        names += [f"{c}@t-1d" for c in cols]
    if rolling is not None:
        w = steps_of(parse_duration(rolling, "rolling", allow_zero=True), freq_td, "rolling")
        if w >= 2:
            blocks.append(src_f.rolling(w, min_periods=1).mean().to_numpy())
            names += [f"{c}@mean{rolling}" for c in cols]
    blocks.append(calendar_features(full))
    names += list(CALENDAR_COLUMNS)
    X = np.hstack(blocks)

    tgt_f = (tgt.ffill(limit=target_fill_steps) if target_fill_steps > 0 else tgt).to_numpy()
    C = _shift(tgt_f, -h)
    base = np.asarray(full.isin(source.index))  # decide only at real reading times
    if every is not None:
        e = steps_of(parse_duration(every, "every", allow_zero=True), freq_td, "every")
        if e < 1:
            step = format_duration(freq_td, compact=True)
            raise ValueError(f"every must be at least one reading interval ({step}); got {every!r}.")
        base &= np.arange(len(full)) % e == 0
    keep = base & np.isfinite(X).all(axis=1) & np.isfinite(C).all(axis=1)
    idx = np.flatnonzero(keep)
    times = full[idx]
    dropped = int(base.sum() - keep.sum())
    return FeatureSet(
        X=X[idx],
        C=C[idx],
        times=times,
        target_times=times + h * freq_td,
        feature_names=names,
        output_names=cols,
        horizon_steps=h,
        slot_column=len(names) - 1,
        dropped=dropped,
    )


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """Row shift: ``out[t] = a[t - k]`` (NaN where out of range); negative ``k`` looks ahead."""
    out = np.full_like(a, np.nan)
    if k == 0:
        return a.copy()
    if k > 0:
        if k < len(a):
            out[k:] = a[:-k]
    elif -k < len(a):
        out[:k] = a[-k:]
    return out


def calendar_features(index: pd.DatetimeIndex) -> np.ndarray:
    """Time of day and weekday (sin/cos), weekend flag, hour of day and hour of week (integer keys)."""
    minutes = index.hour.to_numpy() * 60 + index.minute.to_numpy()
    dow = index.day_of_week.to_numpy()
    tod = 2 * np.pi * minutes / 1440.0
    wd = 2 * np.pi * (dow + minutes / 1440.0) / 7.0
    slot = dow * 24 + index.hour.to_numpy()
    return np.column_stack(
        [
            np.sin(tod),
            np.cos(tod),
            np.sin(wd),
            np.cos(wd),
            (dow >= 5).astype(float),
            index.hour.to_numpy().astype(float),
            slot.astype(float),
        ]
    )


def chronological_split(
    times: pd.Index,
    split: Sequence[float] | Sequence[str | pd.Timedelta | None] = (0.6, 0.2, 0.2),
    *,
    target_times: pd.DatetimeIndex | None = None,
) -> dict[str, np.ndarray]:
    """Train/val/test index arrays over time-ordered instances; never shuffled.

    ``split`` is either three fractions of the instances (e.g. ``(0.6, 0.2, 0.2)``) or three
    durations from the first decision time (e.g. ``("5D", "1D", "1D")``; the last may be
    ``None`` = the rest). With ``target_times``, instances whose target lies at or after the
    start of the next part are purged, so no training target overlaps validation or test time.
    """
    times = pd.Index(times)
    n = len(times)
    if n and not times.is_monotonic_increasing:
        raise ValueError("chronological_split: times must be increasing.")
    if len(split) != 3:
        raise ValueError(f"split must have three parts (train, val, test); got {split!r}.")
    if all(isinstance(s, (int, float, np.floating, np.integer)) and not isinstance(s, bool) for s in split):
        fr = np.asarray(split, dtype=float)
        if (fr < 0).any() or fr[0] <= 0 or fr[2] <= 0 or abs(fr.sum() - 1.0) > 1e-6:
            raise ValueError(f"split fractions must be non-negative, sum to 1, with train and test > 0; got {split!r}.")
        a = round(fr[0] * n)
        b = round((fr[0] + fr[1]) * n)
        bounds = [0, a, b, n]
    else:
        if not isinstance(times, pd.DatetimeIndex):
            raise ValueError("split durations (e.g. '5D') need date-time periods; give fractions instead.")
        tds = [parse_duration(s, f"split[{i}]", allow_zero=True) for i, s in enumerate(split)]
        if tds[0] is None or tds[1] is None:
            raise ValueError(f"split durations for train and val must be given; got {split!r}.")
        t0 = times[0] if n else pd.Timestamp(0)
        ends = [t0 + tds[0], t0 + tds[0] + tds[1]]
        ends.append(ends[1] + tds[2] if tds[2] is not None else times[-1] + pd.Timedelta(1, "ns"))
        bounds = [
            0,
            *(int(np.searchsorted(times.as_unit("ns").asi8, e.as_unit("ns").value, side="left")) for e in ends),
        ]
    parts = {}
    for name, lo, hi in zip(("train", "val", "test"), bounds[:-1], bounds[1:], strict=True):
        idx = np.arange(lo, max(lo, hi))
        if target_times is not None and hi < n and len(idx):
            nxt = times[hi]
            idx = idx[pd.Index(target_times)[idx] < nxt]
        parts[name] = idx
    for name in ("train", "test"):
        if len(parts[name]) == 0:
            raise ValueError(
                f"split {split!r} leaves no {name} instances out of {n}; give the data more days or change split."
            )
    return parts
