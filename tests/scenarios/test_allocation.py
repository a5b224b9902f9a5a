"""Allocation scenario from sensor readings (delay or count) and from an items table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dff_core.errors import DataError
from dff_core.problems import Allocation
from dff_core.scenarios import build_allocation_scenario
from tests.scenarios.conftest import make_grid_dataset


def test_delay_scenario_targets_and_caps() -> None:
    ds = make_grid_dataset(3, 3, days=3)
    sc = build_allocation_scenario(ds, budget=3, corridor_caps=1, n_corridors=3)
    assert isinstance(sc.problem, Allocation) and sc.problem.sense == "max"
    assert (sc.C >= 0).all() and (sc.C > 0).any()
    assert sc.unit == "minutes of delay per vehicle"
    # delay at t+h = max(0, pace - free-flow pace) x stretch km, recomputed by hand for one instance
    t = sc.times[5] + pd.Timedelta("30min")
    speed = ds.readings.loc[t]
    ff = sc.extra["free_flow_kmh"]
    expect = np.clip(60 / speed.clip(lower=3) - 60 / ff, 0, None) * sc.extra["stretch_km"]
    np.testing.assert_allclose(sc.C[5], expect.to_numpy())
    W = sc.problem.solve(sc.C)
    groups = np.asarray(sc.extra["groups"])
    assert len(set(groups)) == 3
    for g in set(groups):
        assert W[:, groups == g].sum(axis=1).max() <= 1 + 1e-9  # one unit per corridor
    assert W.sum(axis=1).max() <= 3 + 1e-9


def test_free_flow_uses_training_period_only() -> None:
    ds = make_grid_dataset(days=3)
    a = build_allocation_scenario(ds, budget=2)
    changed = make_grid_dataset(days=3)
    late = changed.readings.index >= changed.readings.index[int(0.8 * len(changed.readings))]
    changed.readings.loc[late] = 200.0
    b = build_allocation_scenario(changed, budget=2)
    pd.testing.assert_series_equal(a.extra["free_flow_kmh"], b.extra["free_flow_kmh"])


def test_count_scenario_and_corridor_column() -> None:
    ds = make_grid_dataset(days=2, value_kind="count")
    ds.sensors["corridor"] = ["I-5"] * 4 + ["I-10"] * 5
    sc = build_allocation_scenario(ds, value="count", budget=2, corridor_caps={"I-5": 1})
    assert sc.unit == "vehicles per 15 min"  # counts per reading interval
    assert sorted(set(sc.extra["groups"])) == ["I-10", "I-5"]
    W = sc.problem.solve(sc.C[:10])
    assert (W[:, :4].sum(axis=1) <= 1 + 1e-9).all()
    with pytest.raises(ValueError, match="count readings"):
        build_allocation_scenario(make_grid_dataset(days=2), value="count")
    with pytest.raises(ValueError, match="needs speeds"):
        build_allocation_scenario(ds, value="delay")


def _items(periods: int = 30, items: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(periods):
        for i in range(items):
            f = rng.normal()
            rows.append({"period": f"2024-01-{p + 1:02d}", "item_id": f"z{i}", "value": 10 + 3 * f + i, "rain": f})
    return pd.DataFrame(rows)


def test_items_table_each_period_is_an_instance() -> None:
    df = _items()
    sc = build_allocation_scenario(items=df, budget=2)
    assert sc.C.shape == (29, 4)  # the first period only provides previous values
    assert sc.output_names == ["z0", "z1", "z2", "z3"]
    assert sc.feature_names[:4] == ["z0@prev", "z1@prev", "z2@prev", "z3@prev"]
    # previous-period value of item z2 at the 2nd instance is the value of period 2
    v = df[(df.period == "2024-01-02") & (df.item_id == "z2")]["value"].item()
    assert sc.X[1, 2] == pytest.approx(v)
    rain = df[(df.period == "2024-01-03") & (df.item_id == "z1")]["rain"].item()
    assert sc.X[1, sc.feature_names.index("z1:rain")] == pytest.approx(rain)
    assert isinstance(sc.times, pd.DatetimeIndex) and sc.times.is_monotonic_increasing
    assert sc.key_column is None
    assert sc.data_digest == build_allocation_scenario(items=df.copy(), budget=2).data_digest
    changed = df.copy()
    changed.loc[5, "value"] += 1
    assert build_allocation_scenario(items=changed, budget=2).data_digest != sc.data_digest


def test_items_with_a_missing_value_name_period_and_item() -> None:
    df = _items().drop(index=7)
    with pytest.raises(DataError, match=r"2024-01-02.*z3"):
        build_allocation_scenario(items=df)


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match="either dataset"):
        build_allocation_scenario()
    with pytest.raises(ValueError, match="budget"):
        build_allocation_scenario(make_grid_dataset(days=2), budget=0)
    with pytest.raises(ValueError, match="unknown corridors"):
        build_allocation_scenario(make_grid_dataset(days=2), corridor_caps={"nowhere": 1})
