"""Words on screen: method, metric and feature names, tooltips and the glossary."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from dashboard.services import labels as L
from dashboard.services.labels import OPTION_CONTROLS
from dff_core.errors import option_hint
from dff_core.results import METHODS
from dff_core.scenarios.features import CALENDAR_COLUMNS, make_features


@pytest.mark.parametrize(
    ("name", "step", "expected"),
    [
        ("S39@t-1d", None, "S39 speed, 1 day earlier"),
        ("S39@t", None, "S39 speed, now"),
        ("S39@t-1", "5min", "S39 speed, 5 min earlier"),
        ("S39@t-3", "15min", "S39 speed, 45 min earlier"),
        ("S39@t-2", None, "S39 speed, 2 readings earlier"),
        ("S39@mean1h", None, "S39 speed, mean of the last 1 h"),
        ("tod_sin", None, "time of day (sine part)"),
        ("dow_cos", None, "day of week (cosine part)"),
        ("A7@prev", None, "A7 value, previous period"),
        ("A7:rain_mm", None, "A7 rain mm"),
    ],
)
def test_feature_names_read_as_words(name, step, expected):
    assert L.feature_label(name, step=step) == expected


def test_every_feature_the_engine_makes_gets_a_name_without_engine_syntax():
    times = pd.date_range("2026-03-02", periods=12 * 96, freq="15min")
    wide = pd.DataFrame({"S1": range(len(times)), "S2": range(len(times))}, index=times, dtype=float)
    fs = make_features(wide, horizon="30min", freq="15min", rolling="1h", daily_lag=True)
    names = L.feature_labels(fs.feature_names, quantity="count", step="15min")
    assert set(CALENDAR_COLUMNS) <= set(names)
    for raw, shown in names.items():
        assert not re.search(r"@|_sin|_cos|\bt-\d", shown), (raw, shown)
    assert names["S1@t-1d"] == "S1 count, 1 day earlier"


def test_every_method_key_has_a_label_and_no_jargon():
    keys = [*METHODS, "dfl_backbone", "dfl_scratch", "dff_unbounded", "hindsight"]
    for key in keys:
        for short in (False, True):
            label = L.method_label(key, short=short)
            assert label != key and "two-stage" not in label.lower() and "_" not in label
        assert key in L.METHOD_HELP
    assert (L.method_label("two_stage"), L.method_label("dff"), L.method_label("dfl")) == (
        "Plain prediction", "DFF (fine-tuned)", "End-to-end DFL"
    )  # fmt: skip
    assert L.method_label("new_method") == "new_method"


def test_metric_columns_carry_their_units():
    assert L.metric_label("regret_mean", "vehicle-minutes") == "Mean regret (vehicle-minutes)"
    assert L.metric_label("mae", value_unit="min/km") == "Absolute error (min/km)"
    assert "%" in L.metric_label("mape") and "%" in L.metric_label("max_relative_shift")
    metrics = pd.DataFrame(
        {"regret_mean": [2.0, 1.5], "max_relative_shift": [0.0, 0.2], "unknown": [1, 2]}, index=["two_stage", "dff"]
    )
    table = L.metrics_table(metrics, unit="calls")
    assert list(table.index) == ["Plain prediction", "DFF (fine-tuned)"]
    assert list(table.columns) == ["Mean regret (calls)", "Largest change vs plain (%)", "unknown"]
    assert table["Largest change vs plain (%)"].tolist() == [0.0, 20.0]  # fractions shown in %
    assert metrics["max_relative_shift"].tolist() == [0.0, 0.2]  # the input is left alone


def test_counts_and_values_read_naturally():
    assert [L.plural(n, "warning") for n in (0, 1, 2, 1204)] == ["0 warnings", "1 warning", "2 warnings",
                                                                  "1,204 warnings"]  # fmt: skip
    assert L.value_label("count", "boardings per hour") == "Count (boardings per hour)"
    assert L.value_label("speed_kmh", "km/h") == "Speed (km/h)"
    assert L.duration_label("60min") == "1 h" and L.duration_label(pd.Timedelta("15min")) == "15 min"


def test_glossary_explains_the_terms_on_screen():
    terms = " ".join(L.GLOSSARY).lower()
    for term in ("regret", "backbone", "ε", "dff", "dfl", "φ", "spo+"):
        assert term in terms, term
    assert all(len(text) > 40 for text in L.GLOSSARY.values())


def test_tooltips_exist_for_the_controls():
    for control in ("backbone", "horizon", "methods", "source", "budget", "epsilon", "epochs", "loss", "scenario",
                    "duplicates", "count_unit", "crs", "timezone", "zero_speeds"):  # fmt: skip
        assert len(L.HELP[control]) > 30, control


def test_every_trained_method_says_what_its_epoch_zero_is():
    assert "backbone" in L.EPOCH0_MEANING["dff"]
    assert "warm start" in L.EPOCH0_MEANING["dfl"]
    assert L.EPOCH0_MEANING["dff"] != L.EPOCH0_MEANING["dfl"]
    assert set(L.EPOCH0_MEANING) == set(L.METHOD_LABELS) - {"two_stage", "hindsight"}


def test_feature_labels_name_what_the_sensors_measure():
    assert L.feature_label("S39@t-1d", quantity="pace") == "S39 pace, 1 day earlier"
    assert L.feature_label("S39@t-3", quantity="count") == "S39 count, 3 readings earlier"
    assert L.feature_label("S39@t-1") == "S39 speed, 1 reading earlier"
    assert L.feature_label("weird_name") == "weird name"


ENGINE = Path(__file__).resolve().parents[3] / "dff_core"


def test_every_option_the_engine_points_to_has_a_control_on_the_pages():
    named = set()
    for path in ENGINE.rglob("*.py"):
        named |= set(re.findall(r"option_hint\(\s*['\"](\w+)['\"]", path.read_text(encoding="utf-8")))
    assert {"crs", "duplicates", "zero_speeds", "network_crs", "match_distance"} <= named  # the messages use it
    assert named <= set(OPTION_CONTROLS), named - set(OPTION_CONTROLS)


def test_engine_messages_name_the_pages_controls():
    text = (
        f"Set {option_hint('zero_speeds', 'keep')} if traffic stood still; raise {option_hint('match_distance')}; "
        f"give {option_hint('crs', 'EPSG:32631')}; set {option_hint('horizon', '1h')}."
    )
    shown = L.in_app(text)
    assert "“Speeds of exactly 0 are” (Data page, More reading options): standstill: keep them if" in shown
    assert "raise “Maximum matching distance (m)” (Data page, Road network);" in shown
    assert "“Coordinate system of the sensors” (Data page, More reading options): EPSG:32631;" in shown
    assert "--zero-speeds" not in shown and "--match-distance" not in shown and "--crs" not in shown
    assert "set horizon='1h' (command line: --horizon 1h)." in shown  # no page sets it: left as written
