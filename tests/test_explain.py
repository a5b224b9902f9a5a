"""Explanations: correction summaries, attributions, decision differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from dff_core.comparison import run_comparison
from dff_core.data.synthetic import shortest_path_data
from dff_core.dff import DFF
from dff_core.explain import (
    _integrated_gradients,
    correction_summary,
    decision_differences,
    feature_attribution,
)


def _split(n: int = 120, seed: int = 0):
    data = shortest_path_data(n, 4, grid=(3, 3), deg=4, noise_width=0.25, seed=seed)
    problem, X, C = data.problem, data.X, data.C
    return problem, X[:60], C[:60], X[60:84], C[60:84], X[84:], C[84:]


@pytest.fixture(scope="module")
def result():
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    times = pd.date_range("2024-01-01 00:00", periods=len(Xte), freq="90min")
    return run_comparison(
        problem,
        Xtr,
        Ctr,
        Xv,
        Cv,
        Xte,
        Cte,
        backbone="linear",
        epsilon=0.4,
        epochs=6,
        lr=2e-2,
        times_test=times,
        methods=("two_stage", "dff"),
        dff_kwargs={"patience": None, "val_fraction": 0.0},
    )


def test_correction_summary_by_output_and_time(result) -> None:
    phi = result.methods["dff"].factors
    s = correction_summary(result)
    assert s["output"].tolist() == result.output_names
    np.testing.assert_allclose(s["mean"], phi.mean(0))
    np.testing.assert_allclose(s["min"], phi.min(0))
    np.testing.assert_allclose(s["mean_change_pct"], (phi.mean(0) - 1) * 100)
    assert (s["count"] == len(phi)).all()
    h = correction_summary(result, by="hour")
    hours = pd.DatetimeIndex(result.times).hour
    first = int(h["hour"].iloc[0])
    np.testing.assert_allclose(h["max"].iloc[0], phi[hours == first].max())
    both = correction_summary(result, by=("output", "hour"))
    assert len(both) == len(result.output_names) * hours.nunique()
    w = correction_summary(result, by="weekday")
    assert set(w["weekday"]) <= set(range(7))
    with pytest.raises(ValueError, match="by must be"):
        correction_summary(result, by="month")


def test_correction_summary_needs_times() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    res = run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, epochs=1, methods=("two_stage", "dff"))
    with pytest.raises(ValueError, match="needs decision times"):
        correction_summary(res, by="hour")
    res2 = run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, epochs=1, methods=("two_stage",))
    with pytest.raises(ValueError, match="no DFF result"):
        correction_summary(res2)


def test_integrated_gradients_completeness(result) -> None:
    model = result.methods["dff"].model
    X = result.X_test[:10]
    ig = _integrated_gradients(model, X, None, steps=256)
    with torch.no_grad():
        h = model.module_.logits(torch.from_numpy(X)).numpy()
        h0 = model.module_.logits(model.module_.x_mean[None, :]).numpy()
    # Attributions add up to the change of hθ from the baseline (up to the quadrature error).
    np.testing.assert_allclose(ig.sum(axis=2), h - h0, atol=5e-3 * max(1.0, np.abs(h - h0).max()))


def test_feature_attribution_finds_the_only_feature_used() -> None:
    # A correction that depends on feature 2 only: every other feature gets zero attribution.
    problem, Xtr, Ctr, *_ = _split()
    m = DFF(problem, epsilon=0.3, epochs=0).fit(Xtr, Ctr, Ctr)
    with torch.no_grad():
        m.module_.net[0].weight[:, [0, 1, 3]] = 0.0
        m.module_.net[-1].weight.normal_(generator=torch.Generator().manual_seed(0))
    a = feature_attribution(m, Xtr, Ctr, feature_names=["a", "b", "c", "d"])
    assert list(a.columns) == ["feature", "importance", "signed", "method"]
    assert a["feature"].iloc[0] == "c" and a["importance"].iloc[0] > 0
    assert (a.set_index("feature").loc[["a", "b", "d"], "importance"] == 0).all()
    perm = feature_attribution(m, Xtr, Ctr, method="permutation", C_true=Ctr, feature_names=list("abcd"))
    assert (perm.set_index("feature").loc[["a", "b", "d"], "importance"] == 0).all()
    with pytest.raises(ValueError, match="needs C_hat and C_true"):
        feature_attribution(m, Xtr, Ctr, method="permutation")
    with pytest.raises(ValueError, match="method must be"):
        feature_attribution(m, Xtr, Ctr, method="shap")


def test_decision_differences_account_for_regret(result) -> None:
    ts, dff = result.methods["two_stage"], result.methods["dff"]
    per_out = decision_differences(result)
    per_inst = decision_differences(result, level="instance")
    changed = ~np.isclose(ts.W, dff.W)
    np.testing.assert_array_equal(per_out["n_changed"], changed.sum(0))
    np.testing.assert_array_equal(per_inst["n_changed"], changed.sum(1))
    np.testing.assert_allclose(per_inst["regret_saved"], ts.regret - dff.regret)
    # Instances whose decision did not change save exactly nothing.
    assert (per_inst.loc[per_inst["n_changed"] == 0, "regret_saved"] == 0).all()
    j = int(np.argmax(changed.sum(0)))
    np.testing.assert_allclose(per_out["regret_saved_sum"].iloc[j], (ts.regret - dff.regret)[changed[:, j]].sum())
    assert (per_inst["time"] == pd.DatetimeIndex(result.times)).all()
