"""The bias-correction module of DFF: a bounded, input-dependent rescaling of a backbone's predictions.

``c̃ = φθ(x) ⊙ ĉ`` with ``φθ(x) = (1 − ε) + 2ε · sigmoid(hθ(x))``, so every factor lies in
``[1 − ε, 1 + ε]``. The trust region therefore holds *by construction* for any weights:
``|c̃ − ĉ| ≤ ε|ĉ|`` element-wise, ``‖c̃ − ĉ‖ ≤ ε‖ĉ‖``, ``cos(c̃, ĉ) ≥ √(1 − ε²)`` and
``RMSE(c̃, c) − RMSE(ĉ, c) ≤ ε‖ĉ‖/√d``. The last layer of ``hθ`` starts at zero, so an untrained
module returns the backbone's prediction exactly.

Training does not go through autograd: :class:`CompiledCorrection` holds a flat copy of the
network's parameters and runs forward, backward and Adam as compiled kernels (numba, BLAS for the
matrix products), two calls per mini-batch. Predictions are always made by :class:`BiasCorrection`
in float64, so the bounds above hold on every prediction whatever precision trained the weights.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from dff_core.validation import check_epsilon, check_hidden

try:
    from numba import njit

    COMPILED = True
except ImportError:  # pragma: no cover - exercised only without numba
    COMPILED = False

_THREADS_LOCK = threading.Lock()
_THREADS_DEPTH = 0
_THREADS_SAVED = 0


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(n)`` and restore the caller's setting afterwards.

    Small networks train much faster on one thread: intra-op parallelism on tiny matrices
    costs more in synchronisation than it saves, and on a busy machine it can be 10-100x
    slower. The setting is restored when the outermost such block (in any thread) ends, so
    the process-wide value is never left changed. ``n=None`` leaves torch's setting alone.
    """
    global _THREADS_DEPTH, _THREADS_SAVED
    if n is None:
        yield
        return
    if int(n) != n or n < 1:
        raise ValueError(f"num_threads must be a positive integer or None; got {n!r}.")
    with _THREADS_LOCK:
        if _THREADS_DEPTH == 0:
            _THREADS_SAVED = torch.get_num_threads()
            torch.set_num_threads(int(n))
        _THREADS_DEPTH += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS_DEPTH -= 1
            if _THREADS_DEPTH == 0:
                torch.set_num_threads(_THREADS_SAVED)


def _init_linear(layer: nn.Linear, generator: torch.Generator | None) -> None:
    """PyTorch's default uniform(±1/√fan_in) initialisation, drawn from an explicit generator."""
    bound = 1.0 / np.sqrt(layer.in_features)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)


def make_mlp(
    n_in: int,
    n_out: int,
    hidden: Sequence[int],
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    zero_last: bool = False,
) -> nn.Sequential:
    """ReLU MLP ``n_in -> hidden... -> n_out`` initialised from ``generator`` (deterministic).

    Layers are built inside ``fork_rng`` so PyTorch's default initialisation does not advance
    the caller's global random state; every weight is then redrawn from ``generator``.
    """
    with torch.random.fork_rng(devices=[]):
        return _make_mlp(n_in, n_out, hidden, generator, dtype, zero_last)


def _make_mlp(
    n_in: int,
    n_out: int,
    hidden: Sequence[int],
    generator: torch.Generator | None,
    dtype: torch.dtype,
    zero_last: bool,
) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        lin = nn.Linear(width, h, dtype=dtype)
        _init_linear(lin, generator)
        layers += [lin, nn.ReLU()]
        width = h
    last = nn.Linear(width, n_out, dtype=dtype)
    if zero_last:
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
    else:
        _init_linear(last, generator)
    layers.append(last)
    return nn.Sequential(*layers)


