"""The pool of distinct feasible decisions that noise-contrastive estimation (NCE) compares against."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["SolutionPool"]


def _as_numpy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy().astype(np.float64, copy=False)
    return np.asarray(x, dtype=np.float64)


class SolutionPool:
    """Distinct feasible decisions seen so far (NCE's negatives), grown in place.

    Start it from the training set's true decisions (PyEPO seeds its pool the same way) and
    pass it to every :func:`nce` call. Decisions equal after rounding to ``decimals`` count
    as one. ``seed`` drives the refresh draws of :func:`nce` with ``solve_ratio < 1``.
    """

    def __init__(self, W: np.ndarray | torch.Tensor | None = None, decimals: int = 8, seed: int | None = None) -> None:
        self.decimals = decimals
        self.rng = np.random.default_rng(seed)
        self.solutions: np.ndarray | None = None
        self._seen: set[bytes] = set()
        if W is not None:
            self.add(W)

    def add(self, W: np.ndarray | torch.Tensor) -> SolutionPool:
        """Add the rows of ``W`` not already in the pool; returns the pool."""
        W = np.atleast_2d(_as_numpy(W))
        if self.solutions is not None and W.shape[1] != self.solutions.shape[1]:
            raise ValueError(
                f"SolutionPool.add: decisions have {W.shape[1]} entries, the pool's {self.solutions.shape[1]}."
            )
        R = np.round(W, self.decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
        new = []
        for i, row in enumerate(R):
            key = row.tobytes()
            if key not in self._seen:
                self._seen.add(key)
                new.append(i)
        if new:
            rows = R[new]
            self.solutions = rows if self.solutions is None else np.vstack([self.solutions, rows])
        return self

    def __len__(self) -> int:
        return 0 if self.solutions is None else len(self.solutions)
