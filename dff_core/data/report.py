"""Validation results: one :class:`Issue` per problem, collected in a :class:`ValidationReport`.

Every user-caused problem in an input file becomes an ``Issue`` that names the file, the line
(as shown in a text editor, header = line 1), the column, what is wrong and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dff_core.errors import DataError

__all__ = ["MAX_ISSUES_PER_KIND", "Issue", "IssueCollector", "ValidationReport"]

#: At most this many issues of one kind (same file, column and problem) are listed one by one;
#: the rest are summarised in one extra issue that counts them and names their first lines.
MAX_ISSUES_PER_KIND = 20


#: Changes reported as "<count> <noun(s)> <what happened>", in the order the summary lists them.
_COUNTED_CHANGES = (
    ("repeats_ignored", "identical repeated row", "ignored"),
    ("zero_speeds_missing", "zero speed", "treated as missing"),
    ("impossible_values_missing", "impossible value", "treated as missing"),
    ("values_filled", "missing value", "filled by interpolation"),
    ("timestamps_removed", "time step", "in long gaps removed"),
    ("links_dropped", "link", "dropped"),
)


@dataclass
class Issue:
    """One problem (``severity="error"``) or warning found in an input file."""

    file: str
    row: int | None
    column: str | None
    message: str
    severity: str = "error"

    def __post_init__(self) -> None:
        if self.severity not in ("error", "warning"):
            raise ValueError(f"Issue severity must be 'error' or 'warning', got {self.severity!r}")

    def __str__(self) -> str:
        where = [self.file or "input"]
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


@dataclass
class ValidationReport:
    """Everything found while loading: errors, warnings, informational notes and what was changed.

    Besides the issues, the report counts every repair (:meth:`quality`), so that a short summary
    of what happened to the data (:meth:`summary_lines`) can be shown before the details.
    """

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    info: list[str] = field(default_factory=list)
    filled_values: int = 0
    dropped_sensors: list[str] = field(default_factory=list)
    dropped_timestamps: int = 0
    dropped_links: int = 0
    #: Why each dropped sensor was dropped (sensor id -> short reason).
    drop_reasons: dict[str, str] = field(default_factory=dict)
    #: Readings combined by the duplicate policy, per sensor (rows that shared a timestamp).
    merged_readings: dict[str, int] = field(default_factory=dict)
    #: How the conflicting duplicates were combined (``"mean"``, ``"sum"``, ``"first"``, ``"last"``).
    merge_policy: str | None = None
    #: Identical repeated rows that were ignored.
    ignored_repeats: int = 0
    #: Zero speeds treated as missing (``zero_speeds="missing"``).
    zero_speeds: int = 0
    #: Impossible values (negative, too fast) treated as missing.
    impossible_values: int = 0
    #: The time zone the timestamps were converted to (``None``: they had no UTC offset).
    timezone: str | None = None
    #: Sensors listed in the sensors file without any readings (left out).
    unused_sensors: int = 0
    #: The coordinate system the sensors' coordinates were converted from (``None``: WGS84 degrees).
    crs: str | None = None
    #: With a road network: which link each sensor was put on (sensor_id, link, from_id, to_id, distance_m).
    sensor_links: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings are allowed)."""
        return not self.errors

    def drop_sensor(self, sensor_id: str, reason: str) -> None:
        """Record that ``sensor_id`` was dropped, and why (a few words, e.g. 'coordinates 0/0')."""
        if sensor_id not in self.drop_reasons:
            self.dropped_sensors.append(sensor_id)
        self.drop_reasons[sensor_id] = reason

    def quality(self) -> dict[str, Any]:
        """What loading changed, as counts: the structured form of :meth:`summary_lines`."""
        by_reason: dict[str, list[str]] = {}
        for sid in self.dropped_sensors:
            by_reason.setdefault(self.drop_reasons.get(sid, "dropped"), []).append(sid)
        return {
            "sensors_dropped": len(self.dropped_sensors),
            "sensors_dropped_by_reason": by_reason,
            "sensors_without_readings": self.unused_sensors,
            "readings_merged": sum(self.merged_readings.values()),
            "readings_merged_by_sensor": dict(self.merged_readings),
            "merge_policy": self.merge_policy,
            "repeats_ignored": self.ignored_repeats,
            "values_filled": self.filled_values,
            "timestamps_removed": self.dropped_timestamps,
            "zero_speeds_missing": self.zero_speeds,
            "impossible_values_missing": self.impossible_values,
            "links_dropped": self.dropped_links,
            "timezone": self.timezone,
            "crs": self.crs,
        }

    @property
    def changed(self) -> bool:
        """True when loading dropped, merged, filled or converted anything (a banner is due)."""
        return bool(self.summary_lines())

    def summary_lines(self) -> list[str]:
        """A few short lines saying what loading changed (empty when the data were used as given)."""
        q = self.quality()
        lines = []
        if q["sensors_dropped"]:
            parts = [f"{len(ids)} {why} ({_ids(ids)})" for why, ids in q["sensors_dropped_by_reason"].items()]
            lines.append(f"{_n(q['sensors_dropped'], 'sensor')} dropped: {'; '.join(parts)}")
        if q["sensors_without_readings"]:
            lines.append(f"{_n(q['sensors_without_readings'], 'listed sensor')} without readings left out")
        if q["readings_merged"]:
            lines.append(
                f"{_n(q['readings_merged'], 'conflicting reading')} at {len(q['readings_merged_by_sensor'])} "
                f"sensor(s) merged ({q['merge_policy']} per timestamp)"
            )
        lines += [f"{_n(q[key], noun)} {what}" for key, noun, what in _COUNTED_CHANGES if q[key]]
        if q["timezone"]:
            lines.append(f"timestamps converted to local time in {q['timezone']}")
        if q["crs"]:
            lines.append(f"sensor coordinates converted from {q['crs']} to WGS84 degrees")
        return lines

    def summary(self) -> str:
        """:meth:`summary_lines` as one block (``"data used as given"`` when nothing changed)."""
        lines = self.summary_lines()
        return "\n".join(f"  - {ln}" for ln in lines) if lines else "  data used as given"

    def raise_if_errors(self) -> None:
        """Raise one :class:`DataError` listing every error (and the warnings), with this report as ``.report``."""
        if self.ok:
            return
        err = DataError(self.errors, warnings=self.warnings)
        err.report = self
        raise err

    def to_frame(self) -> pd.DataFrame:
        """All items as a table (severity, file, row, column, message); info rows have severity "info"."""
        rows = [
            {"severity": i.severity, "file": i.file, "row": i.row, "column": i.column, "message": i.message}
            for i in [*self.errors, *self.warnings]
        ]
        rows += [{"severity": "info", "file": None, "row": None, "column": None, "message": m} for m in self.info]
        frame = pd.DataFrame(rows, columns=["severity", "file", "row", "column", "message"])
        frame["row"] = frame["row"].astype("Int64")
        return frame

    def __str__(self) -> str:
        lines = [f"error: {i}" for i in self.errors]
        lines += [f"warning: {i}" for i in self.warnings]
        lines += [f"info: {m}" for m in self.info]
        return "\n".join(lines) if lines else "no problems found"