class BiasCorrection(nn.Module):
    """Bounded multiplicative correction ``c̃ = φθ(x) ⊙ ĉ`` of a backbone prediction ``ĉ``.

    Parameters
    ----------
    n_features: number of columns of ``x``.
    n_outputs: number of cost coefficients ``d`` (columns of ``ĉ``).
    epsilon: trust-region radius ε in (0, 1); every factor stays in ``[1 − ε, 1 + ε]``.
    hidden: widths of the hidden ReLU layers of ``hθ``.
    use_c_hat: also feed the (standardised) backbone prediction ``ĉ`` to ``hθ``.
    generator: random generator for the hidden layers' initial weights (the last layer is zero).

    Features are standardised inside the module with ``x_mean``/``x_std`` buffers set by
    :meth:`fit_scaler`, so callers pass raw features and saved models carry their scaling.
    """

    x_mean: torch.Tensor
    x_std: torch.Tensor
    c_mean: torch.Tensor
    c_std: torch.Tensor
    net: nn.Sequential

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        epsilon: float = 0.5,
        hidden: Sequence[int] = (32, 32, 32),
        *,
        use_c_hat: bool = False,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        if int(n_features) != n_features or n_features < 0:
            raise ValueError(f"BiasCorrection: n_features must be a non-negative integer; got {n_features!r}.")
        if int(n_outputs) != n_outputs or n_outputs < 1:
            raise ValueError(f"BiasCorrection: n_outputs must be a positive integer; got {n_outputs!r}.")
        self.epsilon = check_epsilon(epsilon)
        self.hidden = check_hidden(hidden)
        self.n_features = int(n_features)
        self.n_outputs = int(n_outputs)
        self.use_c_hat = bool(use_c_hat)
        n_in = self.n_features + (self.n_outputs if self.use_c_hat else 0)
        if n_in == 0:
            raise ValueError("BiasCorrection: needs at least one input (features, or use_c_hat=True).")
        self.register_buffer("x_mean", torch.zeros(self.n_features, dtype=dtype))
        self.register_buffer("x_std", torch.ones(self.n_features, dtype=dtype))
        self.register_buffer("c_mean", torch.zeros(self.n_outputs, dtype=dtype))
        self.register_buffer("c_std", torch.ones(self.n_outputs, dtype=dtype))
        self.net = make_mlp(n_in, self.n_outputs, self.hidden, generator=generator, dtype=dtype, zero_last=True)

    @torch.no_grad()
    def fit_scaler(
        self, X: np.ndarray | torch.Tensor, C_hat: np.ndarray | torch.Tensor | None = None
    ) -> BiasCorrection:
        """Store the mean/std of the training features (and of ``ĉ`` when ``use_c_hat``).

        Constant columns get std 1 so they standardise to 0 instead of dividing by zero.
        """
        X = torch.as_tensor(np.asarray(X, dtype=np.float64), dtype=self.x_mean.dtype)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"BiasCorrection.fit_scaler: X must have shape (n, {self.n_features}); got {tuple(X.shape)}."
            )
        self.x_mean.copy_(X.mean(dim=0))
        std = X.std(dim=0, unbiased=False)
        self.x_std.copy_(torch.where(std > 1e-12, std, torch.ones_like(std)))
        if self.use_c_hat:
            if C_hat is None:
                raise ValueError("BiasCorrection.fit_scaler: use_c_hat=True needs C_hat.")
            Ch = torch.as_tensor(np.asarray(C_hat, dtype=np.float64), dtype=self.c_mean.dtype)
            self.c_mean.copy_(Ch.mean(dim=0))
            cstd = Ch.std(dim=0, unbiased=False)
            self.c_std.copy_(torch.where(cstd > 1e-12, cstd, torch.ones_like(cstd)))
        return self

    def _inputs(self, x: torch.Tensor, c_hat: torch.Tensor | None) -> torch.Tensor:
        z = (x - self.x_mean) / self.x_std
        if self.use_c_hat:
            if c_hat is None:
                raise ValueError("BiasCorrection: this module was built with use_c_hat=True; pass c_hat.")
            z = torch.cat([z, (c_hat - self.c_mean) / self.c_std], dim=1)
        return z

    def logits(self, x: torch.Tensor, c_hat: torch.Tensor | None = None) -> torch.Tensor:
        """``hθ(x)`` (or ``hθ(x, ĉ)``), the unbounded network output; 0 means no correction."""
        return self.net(self._inputs(x, c_hat))

    def factors_from_logits(self, h: torch.Tensor) -> torch.Tensor:
        """Map logits to factors in ``[1 − ε, 1 + ε]``."""
        return (1.0 - self.epsilon) + 2.0 * self.epsilon * torch.sigmoid(h)

    def factors(self, x: torch.Tensor, c_hat: torch.Tensor | None = None) -> torch.Tensor:
        """Correction factors ``φθ(x)``, shape ``(n, d)``, each in ``[1 − ε, 1 + ε]``."""
        return self.factors_from_logits(self.logits(x, c_hat))

    def forward(self, x: torch.Tensor, c_hat: torch.Tensor) -> torch.Tensor:
        """Corrected prediction ``c̃ = φθ(x) ⊙ ĉ``."""
        return self.factors(x, c_hat if self.use_c_hat else None) * c_hat

    def extra_repr(self) -> str:
        return f"epsilon={self.epsilon}, hidden={self.hidden}, use_c_hat={self.use_c_hat}"


