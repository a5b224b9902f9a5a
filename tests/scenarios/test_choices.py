"""Which scenario settings fit a dataset, with the reason for the others."""

from __future__ import annotations

import pytest

from dff_core.scenarios import allocation_values, build_allocation_scenario, scenario_choices
from dff_core.scenarios.choices import default_allocation_value
from tests.scenarios.conftest import make_grid_dataset


def test_counts_offer_count_allocation_and_bpr_routing() -> None:
    counts = make_grid_dataset(days=2, value_kind="count")
    values = allocation_values(counts)
    assert values["count"] is None and "needs speeds" in values["delay"] and "--alloc-value count" in values["delay"]
    ok = {(c.kind, c.value) for c in scenario_choices(counts) if c.ok}
    assert ok == {("traffic", "count"), ("allocation", "count")}
    assert all(c.reason for c in scenario_choices(counts))
    assert default_allocation_value(counts) == "count"


def test_speeds_offer_delay_allocation_and_speed_routing() -> None:
    speeds = make_grid_dataset(days=2)
    assert allocation_values(speeds)["delay"] is None and "count readings" in allocation_values(speeds)["count"]
    ok = {(c.kind, c.value) for c in scenario_choices(speeds) if c.ok}
    assert ok == {("traffic", "speed"), ("allocation", "delay")}


@pytest.mark.parametrize(("kind", "value"), [("count", "delay"), ("speed_kmh", "count")])
def test_the_builder_refuses_what_does_not_fit_with_the_same_reason(kind: str, value: str) -> None:
    ds = make_grid_dataset(days=2, value_kind=kind)
    with pytest.raises(ValueError, match="needs"):
        build_allocation_scenario(ds, value=value)
    assert allocation_values(ds)[value] is not None
