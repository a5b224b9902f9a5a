"""Cross-checks against PyEPO (test-only reference): decisions, regret, SPO+, PFYL and NCE.

Data come from ``pyepo.data.shortestpath.genData`` (5x5 grid, 5 features, noise 0.5) for
several polynomial degrees and seeds; PyEPO's reference solver is its OR-Tools model.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pyepo = pytest.importorskip("pyepo")
pytest.importorskip("ortools")

from pyepo.data.dataset import optDataset  # noqa: E402
from pyepo.data.shortestpath import genData  # noqa: E402
from pyepo.model.ort import shortestPathModel  # noqa: E402

from dff_core import losses, metrics  # noqa: E402
from dff_core.problems import ShortestPath  # noqa: E402

GRID = ShortestPath.grid(5, 5)
CASES = [(1, 3), (2, 7), (4, 11), (6, 19)]  # (degree, seed)


@pytest.fixture(scope="module")
def ort_model():
    return shortestPathModel(grid=(5, 5))


def _data(deg: int, seed: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    X, C = genData(n, 5, (5, 5), deg=deg, noise_width=0.5, seed=seed)
    return X.astype(np.float64), C.astype(np.float64)


def _pyepo_solve(model, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    W, z = [], []
    for c in C:
        model.setObj(c)
        w, obj = model.solve()
        W.append(np.asarray(w, dtype=np.float64))
        z.append(obj)
    return np.array(W), np.array(z)


@pytest.mark.parametrize(("deg", "seed"), CASES)
def test_decision_objectives_match_ortools(ort_model, deg: int, seed: int) -> None:
    _, C = _data(deg, seed)
    W = GRID.solve(C)
    _, z_ref = _pyepo_solve(ort_model, C)
    np.testing.assert_allclose(GRID.objective(C, W), z_ref, rtol=1e-7, atol=1e-7)
    # predicted costs (noisy) too: our decision is optimal for them as well
    P = C * np.random.default_rng(seed).uniform(0.5, 1.5, C.shape)
    _, zp_ref = _pyepo_solve(ort_model, P)
    np.testing.assert_allclose(GRID.objective(P, GRID.solve(P)), zp_ref, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize(("deg", "seed"), CASES)
def test_normalized_regret_equals_pyepo_regret(ort_model, deg: int, seed: int) -> None:
    X, C = _data(deg, seed)
    torch.manual_seed(seed)
    model = torch.nn.Linear(5, GRID.d).double()
    dataset = optDataset(ort_model, X, C)
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=False)
    ref = pyepo.metric.regret(model.float(), ort_model, loader)
    with torch.no_grad():
        P = model(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
    ours = metrics.normalized_regret(GRID, C, P)
    assert ours > 0
    # PyEPO predicts in float32 and uses its solver's objective; ties are measure-zero here
    assert ours == pytest.approx(ref, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize(("deg", "seed"), CASES[:2])
def test_spo_plus_value_and_gradient_equal_pyepo(ort_model, deg: int, seed: int) -> None:
    _, C = _data(deg, seed, n=24)
    rng = np.random.default_rng(seed)
    P = C * rng.uniform(0.2, 1.8, C.shape) + rng.normal(0, 0.3, C.shape)  # some 2ĉ - c < 0
    W, z = losses.true_solutions(GRID, C)
    ours_in = torch.tensor(P, requires_grad=True)
    ours = losses.spo_plus(GRID, ours_in, C, W, z, reduction="none")
    ours.sum().backward()
    ref_in = torch.tensor(P, requires_grad=True)
    spo = pyepo.func.SPOPlus(ort_model, processes=1, reduction="none")
    ref = spo(ref_in, torch.as_tensor(C), torch.as_tensor(W), torch.as_tensor(z)[:, None])
    ref.sum().backward()
    # PyEPO reads the solver objective in single precision: values agree to ~1e-7 relative
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy().ravel(), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(ours_in.grad.numpy(), ref_in.grad.numpy(), atol=1e-7)


def test_pfyl_gradient_equals_pyepo_with_the_same_noise(ort_model) -> None:
    _, C = _data(2, 5, n=12)
    rng = np.random.default_rng(0)
    P = C * rng.uniform(0.5, 1.5, C.shape)
    W, _ = losses.true_solutions(GRID, C)
    sigma, K, seed = 0.7, 6, 42
    ours_in = torch.tensor(P, requires_grad=True)
    ours = losses.pfyl(GRID, ours_in, C, W, n_samples=K, sigma=sigma, seed=seed, reduction="none")
    ours.sum().backward()
    ref_in = torch.tensor(P, requires_grad=True)
    pfy = pyepo.func.perturbedFenchelYoung(ort_model, n_samples=K, sigma=sigma, seed=seed, reduction="none")
    ref = pfy(ref_in, torch.as_tensor(W))
    ref.sum().backward()
    np.testing.assert_allclose(ours_in.grad.numpy(), ref_in.grad.numpy(), atol=1e-7)
    # Values differ only by the zero-mean term sigma * mean_k(z_k)^T w*, which PyEPO leaves out.
    Z = torch.randn((len(P), K, GRID.d), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    shift = sigma * np.einsum("bd,bd->b", Z.mean(dim=1).numpy(), W)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy() + shift, atol=1e-7)
    assert (ours.detach().numpy() >= 0).all()


def test_nce_equals_pyepo_with_the_same_pool(ort_model) -> None:
    X, C = _data(1, 9, n=30)
    dataset = optDataset(ort_model, X, C)
    nce_ref = pyepo.func.NCE(ort_model, solve_ratio=0.0, dataset=dataset, reduction="none")
    pool = nce_ref.solpool.double().numpy()
    rng = np.random.default_rng(1)
    P = C[:10] * rng.uniform(0.5, 1.5, (10, GRID.d))
    W = GRID.solve(C[:10])
    ours_in = torch.tensor(P, requires_grad=True)
    ours = losses.nce(GRID, ours_in, C[:10], W, pool=pool, reduction="none")
    ours.sum().backward()
    ref_in = torch.tensor(P, requires_grad=True)
    ref = nce_ref(ref_in, torch.as_tensor(W))
    ref.sum().backward()
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), atol=1e-9)
    np.testing.assert_allclose(ours_in.grad.numpy(), ref_in.grad.numpy(), atol=1e-9)


def test_dbb_gradient_equals_pyepo_blackbox_with_regret(ort_model) -> None:
    _, C = _data(4, 13, n=16)
    rng = np.random.default_rng(2)
    P = C * rng.uniform(0.3, 1.7, C.shape)
    W, z = losses.true_solutions(GRID, C)
    ours_in = torch.tensor(P, requires_grad=True)
    ours = losses.dbb(GRID, ours_in, C, W, z, reduction="none", lambd=8.0)
    ours.sum().backward()
    ref_in = torch.tensor(P, requires_grad=True)
    sol = pyepo.func.blackboxOpt(ort_model, lambd=8.0)(ref_in)
    ref = (sol * torch.as_tensor(C)).sum(dim=1) - torch.as_tensor(z)
    ref.sum().backward()
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(ours_in.grad.numpy(), ref_in.grad.numpy(), atol=1e-6)
