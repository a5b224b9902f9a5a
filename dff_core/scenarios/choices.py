"""Which scenario settings fit a dataset, and why the others do not.

A user interface should offer only what can run on the data at hand, and say why the rest is
not offered. :func:`scenario_choices` lists every (scenario, predicted quantity) combination with
whether it fits a dataset and a one-line reason; :func:`allocation_values` is the same for the
allocation scenario's ``value`` setting. The scenario builders refuse unfit settings with the
same reasons (:func:`allocation_value_problem`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dff_core.errors import option_hint

__all__ = [
    "ALLOCATION_VALUES",
    "Choice",
    "allocation_value_problem",
    "allocation_values",
    "default_allocation_value",
    "scenario_choices",
]

#: The allocation scenario's ``value`` settings and what each allocates by.
ALLOCATION_VALUES = {
    "delay": "predicted delay (minutes lost per vehicle against free flow; needs speeds)",
    "count": "predicted counts (needs counts)",
}


@dataclass(frozen=True)
class Choice:
    """One setting a dataset may support: ``ok`` says whether it does, ``reason`` what it means or why not."""

    kind: str
    value: str
    label: str
    ok: bool
    reason: str


def _is_count(dataset: Any) -> bool:
    return getattr(dataset, "value_kind", "speed_kmh") == "count"


def _unit(dataset: Any) -> str:
    unit = getattr(dataset, "unit", None)
    return unit if isinstance(unit, str) else str(getattr(dataset, "value_kind", "speeds"))


def allocation_value_problem(dataset: Any, value: str) -> str | None:
    """Why allocation by ``value`` does not fit ``dataset`` (``None`` when it does)."""
    if value not in ALLOCATION_VALUES:
        return f"value must be one of {', '.join(repr(v) for v in ALLOCATION_VALUES)}; got {value!r}."
    if value == "delay" and _is_count(dataset):
        return (
            f"value='delay' needs speeds, but the readings are counts ({_unit(dataset)}); use "
            f"{option_hint('value', 'count', '--alloc-value')}."
        )
    if value == "count" and not _is_count(dataset):
        return (
            f"value='count' needs count readings, but the readings are speeds ({_unit(dataset)}); use "
            f"{option_hint('value', 'delay', '--alloc-value')}."
        )
    return None


def allocation_values(dataset: Any) -> dict[str, str | None]:
    """Each allocation ``value`` and why it does not fit ``dataset`` (``None``: it fits)."""
    return {value: allocation_value_problem(dataset, value) for value in ALLOCATION_VALUES}


def default_allocation_value(dataset: Any) -> str:
    """The allocation ``value`` that fits ``dataset``: counts for counts, delay for speeds."""
    return "count" if _is_count(dataset) else "delay"


def scenario_choices(dataset: Any) -> list[Choice]:
    """Every scenario and predicted quantity, with whether it fits ``dataset`` and why (not)."""
    counts = _is_count(dataset)
    unit = _unit(dataset)
    out = [
        Choice(
            "traffic",
            "speed",
            "Traffic routing on travel times from speeds",
            not counts,
            f"the readings are counts ({unit}); routing from counts uses the BPR travel-time function instead"
            if counts
            else "travel time per km = 60 / speed at each sensor",
        ),
        Choice(
            "traffic",
            "count",
            "Traffic routing on travel times from counts (BPR)",
            counts,
            "flows become travel times through t = t0 (1 + 0.15 (flow / capacity)^4); DFF corrects the "
            "count forecaster's travel times"
            if counts
            else f"the readings are speeds ({unit}); routing uses them directly",
        ),
    ]
    for value, what in ALLOCATION_VALUES.items():
        problem = allocation_value_problem(dataset, value)
        label = f"Allocation by {what.split(' (')[0]}"
        out.append(Choice("allocation", value, label, problem is None, problem or what))
    return out
