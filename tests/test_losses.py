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


# ---------------------------------------------------------------- PFYL, NCE, registry
from dff_core import losses as L  # noqa: E402
from dff_core.problems import MinCostFlow  # noqa: E402


def _noise(n: int, k: int, d: int, seed: int) -> np.ndarray:
    return torch.randn((n, k, d), generator=torch.Generator().manual_seed(seed), dtype=torch.float64).numpy()


@pytest.mark.parametrize("problem", [ShortestPath.grid(4, 4), Allocation(np.ones(15), 4.0)])
def test_pfyl_value_and_gradient_definitions(problem) -> None:
    rng = np.random.default_rng(3)
    C = rng.random((6, problem.d)) + 0.1
    P = C + rng.normal(0, 0.2, C.shape)
    W, _ = true_solutions(problem, C)
    pred = torch.tensor(P, requires_grad=True)
    loss = L.pfyl(problem, pred, C, W, n_samples=5, sigma=0.5, seed=9, reduction="none")
    loss.sum().backward()
    Z = _noise(6, 5, problem.d, 9)
    ptb = P[:, None, :] + 0.5 * Z
    Wk = problem.solve(ptb.reshape(-1, problem.d)).reshape(6, 5, problem.d)
    gap = np.einsum("bkd,bd->bk", ptb, W) - np.einsum("bkd,bkd->bk", ptb, Wk)
    if problem.sense == "min":
        exp_loss, exp_grad = gap.mean(1), W - Wk.mean(1)
    else:
        exp_loss, exp_grad = -gap.mean(1), Wk.mean(1) - W
    np.testing.assert_allclose(loss.detach().numpy(), exp_loss, atol=1e-12)
    np.testing.assert_allclose(pred.grad.numpy(), exp_grad, atol=1e-12)
    assert (loss.detach().numpy() >= -1e-12).all()


def test_pfyl_seed_generator_and_bad_arguments() -> None:
    p = ShortestPath.grid(3, 3)
    rng = np.random.default_rng(4)
    C = rng.random((4, p.d))
    pred = torch.as_tensor(C + 0.1)
    a = L.pfyl(p, pred, C, seed=1)
    assert a.item() == pytest.approx(L.pfyl(p, pred, C, seed=1).item())
    g = torch.Generator().manual_seed(1)
    assert L.pfyl(p, pred, C, generator=g).item() == pytest.approx(a.item())
    assert L.pfyl(p, pred, C, generator=g).item() != pytest.approx(a.item())  # generator advanced
    with pytest.raises(ValueError, match="n_samples"):
        L.pfyl(p, pred, C, n_samples=0)
    with pytest.raises(ValueError, match="sigma"):
        L.pfyl(p, pred, C, sigma=-1.0)
    with pytest.raises(ValueError, match=r"pfyl: c_pred must have shape \(n, 12\)"):
        L.pfyl(p, pred[:, :5], C)
    with pytest.raises(ValueError, match="pfyl: c_pred has a non-finite value at instance 2"):
        L.pfyl(p, torch.where(torch.arange(4)[:, None] == 2, torch.nan, pred), C)
    with pytest.raises(ValueError, match="give c_true"):
        L.pfyl(p, pred)


def test_pfyl_on_road_graph_uses_the_surrogate_for_negative_perturbations() -> None:
    E = [(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 3), (3, 2)]
    p = ShortestPath(4, E, 0, 3)
    C = np.full((3, p.d), 0.2)
    loss = L.pfyl(p, torch.as_tensor(C), C, sigma=2.0, n_samples=8, seed=0)  # perturbations go negative
    assert np.isfinite(loss.item()) and loss.item() >= 0


def test_nce_pool_grows_and_matches_formula() -> None:
    p = ShortestPath.grid(3, 3)
    rng = np.random.default_rng(5)
    C = rng.random((8, p.d))
    W, _ = true_solutions(p, C)
    pool = L.SolutionPool(W)
    n0 = len(pool)
    assert 1 <= n0 <= 6  # 6 monotone paths in a 3x3 grid
    pred = torch.tensor(rng.random((8, p.d)), requires_grad=True)
    loss = L.nce(p, pred, C, W, pool=pool, reduction="none")
    assert len(pool) >= n0
    S = pool.solutions
    exp = (pred.detach().numpy() * W).sum(1) - (pred.detach().numpy() @ S.T).mean(1)
    np.testing.assert_allclose(loss.detach().numpy(), exp, atol=1e-12)
    loss.sum().backward()
    np.testing.assert_allclose(pred.grad.numpy(), W - S.mean(0), atol=1e-12)
    pool.add(S)  # duplicates are ignored
    assert len(pool) == len(S)
    # pool=None: the batch's true and predicted decisions; at the truth every pool member costs >= w*
    assert (L.nce(p, torch.as_tensor(C), C, W, reduction="none") <= 1e-12).all()
    with pytest.raises(ValueError, match=r"pool must have shape \(k, 12\)"):
        L.nce(p, pred, C, W, pool=np.ones((2, 3)))


