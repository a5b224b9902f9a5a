"""What the result pages draw: routes, correction tables, changed decisions, the opening test time."""

from __future__ import annotations

import pytest

from dashboard.services import views as V


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
