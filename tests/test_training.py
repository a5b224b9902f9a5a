"""The shared training loop: hold-out rows, decision scoring, loss state, progress events, FlatAdam."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from dff_core import training
from dff_core.errors import DataError
from dff_core.losses import DecisionLoss, spo_plus, true_solutions
from dff_core.metrics import normalized_regret, regret
from dff_core.problems import ShortestPath
from dff_core.progress import ProgressEvent
from dff_core.training import HISTORY_COLUMNS, FlatAdam, holdout_rows, score_decisions, train_on_decision_loss


def test_holdout_rows() -> None:
    assert holdout_rows(100, 0.2, "X") == 80 and holdout_rows(10, 0.0, "X") == 10
    assert holdout_rows(3, 0.1, "X") == 2  # at least one validation row when asked for some
    with pytest.raises(ValueError, match="val_fraction must be in"):
        holdout_rows(10, 1.0, "DFF.fit")
    with pytest.raises(DataError, match="leave no training rows"):
        holdout_rows(2, 0.9, "DFF.fit")


def test_score_decisions_is_regret_and_normalized_regret() -> None:
    problem = ShortestPath.grid(3, 3)
    rng = np.random.default_rng(0)
    C, P = rng.uniform(1, 2, (7, problem.d)), rng.uniform(1, 2, (7, problem.d))
    W, z = true_solutions(problem, C)
    mean, norm = score_decisions(problem, C, W, z, P)
    assert mean == pytest.approx(regret(problem, C, P).mean())
    assert norm == pytest.approx(normalized_regret(problem, C, P))


def test_loss_state_is_made_once_per_fit_and_passed_to_every_call() -> None:
    problem = ShortestPath.grid(3, 3)
    rng = np.random.default_rng(1)
    X, C = rng.normal(size=(20, 2)), rng.uniform(1, 2, (20, problem.d))
    starts, calls = [], []

    def init_state(W_train, generator):
        starts.append((W_train.shape, generator))
        return {"tag": len(starts)}

    def fn(problem, c_pred, c_true, w_true, z_true, tag):
        calls.append(tag)
        return spo_plus(problem, c_pred, c_true, w_true, z_true, reduction="none")  # per instance: averaged

    module = torch.nn.Linear(2, problem.d, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    events: list[ProgressEvent] = []
    history, best, cancelled = train_on_decision_loss(
        problem, module, (torch.from_numpy(X[:15]),), C[:15], (torch.from_numpy(X[15:]),), C[15:],
        loss=DecisionLoss("mine", fn, init_state), generator=gen, method="test", epochs=2, lr=1e-2, batch_size=8,
        callback=events.append,
    )  # fmt: skip
    assert starts == [((15, problem.d), gen)] and set(calls) == {1} and len(calls) == 1 + 2 * 2
    assert list(history.columns) == HISTORY_COLUMNS and not cancelled and best in (0, 1, 2)
    assert [(e.stage, e.method, e.epoch, e.epochs) for e in events] == [("train", "test", k, 2) for k in range(3)]
    assert events[-1].metrics["train_loss"] == history["train_loss"].iloc[-1]


def test_flat_adam_matches_torch_adam() -> None:
    """The packed optimiser follows torch's Adam update rule step for step (L2 weight decay included)."""
    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
    b = copy.deepcopy(a)
    x = torch.randn(16, 4, dtype=torch.float64)
    ref = torch.optim.Adam(a.parameters(), lr=1e-2, weight_decay=1e-3)
    flat = FlatAdam(b.parameters(), lr=1e-2, weight_decay=1e-3)
    for _ in range(25):
        ref.zero_grad()
        (a(x) ** 2).mean().backward()
        ref.step()
        flat.step((b(x) ** 2).mean())
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-12, atol=1e-12)
    state = {k: v.clone() for k, v in b.state_dict().items()}
    b.load_state_dict(state)  # parameters stay views of the flat buffer after a reload
    flat.step((b(x) ** 2).mean())
    assert not torch.equal(state["0.weight"], b.state_dict()["0.weight"])


def _correction_setup(n: int = 48, seed: int = 0):
    from dff_core.correction import BiasCorrection

    problem = ShortestPath.grid(3, 3)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    C = np.abs(X @ rng.normal(size=(3, problem.d))) + 0.5
    C_hat = C * rng.uniform(0.6, 1.4, C.shape)

    def module() -> BiasCorrection:
        return BiasCorrection(3, problem.d, 0.4, (8, 8), generator=torch.Generator().manual_seed(seed)).fit_scaler(X)

    inputs = (torch.from_numpy(X[:36]), torch.from_numpy(C_hat[:36]))
    val = (torch.from_numpy(X[36:]), torch.from_numpy(C_hat[36:]))
    return problem, module, inputs, C[:36], val, C[36:]


