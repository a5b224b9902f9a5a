"""Cell and argument parsing shared by every loader: ids, numbers, timestamps and durations.

User files arrive as text cells; these functions turn whole columns into ids, floats and
timestamps while reporting which cells were missing or unreadable, so the loaders can name the
line and column of every bad cell. Durations (``freq``, ``horizon``, ``every``...) are parsed and
formatted here too, so an argument reads and prints the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from typing import NamedTuple, overload

import numpy as np
import pandas as pd

__all__ = [
    "MISSING_TOKENS",
    "DurationLike",
    "ParsedNumbers",
    "ParsedTimes",
    "TimestampLike",
    "format_duration",
    "is_missing",
    "normalize_id",
    "normalize_ids",
    "parse_duration",
    "parse_numbers",
    "parse_times",
    "parse_timestamp",
]

#: Cell texts (lower case, stripped) that mean "no reading" rather than a bad value.
MISSING_TOKENS = frozenset({"", "na", "nan", "null", "none", "n/a", "#n/a", "-", "missing"})

DurationLike = str | pd.Timedelta | dt.timedelta | np.timedelta64 | int
TimestampLike = str | pd.Timestamp | dt.datetime | dt.date | np.datetime64

_FLOAT_ID = r"^(-?\d+)\.0+$"
_FLOAT_ID_RE = re.compile(_FLOAT_ID)
#: Earliest and latest plausible year of a reading; outside it a timestamp is a typo.
_YEARS = (1900, 2200)


class ParsedNumbers(NamedTuple):
    """A column as floats (NaN where missing or unreadable) and the two masks telling which is which."""

    values: np.ndarray
    missing: np.ndarray
    bad: np.ndarray


class ParsedTimes(NamedTuple):
    """A column as ``datetime64[ns]`` (NaT where unreadable) and an optional note for the report."""

    times: pd.Series
    note: str | None


def normalize_id(value: object) -> str:
    """A sensor id as text; ``'717447.0'`` (a spreadsheet's float) becomes ``'717447'``."""
    s = str(value).strip()
    m = _FLOAT_ID_RE.match(s)
    return m.group(1) if m else s


def normalize_ids(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalize_id` (object dtype)."""
    return values.astype(str).str.strip().str.replace(_FLOAT_ID, r"\1", regex=True).astype(object)


def is_missing(values: pd.Series) -> np.ndarray:
    """True for cells holding a missing-value token (empty, ``NA``, ``null``, ``-``...)."""
    return values.str.strip().str.lower().isin(MISSING_TOKENS).to_numpy()


def parse_numbers(values: pd.Series) -> ParsedNumbers:
    """Text cells -> floats; ``inf`` and unparsable text are ``bad``, missing tokens are ``missing``."""
    values = values.astype(str)
    missing = is_missing(values)
    num = pd.to_numeric(values.where(~missing, None), errors="coerce").to_numpy(dtype=float, copy=True)
    bad = np.isnan(num) & ~missing
    inf = np.isinf(num)  # 'inf' parses but is not a usable reading
    bad |= inf
    num[inf] = np.nan
    return ParsedNumbers(num, missing, bad)


def parse_times(strings: pd.Series) -> ParsedTimes:
    """Timestamp cells (ISO first, then any common format) -> ``datetime64[ns]``; unreadable -> NaT.

    Time-zone offsets are dropped (local clock time kept, with a note); years outside
    1900-2200 are treated as typos (NaT).
    """
    uniq = pd.Series(pd.unique(strings.astype(str)))
    note = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(uniq, errors="coerce", format="ISO8601")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(uniq, errors="coerce", format="ISO8601", utc=True)
        if parsed.isna().any():
            try:
                alt = pd.to_datetime(uniq, errors="coerce", format="mixed")
            except (ValueError, TypeError):
                alt = pd.to_datetime(uniq, errors="coerce", format="mixed", utc=True)
            if alt.notna().sum() > parsed.notna().sum():
                parsed = alt
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
        note = "timestamps carry a time-zone offset; the local clock time was kept and the offset dropped"
    parsed = parsed.where(parsed.dt.year.between(*_YEARS))
    parsed = parsed.astype("datetime64[ns]")
    lookup = dict(zip(uniq, parsed))
    return ParsedTimes(strings.astype(str).map(lookup).astype("datetime64[ns]"), note)


def parse_timestamp(value: TimestampLike, name: str) -> pd.Timestamp:
    """One date and time given as an argument; ``ValueError`` naming the argument otherwise."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}={value!r} is not a date and time; use e.g. '2012-03-01 00:00'.") from exc
    if pd.isna(ts):
        raise ValueError(f"{name}={value!r} is not a date and time; use e.g. '2012-03-01 00:00'.")
    return ts


@overload
def parse_duration(value: None, name: str, *, allow_zero: bool = ...) -> None: ...
@overload
def parse_duration(value: DurationLike, name: str, *, allow_zero: bool = ...) -> pd.Timedelta: ...
def parse_duration(value: DurationLike | None, name: str, *, allow_zero: bool = False) -> pd.Timedelta | None:
    """A duration argument (``"15min"``, ``"1h"``, ``"h"``, a Timedelta) as a Timedelta; ``None`` stays ``None``.

    Accepts what :class:`pandas.Timedelta` reads plus bare frequency aliases (``"h"``, ``"min"``).
    Raises ``ValueError`` naming ``name`` for text that is no duration and for negative (or, unless
    ``allow_zero``, zero) durations.
    """
    if value is None:
        return None
    unreadable = f"{name} must be a duration such as '15min' or '1h'; got {value!r}."
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError) as exc:
        if not isinstance(value, str):
            raise ValueError(unreadable) from exc
        try:
            td = pd.Timedelta(pd.tseries.frequencies.to_offset(value))
        except (ValueError, TypeError):
            raise ValueError(unreadable) from exc
    if pd.isna(td):
        raise ValueError(unreadable)
    if td < pd.Timedelta(0) or (td == pd.Timedelta(0) and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} duration such as '15min' or '1h'; got {value!r}.")
    return td


def format_duration(td: DurationLike, *, compact: bool = False) -> str:
    """A duration in its largest whole unit: ``"15 min"``, ``"2 h"``, ``"24 h"``, ``"30 s"`` for messages.

    ``compact=True`` writes it as arguments are typed, readable by :func:`parse_duration`, with days:
    ``"15min"``, ``"2h"``, ``"1D"``.
    """
    secs = pd.Timedelta(td).total_seconds()
    units = [("D", 86400)] if compact else []
    units += [("h", 3600), ("min", 60), ("s", 1)]
    unit, size = next(((u, n) for u, n in units if secs and secs % n == 0), units[-1])
    amount = secs / size
    text = str(int(amount)) if amount == int(amount) else f"{amount:g}"
    return f"{text}{'' if compact else ' '}{unit}"
