"""Real data: the METR-LA week (skipped when the shared data folder is absent)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dff_core.comparison import compare
from dff_core.data import load_metr_la, shared_data_dir
from dff_core.scenarios import build_traffic_scenario


def _metr_la():
    base = shared_data_dir()
    if base is None or not (base / "metr-la-week" / "los_speed.csv").exists():
        pytest.skip("METR-LA week not found (set DFF_SHARED_DATA to the folder holding metr-la-week)")
    return load_metr_la()


@pytest.mark.slow
def test_metr_la_traffic_scenario_and_short_compare() -> None:
    ds = _metr_la()
    sc = build_traffic_scenario(ds, split=("5D", "1D", "1D"))
    assert sc.C.shape[1] == 207 and sc.X.shape[1] <= 3 * 207 + 8
    # 5 days of training, then Tuesday 6 March, then Wednesday 7 March 2012
    assert sc.times[sc.split["test"]].min() >= pd.Timestamp("2012-03-07")
    assert sc.times[sc.split["train"]].max() < pd.Timestamp("2012-03-06")
    assert np.all((sc.C > 0) & (sc.C <= 20))  # paces in min/km, speeds floored at 3 km/h
    res = compare(sc, epochs=2)
    assert res.unit == "vehicle-minutes" and res.n_test == len(sc.split["test"])
    m = res.metrics
    assert (m["regret_mean"] >= 0).all() and (m["normalized_regret"] < 1).all()
    assert m.loc["dff", "max_relative_shift"] <= 0.2 + 1e-9
