"""What the result pages draw: routes, correction tables, changed decisions, the opening test time."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from dashboard.services import views as V
from dff_core.progress import ProgressEvent


def test_route_decisions_on_a_grid(traffic_result):
    flows, times = V.route_decisions(traffic_result, 0)
    assert set(flows) == {"two_stage", "dff", "dfl", "hindsight"}
    # hindsight is the best route under the true costs
    assert times["hindsight"] <= min(times.values()) + 1e-9
    assert times["two_stage"] - times["hindsight"] == pytest.approx(traffic_result.methods["two_stage"].regret[0])


def test_route_decisions_refuse_other_problems(allocation_result):
    with pytest.raises(ValueError, match="not a routing"):
        V.route_decisions(allocation_result, 0)


def test_corrections_by_hour_and_decision_differences(traffic_result):
    table = V.corrections_by_hour(traffic_result)
    assert table.shape == (12, 8)  # 12 predicted values x 8 distinct test hours
    assert list(table.index[:2]) == ["S0", "S1"]
    diff = V.decision_differences(traffic_result)
    reg = {m: traffic_result.methods[m].regret for m in ("two_stage", "dff")}
    for row in diff.itertuples():
        assert row.saved == pytest.approx(reg["two_stage"][row.instance] - reg["dff"][row.instance])
        assert row.time == V.time_labels(traffic_result)[row.instance]


def test_most_changed_instance_points_at_the_largest_regret_gap(traffic_result):
    gap = abs(traffic_result.methods["two_stage"].regret - traffic_result.methods["dff"].regret)
    assert V.most_changed_instance(traffic_result) == int(gap.argmax())
    traffic_result.methods["dff"].regret = traffic_result.methods["two_stage"].regret.copy()
    assert V.most_changed_instance(traffic_result) == 0


def test_time_labels_and_row_labels(traffic_result, allocation_result):
    assert V.time_labels(traffic_result)[0] == "2026-03-02 06:00"
    traffic_result.times = None
    assert V.time_labels(traffic_result)[1] == "instance 1"
    assert V.row_label(traffic_result) == "Sensor"
    allocation_result.config["scenario"] = "allocation"
    assert V.row_label(allocation_result) == "Item"  # no sensors: the values are items


def test_feature_attribution_needs_a_fitted_model(traffic_result):
    assert V.feature_attribution(traffic_result, "run") is None


# ------------------------------------------------------------------------------ decisions at one time
SENSORS = pd.DataFrame({"sensor_id": ["a", "b", "c"], "lat": [34.0, 34.1, 34.2], "lon": [-118.3, -118.2, -118.1]})


def test_trip_points_origin_and_destination_of_the_selected_trip():
    pts = V.trip_points([("a", "c"), ("b", "a")], SENSORS)
    assert [(p[2].split()[0], p[3]) for p in pts] == [("a", "origin"), ("c", "destination"), ("b", "origin"),
                                                      ("a", "destination")]  # fmt: skip
    one = V.trip_points([("a", "c"), ("b", "a")], SENSORS, pair=1)
    assert [(p[0], p[1], p[3]) for p in one] == [(-118.2, 34.1, "origin"), (-118.3, 34.0, "destination")]
    assert [p[3] for p in V.trip_points([("a", "zz")], SENSORS)] == ["origin"]  # an unknown sensor is skipped


def test_regret_at_follows_the_selected_trip(traffic_result):
    trip = {"two_stage": 10.0, "dff": 9.0, "dfl": 12.0, "hindsight": 8.0}
    assert list(V.regret_at(traffic_result, 3, trip)["Regret"]) == [2.0, 1.0, 4.0]
    all_trips = V.regret_at(traffic_result, 3)
    assert list(all_trips["Method"]) == ["Plain prediction", "DFF (fine-tuned)", "End-to-end DFL"]
    np.testing.assert_allclose(
        all_trips["Regret"], [traffic_result.methods[m].regret[3] for m in ("two_stage", "dff", "dfl")]
    )


def test_site_frame_places_each_value_or_none(allocation_result):
    sensors = pd.DataFrame({"sensor_id": [f"S{j}" for j in range(5)][::-1], "lat": np.arange(5.0), "lon": 1.0})
    sites = V.site_frame(allocation_result, sensors)
    assert list(sites["sensor_id"]) == ["S0", "S1", "S2", "S3", "S4"]  # in the problem's order
    assert list(sites["lat"]) == [4.0, 3.0, 2.0, 1.0, 0.0]
    assert V.site_frame(allocation_result, sensors.iloc[1:]) is None  # S4 missing: no map
    assert V.site_frame(allocation_result, None) is None


def test_allocation_table_ranks_and_keeps_every_allocated_item():
    alloc = {"two_stage": np.array([0, 0, 0, 1.0]), "hindsight": np.array([1, 1, 0, 0.0])}
    t = V.allocation_table(["w", "x", "y", "z"], alloc, np.array([5.0, 4.0, 3.0, -2.0]), n_top=2)
    assert list(t["item"]) == ["w", "x", "z"]  # the two best, and z because plain put a unit there
    assert list(t["two_stage"]) == [0.0, 0.0, 1.0]


# ------------------------------------------------------------------------------ export tables
def test_routes_table_per_time_trip_and_method(traffic_result):
    t = V.routes_table(traffic_result)
    assert len(t) == traffic_result.n_test * 4  # 3 methods + hindsight, one trip
    for m in ("two_stage", "dff", "dfl"):
        np.testing.assert_allclose(t[t["method"] == m]["regret"], traffic_result.methods[m].regret, atol=1e-9)
    assert (t[t["method"] == "hindsight"]["regret"].abs() < 1e-9).all()
    route = t["route"].iloc[0].split("; ")
    assert route[0].startswith("0 →") and route[-1].endswith("→ 8")  # links in travel order from the origin
    assert all(a.split(" → ")[1] == b.split(" → ")[0] for a, b in itertools.pairwise(route))
    assert (t["n_links"] == [len(r.split("; ")) for r in t["route"]]).all()
    assert set(t["unit"]) == {"min"}


def test_routes_table_only_for_routing(allocation_result):
    assert V.routes_table(allocation_result) is None


def test_allocations_table_units_per_time_and_item(allocation_result):
    t = V.allocations_table(allocation_result)
    r = allocation_result
    assert {"units_two_stage", "units_dff", "units_hindsight"} <= set(t.columns)
    for row in t.itertuples():
        i, j = V.time_labels(r).index(row.time), int(row.item[1:])
        assert row.units_dff == r.methods["dff"].W[i, j] and row.units_hindsight == r.W_test[i, j]
        assert row.realised_per_unit == r.C_test[i, j]
    assert t[["units_two_stage", "units_dff", "units_hindsight"]].sum().to_dict() == pytest.approx(
        {"units_two_stage": r.methods["two_stage"].W.sum(), "units_dff": r.methods["dff"].W.sum(),
         "units_hindsight": r.W_test.sum()}
    )  # fmt: skip


def test_correction_factors_table(traffic_result):
    t = V.correction_factors_table(traffic_result)
    assert len(t) == traffic_result.C_test.size
    np.testing.assert_allclose(t["backbone"] * t["factor"], t["corrected"])
    assert list(t["output"][:2]) == ["S0", "S1"]
    del traffic_result.methods["dff"]
    assert V.correction_factors_table(traffic_result) is None


# ------------------------------------------------------------------------------ interpretability controls
FACTORS = pd.DataFrame(
    [[1.0, 1.0], [1.2, 1.2], [0.7, 0.7], [1.05, 0.95]], index=["s1", "s2", "s3", "s4"], columns=[7, 8]
)


def test_rank_corrections_top_k_order_and_search():
    assert list(V.rank_corrections(FACTORS, 2).index) == ["s3", "s2"]  # largest |φ − 1| first
    assert list(V.rank_corrections(FACTORS, 1, "raises").index) == ["s2"]
    assert list(V.rank_corrections(FACTORS, 1, "lowers").index) == ["s3"]
    assert list(V.rank_corrections(FACTORS, 9, "name").index) == ["s1", "s2", "s3", "s4"]
    named = V.rank_corrections(FACTORS, 5, query="main", names={"s4": "s4 · Main St"})
    assert list(named.index) == ["s4 · Main St"]
    assert V.rank_corrections(FACTORS, 5, query="nothing").empty
    with pytest.raises(ValueError, match="order must be one of"):
        V.rank_corrections(FACTORS, 2, "biggest")


def test_sweep_fraction_from_progress_events():
    assert V.sweep_fraction([]) == 0.0
    events = [ProgressEvent("sweep", epoch=1, epochs=4), ProgressEvent("sweep", epoch=3, epochs=4)]
    assert V.sweep_fraction(events) == pytest.approx(0.75)


def test_tradeoff_table_adds_the_unbounded_correction(traffic_result):
    sweep = pd.DataFrame({"epsilon": [0.1], "regret_mean": [1.0], "mean_relative_shift": [0.05]})
    assert len(V.tradeoff_table(sweep, traffic_result)) == 1
    traffic_result.metrics.loc["dff_unbounded"] = traffic_result.metrics.loc["dff"]
    t = V.tradeoff_table(sweep, traffic_result)
    assert np.isinf(t["epsilon"].iloc[-1])
    assert t["regret_mean"].iloc[-1] == traffic_result.metrics.loc["dff", "regret_mean"]


def test_readable_features(traffic_result):
    attr = pd.DataFrame({"feature": ["S1@t-1d", "tod_cos"], "value": [0.1, 0.2]})
    out = V.readable_features(attr, traffic_result)
    assert list(out["feature"]) == ["S1 pace, 1 day earlier", "time of day (cosine part)"]
