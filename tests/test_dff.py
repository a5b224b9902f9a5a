"""DFF estimator: training contract, best-epoch rule, determinism, persistence, and a PyEPO benchmark check."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold

from dff_core import losses
from dff_core.data.synthetic import shortest_path_data
from dff_core.dff import DFF, pack_targets
from dff_core.errors import DataError
from dff_core.metrics import cosine_similarity, normalized_regret, regret
from dff_core.problems import Allocation, ShortestPath
from dff_core.progress import ProgressEvent


def _grid_data(n: int = 80, seed: int = 0, deg: int = 4):
    """Small PyEPO-like grid data (features -> costs via a fixed polynomial) and a biased linear backbone."""
    data = shortest_path_data(n, 4, grid=(3, 3), deg=deg, noise_width=0.25, seed=seed)
    problem, X, C = data.problem, data.X, data.C
    coef, *_ = np.linalg.lstsq(np.c_[X, np.ones(n)], C, rcond=None)
    C_hat = np.c_[X, np.ones(n)] @ coef
    return problem, X, np.abs(C_hat) + 0.05, C


class CountingProblem(ShortestPath):
    """A grid that counts its solve calls (to check the one-batched-solve-per-step contract)."""

    def __init__(self) -> None:
        g = ShortestPath.grid(3, 3)
        super().__init__(g.num_nodes, g.edges, 0, g.num_nodes - 1)
        self.calls: list[int] = []

    def solve(self, C):  # type: ignore[override]
        self.calls.append(int(np.atleast_2d(C).shape[0]))
        return super().solve(C)


def test_fit_history_and_best_epoch_never_worse_on_validation() -> None:
    problem, X, C_hat, C = _grid_data()
    seen: list[ProgressEvent] = []
    m = DFF(problem, epsilon=0.3, epochs=6, lr=1e-2, batch_size=16, n_members=1)
    assert m.fit(X, C_hat, C, callback=seen.append) is m
    h = m.history_
    assert list(h.columns) == ["epoch", "train_loss", "val_regret", "val_normalized_regret", "seconds"]
    assert h["epoch"].tolist()[0] == 0 and m.n_train_ == 64 and m.n_val_ == 16
    assert m.best_epoch_ == int(h.loc[h["val_regret"].idxmin(), "epoch"])
    # The restored model's validation regret is the recorded best, and never above the backbone's (epoch 0).
    Xv, Chv, Cv = X[64:], C_hat[64:], C[64:]
    r_dff = regret(problem, Cv, m.predict(Xv, Chv)).mean()
    r_bb = regret(problem, Cv, Chv).mean()
    assert r_dff == pytest.approx(h["val_regret"].min())
    assert h["val_regret"].iloc[0] == pytest.approx(r_bb)
    assert r_dff <= r_bb + 1e-12
    assert [e.epoch for e in seen] == h["epoch"].tolist()
    last = seen[-1]
    assert (last.stage, last.method, last.epochs, last.best_epoch) == ("train", "dff", 6, m.best_epoch_)
    assert {"train_loss", "val_regret", "val_normalized_regret"} <= set(last.metrics)
    assert last.metrics["val_regret"] == h["val_regret"].iloc[-1] and last.seconds == h["seconds"].iloc[-1]


def test_true_costs_solved_once_and_one_batched_solve_per_step() -> None:
    _, X, C_hat, C = _grid_data(n=50)
    problem = CountingProblem()
    epochs, bs = 3, 8
    DFF(problem, epsilon=0.2, epochs=epochs, batch_size=bs, patience=None, n_members=1).fit(X, C_hat, C)
    n_tr, n_val = 40, 10
    steps = epochs * math.ceil(n_tr / bs)
    # truth (train, val) + epoch-0 train loss + one validation per epoch (incl. 0) + one per step
    assert len(problem.calls) == 2 + 1 + (epochs + 1) + steps
    assert problem.calls[:2] == [n_tr, n_val]
    assert problem.calls.count(n_tr) == 2 and max(problem.calls) == n_tr


def test_chronological_holdout_equals_explicit_validation_set() -> None:
    problem, X, C_hat, C = _grid_data()
    a = DFF(problem, epsilon=0.3, epochs=3, val_fraction=0.25, seed=3).fit(X, C_hat, C)
    b = DFF(problem, epsilon=0.3, epochs=3, seed=3).fit(X[:60], C_hat[:60], C[:60], X[60:], C_hat[60:], C[60:])
    assert (a.n_train_, a.n_val_) == (60, 20)
    pd.testing.assert_frame_equal(a.history_.drop(columns="seconds"), b.history_.drop(columns="seconds"))


def test_deterministic_for_a_seed_and_global_rng_untouched() -> None:
    problem, X, C_hat, C = _grid_data()
    state = torch.get_rng_state()
    kw = dict(epsilon=0.4, epochs=3, lr=1e-2, val_fraction=0.0)  # no validation: the last epoch is kept
    p1 = DFF(problem, seed=7, **kw).fit(X, C_hat, C).factors(X)
    assert torch.equal(state, torch.get_rng_state())
    torch.manual_seed(123)  # global seed must not matter
    p2 = DFF(problem, seed=7, **kw).fit(X, C_hat, C).factors(X)
    p3 = DFF(problem, seed=8, **kw).fit(X, C_hat, C).factors(X)
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(p1, p3)


def test_should_stop_cancels_and_keeps_best_so_far() -> None:
    problem, X, C_hat, C = _grid_data()
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 7  # two epochs of 4 batches, then cancel mid-epoch 2

    m = DFF(problem, epsilon=0.3, epochs=50, batch_size=16).fit(X, C_hat, C, should_stop=stop)
    assert m.cancelled_ and m.history_["epoch"].tolist() == [0, 1]
    assert m.best_epoch_ in (0, 1)


def test_patience_stops_early() -> None:
    problem, X, C_hat, C = _grid_data()
    m = DFF(problem, epsilon=0.3, epochs=200, lr=1e-5, patience=2).fit(X, C_hat, C)
    assert len(m.history_) < 201
    last = int(m.history_["epoch"].iloc[-1])
    assert last - m.best_epoch_ == 2


def test_predict_factors_decide_and_bounds() -> None:
    problem, X, C_hat, C = _grid_data()
    eps = 0.25
    m = DFF(problem, epsilon=eps, epochs=4, lr=5e-2).fit(X, C_hat, C)
    phi = m.factors(X)
    assert phi.shape == C_hat.shape and (phi >= 1 - eps - 1e-12).all() and (phi <= 1 + eps + 1e-12).all()
    Ct = m.predict(X, C_hat)
    np.testing.assert_allclose(Ct, phi * C_hat)
    np.testing.assert_array_equal(m.decide(X, C_hat), problem.solve(Ct))
    with pytest.raises(NotFittedError, match="call fit"):
        DFF(problem).predict(X, C_hat)


def test_save_load_round_trip(tmp_path) -> None:
    problem, X, C_hat, C = _grid_data()
    m = DFF(problem, epsilon=0.3, epochs=3, lr=1e-2, hidden=(8, 4), use_c_hat=True).fit(X, C_hat, C)
    path = m.save(tmp_path / "dff.safetensors")
    m2 = DFF.load(path, problem)
    np.testing.assert_array_equal(m.predict(X, C_hat), m2.predict(X, C_hat))
    params = {k: v for k, v in m.get_params().items() if k != "problem"}
    assert {k: v for k, v in m2.get_params().items() if k != "problem"} == params and m2.best_epoch_ == m.best_epoch_
    assert m2.problem is problem
    pd.testing.assert_frame_equal(m.history_, m2.history_, check_dtype=False)
    with pytest.raises(ValueError, match="d=12"):
        DFF.load(path, ShortestPath.grid(4, 4))
    from safetensors.torch import save_file

    save_file({"a": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(DataError, match="not a DFF model"):
        DFF.load(tmp_path / "other.safetensors", problem)


def test_bad_inputs_get_clear_errors() -> None:
    problem, X, C_hat, C = _grid_data(n=20)
    bad = C_hat.copy()
    bad[3, 5] = np.nan
    with pytest.raises(DataError, match=r"'C_hat'.*row 3, column 5"):
        DFF(problem, epochs=1).fit(X, bad, C)
    with pytest.raises(DataError, match=r"'C' must have 12 columns"):
        DFF(problem, epochs=1).fit(X, C_hat, C[:, :5])
    with pytest.raises(DataError, match=r"'C_hat' has 19 rows"):
        DFF(problem, epochs=1).fit(X, C_hat[:19], C)
    with pytest.raises(ValueError, match="all of X_val"):
        DFF(problem, epochs=1).fit(X, C_hat, C, X_val=X)
    with pytest.raises(ValueError, match="epsilon"):
        DFF(problem, epsilon=1.2).fit(X, C_hat, C)
    with pytest.raises(ValueError, match="Unknown loss"):
        DFF(problem, loss="hinge").fit(X, C_hat, C)
    with pytest.raises(ValueError, match="batch_size"):
        DFF(problem, batch_size=0).fit(X, C_hat, C)


def test_loss_selected_by_name() -> None:
    problem, X, C_hat, C = _grid_data()
    a = DFF(problem, epsilon=0.3, epochs=2, loss="SPO+").fit(X, C_hat, C)
    b = DFF(problem, epsilon=0.3, epochs=2, loss="spo+").fit(X, C_hat, C)
    assert a.loss_name_ == "spo+"
    np.testing.assert_array_equal(a.factors(X), b.factors(X))
    custom = DFF(problem, epsilon=0.3, epochs=2, loss=losses.spo_plus).fit(X, C_hat, C)
    np.testing.assert_array_equal(a.factors(X), custom.factors(X))


@pytest.mark.parametrize("name", ["pfyl", "nce"])
def test_other_registered_losses_train(name: str) -> None:
    if not hasattr(losses, "get_loss"):
        pytest.skip("dff_core.losses.get_loss is not available in this version")
    problem, X, C_hat, C = _grid_data()
    m = DFF(problem, epsilon=0.3, epochs=2, loss=name).fit(X, C_hat, C)
    assert m.loss_name_ == name and np.isfinite(m.history_["train_loss"]).all()
    assert m.history_["val_regret"].iloc[m.best_epoch_] <= m.history_["val_regret"].iloc[0]


def test_maximisation_problem() -> None:
    rng = np.random.default_rng(4)
    problem = Allocation(np.ones(10), 3.0)
    X = rng.normal(size=(60, 3))
    C = np.abs(X @ rng.normal(size=(3, 10)) + rng.normal(0, 1, (60, 10))) + 0.1
    C_hat = np.abs(C + rng.normal(0, 1.0, C.shape)) + 0.1
    m = DFF(problem, epsilon=0.3, epochs=5, lr=1e-2, n_members=1).fit(X, C_hat, C)
    h = m.history_
    assert h["val_regret"].min() <= h["val_regret"].iloc[0]
    assert regret(problem, C[48:], m.predict(X[48:], C_hat[48:])).mean() == pytest.approx(h["val_regret"].min())


def test_pyepo_grid_linear_backbone_regret_drops_and_bound_holds() -> None:
    pyepo = pytest.importorskip("pyepo")
    from sklearn.linear_model import LinearRegression

    problem = ShortestPath.grid(5, 5)
    x, c = pyepo.data.shortestpath.genData(900, 5, (5, 5), deg=6, noise_width=0.5, seed=135)
    Xtr, Ctr, Xv, Cv, Xte, Cte = x[:300], c[:300], x[300:400], c[300:400], x[400:], c[400:]
    bb = LinearRegression().fit(Xtr, Ctr)
    Ch_tr, Ch_v, Ch_te = bb.predict(Xtr), bb.predict(Xv), bb.predict(Xte)
    eps = 0.5
    m = DFF(problem, epsilon=eps, epochs=20, lr=1e-3, seed=0).fit(Xtr, Ch_tr, Ctr, Xv, Ch_v, Cv)
    val_bb, val_dff = regret(problem, Cv, Ch_v).mean(), regret(problem, Cv, m.predict(Xv, Ch_v)).mean()
    assert val_dff <= val_bb  # by construction (epoch 0 is a candidate)
    assert val_dff < 0.9 * val_bb  # and here a real gain
    Ct = m.predict(Xte, Ch_te)
    test_bb, test_dff = regret(problem, Cte, Ch_te).mean(), regret(problem, Cte, Ct).mean()
    assert test_dff < 0.9 * test_bb
    # The trust region holds on every test instance.
    assert (np.abs(Ct - Ch_te) <= eps * np.abs(Ch_te) + 1e-12).all()
    assert (cosine_similarity(Ct, Ch_te) >= math.sqrt(1 - eps**2) - 1e-12).all()
    rmse = lambda A: np.sqrt(((A - Cte) ** 2).mean(axis=1))  # noqa: E731
    assert (rmse(Ct) - rmse(Ch_te) <= eps * np.linalg.norm(Ch_te, axis=1) / math.sqrt(problem.d) + 1e-12).all()


def test_without_validation_the_last_epoch_is_kept() -> None:
    problem, X, C_hat, C = _grid_data()
    m = DFF(problem, epsilon=0.3, epochs=3, lr=1e-2, val_fraction=0.0).fit(X, C_hat, C)
    assert m.n_val_ == 0 and m.best_epoch_ == 3
    assert m.history_["val_regret"].isna().all() and np.isfinite(m.history_["train_loss"]).all()
    # An explicit but empty validation set behaves the same way.
    e, ec = np.empty((0, X.shape[1])), np.empty((0, 12))
    m2 = DFF(problem, epsilon=0.3, epochs=3, lr=1e-2).fit(X, C_hat, C, e, ec, ec)
    np.testing.assert_array_equal(m.factors(X), m2.factors(X))


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_loads_a_model_written_by_the_first_file_format() -> None:
    """``dff_v1.safetensors`` was written by the first release of ``DFF.save`` (ShortestPath.grid(2, 2), 3 features,
    ε=0.3, hidden=(4,), use_c_hat=True); ``dff_v1_expected.npz`` holds what that release predicted for 5 rows."""
    problem = ShortestPath.grid(2, 2)
    model = DFF.load(FIXTURES / "dff_v1.safetensors", problem)
    with np.load(FIXTURES / "dff_v1_expected.npz", allow_pickle=False) as z:
        expected = {k: z[k] for k in z.files}
    X, C_hat = expected["X"], expected["C_hat"]
    np.testing.assert_allclose(model.predict(X, C_hat), expected["predictions"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(model.factors(X, C_hat), expected["factors"], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(model.decide(X, C_hat), expected["decisions"])
    assert (model.epsilon, tuple(model.hidden), model.use_c_hat, model.best_epoch_) == (0.3, (4,), True, 1)
    assert (model.n_train_, model.n_val_, model.loss_name_) == (32, 8, "spo+")


def test_scikit_learn_parameters_and_clone() -> None:
    problem, X, C_hat, C = _grid_data()
    m = DFF(problem, epsilon=0.3, epochs=2, hidden=(8,), loss="pfyl")
    params = m.get_params()
    assert params["epsilon"] == 0.3 and params["hidden"] == (8,) and params["problem"] is problem
    assert "callback" not in params and "should_stop" not in params
    assert m.set_params(epsilon=0.1) is m and m.epsilon == 0.1
    m.fit(X, C_hat, C)
    c = clone(m)
    assert not hasattr(c, "module_") and c.get_params()["epsilon"] == 0.1 and c.get_params()["loss"] == "pfyl"
    # A clone refits to the same model (same seed): fitting reads only the parameters.
    np.testing.assert_array_equal(c.fit(X, C_hat, C).factors(X), m.factors(X))
    with pytest.raises(NotFittedError):
        clone(m).factors(X)


def test_packed_targets_are_the_same_fit_and_score() -> None:
    problem, X, C_hat, C = _grid_data()
    a = DFF(problem, epsilon=0.3, epochs=2, seed=1).fit(X, C_hat, C)
    b = DFF(problem, epsilon=0.3, epochs=2, seed=1).fit(X, pack_targets(C_hat, C))
    np.testing.assert_array_equal(a.factors(X), b.factors(X))
    expected = -normalized_regret(problem, C, a.predict(X, C_hat))
    assert a.score(X, C_hat, C) == pytest.approx(expected)
    assert b.score(X, pack_targets(C_hat, C)) == a.score(X, C_hat, C)
    with pytest.raises(DataError, match="packed targets"):
        DFF(problem, epochs=1).fit(X, C_hat)


def test_grid_search_over_epsilon() -> None:
    problem, X, C_hat, C = _grid_data(n=60)
    grid = (0.1, 0.5)
    search = GridSearchCV(DFF(problem, epochs=2, lr=1e-2), {"epsilon": list(grid)}, cv=KFold(2)).fit(
        X, pack_targets(C_hat, C)
    )
    assert search.best_params_["epsilon"] in grid and search.best_estimator_.epsilon == search.best_params_["epsilon"]
    # Each fold's score is the negative normalized regret of a DFF fitted on the other fold.
    for k, eps in enumerate(grid):
        fit_rows, test_rows = slice(30, 60), slice(0, 30)
        m = DFF(problem, epsilon=eps, epochs=2, lr=1e-2).fit(X[fit_rows], C_hat[fit_rows], C[fit_rows])
        expected = -normalized_regret(problem, C[test_rows], m.predict(X[test_rows], C_hat[test_rows]))
        assert search.cv_results_["split0_test_score"][k] == pytest.approx(expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trust_region_holds_on_every_prediction_after_compiled_training(monkeypatch, dtype) -> None:
    """Whatever precision trains the weights, predictions come from the float64 module: the bound holds up to float64
    rounding, also when a large learning rate drives the factors to the edges of the trust region."""
    from dff_core import training

    monkeypatch.setattr(training, "COMPILED_DTYPE", dtype)
    problem, X, C_hat, C = _grid_data(n=120, seed=3)
    eps = 0.3
    m = DFF(problem, epsilon=eps, epochs=8, lr=0.5, batch_size=8, val_fraction=0.0, n_members=1).fit(X, C_hat, C)
    assert m.module_.net[0].weight.dtype == torch.float64
    Ct, phi = m.predict(X, C_hat), m.factors(X)
    assert (np.abs(phi - 1.0) > eps - 1e-6).mean() > 0.05  # some factors are saturated
    assert (np.abs(Ct - C_hat) <= eps * np.abs(C_hat) * (1 + 1e-15)).all()
    assert (phi >= 1 - eps - 1e-15).all() and (phi <= 1 + eps + 1e-15).all()


# ------------------------------------------------------------------------ hostile model files
def _rewrite(src: Path, dst: Path, **changes: object) -> Path:
    """Copy the model file ``src`` to ``dst`` with metadata entries changed (``config``/``state`` keys)."""
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    config, state = json.loads(meta["config"]), json.loads(meta["state"])
    for key, value in changes.items():
        (config if key in config else state)[key] = value
    meta["config"], meta["state"] = json.dumps(config), json.dumps(state)
    save_file(tensors, str(dst), metadata=meta)
    return dst


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ShortestPath]:
    problem, X, C_hat, C = _grid_data(n=30)
    path = tmp_path_factory.mktemp("model") / "dff.safetensors"
    DFF(problem, epsilon=0.3, epochs=1, hidden=(4,)).fit(X, C_hat, C).save(path)
    return path, problem


@pytest.mark.timeout(60)
def test_load_does_not_allocate_what_the_metadata_names(saved_model, tmp_path: Path) -> None:
    path, problem = saved_model
    bad = _rewrite(path, tmp_path / "wide.safetensors", hidden=[2**31])  # 64 GB of weights if trusted
    with pytest.raises(DataError, match=r"wide\.safetensors.*hidden=\[2147483648\].*does not match the weights"):
        DFF.load(bad, problem)
    bad = _rewrite(path, tmp_path / "features.safetensors", n_features_in=10**9)
    with pytest.raises(DataError, match=r"features\.safetensors.*1000000000 features"):
        DFF.load(bad, problem)
    deep = _rewrite(path, tmp_path / "deep.safetensors", hidden=[4] * 1000)
    with pytest.raises(DataError, match=r"deep\.safetensors describes 1000 hidden layers; at most 64"):
        DFF.load(deep, problem)


@pytest.mark.parametrize("change", [{"hidden": "wide"}, {"hidden": [0]}, {"epsilon": 7}, {"n_train": None}])
def test_load_with_damaged_metadata_names_the_file(saved_model, tmp_path: Path, change: dict) -> None:
    path, problem = saved_model
    bad = _rewrite(path, tmp_path / "damaged.safetensors", **change)
    with pytest.raises(DataError, match=r"damaged\.safetensors"):
        DFF.load(bad, problem)


def test_load_truncated_or_foreign_file_names_it(saved_model, tmp_path: Path) -> None:
    path, problem = saved_model
    data = path.read_bytes()
    for cut in (4, 100, len(data) - 10):
        (tmp_path / "cut.safetensors").write_bytes(data[:cut])
        with pytest.raises(DataError, match=r"cut\.safetensors"):
            DFF.load(tmp_path / "cut.safetensors", problem)
    (tmp_path / "text.safetensors").write_text("hello")
    with pytest.raises(DataError, match=r"text\.safetensors is not a readable safetensors file"):
        DFF.load(tmp_path / "text.safetensors", problem)


@pytest.mark.timeout(30)
@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no named pipes")
def test_load_refuses_a_pipe(saved_model, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"pipe\.safetensors.*named pipe"):
        DFF.load(fifo, saved_model[1])
