"""Words on screen: readable names for methods, metrics and features, control tooltips and the glossary.

Every page takes its labels from here, so a method or a metric reads the same everywhere and no
engine key (``two_stage``, ``regret_mean``, ``S39@t-1d``) reaches the screen. Pure Python: no
Streamlit, no engine imports beyond the duration parser, so figures and tests can use it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import pandas as pd

from dff_core.data.parsing import format_duration, parse_duration

# ------------------------------------------------------------------------------ methods
#: Method keys of the engine (``dff_core.results``) and the comparison's reference, in plain words.
METHOD_LABELS: Final = {
    "two_stage": "Plain prediction",
    "dff": "DFF (fine-tuned)",
    "dfl": "End-to-end DFL",
    "dfl_backbone": "DFL from the backbone",
    "dfl_scratch": "DFL from scratch",
    "dff_unbounded": "DFF without trust region",
    "hindsight": "Hindsight (perfect foresight)",
}
#: The same, for tight spaces (KPI tiles, legends).
SHORT_METHOD_LABELS: Final = {
    "two_stage": "Plain",
    "dff": "DFF",
    "dfl": "DFL",
    "dfl_backbone": "DFL (backbone)",
    "dfl_scratch": "DFL (scratch)",
    "dff_unbounded": "DFF (no bound)",
    "hindsight": "Hindsight",
}
#: What each method does, in one sentence (tooltips, the Methods control).
METHOD_HELP: Final = {
    "two_stage": "The backbone's forecast used as it is: predict first, then decide.",
    "dff": "The backbone's forecast corrected by at most ±ε per value so that the decisions get better.",
    "dfl": "A linear forecaster trained end to end on decision quality, with no bound to the backbone.",
    "dfl_backbone": "The backbone's own model trained further on decision quality, starting from its weights.",
    "dfl_scratch": "The backbone's model class trained on decision quality from random weights.",
    "dff_unbounded": "DFF's correction without the trust region (ε unlimited): how much the bound matters.",
    "hindsight": "Decisions made knowing the actual values: the best possible, with zero regret.",
}


def method_label(method: str, short: bool = False) -> str:
    """Readable name of a method key (the key itself when unknown)."""
    return (SHORT_METHOD_LABELS if short else METHOD_LABELS).get(method, method)


#: What each trained method's epoch 0 is (its starting point before any decision-focused training).
EPOCH0_MEANING: Final = {
    "dff": "the plain backbone (no correction yet)",
    "dfl": "its own least-squares warm start",
    "dfl_backbone": "the backbone's fitted weights",
    "dfl_scratch": "random weights",
    "dff_unbounded": "the plain backbone (no correction yet)",
}


# ------------------------------------------------------------------------------ scenarios and settings
SCENARIO_LABELS: Final = {"traffic": "Traffic routing", "allocation": "Allocation of response units"}
BACKBONE_LABELS: Final = {
    "ridge": "Ridge regression",
    "linear": "Linear regression",
    "historical_profile": "Historical profile (time of week)",
    "gradient_boosting": "Gradient boosting",
    "random_forest": "Random forest",
    "mlp": "Neural network (MLP)",
}
LOSS_LABELS: Final = {"spo+": "SPO+", "pfyl": "Perturbed Fenchel-Young (PFYL)", "nce": "Noise-contrastive (NCE)"}
ALLOCATION_SOURCES: Final = {
    "readings": "sensors of the readings",
    "items": "items of the allocation table",
}
#: What the allocation ranks by (the spec's ``alloc_value``).
ALLOCATION_VALUE_LABELS: Final = {"delay": "predicted delay", "count": "predicted counts"}
#: What the progress bar says for each engine stage.
STAGE_LABELS: Final = {
    "backbone": "fitting the backbone",
    "dff": "training DFF",
    "dfl": "training end-to-end DFL",
    "evaluate": "scoring on the test set",
}

# ------------------------------------------------------------------------------ data
#: What the readings measure (the loader's ``value``), as the Data page offers it.
VALUE_KIND_LABELS: Final = {"speed_kmh": "speeds in km/h", "speed_mph": "speeds in mph", "count": "counts"}
#: The loader's ``duplicates`` policies in plain words.
DUPLICATE_LABELS: Final = {
    "error": "stop and list them (default)",
    "mean": "use their mean",
    "sum": "add them up (counts)",
    "first": "keep the first in the file",
    "last": "keep the last in the file",
}
#: The loader's ``zero_speeds`` policies in plain words.
ZERO_SPEED_LABELS: Final = {
    "missing": "a failed detector: treat as missing (default)",
    "keep": "standstill: keep them",
}


#: Engine options a message may tell the user to set (``dff_core.errors.option_hint``): the control that
#: sets each on the pages, and how a value of it reads there.
OPTION_CONTROLS: Final = {
    "crs": ("“Coordinate system of the sensors” (Data page, More reading options)", {}),
    "duplicates": ("“Different readings for one sensor and time” (Data page)", DUPLICATE_LABELS),
    "zero_speeds": ("“Speeds of exactly 0 are” (Data page, More reading options)", ZERO_SPEED_LABELS),
    "network_crs": ("“Coordinate system of the network” (Data page, Road network)", {}),
    "network_nodes": ("the “Node coordinates” upload (Data page, Road network)", {}),
    "match_distance": ("“Maximum matching distance (m)” (Data page, Road network)", {}),
    "value": ("“Allocate by” (Train & compare)", ALLOCATION_VALUE_LABELS),
}
_OPTION = re.compile(r"\b(?P<name>[a-z_]+)(?:='(?P<value>[^']*)')? \(command line: --[a-z-]+(?: [^)]*)?\)")


def in_app(text: str) -> str:
    """An engine message with its options named as the pages' controls, not as keywords and flags.

    ``... Set zero_speeds='keep' (command line: --zero-speeds keep) ...`` reads
    ``... Set “Speeds of exactly 0 are” (Data page, More reading options): standstill: keep them ...``.
    Options no page sets are left as the engine wrote them.
    """

    def control(m: re.Match[str]) -> str:
        known = OPTION_CONTROLS.get(m["name"])
        if known is None:
            return m[0]
        label, values = known
        value = m["value"]
        return label if value is None else f"{label}: {values.get(value, value)}"

    return _OPTION.sub(control, text)


def value_label(value_kind: str, unit: str) -> str:
    """Axis label of the readings: ``"Speed (km/h)"``, ``"Count (boardings per hour)"``."""
    return f"{'Count' if value_kind == 'count' else 'Speed'} ({unit})"


def duration_label(td: pd.Timedelta | str) -> str:
    """A duration as people write it: ``"5 min"``, ``"1 h"``, ``"2 h"``."""
    return format_duration(parse_duration(td, "duration") if isinstance(td, str) else pd.Timedelta(td))


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``"1 warning"``, ``"2 warnings"``, ``"1,204 rows"``."""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"


