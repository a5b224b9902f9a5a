"""Traffic routing from counts: the BPR map, its inputs from the links, and the count backbone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from dff_core.comparison import compare
from dff_core.scenarios import build_traffic_scenario
from dff_core.scenarios.bpr import BPR, CountBackbone, bpr_paces
from tests.scenarios.conftest import make_grid_dataset


def test_bpr_pace_by_hand_and_its_inverse() -> None:
    bpr = BPR(free_flow_pace=np.array([1.2, 0.75]), capacity=np.array([1000.0, 2000.0]))
    # 1000 veh/h on a 1000 veh/h road at 50 km/h: 1.2 min/km x (1 + 0.15 x 1^4)
    np.testing.assert_allclose(bpr.pace(np.array([[1000.0, 0.0]])), [[1.2 * 1.15, 0.75]])
    np.testing.assert_allclose(bpr.pace(np.array([[-50.0, 4000.0]])), [[1.2, 0.75 * (1 + 0.15 * 16)]])
    flows = np.array([[0.0, 10.0], [850.0, 3100.0]])
    # exact up to float rounding, which at flows far below capacity is a fraction of a vehicle per hour
    np.testing.assert_allclose(bpr.flow(bpr.pace(flows)), flows, atol=0.5, rtol=1e-9)
    with pytest.raises(ValueError, match="positive"):
        BPR(free_flow_pace=np.array([1.0]), capacity=np.array([0.0]))


def test_capacity_and_free_flow_come_from_links_then_lanes_then_the_observed_peak() -> None:
    idx = pd.date_range("2024-03-04", periods=8, freq="15min")
    counts = pd.DataFrame({"A": np.arange(8.0) * 10, "B": [50.0] * 8, "C": [100.0] * 8}, index=idx)
    links = pd.DataFrame(
        {
            "from_id": ["A", "B", "C"],
            "to_id": ["B", "C", "A"],
            "length_km": 1.0,
            "capacity": [900.0, np.nan, 1100.0],
            "lanes": [np.nan, 2.0, np.nan],
            "free_flow_kmh": [np.nan, 30.0, np.nan],
        }
    )
    paces, _, table = bpr_paces(counts, pd.Timedelta("15min"), links, (0.5, 0.25, 0.25), lane_capacity=1000)
    # A ends links A->B (900) and C->A (1100); B ends A->B (900) and B->C (2 lanes); C: B->C and C->A (1100)
    np.testing.assert_allclose(table["capacity_vph"], [1000.0, 900.0, 1100.0])
    assert list(table["capacity_from"]) == ["links", "links", "links"]
    np.testing.assert_allclose(table["free_flow_kmh"], [50.0, 30.0, 30.0])
    # flow per hour = 4 x count per 15 min; pace of C = 60 / 30 km/h x (1 + 0.15 (400 / 1100)^4)
    assert paces.loc[idx[0], "C"] == pytest.approx(2.0 * (1 + 0.15 * (400 / 1100) ** 4))
    lanes_only = links.drop(columns="capacity")
    _, _, t2 = bpr_paces(counts, pd.Timedelta("15min"), lanes_only, (0.5, 0.25, 0.25), lane_capacity=1000)
    assert t2.loc["B", "capacity_from"] == "lanes" and t2.loc["B", "capacity_vph"] == 2000.0
    assert t2.loc["A", "capacity_from"] == "observed peak"
    # the peak is taken from the training half only: A's counts rise 0, 10, 20, 30 there (x4 per hour)
    assert t2.loc["A", "capacity_vph"] == pytest.approx(np.percentile([0, 40, 80, 120], 95))


def test_count_backbone_fits_flows_and_predicts_paces() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (200, 3))
    W = np.array([[400.0, 900.0], [300.0, -200.0], [100.0, 600.0]])
    flows = X @ W
    bpr = BPR(free_flow_pace=np.array([1.0, 2.0]), capacity=np.array([500.0, 800.0]))
    model = CountBackbone(LinearRegression(), bpr).fit(X, bpr.pace(flows))
    # the targets are turned back into flows exactly where they are positive; the fit sees those
    positive = (flows > 0).all(axis=1)
    np.testing.assert_allclose(model.predict(X[positive]), bpr.pace(flows[positive]), rtol=0.05)
    assert (model.predict(X) >= bpr.free_flow_pace - 1e-12).all()  # negative flow forecasts are clipped
    unfitted = CountBackbone(LinearRegression(), bpr)
    with pytest.raises(Exception, match="not fitted"):
        unfitted.predict(X)
    with pytest.raises(ValueError, match=r"CountBackbone\.predict: bpr is None"):
        model.set_params(bpr=None).predict(X)


def test_traffic_from_counts_routes_on_bpr_travel_times() -> None:
    ds = make_grid_dataset(days=3, value_kind="count")
    sc = build_traffic_scenario(ds, n_pairs=2)
    table = sc.extra["bpr"]
    assert sc.kind == "traffic" and sc.unit == "vehicle-minutes" and "BPR" in sc.extra["quantity"]
    assert isinstance(sc.wrap_backbone, BPR) and sc.options["bpr_alpha"] == 0.15 and sc.options["bpr_beta"] == 4.0
    assert sc.options["count_unit"] == "vehicles per 15 min"
    # target = BPR pace of the count 30 minutes (2 steps) after the decision time
    t = sc.times[5]
    s = sc.output_names[0]
    flow = ds.readings.loc[t + pd.Timedelta("30min"), s] * 4
    cap = table.loc[s, "capacity_vph"]
    assert sc.C[5, 0] == pytest.approx(60 / 50 * (1 + 0.15 * (flow / cap) ** 4))
    # features are the counts themselves (the forecaster's input), not paces
    assert sc.X[5, sc.feature_names.index(f"{s}@t")] == ds.readings.loc[t, s]
    text = sc.describe()
    assert "assumption" in text and "flow per hour = count x 4" in text and "horizon 30 min" in text


def test_compare_uses_the_count_forecaster_followed_by_bpr() -> None:
    ds = make_grid_dataset(days=4, value_kind="count")
    sc = build_traffic_scenario(ds, n_pairs=2)
    wrapped = []
    real = sc.wrap_backbone

    def spy(backbone):
        wrapped.append(backbone)
        return real(backbone)

    sc.wrap_backbone = spy
    res = compare(sc, backbone="ridge", epsilon=0.2, methods=("two_stage", "dff"), epochs=2, seed=0)
    assert len(wrapped) == 1 and hasattr(wrapped[0], "fit")
    assert res.metrics.loc["dff", "max_relative_shift"] <= 0.2 + 1e-9
    # the two-stage predictions are BPR paces: never below any sensor's free-flow pace
    two_stage = res.methods["two_stage"].C_pred
    assert (two_stage >= real.free_flow_pace - 1e-9).all()