def test_nce_max_sense_sign() -> None:
    p = Allocation(np.ones(5), 2.0)
    C = np.array([[1.0, 2.0, 3.0, 0.5, 0.1]])
    W, _ = true_solutions(p, C)
    pool = np.array([[1.0, 1.0, 0, 0, 0]])
    loss = L.nce(p, torch.as_tensor(C), C, W, pool=pool)
    assert loss.item() == pytest.approx(3.0 - 5.0)  # pool value minus true value (lower is better)


def test_registry() -> None:
    assert set(L.LOSSES) == {"spo+", "pfyl", "nce", "dbb", "mse"}
    assert L.get_loss("SPO+") is L.spo_plus
    assert L.get_loss(" pfyl ") is L.pfyl
    with pytest.raises(ValueError, match=r"valid names: 'spo\+', 'pfyl', 'nce', 'dbb', 'mse'"):
        L.get_loss("qpth")
    p = ShortestPath.grid(3, 3)
    C = torch.ones((2, p.d))
    for name, fn in L.LOSSES.items():
        out = fn(p, C + 0.5, C, reduction="none")
        assert out.shape == (2,), name


def test_spo_plus_on_min_cost_flow() -> None:
    rng = np.random.default_rng(7)
    E = np.array([(0, 1), (1, 2), (0, 2), (2, 3), (1, 3), (3, 0)])
    p = MinCostFlow(4, E, np.full(6, 2.0), [2.0, 0.0, 0.0, -2.0])
    C = rng.random((5, 6))
    pred = torch.tensor(rng.random((5, 6)), requires_grad=True)
    loss = spo_plus(p, pred, C, reduction="sum")
    loss.backward()
    W = p.solve(C)
    Wq = p.solve(2 * pred.detach().numpy() - C)
    np.testing.assert_allclose(pred.grad.numpy(), 2 * (W - Wq), atol=1e-9)
    assert (spo_plus(p, pred.detach(), C, reduction="none") >= -1e-9).all()


def test_nce_solve_ratio_controls_pool_refresh() -> None:
    p = ShortestPath.grid(4, 4)
    rng = np.random.default_rng(8)
    C = rng.random((6, p.d))
    W, _ = true_solutions(p, C)
    frozen = L.SolutionPool(W, seed=0)
    n0 = len(frozen)
    for _ in range(3):
        L.nce(p, torch.as_tensor(rng.random((6, p.d))), C, W, pool=frozen, solve_ratio=0.0)
    assert len(frozen) == n0
    growing = L.SolutionPool(W, seed=0)
    for _ in range(3):
        L.nce(p, torch.as_tensor(rng.random((6, p.d))), C, W, pool=growing, solve_ratio=1.0)
    assert len(growing) > n0
    with pytest.raises(ValueError, match="solve_ratio"):
        L.nce(p, torch.as_tensor(C), C, W, solve_ratio=1.5)


@pytest.mark.parametrize("problem", [ShortestPath.grid(4, 4), Allocation(np.ones(15), 4.0)])
def test_dbb_value_is_regret_and_gradient_interpolates(problem) -> None:
    from dff_core import metrics

    rng = np.random.default_rng(9)
    C = rng.random((5, problem.d)) + 0.1
    P = C * rng.uniform(0.3, 1.7, C.shape)
    pred = torch.tensor(P, requires_grad=True)
    loss = L.dbb(problem, pred, C, reduction="none", lambd=5.0)
    np.testing.assert_allclose(loss.detach().numpy(), metrics.regret(problem, C, P), atol=1e-12)
    loss.sum().backward()
    sign = 1.0 if problem.sense == "min" else -1.0
    expected = sign * (problem.solve(P + 5.0 * C) - problem.solve(P)) / 5.0
    np.testing.assert_allclose(pred.grad.numpy(), expected, atol=1e-12)
    with pytest.raises(ValueError, match="lambd"):
        L.dbb(problem, pred, C, lambd=0)


def test_every_registered_loss_follows_the_protocol() -> None:
    p = ShortestPath.grid(3, 3)
    rng = np.random.default_rng(11)
    C = rng.uniform(0.5, 2.0, (6, p.d))
    W, z = true_solutions(p, C)
    pred = torch.as_tensor(C * rng.uniform(0.8, 1.2, C.shape))
    gen = torch.Generator().manual_seed(0)
    for name, loss in L.LOSSES.items():
        assert isinstance(loss, L.DecisionLoss) and loss.name == name and L.resolve_loss(name) is loss
        state = loss.init_state(W, gen)
        value = loss(p, pred, C, W, z, **state)  # the one call style trainers use
        assert value.ndim == 0 and torch.isfinite(value), name
    assert set(L.pfyl.init_state(W, gen)) == {"generator"}
    pool = L.nce.init_state(W, gen)["pool"]
    assert isinstance(pool, L.SolutionPool) and len(pool) == len(np.unique(W, axis=0))
    assert L.spo_plus.init_state(W, gen) == {}