# ------------------------------------------------------------------------------ metrics
#: Metric columns of a comparison (``ComparisonResult.metrics``): label template and plain meaning.
#: ``{unit}`` is the regret unit, ``{value_unit}`` the unit of the predicted values.
METRIC_LABELS: Final = {
    "regret_mean": ("Mean regret ({unit})", "Average extra cost of the decisions against perfect foresight."),
    "regret_median": ("Median regret ({unit})", "Typical extra cost of one decision against perfect foresight."),
    "normalized_regret": (
        "Regret share (% of the best cost)",
        "Total regret as a share of the total cost of the hindsight decisions.",
    ),
    "mse": ("Squared error ({value_unit}²)", "Mean squared forecast error."),
    "rmse": ("RMS error ({value_unit})", "Root mean squared forecast error."),
    "mae": ("Absolute error ({value_unit})", "Mean absolute forecast error."),
    "mape": ("Percentage error (%)", "Mean absolute forecast error relative to the actual value."),
    "mean_relative_shift": ("Mean change vs plain (%)", "Average change of a prediction against the backbone's."),
    "max_relative_shift": ("Largest change vs plain (%)", "Largest change of any prediction; DFF keeps it within ε."),
    "min_cosine": ("Smallest similarity to plain (cosine, 0–1)", "1 = same direction as the backbone's forecast."),
    "seconds": ("Training time (s)", "Wall-clock seconds to fit the method."),
}
#: Metric columns stored as fractions but shown as percentages.
PERCENT_METRICS: Final = ("normalized_regret", "mean_relative_shift", "max_relative_shift")


def metric_label(column: str, unit: str = "cost units", value_unit: str = "value units") -> str:
    """Readable, unit-bearing label of a metric column (the column name itself when unknown)."""
    entry = METRIC_LABELS.get(column)
    return entry[0].format(unit=unit or "cost units", value_unit=value_unit or "value units") if entry else column


