"""Unit tests of the pure figure builders: traces, axis titles with units, method colours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import figures as F


def _by_method(fig: go.Figure) -> dict[str, go.BaseTraceType]:
    return {t.meta["method"]: t for t in fig.data if isinstance(t.meta, dict) and "method" in t.meta}


def test_colours_cover_every_method_and_are_distinct():
    assert set(F.COLORS) == {"two_stage", "dff", "dfl", "hindsight"}
    assert len(set(F.COLORS.values())) == 4


def test_kpi_table_relative_change_and_bounds(traffic_result):
    k = F.kpi_table(traffic_result).set_index("method")
    assert list(k.index) == ["two_stage", "dff", "dfl"]
    plain = traffic_result.metrics.loc["two_stage", "regret_mean"]
    dff = traffic_result.metrics.loc["dff", "regret_mean"]
    assert k.loc["dff", "rel_change"] == pytest.approx((dff - plain) / plain)
    assert k.loc["two_stage", "rel_change"] == pytest.approx(0.0)
    assert k.loc["dff", "shift_bound"] == pytest.approx(0.15)
    assert k.loc["dff", "cosine_bound"] == pytest.approx(np.sqrt(1 - 0.15**2))
    assert np.isnan(k.loc["dfl", "shift_bound"])


def test_regret_distribution_one_box_per_method_with_units(traffic_result):
    fig = F.regret_distribution(traffic_result)
    boxes = _by_method(fig)
    assert set(boxes) == {"two_stage", "dff", "dfl"}
    for name, tr in boxes.items():
        assert isinstance(tr, go.Box)
        assert tr.marker.color == F.COLORS[name]
        np.testing.assert_allclose(tr.y, traffic_result.methods[name].regret)
        assert "2026-03-02" in tr.customdata[0]
    assert fig.layout.yaxis.title.text == "Regret (min)"


def test_paired_scatter_has_identity_line_and_counts(traffic_result):
    fig = F.paired_regret_scatter(traffic_result)
    line, pts = fig.data
    assert line.x[0] == 0 and line.x[1] == line.y[1]
    assert pts.marker.color == F.COLORS["dff"]
    x, y = traffic_result.methods["two_stage"].regret, traffic_result.methods["dff"].regret
    assert f"{int(np.sum(y < x - 1e-9))} better" in pts.name
    assert fig.layout.xaxis.title.text == "Plain regret (min)"
    assert fig.layout.yaxis.title.text == "DFF regret (min)"
    assert line.x[1] >= max(x.max(), y.max())


def test_paired_scatter_needs_both_methods(traffic_result):
    del traffic_result.methods["dff"]
    with pytest.raises(ValueError, match="dff"):
        F.paired_regret_scatter(traffic_result)


def test_training_curves_skip_untrained_methods(traffic_result):
    fig = F.training_curves(traffic_result)
    curves = _by_method(fig)
    assert set(curves) == {"dff", "dfl"}  # plain has no history
    assert curves["dfl"].line.color == F.COLORS["dfl"]
    assert fig.layout.xaxis.title.text == "Epoch"
    assert "(min)" in fig.layout.yaxis.title.text


def test_progress_curve_from_records():
    recs = [
        {"method": "dff", "epoch": 1, "val_regret": 0.3},
        {"method": "dff", "epoch": 2, "val_regret": 0.2},
        {"method": "dfl", "epoch": 1, "val_regret": 0.5},
        {"method": "data", "epoch": None, "val_regret": None},
    ]
    fig = F.progress_curve(recs, unit="min")
    assert [t.name for t in fig.data] == ["DFF", "End-to-end DFL"]
    assert list(fig.data[0].y) == [0.3, 0.2]
    assert F.progress_curve([], unit="min").data == ()


SENSORS = pd.DataFrame({"sensor_id": ["a", "b", "c"], "lat": [34.0, 34.1, 34.2], "lon": [-118.3, -118.2, -118.1]})
LINKS = pd.DataFrame(
    {
        "link_id": ["l0", "l1"],
        "lon0": [-118.3, -118.2],
        "lat0": [34.0, 34.1],
        "lon1": [-118.2, -118.1],
        "lat1": [34.1, 34.2],
    }
)


def test_sensor_map_offline_style_and_layers():
    fig = F.sensor_map(SENSORS, LINKS, selected=["b"])
    assert all(isinstance(t, go.Scattermap) for t in fig.data)
    assert fig.layout.map.style == "white-bg"
    assert fig.layout.map.layers[0].sourcetype == "geojson"
    links, sensors, sel = fig.data
    assert list(links.lon) == [-118.3, -118.2, None, -118.2, -118.1, None]
    assert list(sensors.customdata[:, 0]) == ["a", "b", "c"]
    assert list(sel.text) == ["b"]
    assert 34.0 < fig.layout.map.center.lat < 34.2


def test_route_map_draws_each_method_with_travel_time():
    routes = {"two_stage": np.array([1, 0]), "dff": np.array([0, 1]), "hindsight": np.array([0, 1])}
    fig = F.route_map(LINKS, routes, {"two_stage": 12.0, "dff": 9.5, "hindsight": 9.5}, unit="min", sensors=SENSORS)
    tr = _by_method(fig)
    assert set(tr) == {"two_stage", "dff", "hindsight"}
    assert tr["dff"].line.color == F.COLORS["dff"]
    assert "9.5 min" in tr["dff"].name and "12.0 min" in tr["two_stage"].name
    assert list(tr["two_stage"].lon) == [-118.3, -118.2, None]
    assert fig.layout.map.style == "white-bg"


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