def _train(engine: str, loss=spo_plus, epochs: int = 4, **kw):
    problem, make, inputs, C, val, Cv = _correction_setup()
    module = make()
    kw = {"epochs": epochs, "lr": 2e-2, "batch_size": 8, **kw}
    out = train_on_decision_loss(
        problem, module, inputs, C, val, Cv, loss=loss, generator=torch.Generator().manual_seed(1), method="dff",
        engine=engine, **kw,
    )  # fmt: skip
    return module, out


@pytest.mark.parametrize(("dtype", "tol"), [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_compiled_engine_trains_like_autograd(monkeypatch, dtype, tol: float) -> None:
    """The compiled engine follows the float64 autograd path (in float32: up to float32 rounding)."""
    monkeypatch.setattr(training, "COMPILED_DTYPE", dtype)
    fast, (h_fast, best_fast, _) = _train("compiled")
    slow, (h_slow, best_slow, _) = _train("torch")
    np.testing.assert_allclose(h_fast["train_loss"], h_slow["train_loss"], rtol=tol)
    for a, b in zip(fast.parameters(), slow.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol / 10)
    assert all(p.dtype == torch.float64 for p in fast.parameters())
    # Validation is scored by the float64 module itself, so the history describes the returned model.
    assert best_fast == int(h_fast.loc[h_fast["val_regret"].idxmin(), "epoch"])
    if dtype == np.float64:
        assert best_fast == best_slow
        np.testing.assert_allclose(h_fast["val_regret"], h_slow["val_regret"], rtol=1e-12)


def test_compiled_engine_is_the_default_for_a_correction_and_deterministic() -> None:
    auto, (h_auto, _, _) = _train("auto")
    again, (h_again, _, _) = _train("auto")
    _, (h_fast, _, _) = _train("compiled")
    pd_equal = h_auto.drop(columns="seconds").equals
    assert pd_equal(h_again.drop(columns="seconds")) and pd_equal(h_fast.drop(columns="seconds"))
    for a, b in zip(auto.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)


def test_losses_without_a_fast_path_are_differentiated_alone() -> None:
    """A custom loss has no ``value_grad``: the compiled engine takes its gradient by autograd on the loss only."""

    def my_spo(problem, c_pred, c_true, w_true, z_true):
        return spo_plus(problem, c_pred, c_true, w_true, z_true, reduction="none")

    custom, (h_custom, _, _) = _train("compiled", loss=DecisionLoss("mine", my_spo))
    builtin, (h_builtin, _, _) = _train("compiled")
    np.testing.assert_allclose(h_custom["train_loss"], h_builtin["train_loss"], rtol=1e-9)
    for a, b in zip(custom.parameters(), builtin.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_engine_choice_is_checked() -> None:
    problem = ShortestPath.grid(3, 3)
    X, C = np.ones((4, 2)), np.ones((4, problem.d))
    kw = dict(loss=spo_plus, generator=torch.Generator(), method="dfl", epochs=1, lr=1e-2, batch_size=2)
    args = (problem, torch.nn.Linear(2, problem.d, dtype=torch.float64), (torch.from_numpy(X),), C)
    with pytest.raises(ValueError, match="engine='compiled' needs"):
        train_on_decision_loss(*args, (torch.from_numpy(X[:0]),), C[:0], engine="compiled", **kw)
    with pytest.raises(ValueError, match="engine must be"):
        train_on_decision_loss(*args, (torch.from_numpy(X[:0]),), C[:0], engine="jit", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["compiled", "torch"])
def test_cancelled_without_validation_keeps_the_last_complete_epoch(engine: str) -> None:
    problem, make, inputs, C, _, _ = _correction_setup()
    empty = (inputs[0][:0], inputs[1][:0])
    full = make()
    train_on_decision_loss(
        problem, full, inputs, C, empty, C[:0], loss=spo_plus, generator=torch.Generator().manual_seed(1),
        method="dff", epochs=2, lr=2e-2, batch_size=8, engine=engine,
    )  # fmt: skip
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 5 * 2 + 2  # 5 batches per epoch: cancel two batches into epoch 3

    cut = make()
    history, best, cancelled = train_on_decision_loss(
        problem, cut, inputs, C, empty, C[:0], loss=spo_plus, generator=torch.Generator().manual_seed(1),
        method="dff", epochs=5, lr=2e-2, batch_size=8, engine=engine, should_stop=stop,
    )  # fmt: skip
    assert cancelled and best == 2 and history["epoch"].tolist() == [0, 1, 2]
    for a, b in zip(full.parameters(), cut.parameters(), strict=True):
        assert torch.equal(a, b)