def _n(count: int, noun: str) -> str:
    """``'1 sensor'``, ``'2,976 sensors'``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _ids(ids: list[str], shown: int = 5) -> str:
    return ", ".join(ids[:shown]) + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


class IssueCollector:
    """Collects issues, listing at most :data:`MAX_ISSUES_PER_KIND` per kind and summarising the rest."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        self._overflow: dict[tuple, list[int | None]] = {}
        self._counts: dict[tuple, int] = {}

    def add(
        self,
        file: str,
        row: int | None,
        column: str | None,
        message: str,
        severity: str = "error",
        *,
        kind: str | None = None,
    ) -> None:
        """Record one issue; ``kind`` groups issues for the per-kind limit (defaults to the message)."""
        key = (file, column, severity, kind or message)
        n = self._counts.get(key, 0)
        self._counts[key] = n + 1
        if n < MAX_ISSUES_PER_KIND:
            target = self.report.errors if severity == "error" else self.report.warnings
            target.append(Issue(file, row, column, message, severity))
        else:
            self._overflow.setdefault(key, []).append(row)

    def error(self, file: str, row: int | None, column: str | None, message: str, *, kind: str | None = None) -> None:
        self.add(file, row, column, message, "error", kind=kind)

    def warn(self, file: str, row: int | None, column: str | None, message: str, *, kind: str | None = None) -> None:
        self.add(file, row, column, message, "warning", kind=kind)

    def has_errors(self) -> bool:
        return bool(self.report.errors) or any(k[2] == "error" for k in self._overflow)

    def flush(self) -> None:
        """Add one summary issue per kind that exceeded the limit."""
        for (file, column, severity, kind), rows in self._overflow.items():
            shown = [r for r in rows if r is not None][:10]
            more = f" (lines {', '.join(map(str, shown))}{', ...' if len(rows) > len(shown) else ''})" if shown else ""
            msg = f"{len(rows)} more row(s) with the same problem as above{more}: {kind}"
            target = self.report.errors if severity == "error" else self.report.warnings
            target.append(Issue(file, None, column, msg, severity))
        self._overflow.clear()
