"""Seed ensembles: members differ only in their seed, share the chosen ε, and average inside the trust region."""

from __future__ import annotations

import numpy as np
import pytest

from dff_core.baselines import DFL
from dff_core.data.synthetic import shortest_path_data
from dff_core.dff import DFF
from dff_core.ensemble import SeedEnsemble
from dff_core.metrics import relative_shift


def _data(n: int = 60, seed: int = 0):
    data = shortest_path_data(n, 4, grid=(3, 3), deg=4, noise_width=0.25, seed=seed)
    X, C = data.X, data.C
    coef, *_ = np.linalg.lstsq(np.c_[X, np.ones(n)], C, rcond=None)
    return data.problem, X, np.abs(np.c_[X, np.ones(n)] @ coef) + 0.05, C


def test_dff_ensemble_is_the_mean_of_members_with_consecutive_seeds() -> None:
    problem, X, C_hat, C = _data()
    base = DFF(problem, epsilon=0.4, epochs=4, lr=1e-2, batch_size=16, seed=7)
    ens = SeedEnsemble(base, n_members=3).fit(X, C_hat, C)
    assert [m.seed for m in ens.members_] == [7, 8, 9] and ens.epsilon_ == 0.4
    # each member is exactly the single model with that seed
    for m in ens.members_:
        single = DFF(problem, epsilon=0.4, epochs=4, lr=1e-2, batch_size=16, seed=m.seed).fit(X, C_hat, C)
        np.testing.assert_allclose(m.predict(X, C_hat), single.predict(X, C_hat), rtol=0, atol=0)
    preds = np.stack([m.predict(X, C_hat) for m in ens.members_])
    assert not np.allclose(preds[0], preds[1])  # different seeds, different corrections
    np.testing.assert_allclose(ens.predict(X, C_hat), preds.mean(axis=0), rtol=1e-15)
    # the average stays inside the members' trust region on every coefficient
    assert relative_shift(C_hat, ens.predict(X, C_hat)).max() <= 0.4 + 1e-12


def test_auto_epsilon_is_chosen_once_and_shared() -> None:
    problem, X, C_hat, C = _data(80)
    ens = SeedEnsemble(DFF(problem, epsilon="auto", epochs=3, lr=1e-2, batch_size=16), n_members=2).fit(X, C_hat, C)
    first, second = ens.members_
    assert first.selection_ is not None and second.selection_ is None  # only the first member selects
    assert second.epsilon == first.epsilon_ == ens.epsilon_ and second.lr == first.lr_ == ens.lr_


def test_dfl_ensemble_from_the_backbone_and_one_member_is_the_estimator() -> None:
    problem, X, _, C = _data()
    base = DFL(problem, model="linear", epochs=3, lr=1e-2, batch_size=16, seed=3)
    one = SeedEnsemble(base, n_members=1).fit(X, C)
    np.testing.assert_allclose(one.predict(X), DFL(**base.get_params()).fit(X, C).predict(X), rtol=0, atol=0)
    two = SeedEnsemble(base, n_members=2).fit(X, C)
    np.testing.assert_allclose(two.predict(X), np.mean([m.predict(X) for m in two.members_], axis=0))
    assert len(two.best_epochs_) == 2


def test_should_stop_keeps_the_members_fitted_so_far(monkeypatch) -> None:
    problem, X, C_hat, C = _data()
    fitted: list[DFF] = []
    fit = DFF.fit

    def fit_and_count(self, *a, **k):  # type: ignore[no-untyped-def]
        fitted.append(fit(self, *a, **k))
        return fitted[-1]

    monkeypatch.setattr(DFF, "fit", fit_and_count)
    ens = SeedEnsemble(DFF(problem, epsilon=0.3, epochs=2, batch_size=16), n_members=4)
    ens.fit(X, C_hat, C, should_stop=lambda: len(fitted) >= 1)  # stop once the first member is done
    assert len(fitted) == 1 and ens.members_ == fitted


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "5"])
def test_bad_member_count_names_the_argument(n) -> None:
    problem, X, C_hat, C = _data(20)
    with pytest.raises(ValueError, match="n_members must be a positive integer"):
        SeedEnsemble(DFF(problem), n_members=n).fit(X, C_hat, C)