# ---------------------------------------------------------------------------------------------
# Compiled training step. Parameters live in one flat array in ``net.parameters()`` order
# (weight ``(out, in)`` row-major, then bias, layer after layer); activations of a batch of B
# rows live in one flat buffer, layer l's ``(B, width)`` block after the previous ones.


@njit(cache=True, error_model="numpy")
def _forward(P, sizes, Z, Ch, start, stop, eps, acts, S, out):  # type: ignore[no-untyped-def]
    """Rows ``start:stop`` of the inputs ``Z``: hidden activations into ``acts``, ``sigmoid(h)``
    into ``S`` and ``c̃ = ((1 − ε) + 2ε·S) ⊙ ĉ`` into ``out`` (float64)."""
    L = sizes.shape[0] - 1
    B = stop - start
    a_in = Z[start:stop]
    off = 0
    aoff = 0
    for layer in range(L):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        W = P[off : off + n_out * n_in].reshape((n_out, n_in))
        bias = P[off + n_out * n_in : off + n_out * n_in + n_out]
        h = acts[aoff : aoff + B * n_out].reshape((B, n_out))
        np.dot(a_in, W.T, h)
        if layer < L - 1:
            for b in range(B):
                for j in range(n_out):
                    v = h[b, j] + bias[j]
                    h[b, j] = v if v > 0 else 0
        else:
            for b in range(B):
                for j in range(n_out):
                    s = 1.0 / (1.0 + np.exp(-(h[b, j] + bias[j])))
                    S[b, j] = s
                    out[b, j] = ((1.0 - eps) + 2.0 * eps * s) * Ch[start + b, j]
        a_in = h
        off += n_out * n_in + n_out
        aoff += B * n_out


@njit(cache=True, error_model="numpy")
def _backward_adam(P, M, V, G, sizes, Z, Ch, start, stop, eps, acts, S, grad, dbuf, hp, step):  # type: ignore[no-untyped-def]
    """Backpropagate ``grad = dL/dc̃`` of rows ``start:stop`` through φ and the MLP into ``G``, then
    one Adam step on ``P`` (torch's update rule; ``hp = [lr, beta1, beta2, eps, weight_decay]``)."""
    L = sizes.shape[0] - 1
    B = stop - start
    d = sizes[L]
    half = dbuf.shape[0] // 2
    dz = dbuf[: B * d].reshape((B, d))
    for b in range(B):
        for j in range(d):
            s = S[b, j]
            dz[b, j] = grad[b, j] * Ch[start + b, j] * (2.0 * eps) * s * (1.0 - s)
    offs = np.zeros(L + 1, np.int64)
    aoffs = np.zeros(L + 1, np.int64)
    for layer in range(L):
        offs[layer + 1] = offs[layer] + sizes[layer + 1] * sizes[layer] + sizes[layer + 1]
        aoffs[layer + 1] = aoffs[layer] + B * sizes[layer + 1]
    side = 1
    for layer in range(L - 1, -1, -1):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        off = offs[layer]
        if layer == 0:
            a_in = Z[start:stop]
        else:
            a_in = acts[aoffs[layer - 1] : aoffs[layer - 1] + B * n_in].reshape((B, n_in))
        gW = G[off : off + n_out * n_in].reshape((n_out, n_in))
        gb = G[off + n_out * n_in : off + n_out * n_in + n_out]
        np.dot(dz.T, a_in, gW)
        for j in range(n_out):
            gb[j] = 0.0
        for b in range(B):
            for j in range(n_out):
                gb[j] += dz[b, j]
        if layer > 0:
            W = P[off : off + n_out * n_in].reshape((n_out, n_in))
            da = dbuf[side * half : side * half + B * n_in].reshape((B, n_in))
            np.dot(dz, W, da)
            for b in range(B):
                for k in range(n_in):
                    if a_in[b, k] <= 0:
                        da[b, k] = 0.0
            dz = da
            side = 1 - side
    # Adam in the parameters' dtype (constants rounded to it once, as torch does for float32 parameters).
    k = np.empty(7, P.dtype)
    k[0] = hp[0] / (1.0 - hp[1] ** step)  # step size lr / (1 - beta1^t)
    k[1] = np.sqrt(1.0 - hp[2] ** step)  # sqrt(1 - beta2^t)
    k[2], k[3], k[4], k[5], k[6] = 1.0 - hp[1], hp[2], 1.0 - hp[2], hp[3], hp[4]
    step_size, bc2_sqrt, one_m_b1, beta2, one_m_b2, adam_eps, wd = k[0], k[1], k[2], k[3], k[4], k[5], k[6]
    for i in range(P.shape[0]):
        g = G[i] + wd * P[i]
        M[i] += (g - M[i]) * one_m_b1
        V[i] = V[i] * beta2 + one_m_b2 * g * g
        P[i] -= step_size * M[i] / (np.sqrt(V[i]) / bc2_sqrt + adam_eps)


