"""Exceptions raised by the engine, each with a message a user can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotation only: the data layer sits above this module
    from dff_core.data.report import ValidationReport


class SolverError(RuntimeError):
    """A decision problem could not be solved (infeasible, unbounded, solver failure).

    The message names the problem class and, where it applies, the instance index.
    """


class DataError(ValueError):
    """Input data is unusable. ``problems`` lists every issue found, not just the first.

    Each entry is a :class:`dff_core.data.report.Issue`-like object or a plain string;
    ``str(err)`` gives one line per problem. ``report`` is the full
    :class:`~dff_core.data.report.ValidationReport` when the error comes from one, else ``None``.
    """

    def __init__(self, problems: list | str, *, warnings: list | None = None) -> None:
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        self.warnings = list(warnings or [])
        self.report: ValidationReport | None = None
        super().__init__("\n".join(str(p) for p in self.problems))


def option_hint(name: str, value: str | None = None, flag: str | None = None) -> str:
    """How a message names an option a user can set: the keyword and its command-line flag.

    ``option_hint("zero_speeds", "keep")`` gives ``zero_speeds='keep' (command line: --zero-speeds keep)``.
    Every message uses this one form so the dashboard can put its own control's label in its place
    (``dashboard.services.labels.in_app``).
    """
    flag = flag or "--" + name.replace("_", "-")
    if value is None:
        return f"{name} (command line: {flag})"
    return f"{name}={value!r} (command line: {flag} {value})"
