"""Readable names of methods, features and metric columns."""

from __future__ import annotations

from dashboard.services import result_labels as L


def test_method_names_long_short_and_unknown():
    assert L.method_name("two_stage") == "Plain prediction"
    assert L.method_name("dfl") == "End-to-end DFL"
    assert L.method_name("dff", short=True) == "DFF"
    assert L.method_name("mystery") == "mystery"


def test_every_trained_method_says_what_its_epoch_zero_is():
    assert "backbone" in L.EPOCH0_MEANING["dff"]
    assert "warm start" in L.EPOCH0_MEANING["dfl"]
    assert L.EPOCH0_MEANING["dff"] != L.EPOCH0_MEANING["dfl"]


def test_feature_labels_in_words():
    assert L.feature_label("S39@t-1d", "pace") == "S39 pace, 1 day earlier"
    assert L.feature_label("S39@t-3") == "S39 reading, 3 readings earlier"
    assert L.feature_label("S39@t-1") == "S39 reading, 1 reading earlier"
    assert L.feature_label("S39@t", "count") == "S39 count, latest"
    assert L.feature_label("tod_sin").startswith("time of day")
    assert L.feature_label("dow_cos").startswith("day of week")
    assert L.feature_label("weird_name") == "weird_name"


def test_metric_columns_carry_the_unit():
    cols = L.metric_columns("min")
    assert cols["regret_mean"] == "Mean regret (min)"
    assert "%" in cols["mape"]
    assert L.metric_columns("")["regret_mean"] == "Mean regret (cost units)"
