"""Decision losses: SPO+ value and subgradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dff_core.losses import mse, spo_plus, true_solutions
from dff_core.problems import Allocation, ShortestPath


def test_spo_plus_zero_at_truth_and_nonnegative() -> None:
    p = ShortestPath.grid(5, 5)
    rng = np.random.default_rng(0)
    C = torch.as_tensor(rng.random((16, p.d)))
    assert spo_plus(p, C.clone(), C).item() == pytest.approx(0.0, abs=1e-12)
    pred = torch.as_tensor(rng.random((16, p.d)))
    assert (spo_plus(p, pred, C, reduction="none") >= -1e-12).all()


@pytest.mark.parametrize("problem", [ShortestPath.grid(4, 4), Allocation(np.ones(15), 4.0)])
def test_spo_plus_subgradient_is_closed_form(problem) -> None:
    rng = np.random.default_rng(1)
    C = rng.random((8, problem.d))
    pred = torch.tensor(rng.random((8, problem.d)), requires_grad=True)
    W, z = true_solutions(problem, C)
    loss = spo_plus(problem, pred, C, W, z, reduction="sum")
    loss.backward()
    Wq = problem.solve(2 * pred.detach().numpy() - C)
    expected = 2 * (W - Wq) if problem.sense == "min" else 2 * (Wq - W)
    np.testing.assert_allclose(pred.grad.numpy(), expected)


def test_spo_plus_reductions_and_bad_shapes() -> None:
    p = ShortestPath.grid(3, 3)
    rng = np.random.default_rng(2)
    C = rng.random((5, p.d))
    pred = torch.as_tensor(rng.random((5, p.d)))
    none = spo_plus(p, pred, C, reduction="none")
    assert none.shape == (5,)
    assert spo_plus(p, pred, C, reduction="sum").item() == pytest.approx(none.sum().item())
    assert spo_plus(p, pred, C).item() == pytest.approx(none.mean().item())
    with pytest.raises(ValueError, match="reduction"):
        spo_plus(p, pred, C, reduction="avg")
    with pytest.raises(ValueError, match="c_pred must have shape"):
        spo_plus(p, pred[:, :3], C)


def test_mse_loss() -> None:
    a = torch.zeros((2, 3))
    assert mse(a, np.ones((2, 3))).item() == pytest.approx(1.0)
