"""The shared training loop: hold-out rows, decision scoring, loss state, progress events, FlatAdam."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

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