def mlp_widths(net: nn.Module) -> tuple[int, ...] | None:
    """Layer widths ``(n_in, hidden..., n_out)`` of a ``Linear``/``ReLU`` stack as built by :func:`make_mlp`,
    or ``None`` for any other network (which then trains through autograd)."""
    if not isinstance(net, nn.Sequential) or len(net) % 2 == 0:
        return None
    widths: list[int] = []
    for i, layer in enumerate(net):
        if i % 2 == 1:
            if type(layer) is not nn.ReLU:
                return None
            continue
        if type(layer) is not nn.Linear or layer.bias is None or (widths and layer.in_features != widths[-1]):
            return None
        widths = [*widths, layer.out_features] if widths else [layer.in_features, layer.out_features]
    return tuple(widths)


class CompiledCorrection:
    """The training twin of a :class:`BiasCorrection`: its parameters in one flat ``dtype`` array and a
    compiled forward pass and backward pass + Adam step, so a mini-batch costs two kernel calls.
    ``dtype=np.float32`` is supported; float64 (the default) reproduces autograd's float64 training.

    For the small networks DFF trains, autograd's per-operation overhead is most of a step; here the
    whole step is a handful of BLAS products and loops. Adam follows torch's update rule (L2 weight
    decay) on the flat parameters. :meth:`write_to` copies the trained parameters back into the
    (float64) module, which makes every prediction.
    """

    def __init__(
        self,
        module: BiasCorrection,
        *,
        lr: float,
        batch_size: int,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        dtype: type = np.float64,
    ) -> None:
        widths = mlp_widths(module.net) if isinstance(module, BiasCorrection) else None
        if widths is None or not COMPILED:
            raise ValueError("CompiledCorrection needs numba and a BiasCorrection whose net comes from make_mlp.")
        self.module = module
        self.dtype = np.dtype(dtype)
        self.sizes = np.asarray(widths, dtype=np.int64)
        params = [p.detach().numpy().ravel() for p in module.net.parameters()]
        self.P = np.concatenate(params).astype(self.dtype)
        self.M, self.V, self.G = (np.zeros_like(self.P) for _ in range(3))
        rows = max(1, int(batch_size))
        d = int(self.sizes[-1])
        self.acts = np.empty(rows * int(self.sizes[1:].sum()), dtype=self.dtype)
        self.S = np.empty((rows, d), dtype=self.dtype)
        self.out = np.empty((rows, d), dtype=np.float64)
        self.dbuf = np.empty(2 * rows * int(self.sizes[1:].max()), dtype=self.dtype)
        self.hp = np.array([lr, betas[0], betas[1], eps, weight_decay], dtype=np.float64)
        self.epsilon = float(module.epsilon)
        self.steps = 0

    def inputs(self, x: torch.Tensor, c_hat: torch.Tensor) -> np.ndarray:
        """The network's standardised inputs for raw features (and ``ĉ``), as a contiguous ``dtype`` array."""
        with torch.no_grad():
            z = self.module._inputs(x, c_hat if self.module.use_c_hat else None)
        return np.ascontiguousarray(z.numpy(), dtype=self.dtype)

    def forward(self, Z: np.ndarray, C_hat: np.ndarray, start: int, stop: int) -> np.ndarray:
        """``c̃`` (float64) for rows ``start:stop`` of inputs ``Z`` and predictions ``C_hat``; kept for :meth:`step`.

        The returned array is a view of an internal buffer, overwritten by the next call.
        """
        _forward(self.P, self.sizes, Z, C_hat, start, stop, self.epsilon, self.acts, self.S, self.out)
        return self.out[: stop - start]

    def step(self, Z: np.ndarray, C_hat: np.ndarray, start: int, stop: int, grad: np.ndarray) -> None:
        """Backpropagate ``grad = dL/dc̃`` of the last :meth:`forward` and take one Adam step."""
        self.steps += 1
        _backward_adam(
            self.P, self.M, self.V, self.G, self.sizes, Z, C_hat, start, stop, self.epsilon,
            self.acts, self.S, grad, self.dbuf, self.hp, self.steps,
        )  # fmt: skip

    def write_to(self, module: BiasCorrection) -> None:
        """Copy the trained parameters into ``module`` (in its own dtype)."""
        offset = 0
        with torch.no_grad():
            for p in module.net.parameters():
                k = p.numel()
                p.copy_(torch.from_numpy(self.P[offset : offset + k].reshape(tuple(p.shape))))
                offset += k
