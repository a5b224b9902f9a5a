"""The other pages' charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import figures as F


def _by_method(fig: go.Figure) -> dict[str, go.BaseTraceType]:
    return {t.meta["method"]: t for t in fig.data if isinstance(t.meta, dict) and "method" in t.meta}


def test_timeseries_one_trace_per_sensor_with_units():
    t = pd.date_range("2026-03-02", periods=4, freq="5min")
    df = pd.DataFrame({"time": list(t) * 2, "sensor_id": ["a"] * 4 + ["b"] * 4, "value": np.arange(8.0)})
    fig = F.timeseries(df, value_label="Speed (mph)")
    assert [tr.name for tr in fig.data] == ["sensor a", "sensor b"]
    assert fig.layout.yaxis.title.text == "Speed (mph)"
    assert "sensor %{customdata}" in fig.data[0].hovertemplate


def test_allocation_bars_grouped_with_realised_axis():
    alloc = {"two_stage": np.array([1, 0, 1.0]), "dff": np.array([1, 1, 0.0]), "hindsight": np.array([0, 1, 1.0])}
    fig = F.allocation_bars(["x", "y", "z"], alloc, np.array([3, 5, 4.0]), unit="calls")
    bars = _by_method(fig)
    assert [m for m in bars] == ["two_stage", "dff", "hindsight"]
    assert bars["hindsight"].marker.color == F.COLORS["hindsight"]
    assert fig.layout.barmode == "group"
    assert fig.layout.yaxis.title.text == "Units allocated (units)"
    assert "calls" in fig.layout.yaxis2.title.text


def test_correction_heatmap_centred_on_one():
    wide = pd.DataFrame([[0.9, 1.1], [1.0, 1.05]], index=["a", "b"], columns=[7, 8])
    fig = F.correction_heatmap(wide, epsilon=0.2)
    hm = fig.data[0]
    assert hm.zmid == 1.0 and hm.zmin == pytest.approx(0.8) and hm.zmax == pytest.approx(1.2)
    assert list(hm.y) == ["a", "b"] and list(hm.x) == ["7", "8"]
    assert fig.layout.xaxis.title.text == "Hour of day (h)"
    assert fig.layout.yaxis.title.text == "Sensor"
    assert F.correction_heatmap(wide, row_label="Item").layout.yaxis.title.text == "Item"


def test_attribution_bars_sorted_by_magnitude_and_signed_colours():
    attr = pd.DataFrame({"feature": ["f1", "f2", "f3"], "value": [0.1, -0.5, 0.3]})
    fig = F.attribution_bars(attr)
    bar = fig.data[0]
    assert list(bar.y) == ["f1", "f3", "f2"]  # largest |value| on top
    assert list(bar.marker.color) == [F.COLORS["dff"], F.COLORS["dff"], "#DC2626"]
    signed = F.attribution_bars(attr.assign(value=attr["value"].abs(), signed=[-1.0, 1.0, 1.0])).data[0]
    assert list(signed.y) == ["f1", "f3", "f2"]
    assert list(signed.marker.color) == ["#DC2626", F.COLORS["dff"], F.COLORS["dff"]]


def test_decision_changes_total_in_title():
    diff = pd.DataFrame({"time": ["t1", "t2"], "saved": [1.5, -0.5]})
    fig = F.decision_changes(diff, unit="min")
    assert "total saved 1.00 min" in fig.layout.title.text
    assert fig.layout.yaxis.title.text == "Regret saved (min)"
    assert fig.layout.xaxis.type == "category"  # two bars: no millisecond date axis


def test_epsilon_tradeoff_in_percent():
    sweep = pd.DataFrame(
        {"epsilon": [0.2, 0.05], "regret_mean": [1.0, 1.2], "mean_relative_shift": [0.1, 0.02], "plain_regret": 1.3}
    )
    fig = F.epsilon_tradeoff(sweep, unit="min")
    tr = fig.data[0]
    np.testing.assert_allclose(tr.x, [2.0, 10.0])
    assert list(tr.text) == ["ε=0.05", "ε=0.2"]
    assert "(%)" in fig.layout.xaxis.title.text and "(min)" in fig.layout.yaxis.title.text
