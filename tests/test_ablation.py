"""The trust-region ablation: DFF's network without the bound."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dff_core.ablation import DFFUnbounded
from dff_core.correction import BiasCorrection
from dff_core.data.synthetic import shortest_path_data
from dff_core.dff import DFF
from dff_core.metrics import regret


def _data(n: int = 100, seed: int = 0):
    data = shortest_path_data(n, 4, grid=(3, 3), deg=6, noise_width=0.25, seed=seed)
    X, C = data.X, data.C
    coef, *_ = np.linalg.lstsq(np.c_[X, np.ones(n)], C, rcond=None)
    C_hat = np.abs(np.c_[X, np.ones(n)] @ coef) + 0.05
    return data.problem, X, C_hat, C


def test_untrained_module_is_the_backbone_and_shares_dffs_initial_network() -> None:
    problem, X, C_hat, C = _data()
    m = DFFUnbounded(problem, epochs=0, hidden=(8, 8), n_members=1).fit(X[:80], C_hat[:80], C[:80])
    np.testing.assert_array_equal(m.predict(X[80:], C_hat[80:]), C_hat[80:])
    np.testing.assert_array_equal(m.factors(X[80:]), np.ones_like(C_hat[80:]))
    # Same generator, same draw order: the hidden layers start where DFF's do.
    gen = torch.Generator().manual_seed(0)
    ref = BiasCorrection(X.shape[1], problem.d, 0.5, (8, 8), generator=gen)
    for a, b in zip(ref.net.parameters(), m.module_.net.parameters(), strict=True):
        if a.abs().sum() > 0:  # the last layer starts at zero in both, and has moved in neither (epochs=0)
            torch.testing.assert_close(a, b)


def test_the_unbounded_correction_leaves_the_trust_region_where_dff_cannot() -> None:
    problem, X, C_hat, C = _data(n=160, seed=3)
    kw = dict(epochs=25, lr=3e-2, hidden=(16, 16), patience=None, seed=1, n_members=1)
    free = DFFUnbounded(problem, **kw).fit(X[:100], C_hat[:100], C[:100], X[100:130], C_hat[100:130], C[100:130])
    bounded = DFF(problem, epsilon=0.1, **kw).fit(X[:100], C_hat[:100], C[:100], X[100:130], C_hat[100:130], C[100:130])
    shift_free = np.abs(free.predict(X[130:], C_hat[130:]) / C_hat[130:] - 1).max()
    shift_dff = np.abs(bounded.predict(X[130:], C_hat[130:]) / C_hat[130:] - 1).max()
    assert shift_dff <= 0.1 + 1e-9 and shift_free > 0.1
    assert (free.factors(X[130:]) > 0).all()
    h = free.history_
    assert free.best_epoch_ == int(h["val_regret"].idxmin()) and free.lr_ == 3e-2 and free.selection_ is None
    assert regret(problem, C[100:130], free.predict(X[100:130], C_hat[100:130])).mean() == pytest.approx(
        h["val_regret"].min()
    )


def test_lr_auto_and_bad_input() -> None:
    problem, X, C_hat, C = _data()
    m = DFFUnbounded(problem, epochs=2, lr="auto").fit(X, C_hat, C)
    assert m.lr_ in m.selection_["lr"].tolist() and m.n_val_ == 20
    with pytest.raises(ValueError, match="pass all of X_val"):
        DFFUnbounded(problem).fit(X, C_hat, C, X_val=X[:5])
    with pytest.raises(ValueError, match="lr must be a number"):
        DFFUnbounded(problem, lr="big").fit(X, C_hat, C)
