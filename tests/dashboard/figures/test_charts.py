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


def test_timeseries_legend_beside_the_plot_not_on_the_time_axis_title():
    t = pd.date_range("2026-03-02", periods=3, freq="5min")
    df = pd.DataFrame({"time": list(t) * 6, "sensor_id": np.repeat(list("abcdef"), 3), "value": np.arange(18.0)})
    fig = F.timeseries(df)
    assert fig.layout.xaxis.title.text == "Time"
    assert fig.layout.legend.orientation == "v" and fig.layout.legend.x > 1  # right of the plot, not under it
    assert fig.layout.margin.r >= 100


def test_allocation_ranked_best_on_top_units_as_dots():
    table = pd.DataFrame(
        {"item": ["y", "z", "x"], "realised": [5.0, 4.0, -1.0], "two_stage": [0, 1, 1.0], "dff": [1, 1, 0.0]}
    )
    fig = F.allocation_ranked(table, unit="calls", time_label="t1")
    bars = fig.data[0]
    assert list(bars.y) == ["x", "z", "y"]  # reversed: the best item is drawn on top
    assert list(bars.x) == [0.0, 4.0, 5.0]  # the negative value is drawn at 0 ...
    assert list(bars.customdata) == [-1.0, 4.0, 5.0]  # ... and its true value is on hover
    assert "negative values drawn at 0" in fig.layout.title.text and "t1" in fig.layout.title.text
    dots = _by_method(fig)
    assert list(dots) == ["two_stage", "dff"]
    assert list(dots["dff"].y) == ["z", "y"] and list(dots["two_stage"].y) == ["x", "z"]
    assert dots["dff"].marker.color == F.COLORS["dff"]
    assert "calls" in fig.layout.xaxis.title.text


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


def test_correction_heatmap_says_top_k_of_total():
    wide = pd.DataFrame([[0.9, 1.1]], index=["a"], columns=[7, 8])
    assert "top 1 of 207 sensors" in F.correction_heatmap(wide, total=207).layout.title.text
    assert "top" not in F.correction_heatmap(wide, total=1).layout.title.text


def test_pareto_front_keeps_points_nothing_beats_on_both_axes():
    shift = np.array([0.0, 2.0, 5.0, 3.0, 10.0])
    regret = np.array([1.3, 1.0, 1.1, 0.9, 0.8])
    # (5, 1.1) is beaten by (3, 0.9); the rest are best trade-offs, ordered by shift.
    assert list(F.pareto_front(shift, regret)) == [0, 1, 3, 4]
    assert list(F.pareto_front(np.array([1.0, 1.0]), np.array([2.0, 1.0]))) == [1]


def _trace(fig: go.Figure, **meta) -> go.BaseTraceType:
    return next(t for t in fig.data if isinstance(t.meta, dict) and all(t.meta.get(k) == v for k, v in meta.items()))


def test_epsilon_tradeoff_scatter_labelled_by_epsilon_with_pareto_front():
    sweep = pd.DataFrame(
        {
            "epsilon": [0.05, 0.1, 0.2, np.inf],
            "regret_mean": [1.2, 1.25, 1.0, 1.1],
            "mean_relative_shift": [0.02, 0.05, 0.04, 0.3],
            "plain_regret": 1.3,
        }
    )
    fig = F.epsilon_tradeoff(sweep, unit="min")
    dff = _trace(fig, method="dff")
    assert dff.mode == "markers+text"  # points, not a line joining them in ε order
    np.testing.assert_allclose(dff.x, [2.0, 4.0, 5.0])  # percent, sorted by shift
    assert list(dff.text) == ["ε=0.05", "ε=0.2", "ε=0.1"]
    unbounded = _trace(fig, method="dff_unbounded")
    assert "∞" in unbounded.text[0]
    plain = _trace(fig, method="two_stage")
    assert list(plain.x) == [0.0] and list(plain.y) == [1.3]
    front = _trace(fig, front=True)
    # plain (0, 1.3), ε=0.05 (2, 1.2), ε=0.2 (4, 1.0); ε=0.1 and ∞ are beaten by ε=0.2.
    np.testing.assert_allclose(front.x, [0.0, 2.0, 4.0])
    np.testing.assert_allclose(front.y, [1.3, 1.2, 1.0])
    assert "(%)" in fig.layout.xaxis.title.text and "(min)" in fig.layout.yaxis.title.text
