"""Time zones of timestamps that carry UTC offsets: which zone to show them in, and why.

A file written with offsets (``2025-03-30T01:45:00+01:00``) names instants, not clock times. The
loader converts them to one local time zone, so that hour-of-day and weekday features follow the
local clock even across a daylight-saving change: the zone the user names (``timezone=``), else the
zone of the file's offsets. One offset gives that fixed offset (``UTC+01:00``, or ``UTC``); several
offsets (a daylight-saving change inside the file) give the first IANA zone that has exactly those
offsets at exactly those instants (any such zone shows the same clock times for the file).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = ["ZoneChoice", "choose_zone", "offset_minutes", "resolve_zone", "zone_name"]

#: Zones tried first when several offsets must be matched (familiar names for common offset pairs).
PREFERRED_ZONES = (
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Amsterdam",
    "Europe/Athens",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/Santiago",
    "Australia/Sydney",
    "Pacific/Auckland",
)
_REGIONS = ("Europe", "America", "Australia", "Asia", "Africa", "Pacific", "Atlantic", "Indian", "Antarctica")
_FIXED = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
#: A clock time followed by a UTC offset (``Z``, ``+01:00``, ``-0500``, ``+01``) at the end of a cell.
OFFSET_PATTERN = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)$"


class ZoneChoice(NamedTuple):
    """The zone timestamps are shown in, a note saying why, and whether the note is a warning."""

    zone: dt.tzinfo
    note: str
    warning: bool = False


def resolve_zone(name: str) -> dt.tzinfo:
    """``'Europe/Amsterdam'``, ``'UTC'`` or a fixed offset (``'+01:00'``, ``'UTC-05:00'``) as a tzinfo.

    Raises ``ValueError`` naming the ``timezone`` argument for anything else.
    """
    text = str(name).strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return dt.UTC
    m = _FIXED.match(text)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        if minutes < 24 * 60:
            return _fixed(sign * minutes)
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(
            f"timezone={name!r} is not a time zone; use an IANA name such as 'Europe/Amsterdam' or "
            "'America/New_York', 'UTC', or a fixed offset such as '+01:00'."
        ) from exc


def zone_name(zone: dt.tzinfo) -> str:
    """How a zone is named in messages and reports: ``'Europe/Amsterdam'``, ``'UTC'``, ``'UTC+01:00'``."""
    key = getattr(zone, "key", None)
    return str(key) if key else str(zone)


def offset_minutes(text: pd.Series) -> pd.Series:
    """Minutes east of UTC of each cell's trailing offset (NaN where a cell has none)."""
    raw = text.astype(str).str.strip().str.extract(OFFSET_PATTERN, expand=False)
    out = pd.Series(np.nan, index=text.index)
    has = raw.notna()
    if not has.any():
        return out
    r = raw[has].str.upper()
    zulu = r == "Z"
    digits = r.str.replace(":", "", regex=False).str[1:]
    hours = pd.to_numeric(digits.str[:2], errors="coerce")
    mins = pd.to_numeric(digits.str[2:4].replace("", "0"), errors="coerce").fillna(0)
    sign = np.where(r.str[0] == "-", -1, 1)
    out[has] = np.where(zulu, 0, sign * (hours * 60 + mins))
    return out


def _fixed(minutes: int) -> dt.tzinfo:
    return dt.UTC if minutes == 0 else dt.timezone(dt.timedelta(minutes=int(minutes)))


def _show_offset(minutes: float) -> str:
    m = int(minutes)
    sign = "-" if m < 0 else "+"
    return f"{sign}{abs(m) // 60:02d}:{abs(m) % 60:02d}"


def _matches(zone: dt.tzinfo, probes: list[tuple[pd.Timestamp, float]]) -> bool:
    for instant, minutes in probes:
        off = instant.to_pydatetime().astimezone(zone).utcoffset()
        if off is None or off != dt.timedelta(minutes=minutes):
            return False
    return True


def _candidates() -> list[str]:
    names = [n for n in zoneinfo.available_timezones() if n.split("/")[0] in _REGIONS]
    names.sort(key=lambda n: (_REGIONS.index(n.split("/")[0]), n))
    return [*PREFERRED_ZONES, *names]


def _infer(instants: pd.Series, minutes: pd.Series) -> dt.tzinfo | None:
    """The first zone whose UTC offset equals the file's at every instant (``None`` if none does)."""
    frame = pd.DataFrame({"t": instants.to_numpy(), "m": minutes.to_numpy()}).sort_values("t")
    runs = frame["m"].ne(frame["m"].shift()).cumsum()
    ends = pd.concat([frame.groupby(runs).head(1), frame.groupby(runs).tail(1)])
    probes = [(pd.Timestamp(t), float(m)) for t, m in zip(ends["t"], ends["m"])]
    for name in _candidates():
        try:
            zone = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        if not _matches(zone, probes):
            continue
        local = pd.DatetimeIndex(frame["t"]).tz_convert(zone)
        offsets = (local.tz_localize(None) - pd.DatetimeIndex(frame["t"]).tz_localize(None)) / pd.Timedelta("1min")
        if np.array_equal(np.asarray(offsets, dtype=float), frame["m"].to_numpy(dtype=float)):
            return zone
    return None


def choose_zone(instants: pd.Series, minutes: pd.Series, timezone: str | None) -> ZoneChoice:
    """The zone to show UTC ``instants`` in, given each one's offset in the file (``minutes``).

    ``timezone`` (a name for :func:`resolve_zone`) wins; otherwise the file's one offset, or the IANA
    zone matching its several offsets (with a warning and the first offset when none matches).
    """
    known = instants.notna().to_numpy() & minutes.notna().to_numpy()
    instants, minutes = instants[known], minutes[known]
    offsets = sorted({float(m) for m in minutes})
    shown = " and ".join(_show_offset(m) for m in offsets)
    if not offsets and timezone is None:  # no readable timestamp with an offset: they are reported anyway
        return ZoneChoice(dt.UTC, "timestamps carry UTC offsets but none could be read")
    if timezone is not None:
        zone = resolve_zone(timezone)
        return ZoneChoice(zone, f"timestamps carry UTC offsets ({shown}); converted to local time in {zone_name(zone)}")
    if len(offsets) == 1:
        zone = _fixed(int(offsets[0]))
        return ZoneChoice(
            zone,
            f"timestamps carry the UTC offset {shown}; kept as local time in {zone_name(zone)} "
            "(pass timezone= to convert them to another zone)",
        )
    zone = _infer(instants, minutes)
    if zone is not None:
        return ZoneChoice(
            zone,
            f"timestamps carry the UTC offsets {shown} (a daylight-saving change); converted to local time in "
            f"{zone_name(zone)}, whose offsets match the file's at every timestamp (pass timezone= to name "
            "your zone)",
        )
    first = float(minutes.iloc[int(np.argmin(instants.to_numpy()))])
    zone = _fixed(int(first))
    return ZoneChoice(
        zone,
        f"timestamps carry the UTC offsets {shown}, and no time zone has exactly these offsets at these times; "
        f"they were converted to {zone_name(zone)} (the first offset), so hours after an offset change are "
        "shifted. Pass timezone= (e.g. 'Europe/Amsterdam') to convert them to your local time.",
        warning=True,
    )
