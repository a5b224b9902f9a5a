"""End-to-end DFL baseline: warm start, start from a backbone, lr selection, scikit-learn conventions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge

from dff_core.backbones import LinearBackbone, MLPBackbone, make_backbone
from dff_core.baselines import DFL
from dff_core.data.synthetic import shortest_path_data
from dff_core.metrics import normalized_regret, regret
from dff_core.progress import ProgressEvent
from dff_core.selection import LR_GRID


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
    m = DFL(problem, epochs=8, lr=1e-2, n_members=1).fit(Xtr, Ctr, Xv, Cv)
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


def test_dfl_is_a_scikit_learn_estimator_with_typed_progress() -> None:
    problem, Xtr, Ctr, Xv, Cv, _, _ = _split()
    m = DFL(problem, epochs=3, lr=1e-2, n_members=1)
    assert "callback" not in m.get_params() and m.get_params()["problem"] is problem
    with pytest.raises(NotFittedError, match="call fit"):
        m.predict(Xv)
    seen: list[ProgressEvent] = []
    m.fit(Xtr, Ctr, Xv, Cv, callback=seen.append)
    assert [(e.stage, e.method, e.epoch) for e in seen] == [("train", "dfl", k) for k in m.history_["epoch"]]
    assert m.score(Xv, Cv) == pytest.approx(-normalized_regret(problem, Cv, m.predict(Xv)))
    np.testing.assert_array_equal(clone(m).fit(Xtr, Ctr, Xv, Cv).predict(Xv), m.predict(Xv))


def test_dfl_starts_from_a_fitted_linear_backbone_exactly() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, _ = _split()
    for bb in (LinearBackbone().fit(Xtr, Ctr), LinearBackbone(alpha="auto").fit(Xtr, Ctr), Ridge(3.0).fit(Xtr, Ctr)):
        m = DFL(problem, epochs=0).fit(Xtr, Ctr, Xv, Cv, start_from=bb)
        np.testing.assert_allclose(m.predict(Xte), bb.predict(Xte), rtol=1e-9, atol=1e-9)
    trained = DFL(problem, epochs=4, lr=1e-2).fit(Xtr, Ctr, Xv, Cv, start_from=bb)
    # Epoch 0 is the backbone, so the kept epoch is never worse on validation than the backbone.
    assert trained.history_["val_regret"].iloc[0] == pytest.approx(regret(problem, Cv, bb.predict(Xv)).mean())
    assert regret(problem, Cv, trained.predict(Xv)).mean() <= regret(problem, Cv, bb.predict(Xv)).mean() + 1e-12
    forest = make_backbone("random_forest", n_estimators=5).fit(Xtr, Ctr)
    with pytest.raises(ValueError, match="not a linear model"):
        DFL(problem, epochs=0).fit(Xtr, Ctr, Xv, Cv, start_from=forest)


def test_dfl_starts_from_a_fitted_mlp_backbone_exactly() -> None:
    problem, Xtr, Ctr, Xv, Cv, Xte, _ = _split()
    mlp = MLPBackbone(hidden=(8, 4), epochs=30).fit(Xtr, Ctr)
    m = DFL(problem, model="mlp", epochs=0).fit(Xtr, Ctr, Xv, Cv, start_from=mlp)
    np.testing.assert_allclose(m.predict(Xte), mlp.predict(Xte), rtol=1e-12, atol=1e-12)
    before = mlp.predict(Xte)
    DFL(problem, model="mlp", epochs=3, lr=1e-2).fit(Xtr, Ctr, Xv, Cv, start_from=mlp)
    np.testing.assert_array_equal(mlp.predict(Xte), before)  # the backbone itself is not trained
    with pytest.raises(ValueError, match="fitted MLPBackbone"):
        DFL(problem, model="mlp", epochs=0).fit(Xtr, Ctr, Xv, Cv, start_from=LinearBackbone().fit(Xtr, Ctr))


def test_dfl_lr_auto_chooses_on_rows_that_did_not_choose_the_epoch() -> None:
    problem, Xtr, Ctr, Xv, Cv, _, _ = _split()
    m = DFL(problem, epochs=3, lr="auto").fit(Xtr, Ctr, Xv, Cv)
    table = m.selection_
    assert table["lr"].tolist() == list(LR_GRID) and table["chosen"].sum() == 1
    assert m.lr_ == table.loc[table["chosen"], "lr"].item() == table.loc[table["selection_regret"].idxmin(), "lr"]
    # The kept model is the chosen step size refitted with all validation rows choosing its epoch.
    again = DFL(problem, epochs=3, lr=m.lr_).fit(Xtr, Ctr, Xv, Cv)
    np.testing.assert_array_equal(again.predict(Xv), m.predict(Xv))
    assert m.get_params()["lr"] == "auto"
    with pytest.raises(ValueError, match="lr='auto' needs at least 4 validation rows"):
        DFL(problem, epochs=1, lr="auto").fit(Xtr, Ctr, Xv[:3], Cv[:3])
    with pytest.raises(ValueError, match="lr must be a number"):
        DFL(problem, lr="fast").fit(Xtr, Ctr)