def metrics_table(metrics: pd.DataFrame, unit: str = "cost units", value_unit: str = "value units") -> pd.DataFrame:
    """A metrics table (index = method keys) for display: methods and columns named, fractions in %."""
    out = metrics.copy()
    for col in PERCENT_METRICS:
        if col in out:
            out[col] = 100.0 * out[col].astype(float)
    out.index = [method_label(str(m)) for m in out.index]
    out.index.name = "Method"
    return out.rename(columns={c: metric_label(c, unit, value_unit) for c in out.columns})


# ------------------------------------------------------------------------------ features
#: Calendar features of the engine (``dff_core.scenarios.features.CALENDAR_COLUMNS``).
CALENDAR_LABELS: Final = {
    "tod_sin": "time of day (sine part)",
    "tod_cos": "time of day (cosine part)",
    "dow_sin": "day of week (sine part)",
    "dow_cos": "day of week (cosine part)",
    "weekend": "weekend (yes/no)",
    "slot_of_day": "time of day (slot)",
    "slot_of_week": "time of week (slot)",
}
_SENSOR_FEATURE = re.compile(r"^(?P<sensor>.+)@(?:t(?:-(?P<lag>\d+d?))?|mean(?P<window>.+))$")


def _ago(lag: str, step: pd.Timedelta | None) -> str:
    if lag.endswith("d"):
        days = int(lag[:-1])
        return f"{days} day{'s' if days != 1 else ''} earlier"
    k = int(lag)
    if step is not None:
        return f"{format_duration(k * pd.Timedelta(step))} earlier"
    return f"{k} reading{'s' if k != 1 else ''} earlier"


def feature_label(name: str, quantity: str = "speed", step: pd.Timedelta | str | None = None) -> str:
    """Readable name of an engine feature: ``S39@t-1d`` → ``"S39 speed, 1 day earlier"``.

    ``quantity`` names what the sensor features measure (``"speed"``, ``"count"``), ``step`` is the
    reading interval (lags in steps then read as durations: ``S39@t-1`` → ``"S39 speed, 5 min
    earlier"``). Calendar columns become ``"time of day"``, ``"day of week"``; items-table features
    (``A@prev``, ``A:rain``) become ``"A value, previous period"`` and ``"A rain"``.
    """
    if name in CALENDAR_LABELS:
        return CALENDAR_LABELS[name]
    td = parse_duration(step, "step") if isinstance(step, str) else step
    m = _SENSOR_FEATURE.match(name)
    if m:
        sensor = m["sensor"]
        if m["window"]:
            try:
                window = format_duration(parse_duration(m["window"], "window"))
            except ValueError:
                window = m["window"]
            return f"{sensor} {quantity}, mean of the last {window}"
        return f"{sensor} {quantity}, {_ago(m['lag'], td) if m['lag'] else 'now'}"
    if name.endswith("@prev"):
        return f"{name[: -len('@prev')]} value, previous period"
    if ":" in name:
        item, _, feature = name.partition(":")
        return f"{item} {feature.replace('_', ' ')}"
    return name.replace("_", " ")


def feature_quantity(value_kind: str | None) -> str:
    """The word for what sensor features measure: ``"count"`` for counts, else ``"speed"``."""
    return "count" if value_kind == "count" else "speed"


def feature_labels(
    names: list[str], quantity: str = "speed", step: pd.Timedelta | str | None = None
) -> Mapping[str, str]:
    """:func:`feature_label` of each name, as a mapping (for renaming columns)."""
    return {n: feature_label(n, quantity, step) for n in names}


# ------------------------------------------------------------------------------ glossary
#: Terms a new user meets on screen, explained in plain words (the start page lists them).
GLOSSARY: Final = {
    "Regret": (
        "How much worse a decision made on a forecast turns out than the best decision made knowing the "
        "actual values, in the scenario's unit (e.g. vehicle-minutes of travel). 0 is perfect; lower is better."
    ),
    "Backbone": (
        "The forecaster you already trust (e.g. ridge regression), trained for accuracy only. DFF keeps it "
        "and adjusts its output instead of replacing it."
    ),
    "Trust region ε": (
        "How far DFF may move each forecast: at most ±ε of the backbone's value (ε = 0.2 allows ±20 %). "
        "A small ε keeps the forecasts close to the ones you trust."
    ),
    "DFF (decision-focused fine-tuning)": (
        "A small correction learned on top of the backbone so that the decisions made from its forecasts cost "
        "less, while every forecast stays inside the trust region."
    ),
    "End-to-end DFL": (
        "Decision-focused learning: a forecaster trained on decision quality from the start, with no bound to "
        "a trusted model. The usual alternative to DFF."
    ),
    "φ (correction factor)": (
        "The factor DFF multiplies a backbone forecast by: 1 leaves it unchanged, 1.1 raises it by 10 %. "
        "It always lies between 1 − ε and 1 + ε."
    ),
    "SPO+": (
        "The training loss that scores a forecast by the decisions it leads to (a smooth upper bound of "
        "regret that gradient training can lower)."
    ),
    "Plain prediction": "The backbone's forecast used as it is: predict first, then decide.",
}

