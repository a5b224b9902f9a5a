"""Choosing ε and the learning rate on validation rows that did not choose the epoch."""

from __future__ import annotations

import numpy as np
import pytest

from dff_core.ablation import DFFUnbounded
from dff_core.baselines import DFL
from dff_core.data.synthetic import shortest_path_data
from dff_core.dff import DFF
from dff_core.metrics import regret
from dff_core.selection import (
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    DEFAULT_PATIENCE,
    EPSILON_GRID,
    epoch_rows,
    fit_selected,
    is_auto,
    min_validation_rows,
)


def _data(n: int = 120, seed: int = 0):
    data = shortest_path_data(n, 4, grid=(3, 3), deg=6, noise_width=0.25, seed=seed)
    X, C = data.X, data.C
    coef, *_ = np.linalg.lstsq(np.c_[X[:80], np.ones(80)], C[:80], rcond=None)
    C_hat = np.abs(np.c_[X, np.ones(n)] @ coef) + 0.05
    return data.problem, X, C_hat, C


def test_candidates_are_scored_on_the_later_validation_rows_and_the_winner_is_refitted() -> None:
    problem, X, C_hat, C = _data()
    tr, va = slice(0, 80), slice(80, 120)
    grid = [{"epsilon": 0.1}, {"epsilon": 0.5}]
    base = DFF(problem, epochs=4, lr=1e-2, hidden=(8,))
    model, table, chosen = fit_selected(
        base, grid, (X[tr], C_hat[tr], C[tr]), (X[va], C_hat[va]), C[va], owner="t", argument="epsilon"
    )
    # Each candidate: epoch chosen on the first 20 validation rows, scored on the last 20.
    for row in table.itertuples():
        cand = DFF(problem, epochs=4, lr=1e-2, hidden=(8,), epsilon=row.epsilon)
        cand.fit(X[tr], C_hat[tr], C[tr], X[80:100], C_hat[80:100], C[80:100])
        assert row.best_epoch == cand.best_epoch_
        assert row.selection_regret == pytest.approx(
            regret(problem, C[100:], cand.predict(X[100:], C_hat[100:])).mean()
        )
    best = table["selection_regret"].idxmin()
    assert chosen == grid[best] and table["chosen"].tolist() == [i == best for i in range(2)]
    refit = DFF(problem, epochs=4, lr=1e-2, hidden=(8,), epsilon=chosen["epsilon"])
    refit.fit(X[tr], C_hat[tr], C[tr], X[va], C_hat[va], C[va])
    np.testing.assert_array_equal(model.predict(X[va], C_hat[va]), refit.predict(X[va], C_hat[va]))


def test_ties_go_to_the_first_candidate() -> None:
    problem, X, C_hat, C = _data()
    # No training at all: every candidate is the backbone, so all tie and the most conservative one wins.
    _, table, chosen = fit_selected(
        DFF(problem, epochs=0), [{"epsilon": 0.05}, {"epsilon": 0.9}], (X[:80], C_hat[:80], C[:80]),
        (X[80:], C_hat[80:]), C[80:], owner="t", argument="epsilon",
    )  # fmt: skip
    assert chosen == {"epsilon": 0.05} and table["selection_regret"].nunique() == 1


def test_dff_epsilon_auto_end_to_end_and_persistence(tmp_path) -> None:
    problem, X, C_hat, C = _data()
    m = DFF(problem, epsilon="auto", epochs=3, lr=1e-2, hidden=(8,)).fit(X[:100], C_hat[:100], C[:100])
    assert m.get_params()["epsilon"] == "auto" and m.epsilon_ in EPSILON_GRID and m.lr_ == 1e-2
    assert m.selection_["epsilon"].tolist() == list(EPSILON_GRID) and m.n_val_ == 20
    assert m.module_.epsilon == m.epsilon_
    factors = m.factors(X[100:])
    assert (np.abs(factors - 1) <= m.epsilon_ + 1e-12).all()
    back = DFF.load(m.save(tmp_path / "m.safetensors"), problem)
    assert back.epsilon_ == m.epsilon_ and back.lr_ == m.lr_
    np.testing.assert_array_equal(back.predict(X[100:], C_hat[100:]), m.predict(X[100:], C_hat[100:]))


def test_a_user_who_sets_nothing_gets_the_tuned_defaults() -> None:
    """``DFF(problem)``: ε chosen on validation rows and the tuned budget; the decision-focused baselines share
    that budget (``DFL``, ``DFFUnbounded``), so a comparison of defaults is like for like."""
    problem, X, C_hat, C = _data()
    tuned = {"epochs": DEFAULT_EPOCHS, "lr": DEFAULT_LR, "patience": DEFAULT_PATIENCE}
    for est in (DFF(problem), DFL(problem), DFFUnbounded(problem)):
        assert {k: est.get_params()[k] for k in tuned} == tuned, type(est).__name__
    m = DFF(problem, epochs=2).fit(X[:60], C_hat[:60], C[:60])
    assert m.get_params()["epsilon"] == "auto" and m.epsilon_ in EPSILON_GRID
    assert m.selection_ is not None and len(m.selection_) == len(EPSILON_GRID)


def test_too_little_validation_data_names_the_argument_and_the_smallest_valid_value() -> None:
    problem, X, C_hat, C = _data()
    assert min_validation_rows() == 4 and epoch_rows(9, "o", "epsilon") == 4
    with pytest.raises(ValueError, match=r"epsilon='auto' needs at least 4 validation rows.*got 3"):
        DFF(problem, epsilon="auto", epochs=1).fit(X[:50], C_hat[:50], C[:50], X[50:53], C_hat[50:53], C[50:53])
    with pytest.raises(ValueError, match=r"lr='auto'.*at least 18 training rows"):
        DFF(problem, epsilon=0.5, lr="auto", epochs=1).fit(X[:12], C_hat[:12], C[:12])
    with pytest.raises(ValueError, match="val_fraction=0 holds out no rows"):
        DFF(problem, epsilon="auto", epochs=1, val_fraction=0.0).fit(X[:30], C_hat[:30], C[:30])
    with pytest.raises(ValueError, match=r"epsilon must be a number such as 0\.2 or 'auto'"):
        DFF(problem, epsilon="wide").fit(X, C_hat, C)
    assert is_auto("auto") and not is_auto(0.2) and not is_auto("Auto ")
