"""Run keys: the same run gets the same run_id across builds; any change of data or configuration a new one."""

from __future__ import annotations

import dataclasses

from dff_core.sweep import GridConfig, plan_runs, scenario_digest
from tests.sweep.conftest import GRID, array_scenario


def test_scenario_digest_follows_the_data_not_the_build():
    a, b = array_scenario(), array_scenario()
    b.timings = {"features": 12.3}  # build timings and display data do not change a result
    b.extra = {"note": "shown only"}
    assert scenario_digest(a) == scenario_digest(b)
    c = array_scenario()
    c.C[5, 2] += 1e-9
    assert scenario_digest(c) != scenario_digest(a)
    d = dataclasses.replace(array_scenario(), split={**a.split, "val": a.split["val"][:-1]})
    assert scenario_digest(d) != scenario_digest(a)


def test_run_ids_are_stable_and_change_with_any_key_part():
    grid = GridConfig.model_validate(GRID)
    digests = {None: scenario_digest(array_scenario())}
    train = {"epochs": 1, "methods": ("two_stage", "dff")}
    plan = plan_runs(grid, digests, train, {"horizon": "30min"})
    assert [r.params["epsilon"] for r in plan] == [0.1, 0.1, 0.3, 0.3]
    assert [r.params["seed"] for r in plan] == [0, 1, 0, 1]
    assert [k for k, _ in plan[0].values] == ["epsilon", "seed", "backbone", "loss"]
    ids = [r.run_id for r in plan]
    assert len(set(ids)) == 4 and all(len(i) == 16 for i in ids)
    assert [r.run_id for r in plan_runs(grid, dict(digests), dict(train), {"horizon": "30min"})] == ids
    # A run is identified by its values, not by its position in the grid.
    shuffled = GridConfig.model_validate({**GRID, "epsilon": [0.3, 0.1], "seed": [1, 0]})
    assert {r.run_id for r in plan_runs(shuffled, digests, train, {"horizon": "30min"})} == set(ids)
    for other in (
        plan_runs(grid, {None: "0" * 64}, train, {"horizon": "30min"}),
        plan_runs(grid, digests, {**train, "epochs": 2}, {"horizon": "30min"}),
        plan_runs(grid, digests, train, {"horizon": "1h"}),
    ):
        assert set(ids).isdisjoint(r.run_id for r in other)
