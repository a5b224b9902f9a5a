"""End-to-end DFL baseline and the two-stage / DFF / DFL comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dff_core.backbones import LinearBackbone
from dff_core.baselines import DFL, run_comparison
from dff_core.data.synthetic import shortest_path_data
from dff_core.errors import DataError
from dff_core.metrics import regret
from dff_core.results import ComparisonResult

METRIC_COLUMNS = [
    "regret_mean",
    "regret_median",
    "normalized_regret",
    "mse",
    "mae",
    "mape",
    "mean_relative_shift",
    "max_relative_shift",
    "min_cosine",
    "seconds",
]


def _split(n: int = 120, seed: int = 0, deg: int = 4):
    data = shortest_path_data(n, 4, grid=(3, 3), deg=deg, noise_width=0.25, seed=seed)
    problem, X, C = data.problem, data.X, data.C
    a, b = int(0.5 * n), int(0.7 * n)
    return problem, X[:a], C[:a], X[a:b], C[a:b], X[b:], C[b:]


def test_dfl_warm_start_is_least_squares_and_never_worse_on_validation() -> None:
    problem, Xtr, Ctr, Xv, Cv, _, _ = _split()
    m = DFL(problem, epochs=0, warm_alpha=0.0).fit(Xtr, Ctr, Xv, Cv)
    np.testing.assert_allclose(m.predict(Xv), LinearBackbone().fit(Xtr, Ctr).predict(Xv), atol=1e-6)
    # "auto" picks the ridge penalty with the lowest validation MSE among its candidates
    auto = DFL(problem, epochs=0).fit(Xtr, Ctr, Xv, Cv)
    assert auto.warm_alpha_ in (0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
    assert np.mean((auto.predict(Xv) - Cv) ** 2) <= np.mean((m.predict(Xv) - Cv) ** 2) + 1e-12
    with pytest.raises(ValueError, match="warm_alpha"):
        DFL(problem, epochs=0, warm_alpha=-1.0).fit(Xtr, Ctr, Xv, Cv)
    m = DFL(problem, epochs=8, lr=1e-2).fit(Xtr, Ctr, Xv, Cv)
    h = m.history_
    assert h["epoch"].tolist()[0] == 0 and m.best_epoch_ == int(h["val_regret"].idxmin())
    assert regret(problem, Cv, m.predict(Xv)).mean() == pytest.approx(h["val_regret"].min())
    assert h["val_regret"].min() <= h["val_regret"].iloc[0]
    np.testing.assert_array_equal(m.decide(Xv), problem.solve(m.predict(Xv)))


def test_dfl_mlp_and_determinism() -> None:
    problem, Xtr, Ctr, Xv, Cv, _, _ = _split()
    kw = dict(model="mlp", hidden=(8,), epochs=3, warm_epochs=20, seed=2)
    a = DFL(problem, **kw).fit(Xtr, Ctr, Xv, Cv).predict(Xv)
    b = DFL(problem, **kw).fit(Xtr, Ctr, Xv, Cv).predict(Xv)
    np.testing.assert_array_equal(a, b)
    cold = DFL(problem, model="mlp", hidden=(8,), epochs=0, warm_start=False).fit(Xtr, Ctr, Xv, Cv)
    warm = DFL(problem, model="mlp", hidden=(8,), epochs=0, warm_epochs=100).fit(Xtr, Ctr, Xv, Cv)
    mse = lambda m: np.mean((m.predict(Xtr) - Ctr) ** 2)  # noqa: E731
    assert mse(warm) < mse(cold)
    with pytest.raises(ValueError, match="'linear' or 'mlp'"):
        DFL(problem, model="tree").fit(Xtr, Ctr)


def test_run_comparison_fills_every_field() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    events: list[tuple[str, dict]] = []
    times = pd.date_range("2024-01-01", periods=len(Xte), freq="h")
    res = run_comparison(
        problem,
        Xtr,
        Ctr,
        Xv,
        Cv,
        Xte,
        Cte,
        backbone="linear",
        epsilon=0.3,
        epochs=4,
        lr=1e-2,
        on_progress=lambda s, i: events.append((s, i)),
        times_test=times,
        feature_names=["a", "b", "c", "d"],
        config={"scenario": "unit"},
    )
    assert isinstance(res, ComparisonResult)
    assert list(res.metrics.columns) == METRIC_COLUMNS
    assert res.metrics.index.tolist() == ["two_stage", "dff", "dfl"]
    n = len(Xte)
    assert res.per_instance.shape[0] == 3 * n
    assert set(res.per_instance.columns) == {"instance", "time", "method", "regret", "objective", "optimal_objective"}
    assert (res.per_instance["time"].iloc[:n].to_numpy() == times.to_numpy()).all()
    # Metrics agree with an independent computation.
    for name, mr in res.methods.items():
        np.testing.assert_allclose(mr.regret, regret(problem, Cte, mr.C_pred))
        assert res.metrics.loc[name, "regret_mean"] == pytest.approx(mr.regret.mean())
    two = res.methods["two_stage"]
    np.testing.assert_allclose(two.C_pred, LinearBackbone().fit(Xtr, Ctr).predict(Xte))
    assert res.metrics.loc["two_stage", "max_relative_shift"] == 0.0
    dff = res.methods["dff"]
    assert dff.factors.shape == Cte.shape and dff.history is not None and res.methods["dfl"].history is not None
    np.testing.assert_allclose(dff.C_pred, dff.factors * res.C_hat)
    assert res.metrics.loc["dff", "max_relative_shift"] <= 0.3 + 1e-9
    assert res.metrics.loc["dff", "min_cosine"] >= np.sqrt(1 - 0.3**2) - 1e-9
    assert {"backbone", "dff", "dfl", "evaluate"} <= set(res.timings)
    assert res.n_train == len(Xtr) and res.n_val == len(Xv) and res.config["scenario"] == "unit"
    assert res.feature_names == ["a", "b", "c", "d"] and len(res.output_names) == problem.d
    stages = [s for s, _ in events]
    assert stages[0] == "backbone" and stages[-1] == "evaluate" and {"dff", "dfl"} <= set(stages)
    dff_events = [i for s, i in events if s == "dff"]
    assert [i["epoch"] for i in dff_events] == dff.history["epoch"].tolist()
    assert all({"epoch", "epochs", "val_regret"} <= set(i) for i in dff_events)
    assert res.summary()["methods"]["dff"]["regret_mean"] == pytest.approx(res.metrics.loc["dff", "regret_mean"])


def test_run_comparison_backbone_object_subset_and_cross_fit() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    res = run_comparison(
        problem,
        Xtr,
        Ctr,
        Xv,
        Cv,
        Xte,
        Cte,
        backbone=LinearBackbone(alpha=1.0),
        methods=("two_stage", "dff"),
        cross_fit=True,
        epochs=2,
    )
    assert res.metrics.index.tolist() == ["two_stage", "dff"] and "dfl" not in res.methods
    assert res.config["backbone"] == "LinearBackbone" and res.times is None
    assert res.per_instance["time"].isna().all()


def test_run_comparison_cancel_and_bad_input() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, Cte = _split()
    res = run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, epochs=50, should_stop=lambda: True)
    assert res.methods["dff"].model.cancelled_ and res.methods["dff"].history["epoch"].tolist() == [0]
    # Cancelled at epoch 0, DFF is exactly the backbone.
    np.testing.assert_allclose(res.methods["dff"].C_pred, res.C_hat)
    with pytest.raises(ValueError, match="unknown method"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, methods=("dff", "oracle"))
    with pytest.raises(DataError, match="'X_test' must have 4 columns"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte[:, :2], Cte)
    with pytest.raises(ValueError, match="epsilon"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, epsilon=0)
    with pytest.raises(ValueError, match="valid names"):
        run_comparison(problem, Xtr, Ctr, Xv, Cv, Xte, Cte, backbone="oracle")