# ------------------------------------------------------------------------------ control tooltips
#: Tooltips of the controls, in plain words (keyed by what the control sets).
HELP: Final = {
    "scenario": (
        "What is decided from the forecasts. Traffic routing: each trip takes the fastest route on the "
        "predicted travel times. Allocation: a budget of response units goes where the predicted value is highest."
    ),
    "backbone": (
        "The forecaster you trust, trained for accuracy only. Plain prediction uses it as it is; DFF corrects "
        "its forecasts."
    ),
    "loss": "How DFF and DFL score a forecast during training: by the cost of the decisions it leads to.",
    "epsilon": (
        "How far DFF may move each forecast: at most ±ε of the backbone's value (0.2 = ±20 %). "
        "Smaller keeps the forecasts closer to the backbone's."
    ),
    "horizon": (
        "How far ahead the forecasts look: a decision taken now uses the values predicted for now + horizon. "
        "Offered in whole multiples of the reading interval."
    ),
    "epochs": (
        "Passes over the training data for DFF and DFL. Training stops early when the validation regret stops "
        "improving, and the best epoch is kept."
    ),
    "methods": (
        "Which forecasts to compare. Plain prediction is the reference and must be included; each other "
        "method is scored by how much it lowers regret."
    ),
    "pairs": (
        "Trips to route, as origin → destination sensors. Leave empty to route 5 long trips across the network "
        "chosen automatically."
    ),
    "pairs_network": (
        "Trips to route, as origin → destination nodes of the road network (its zones when it has them). "
        "Leave empty to route 5 long trips across the network chosen automatically."
    ),
    "source": "Where the units go: to the sensors of the readings, or to the items of an allocation table.",
    "alloc_value": "What the allocation ranks places by: the predicted delay (from speeds) or predicted counts.",
    "budget": "How many response units are placed at each decision time (whole units).",
    "data_source": "Use the bundled sample city, or upload your own CSV files.",
    "value": "What the readings measure. Speeds are converted to km/h; counts keep their own unit.",
    "count_unit": "What is counted, e.g. vehicles, boardings or pedestrians: it labels every chart and table.",
    "duplicates": (
        "Rows that give one sensor different values at the same time. Stop and list them, or combine them "
        "(identical repeats are always dropped)."
    ),
    "zero_speeds": "Speeds of exactly 0: most detectors report a failure that way; on some roads it is standstill.",
    "crs": (
        "Coordinate system of the sensors' coordinates when they are not latitude/longitude degrees, "
        "e.g. EPSG:32721 for UTM metres. Leave empty for latitude/longitude."
    ),
    "timezone": (
        "Local time zone for timestamps with UTC offsets (e.g. Europe/Paris), so hours and weekdays are local. "
        "Leave empty to keep the file's."
    ),
    "start": "For a wide file without a timestamp column: the time of its first row.",
    "freq": "The time between rows of a file without timestamps (e.g. 5min), or a coarser step to average onto.",
    "preview": "Sensors whose readings are drawn below (at most 8).",
    "network": (
        "Optional: a road network to route on instead of the sensor graph. A TNTP X_net.tntp (with its "
        "X_node.tntp), a links CSV (from_id, to_id, free_flow_time; a WKT geometry column or a node file) or "
        "a GeoJSON/GeoPackage of LineString links. Each sensor is put on its nearest link."
    ),
    "network_nodes": (
        "Node coordinates of the network: TNTP X_node.tntp, or a CSV node_id, x, y. Not needed when the links "
        "file draws its links (GeoJSON, WKT geometry)."
    ),
    "network_crs": (
        "Coordinate system of the network's node coordinates when they are not latitude/longitude degrees, "
        "e.g. EPSG:26771 for Chicago Sketch (Illinois State Plane feet). A PROJ string works for local units."
    ),
    "match_distance": (
        "A sensor farther than this from every link is left out of the routing (listed in the validation "
        "report). Raise it when sensors sit beside the drawn roads."
    ),
}