def test_pfyl_state_is_the_fit_generator() -> None:
    p = ShortestPath.grid(3, 3)
    C = np.random.default_rng(2).uniform(0.5, 2.0, (4, p.d))
    W, z = true_solutions(p, C)
    pred = torch.as_tensor(C[::-1].copy())
    a = L.pfyl(p, pred, C, W, z, **L.pfyl.init_state(W, torch.Generator().manual_seed(5)))
    b = L.pfyl(p, pred, C, W, z, generator=torch.Generator().manual_seed(5))
    assert a.item() == b.item()


def test_resolve_loss_names_aliases_and_callables() -> None:
    assert L.resolve_loss("SPO_plus") is L.spo_plus and L.get_loss(" spo ") is L.spo_plus

    def my_loss(problem, c_pred, c_true, w_true, z_true):
        return ((c_pred - torch.as_tensor(c_true)) ** 2).sum(dim=1)

    wrapped = L.resolve_loss(my_loss)
    assert wrapped.name == "my_loss" and wrapped.init_state(np.zeros((1, 2)), None) == {}
    assert L.resolve_loss(wrapped) is wrapped
    with pytest.raises(ValueError, match="Unknown loss 'hinge'"):
        L.resolve_loss("hinge")
    with pytest.raises(ValueError, match="or a callable"):
        L.resolve_loss(3)  # type: ignore[arg-type]


def test_registered_losses_pickle_by_name() -> None:
    import pickle

    assert pickle.loads(pickle.dumps(L.nce)) is L.nce


@pytest.mark.parametrize("problem", [ShortestPath.grid(3, 3), Allocation(np.ones(6), 2.0)], ids=["min", "max"])
@pytest.mark.parametrize("name", ["spo+", "mse"])
def test_value_grad_fast_path_matches_the_torch_loss(problem, name: str) -> None:
    """``value_grad`` gives the per-instance values and the gradient of their mean, as autograd on the loss does."""
    loss = L.get_loss(name)
    rng = np.random.default_rng(3)
    C = rng.uniform(0.5, 2.0, (7, problem.d))
    W, z = true_solutions(problem, C)
    P = C * rng.uniform(0.2, 1.8, C.shape)  # 2ĉ - c has negative entries too
    pred = torch.tensor(P, requires_grad=True)
    values = loss(problem, pred, C, W, z, reduction="none")
    values.mean().backward()
    fast_values, fast_grad = loss.value_grad(problem, P, C, W, z)
    np.testing.assert_allclose(fast_values, values.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast_grad, pred.grad.numpy(), rtol=1e-12, atol=1e-15)
    if name == "spo+":  # without the true decisions it solves them itself
        np.testing.assert_allclose(loss.value_grad(problem, P, C)[0], fast_values, rtol=1e-12)


def test_value_grad_rejects_bad_predictions() -> None:
    p = ShortestPath.grid(3, 3)
    C = np.ones((3, p.d))
    W, z = true_solutions(p, C)
    bad = C.copy()
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match="instance 1, coefficient 4"):
        L.spo_plus.value_grad(p, bad, C, W, z)
    with pytest.raises(ValueError, match=r"shape \(n, 12\)"):
        L.mse_loss.value_grad(p, C[:, :5], C)


def _half_mse(problem, c_pred, c_true, w_true=None, z_true=None):
    return 0.5 * L.mse(c_pred, c_true)


def _half_mse_value_grad(problem, c_pred, c_true, w_true=None, z_true=None):
    values, grad = L.mse_loss.value_grad(problem, c_pred, c_true)
    return 0.5 * values, 0.5 * grad


def test_only_closed_form_losses_have_a_fast_path_and_custom_ones_keep_theirs() -> None:
    assert {name for name, loss in L.LOSSES.items() if loss.value_grad is not None} == {"spo+", "mse"}
    assert L.resolve_loss(lambda problem, c_pred, c_true, w_true, z_true: c_pred.sum()).value_grad is None
    import pickle

    mine = L.DecisionLoss("mine", _half_mse, value_grad=_half_mse_value_grad)
    again = pickle.loads(pickle.dumps(mine))
    assert again.value_grad is _half_mse_value_grad and again.fn is _half_mse and again.name == "mine"
    with pytest.raises(ValueError, match="value_grad must be callable"):
        L.DecisionLoss("x", L.spo_plus.fn, value_grad=3)  # type: ignore[arg-type]
