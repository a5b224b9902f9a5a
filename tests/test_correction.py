"""Bias-correction module: trust-region bounds hold for any weights, inputs and ε."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dff_core.correction import BiasCorrection
from dff_core.validation import check_epsilon


def _random_module(seed: int, n_features: int, d: int, eps: float, scale: float, use_c_hat: bool) -> BiasCorrection:
    gen = torch.Generator().manual_seed(seed)
    m = BiasCorrection(n_features, d, eps, hidden=(8, 8), use_c_hat=use_c_hat, generator=gen)
    with torch.no_grad():  # random weights everywhere, including the (zero-initialised) last layer
        for prm in m.parameters():
            prm.copy_(scale * torch.randn(prm.shape, generator=gen, dtype=prm.dtype))
    return m


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 6),
    p=st.integers(1, 5),
    d=st.integers(1, 12),
    eps=st.floats(0.01, 0.99),
    scale=st.floats(0.0, 50.0),
    use_c_hat=st.booleans(),
)
def test_trust_region_bounds_hold_for_any_weights(seed, n, p, d, eps, scale, use_c_hat) -> None:
    rng = np.random.default_rng(seed)
    m = _random_module(seed, p, d, eps, scale, use_c_hat)
    x = torch.as_tensor(rng.normal(0, 3, (n, p)))
    c_hat = torch.as_tensor(rng.normal(0, 5, (n, d)))
    c_true = torch.as_tensor(rng.normal(0, 5, (n, d)))
    with torch.no_grad():
        c_tilde = m(x, c_hat)
        phi = m.factors(x, c_hat)
    tol = 1e-9
    assert ((phi >= 1 - eps - tol) & (phi <= 1 + eps + tol)).all()
    diff = (c_tilde - c_hat).abs()
    assert (diff <= eps * c_hat.abs() + tol).all()
    norm_hat = c_hat.norm(dim=1)
    assert ((c_tilde - c_hat).norm(dim=1) <= eps * norm_hat + tol).all()
    cos = torch.nn.functional.cosine_similarity(c_tilde, c_hat, dim=1)
    nonzero = norm_hat > 1e-9
    assert (cos[nonzero] >= math.sqrt(1 - eps**2) - 1e-9).all()
    rmse_tilde = ((c_tilde - c_true) ** 2).mean(dim=1).sqrt()
    rmse_hat = ((c_hat - c_true) ** 2).mean(dim=1).sqrt()
    assert (rmse_tilde - rmse_hat <= eps * norm_hat / math.sqrt(d) + tol).all()


def test_bounds_are_tight_at_saturation() -> None:
    # Saturated logits reach φ = 1 ± ε, so the cosine bound is attained (not just respected).
    eps = 0.5
    m = BiasCorrection(1, 2, eps, hidden=())
    with torch.no_grad():
        m.net[-1].bias.copy_(torch.tensor([60.0, -60.0], dtype=torch.float64))
    c_hat = torch.tensor([[1.0, math.sqrt(1.5 / 0.5)]], dtype=torch.float64)  # direction of the worst case
    c_tilde = m(torch.zeros((1, 1), dtype=torch.float64), c_hat)
    torch.testing.assert_close(c_tilde, c_hat * torch.tensor([[1.5, 0.5]], dtype=torch.float64))
    cos = torch.nn.functional.cosine_similarity(c_tilde, c_hat, dim=1).item()
    assert cos == pytest.approx(math.sqrt(1 - eps**2), abs=1e-9)


def test_starts_exactly_at_the_backbone() -> None:
    rng = np.random.default_rng(0)
    m = BiasCorrection(4, 7, 0.3, generator=torch.Generator().manual_seed(1))
    m.fit_scaler(rng.normal(5, 2, (50, 4)))
    x = torch.as_tensor(rng.normal(5, 2, (10, 4)))
    c_hat = torch.as_tensor(rng.random((10, 7)))
    torch.testing.assert_close(m(x, c_hat), c_hat, rtol=0, atol=0)
    # The hidden layers are random (seeded), only the last layer is zero.
    assert m.net[0].weight.abs().sum() > 0
    assert m.net[-1].weight.abs().sum() == 0


def test_scaler_standardises_raw_features() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal([100.0, -3.0, 7.0], [10.0, 0.1, 0.0], (200, 3))
    m = BiasCorrection(3, 2, 0.2).fit_scaler(X)
    z = m._inputs(torch.as_tensor(X), None)
    np.testing.assert_allclose(z.mean(0).numpy(), 0.0, atol=1e-9)
    np.testing.assert_allclose(z.std(0, unbiased=False).numpy(), [1.0, 1.0, 0.0], atol=1e-9)  # constant column -> 0


def test_use_c_hat_feeds_predictions() -> None:
    m = BiasCorrection(2, 3, 0.2, hidden=(4,), use_c_hat=True)
    assert m.net[0].in_features == 5
    with pytest.raises(ValueError, match="use_c_hat=True needs C_hat"):
        m.fit_scaler(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="pass c_hat"):
        m.factors(torch.zeros((1, 2), dtype=torch.float64))


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, float("nan"), "x", None])
def test_epsilon_must_be_in_open_unit_interval(bad) -> None:
    with pytest.raises(ValueError, match="epsilon"):
        BiasCorrection(2, 3, bad)
    with pytest.raises(ValueError, match="epsilon"):
        check_epsilon(bad)


def test_bad_shapes_and_hidden() -> None:
    with pytest.raises(ValueError, match="hidden"):
        BiasCorrection(2, 3, 0.2, hidden=(0, 4))
    with pytest.raises(ValueError, match="n_outputs"):
        BiasCorrection(2, 0, 0.2)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        BiasCorrection(2, 3, 0.2).fit_scaler(np.zeros((5, 3)))


def test_torch_threads_is_scoped_and_nests() -> None:
    from dff_core.correction import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
        with torch_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads"), torch_threads(0):
        pass


@pytest.mark.parametrize(
    ("hidden", "use_c_hat", "weight_decay"), [((8, 6), False, 0.0), ((5,), True, 1e-2), ((), False, 0.0)]
)
def test_compiled_steps_match_autograd_and_torch_adam(hidden, use_c_hat, weight_decay) -> None:
    """In float64 the compiled forward, backward and Adam step follow autograd + torch's Adam step for step."""
    from dff_core.correction import CompiledCorrection

    rng = np.random.default_rng(4)
    n, p, d, eps = 11, 3, 7, 0.4
    X, C_hat = torch.as_tensor(rng.normal(2, 3, (n, p))), torch.as_tensor(rng.uniform(0.5, 2, (n, d)))
    gen = torch.Generator().manual_seed(0)
    ref = BiasCorrection(p, d, eps, hidden, use_c_hat=use_c_hat, generator=gen).fit_scaler(X, C_hat)
    with torch.no_grad():  # a non-zero last layer, so every gradient is non-trivial
        ref.net[-1].weight.copy_(torch.randn(ref.net[-1].weight.shape, generator=gen, dtype=torch.float64))
    fast_module = BiasCorrection(p, d, eps, hidden, use_c_hat=use_c_hat)
    fast_module.load_state_dict(ref.state_dict())
    fast = CompiledCorrection(fast_module, lr=1e-2, batch_size=8, weight_decay=weight_decay, dtype=np.float64)
    opt = torch.optim.Adam(ref.parameters(), lr=1e-2, weight_decay=weight_decay)
    Z, Ch = fast.inputs(X, C_hat), C_hat.numpy()
    for step, (start, stop) in enumerate([(0, 8), (8, 11), (2, 10), (0, 8)]):
        G = rng.normal(size=(stop - start, d))  # dL/dc̃ of some loss
        out = ref(X[start:stop], C_hat[start:stop])
        np.testing.assert_allclose(fast.forward(Z, Ch, start, stop), out.detach().numpy(), rtol=1e-12, err_msg=step)
        opt.zero_grad()
        (out * torch.as_tensor(G)).sum().backward()
        opt.step()
        fast.step(Z, Ch, start, stop, G)
    fast.write_to(fast_module)
    for a, b in zip(ref.parameters(), fast_module.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_compiled_float32_forward_is_close_and_prediction_stays_in_float64() -> None:
    from dff_core.correction import CompiledCorrection

    rng = np.random.default_rng(5)
    X, C_hat = torch.as_tensor(rng.normal(size=(20, 4))), torch.as_tensor(rng.uniform(1, 3, (20, 9)))
    m = _random_module(3, 4, 9, 0.3, 2.0, False).fit_scaler(X)
    assert CompiledCorrection(m, lr=1e-3, batch_size=20).P.dtype == np.float64  # the default
    fast = CompiledCorrection(m, lr=1e-3, batch_size=20, dtype=np.float32)
    assert fast.P.dtype == np.float32 and fast.inputs(X, C_hat).dtype == np.float32
    got = fast.forward(fast.inputs(X, C_hat), C_hat.numpy(), 0, 20)
    np.testing.assert_allclose(got, m(X, C_hat).detach().numpy(), rtol=1e-5)
    fast.write_to(m)  # float32 weights land in the float64 module, which keeps its dtype and bounds
    assert all(prm.dtype == torch.float64 for prm in m.parameters())
    c = m(X, C_hat).detach()
    assert ((c - C_hat).abs() <= (0.3 + 1e-15) * C_hat.abs()).all()  # up to float64 rounding


def test_mlp_widths_recognises_make_mlp_networks_only() -> None:
    from dff_core.correction import CompiledCorrection, make_mlp, mlp_widths

    assert mlp_widths(make_mlp(5, 40, (32, 16))) == (5, 32, 16, 40)
    assert mlp_widths(make_mlp(3, 2, ())) == (3, 2)
    assert mlp_widths(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))) is None
    assert mlp_widths(torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False))) is None
    assert mlp_widths(torch.nn.Linear(3, 4)) is None
    m = BiasCorrection(3, 2, 0.2)
    m.net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    with pytest.raises(ValueError, match="make_mlp"):
        CompiledCorrection(m, lr=1e-3, batch_size=4)
