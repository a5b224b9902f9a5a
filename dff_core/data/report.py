"""Validation results: one :class:`Issue` per problem, collected in a :class:`ValidationReport`.

Every user-caused problem in an input file becomes an ``Issue`` that names the file, the line
(as shown in a text editor, header = line 1), the column, what is wrong and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dff_core.errors import DataError

__all__ = ["MAX_ISSUES_PER_KIND", "Issue", "IssueCollector", "ValidationReport"]

#: At most this many issues of one kind (same file, column and problem) are listed one by one;
#: the rest are summarised in one extra issue that counts them and names their first lines.
MAX_ISSUES_PER_KIND = 20


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
    """Everything found while loading: errors, warnings, and informational notes."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    info: list[str] = field(default_factory=list)
    filled_values: int = 0
    dropped_sensors: list[str] = field(default_factory=list)
    dropped_timestamps: int = 0
    dropped_links: int = 0

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings are allowed)."""
        return not self.errors

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
