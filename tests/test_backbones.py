"""Backbones: protocol, registry, exactness of the simple ones, determinism, cross-fitting."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge

from dff_core.backbones import (
    BACKBONES,
    RIDGE_ALPHAS,
    Backbone,
    CallableBackbone,
    HistoricalProfileBackbone,
    LinearBackbone,
    cross_fit_predict,
    dfl_model_class,
    make_backbone,
)
from dff_core.errors import DataError


def _data(n: int = 60, p: int = 3, d: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    A = rng.normal(size=(p, d))
    return X, X @ A + 2.0 + 0.01 * rng.normal(size=(n, d)), A


@pytest.mark.parametrize("name", list(BACKBONES))
def test_every_registered_backbone_fits_and_predicts(name: str) -> None:
    X, C, _ = _data()
    X[:, 0] = np.repeat(np.arange(6), 10) if name == "historical_profile" else X[:, 0]
    kw = {"n_estimators": 10} if name == "random_forest" else {"max_iter": 10} if name == "gradient_boosting" else {}
    kw = {"epochs": 30} if name == "mlp" else kw
    bb = make_backbone(name, seed=1, **kw)
    assert isinstance(bb, Backbone)
    assert bb.fit(X, C) is bb
    P = bb.predict(X[:7])
    assert P.shape == (7, 4) and P.dtype == np.float64 and np.isfinite(P).all()
    # Deterministic for a seed.
    np.testing.assert_array_equal(make_backbone(name, seed=1, **kw).fit(X, C).predict(X[:7]), P)
    with pytest.raises(DataError, match="columns"):
        bb.predict(X[:, :2])


def test_linear_is_ols_and_ridge_shrinks() -> None:
    X, C, _ = _data()
    ols = LinearBackbone().fit(X, C)
    coef, *_ = np.linalg.lstsq(np.c_[X, np.ones(len(X))], C, rcond=None)
    np.testing.assert_allclose(ols.predict(X), np.c_[X, np.ones(len(X))] @ coef, atol=1e-9)
    ridge = make_backbone("ridge", alpha=1e4).fit(X, C)
    assert np.abs(ridge.predict(X) - C.mean(0)).mean() < np.abs(ols.predict(X) - C.mean(0)).mean()
    with pytest.raises(ValueError, match="alpha"):
        LinearBackbone(alpha=-1).fit(X, C)


def test_mlp_learns_a_smooth_map() -> None:
    X, C, _ = _data(n=200)
    bb = make_backbone("mlp", epochs=300).fit(X[:150], C[:150])
    err = np.mean((bb.predict(X[150:]) - C[150:]) ** 2)
    assert err < 0.1 * np.var(C[150:])


def test_historical_profile_means_and_unseen_fallback() -> None:
    X = np.array([[0, 1.0], [0, 2.0], [1, 3.0], [1, 4.0], [2, 0.0]])
    C = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 0.0], [7.0, 0.0], [9.0, 5.0]])
    bb = HistoricalProfileBackbone(key_column=0).fit(X, C)
    P = bb.predict(np.array([[1, 0.0], [0, 9.0], [7, 0.0], [2, 1.0]]))
    np.testing.assert_allclose(P, [[6.0, 0.0], [2.0, 20.0], C.mean(0), [9.0, 5.0]])
    with pytest.raises(ValueError, match="key_column=5"):
        HistoricalProfileBackbone(key_column=5).fit(X, C)


def test_callable_backbone_checks_shape() -> None:
    X, C, A = _data()
    bb = CallableBackbone(lambda Z: Z @ A + 2.0).fit(X, C)
    np.testing.assert_allclose(bb.predict(X), X @ A + 2.0)
    with pytest.raises(DataError, match="returned shape"):
        CallableBackbone(lambda Z: Z).fit(X, C)
    with pytest.raises(ValueError, match="callable"):
        CallableBackbone(3)  # type: ignore[arg-type]


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="random_forest, gradient_boosting"):
        make_backbone("xgboost")


def test_cross_fit_forward_chaining_uses_earlier_rows_only() -> None:
    X, C, _ = _data(n=40)
    C_fc = cross_fit_predict(LinearBackbone(), X, C, n_splits=4)
    # Blocks of 10 rows: block b is predicted by a model fitted on blocks 0..b-1; block 0 has no honest prediction.
    assert np.isnan(C_fc[:10]).all() and np.isfinite(C_fc[10:]).all()
    for b in (1, 2, 3):
        rows = slice(10 * b, 10 * (b + 1))
        np.testing.assert_allclose(C_fc[rows], LinearBackbone().fit(X[: 10 * b], C[: 10 * b]).predict(X[rows]))
    # Changing a later row never changes an earlier row's prediction (no look-ahead).
    C2 = C.copy()
    C2[35:] += 100.0
    np.testing.assert_allclose(cross_fit_predict(LinearBackbone(), X, C2, n_splits=4), C_fc)


def test_cross_fit_kfold_is_out_of_fold() -> None:
    X, C, _ = _data(n=40)
    C_oof = cross_fit_predict(LinearBackbone(), X, C, n_splits=2, scheme="kfold")
    # First half is predicted by a model fitted on the second half only, and vice versa.
    np.testing.assert_allclose(C_oof[:20], LinearBackbone().fit(X[20:], C[20:]).predict(X[:20]))
    np.testing.assert_allclose(C_oof[20:], LinearBackbone().fit(X[:20], C[:20]).predict(X[20:]))
    # A forest's out-of-fold error is honest: much larger than its in-sample error.
    rf = make_backbone("random_forest", n_estimators=20)
    rng = np.random.default_rng(3)
    Cn = C + rng.normal(0, 1.0, C.shape)
    in_sample = np.mean((rf.fit(X, Cn).predict(X) - Cn) ** 2)
    oof = cross_fit_predict(make_backbone("random_forest", n_estimators=20), X, Cn, scheme="kfold")
    assert np.mean((oof - Cn) ** 2) > 2 * in_sample
    shuffled = cross_fit_predict(LinearBackbone(), X, C, n_splits=4, time_ordered=False, seed=1, scheme="kfold")
    assert shuffled.shape == C.shape and not np.allclose(shuffled, C_oof)
    with pytest.raises(ValueError, match="n_splits"):
        cross_fit_predict(LinearBackbone(), X, C, n_splits=1)
    with pytest.raises(ValueError, match="scheme"):
        cross_fit_predict(LinearBackbone(), X, C, scheme="random")
    with pytest.raises(DataError, match="n_splits <= 3"):
        cross_fit_predict(LinearBackbone(), X[:3], C[:3], n_splits=5)


def test_dfl_model_class_names_the_differentiable_backbones() -> None:
    assert dfl_model_class("ridge") == dfl_model_class("linear") == dfl_model_class(LinearBackbone()) == "linear"
    assert dfl_model_class("mlp") == dfl_model_class(make_backbone("mlp")) == "mlp"
    assert dfl_model_class(Ridge()) == "linear"
    for name in ("random_forest", "gradient_boosting", "historical_profile"):
        assert dfl_model_class(name) is None and dfl_model_class(make_backbone(name)) is None


def test_bad_training_data() -> None:
    X, C, _ = _data(n=10)
    C[4, 2] = np.inf
    with pytest.raises(DataError, match=r"'C'.*row 4, column 2"):
        LinearBackbone().fit(X, C)
    with pytest.raises(NotFittedError, match="call fit"):
        LinearBackbone().predict(X)


def test_ridge_auto_picks_the_penalty_by_cross_validation() -> None:
    rng = np.random.default_rng(3)
    n, p = 60, 200  # more features than rows: least squares interpolates the noise
    X = rng.normal(size=(n + 200, p))
    beta = np.zeros((p, 2))
    beta[:3] = rng.normal(size=(3, 2))
    C = X @ beta + rng.normal(scale=1.0, size=(n + 200, 2))
    auto = make_backbone("ridge").fit(X[:n], C[:n])
    assert auto.alpha_ in RIDGE_ALPHAS
    ols = LinearBackbone(alpha=0.0).fit(X[:n], C[:n])
    err = lambda m: np.mean((m.predict(X[n:]) - C[n:]) ** 2)  # noqa: E731
    assert err(auto) < err(ols)
    with pytest.raises(ValueError, match="'auto'"):
        LinearBackbone(alpha="best").fit(X[:n], C[:n])


def test_blocked_ridge_cv_equals_refitting_ridge_per_block() -> None:
    from sklearn.linear_model import Ridge

    from dff_core.backbones import blocked_ridge_cv

    rng = np.random.default_rng(4)
    Z, T = rng.normal(size=(50, 7)), rng.normal(size=(50, 3))
    alphas = (0.1, 10.0)
    expected = np.zeros(2)
    for block in np.array_split(np.arange(50), 5):
        keep = np.setdiff1d(np.arange(50), block)
        for i, a in enumerate(alphas):
            pred = Ridge(alpha=a).fit(Z[keep], T[keep]).predict(Z[block])
            expected[i] += ((pred - T[block]) ** 2).sum()
    np.testing.assert_allclose(blocked_ridge_cv(Z, T, alphas, n_splits=5), expected, rtol=1e-10)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_backbones_are_scikit_learn_regressors(name: str) -> None:
    X, C, _ = _data()
    X[:, 0] = np.repeat(np.arange(6), 10) if name == "historical_profile" else X[:, 0]
    kw = {"n_estimators": 5} if name == "random_forest" else {"max_iter": 5} if name == "gradient_boosting" else {}
    kw = {"epochs": 20} if name == "mlp" else kw
    bb = make_backbone(name, seed=2, **kw)
    assert is_regressor(bb) and bb.get_params() == clone(bb).get_params()
    fitted = bb.fit(X, C)
    copy = clone(fitted)
    assert not hasattr(copy, "n_outputs_")  # a clone is unfitted, with the same parameters
    np.testing.assert_array_equal(copy.fit(X, C).predict(X), fitted.predict(X))
    P = fitted.predict(X)
    r2 = 1 - ((C - P) ** 2).sum(0) / ((C - C.mean(0)) ** 2).sum(0)
    assert fitted.score(X, C) == pytest.approx(r2.mean())


def test_cross_fit_accepts_any_scikit_learn_regressor_and_keeps_contiguous_folds() -> None:
    X, C, _ = _data(n=31)
    C_oof = cross_fit_predict(Ridge(alpha=1.0), X, C, n_splits=3, scheme="kfold")
    # Folds of 11, 10, 10 contiguous rows, each predicted by a model fitted on the other two.
    for rows in (slice(0, 11), slice(11, 21), slice(21, 31)):
        keep = np.ones(31, dtype=bool)
        keep[rows] = False
        np.testing.assert_allclose(C_oof[rows], Ridge(alpha=1.0).fit(X[keep], C[keep]).predict(X[rows]))
    C_fc = cross_fit_predict(Ridge(alpha=1.0), X, C, n_splits=3)
    np.testing.assert_allclose(C_fc[21:], Ridge(alpha=1.0).fit(X[:21], C[:21]).predict(X[21:]))
