"""Readable names for what the result pages show: methods, features, metric and table columns.

One module so that every result chart, table and export names a thing the same way; light (no
engine imports) so the figure builders can use it.
"""

from __future__ import annotations

import re
from typing import Final

#: Method names in charts, tables and exports.
METHOD_NAMES: Final = {
    "two_stage": "Plain prediction",
    "dff": "DFF (fine-tuned)",
    "dfl": "End-to-end DFL",
    "dfl_backbone": "DFL from the backbone",
    "dfl_scratch": "DFL from scratch",
    "dff_unbounded": "DFF without trust region",
    "hindsight": "Hindsight (perfect foresight)",
}
#: Short method names for tight spaces (KPI tiles, map legends side by side).
METHOD_SHORT: Final = {
    "two_stage": "Plain",
    "dff": "DFF",
    "dfl": "DFL",
    "dfl_backbone": "DFL (backbone)",
    "dfl_scratch": "DFL (scratch)",
    "dff_unbounded": "DFF (no ε)",
    "hindsight": "Hindsight",
}
#: What each trained method's epoch 0 is (its starting point before any decision-focused training).
EPOCH0_MEANING: Final = {
    "dff": "the plain backbone (no correction yet)",
    "dfl": "its own least-squares warm start",
    "dfl_backbone": "the backbone's fitted weights",
    "dfl_scratch": "random weights",
    "dff_unbounded": "the plain backbone (no correction yet)",
}
#: Calendar features by column name.
CALENDAR_NAMES: Final = {
    "tod_sin": "time of day (sine part)",
    "tod_cos": "time of day (cosine part)",
    "dow_sin": "day of week (sine part)",
    "dow_cos": "day of week (cosine part)",
    "weekend": "weekend (yes/no)",
    "slot_of_day": "time of day (slot)",
    "slot_of_week": "time of week (slot)",
    "hour": "hour of day",
    "weekday": "day of week",
}
_LAG = re.compile(r"^t-(\d+)$")


def method_name(method: str, short: bool = False) -> str:
    """Readable name of a method key (the key itself when unknown)."""
    return (METHOD_SHORT if short else METHOD_NAMES).get(method, method)


def feature_label(name: str, reading: str = "reading") -> str:
    """A feature column as words: ``S39@t-1d`` -> ``S39 reading, 1 day earlier``; ``tod_sin`` -> ``time of day ...``.

    ``reading`` names what the sensors measure (e.g. ``pace``); unknown names are returned unchanged.
    """
    name = str(name)
    if name in CALENDAR_NAMES:
        return CALENDAR_NAMES[name]
    if "@" in name:
        who, when = name.rsplit("@", 1)
        if when == "t":
            return f"{who} {reading}, latest"
        if when == "t-1d":
            return f"{who} {reading}, 1 day earlier"
        if when == "prev":
            return f"{who} value, previous period"
        if when.startswith("mean"):
            return f"{who} {reading}, mean of the last {when[4:]}"
        m = _LAG.match(when)
        if m:
            k = int(m.group(1))
            return f"{who} {reading}, {k} reading{'s' if k > 1 else ''} earlier"
        return name
    if ":" in name:
        who, what = name.split(":", 1)
        return f"{who}: {CALENDAR_NAMES.get(what, what.replace('_', ' '))}"
    return name


#: Columns of the metrics table as shown ("{unit}" is replaced by the result's unit).
METRIC_COLUMNS: Final = {
    "regret_mean": "Mean regret ({unit})",
    "regret_median": "Median regret ({unit})",
    "normalized_regret": "Normalised regret (share of optimal)",
    "mse": "Mean squared error",
    "mae": "Mean absolute error",
    "mape": "Mean absolute % error",
    "mean_relative_shift": "Mean shift from backbone (share)",
    "max_relative_shift": "Max shift from backbone (share)",
    "min_cosine": "Min cosine to backbone",
    "seconds": "Training time (s)",
}


def metric_columns(unit: str) -> dict[str, str]:
    """:data:`METRIC_COLUMNS` with the result's unit filled in."""
    return {k: v.format(unit=unit or "cost units") for k, v in METRIC_COLUMNS.items()}
