"""The bias-correction module of DFF: a bounded, input-dependent rescaling of a backbone's predictions.

``c̃ = φθ(x) ⊙ ĉ`` with ``φθ(x) = (1 − ε) + 2ε · sigmoid(hθ(x))``, so every factor lies in
``[1 − ε, 1 + ε]``. The trust region therefore holds *by construction* for any weights:
``|c̃ − ĉ| ≤ ε|ĉ|`` element-wise, ``‖c̃ − ĉ‖ ≤ ε‖ĉ‖``, ``cos(c̃, ĉ) ≥ √(1 − ε²)`` and
``RMSE(c̃, c) − RMSE(ĉ, c) ≤ ε‖ĉ‖/√d``. The last layer of ``hθ`` starts at zero, so an untrained
module returns the backbone's prediction exactly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from dff_core.validation import check_epsilon, check_hidden

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
