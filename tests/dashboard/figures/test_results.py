"""The Train page's charts."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard import figures as F
from dff_core.progress import ProgressEvent


def _by_method(fig: go.Figure) -> dict[str, go.BaseTraceType]:
    return {t.meta["method"]: t for t in fig.data if isinstance(t.meta, dict) and "method" in t.meta}


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
    assert fig.layout.yaxis.title.text == f"{F.label('dff')} regret (min)"
    assert line.x[1] >= max(x.max(), y.max())
    assert len(fig.layout.title.text) <= 60  # fits above a half-width chart


def test_paired_scatter_needs_both_methods(traffic_result):
    del traffic_result.methods["dff"]
    with pytest.raises(ValueError, match="dff"):
        F.paired_regret_scatter(traffic_result)


def _marker(fig: go.Figure, method: str, kind: str) -> go.BaseTraceType:
    return next(t for t in fig.data if isinstance(t.meta, dict) and t.meta.get("of") == method
                and t.meta.get("marker") == kind)  # fmt: skip


def test_training_curves_skip_untrained_methods(traffic_result):
    fig = F.training_curves(traffic_result)
    curves = _by_method(fig)
    assert set(curves) == {"dff", "dfl"}  # plain has no history
    assert curves["dfl"].line.color == F.COLORS["dfl"]
    assert fig.layout.xaxis.title.text == "Epoch"
    assert "(min)" in fig.layout.yaxis.title.text
    assert "plain backbone" not in fig.layout.title.text  # epoch 0 differs per method; the title says so


def test_training_curves_label_each_epoch_zero_and_mark_the_kept_epoch(traffic_result):
    fig = F.training_curves(traffic_result)
    assert "backbone" in _marker(fig, "dff", "start").name
    assert "warm start" in _marker(fig, "dfl", "start").name
    kept = _marker(fig, "dff", "kept")
    assert list(kept.x) == [2] and list(kept.y) == [0.35]  # the lowest validation regret
    assert kept.marker.symbol == "star"
    assert "ran all 2 epochs" in _by_method(fig)["dff"].name
    assert not fig.layout.annotations


def test_training_status_early_stop_and_cancel(traffic_result):
    traffic_result.config.update(epochs=10, patience=2)
    h = traffic_result.methods["dff"].history
    traffic_result.methods["dff"].history = h.assign(val_regret=[0.3, 0.4, 0.5])  # no better after epoch 0
    st = F.training_status(traffic_result, "dff")
    assert (st["reason"], st["best_epoch"], st["epochs_run"]) == ("early_stopped", 0, 2)
    assert F.training_status(traffic_result, "dfl")["reason"] == "cancelled"  # still improving when it ended
    traffic_result.config["training"] = {"dfl": {"cancelled": True, "epochs_run": 2, "best_epoch": 2}}
    assert F.training_status(traffic_result, "dfl")["reason"] == "cancelled"
    fig = F.training_curves(traffic_result)
    assert "stopped early at epoch 2 of 10" in _by_method(fig)["dff"].name
    assert {a.text for a in fig.layout.annotations} == {"early stopped", "cancelled"}


def test_progress_curve_from_training_events():
    events = [
        ProgressEvent("backbone", epoch=1, epochs=1, status="done"),
        ProgressEvent("train", method="dff", epoch=1, epochs=2, metrics={"val_regret": 0.3}),
        ProgressEvent("train", method="dff", epoch=2, epochs=2, metrics={"val_regret": 0.2}),
        ProgressEvent("train", method="dfl", epoch=1, epochs=2, metrics={"val_regret": 0.5}),
        ProgressEvent("evaluate", epoch=0, epochs=1, status="scoring"),
    ]
    fig = F.progress_curve(events, unit="min")
    assert [t.name for t in fig.data] == [F.label("dff"), F.label("dfl")]
    assert list(fig.data[0].y) == [0.3, 0.2]
    # The unit is in the title and the axis title is one short word, so it neither covers the title nor is cut.
    assert "(min)" in fig.layout.title.text
    assert fig.layout.yaxis.title.text == "Regret"
    assert fig.layout.yaxis.automargin and fig.layout.margin.l >= 60 and fig.layout.margin.t >= 50
    assert F.progress_curve([], unit="min").data == ()


def test_training_curves_say_when_a_method_averages_several_fits(traffic_result):
    traffic_result.config["training"] = {"dff": {"members": 5}}
    names = {t.meta["method"]: t.name for t in F.training_curves(traffic_result).data if "method" in (t.meta or {})}
    assert "first of 5 fits averaged" in names["dff"] and "fits averaged" not in names["dfl"]
    assert F.training_status(traffic_result, "dfl")["members"] == 1
