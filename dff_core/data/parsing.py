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
from collections.abc import Callable
from typing import Any, NamedTuple, overload

import numpy as np
import pandas as pd

from dff_core.data.timezones import choose_zone, offset_minutes

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
    """A column as datetimes (NaT where unreadable) and an optional note for the report.

    Without UTC offsets in the file the times are naive local clock times (``datetime64[ns]``);
    with offsets they are instants shown in one time zone (``datetime64[ns, zone]``, see
    :mod:`dff_core.data.timezones`). ``lacks_offset`` marks cells without an offset in a file whose
    other cells have one (they are NaT); ``warning`` says the note should be shown as a warning.
    """

    times: pd.Series
    note: str | None
    lacks_offset: np.ndarray | None = None
    warning: bool = False


def normalize_id(value: object) -> str:
    """A sensor id as text; ``'717447.0'`` (a spreadsheet's float) becomes ``'717447'``."""
    s = str(value).strip()
    m = _FLOAT_ID_RE.match(s)
    return m.group(1) if m else s


def _per_unique(values: pd.Series, fn: Callable[[pd.Series], Any]) -> tuple[np.ndarray, Any]:
    """``(codes, fn(unique values as text))``: work once per distinct cell (readings repeat ids, times, values)."""
    codes, uniques = pd.factorize(values.astype(str), use_na_sentinel=False)
    return codes, fn(pd.Series(np.asarray(uniques, dtype=object), dtype=object))


def normalize_ids(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalize_id` (object dtype)."""
    codes, ids = _per_unique(
        values, lambda u: u.str.strip().str.replace(_FLOAT_ID, r"\1", regex=True).to_numpy(dtype=object)
    )
    return pd.Series(ids[codes] if len(codes) else np.array([], dtype=object), index=values.index, dtype=object)


def is_missing(values: pd.Series) -> np.ndarray:
    """True for cells holding a missing-value token (empty, ``NA``, ``null``, ``-``...)."""
    return values.str.strip().str.lower().isin(MISSING_TOKENS).to_numpy()


def _parse_unique_numbers(values: pd.Series) -> ParsedNumbers:
    missing = is_missing(values)
    num = pd.to_numeric(values.where(~missing, None), errors="coerce").to_numpy(dtype=float, copy=True)
    bad = np.isnan(num) & ~missing
    inf = np.isinf(num)  # 'inf' parses but is not a usable reading
    bad |= inf
    num[inf] = np.nan
    return ParsedNumbers(num, missing, bad)


def parse_numbers(values: pd.Series) -> ParsedNumbers:
    """Text cells -> floats; ``inf`` and unparsable text are ``bad``, missing tokens are ``missing``."""
    if len(values) == 0:
        empty = np.array([], dtype=bool)
        return ParsedNumbers(np.array([], dtype=float), empty, empty)
    codes, parsed = _per_unique(values, _parse_unique_numbers)
    return ParsedNumbers(parsed.values[codes], parsed.missing[codes], parsed.bad[codes])


def _to_datetime(uniq: pd.Series, utc: bool) -> pd.Series:
    """Cells -> datetimes: ISO 8601 first, then any format pandas recognises (whichever reads more)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(uniq, errors="coerce", format="ISO8601", utc=utc)
        except (ValueError, TypeError):
            parsed = pd.to_datetime(uniq, errors="coerce", format="ISO8601", utc=True)
        if parsed.isna().any():
            try:
                alt = pd.to_datetime(uniq, errors="coerce", format="mixed", utc=utc)
            except (ValueError, TypeError):
                alt = pd.to_datetime(uniq, errors="coerce", format="mixed", utc=True)
            if alt.notna().sum() > parsed.notna().sum():
                parsed = alt
    return parsed


def parse_times(strings: pd.Series, timezone: str | None = None) -> ParsedTimes:
    """Timestamp cells (ISO first, then any common format) -> datetimes; unreadable -> NaT.

    Cells with UTC offsets are instants: they are converted to one local time zone, ``timezone``
    (an IANA name, ``'UTC'`` or ``'+01:00'``) or else the zone of the file's offsets, and the note
    says which (see :func:`dff_core.data.timezones.choose_zone`). Years outside 1900-2200 are
    treated as typos (NaT).
    """
    codes, uniq = _per_unique(strings, lambda u: u)
    minutes = offset_minutes(uniq)
    has = minutes.notna().to_numpy()
    note, lacks, warn = None, None, False
    if not has.any():
        parsed = _to_datetime(uniq, utc=False)
        if getattr(parsed.dt, "tz", None) is not None:  # an offset written in a form the pattern missed
            parsed = parsed.dt.tz_localize(None)
            note = "timestamps carry a time-zone offset; the local clock time was kept and the offset dropped"
        elif timezone is not None:
            note = f"timestamps have no UTC offset; they were read as local clock times (timezone={timezone!r} unused)"
        parsed = parsed.where(parsed.dt.year.between(*_YEARS)).astype("datetime64[ns]")
    else:
        instants = _to_datetime(uniq.where(has, ""), utc=True)
        instants = instants.where(has & instants.notna().to_numpy())
        choice = choose_zone(instants, minutes.where(instants.notna()), timezone)
        note, warn = choice.note, choice.warning
        parsed = instants.dt.tz_convert(choice.zone)
        parsed = parsed.where(parsed.dt.year.between(*_YEARS)).astype(f"datetime64[ns, {choice.zone}]")
        if not has.all():
            lacks = ~has
    times = pd.Series(parsed.array.take(codes), index=strings.index)
    lacks_rows = None if lacks is None else lacks[codes]
    return ParsedTimes(times, note, lacks_rows, warn)


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
