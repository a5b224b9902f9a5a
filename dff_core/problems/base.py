"""The one interface every decision problem implements.

A problem is *batched*: ``solve`` takes an ``(n, d)`` array of cost vectors and returns
the ``(n, d)`` optimal decisions, so losses and metrics make one call per batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import numpy as np

Sense = Literal["min", "max"]


class OptProblem(ABC):
    """A linear-objective decision problem ``opt_{w in S} c^T w`` (PyEPO's optModel, batched).

    Subclasses set ``d`` (number of cost coefficients) and ``sense`` and implement
    :meth:`_solve` on already-validated costs. Solutions must be deterministic: the same
    costs always give the same decisions (ties broken in a fixed order).
    """

    d: int
    sense: Sense = "min"
    #: Whether costs must be non-negative (e.g. shortest paths).
    requires_nonnegative: bool = False

    def solve(self, C: np.ndarray) -> np.ndarray:
        """Optimal decisions ``W`` of shape ``(n, d)`` for the cost rows of ``C``.

        A single cost vector of shape ``(d,)`` gives a single decision of shape ``(d,)``.
        """
        C = np.asarray(C, dtype=np.float64)
        single = C.ndim == 1
        C2 = self.check_costs(C[None, :] if single else C)
        W = self._solve(C2)
        return W[0] if single else W

    @abstractmethod
    def _solve(self, C: np.ndarray) -> np.ndarray:
        """Solve validated ``(n, d)`` float64 costs."""

    def solve_surrogate(self, C: np.ndarray) -> np.ndarray:
        """Decisions for the *auxiliary* costs that decision losses solve (SPO+'s ``2ĉ - c``,
        PFYL's perturbed costs), which may leave the domain ``solve`` accepts (for example
        negative arc costs on a road network with cycles).

        Defaults to :meth:`solve`. A problem overrides it with a convex relaxation of its
        feasible set that stays bounded for such costs; SPO+ over a superset of the feasible
        set is still a convex upper bound of regret.
        """
        return self.solve(C)

    def objective(self, C: np.ndarray, W: np.ndarray) -> np.ndarray:
        """Objective values ``c_i^T w_i`` per instance, shape ``(n,)``."""
        C = np.atleast_2d(np.asarray(C, dtype=np.float64))
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        if C.shape != W.shape:
            raise ValueError(
                f"{type(self).__name__}.objective: costs have shape {C.shape} but decisions "
                f"have shape {W.shape}; they must match."
            )
        return np.einsum("ij,ij->i", C, W)

    def check_costs(self, C: np.ndarray, name: str = "C") -> np.ndarray:
        """Validate a cost batch: 2-D, ``d`` columns, finite, non-negative when required.

        Raises ``ValueError`` naming the problem, the argument and the first bad instance.
        """
        cls = type(self).__name__
        C = np.asarray(C, dtype=np.float64)
        if C.ndim != 2 or C.shape[1] != self.d:
            raise ValueError(
                f"{cls}: argument {name!r} must have shape (n, {self.d}) (one row of {self.d} "
                f"costs per instance); got shape {C.shape}."
            )
        finite = np.isfinite(C)
        if not finite.all():
            i, j = np.argwhere(~finite)[0]
            raise ValueError(
                f"{cls}: argument {name!r} has a non-finite value ({C[i, j]}) at instance {i}, "
                f"coefficient {j}; replace NaN/inf costs before solving."
            )
        if self.requires_nonnegative and (C < 0).any():
            i, j = np.argwhere(C < 0)[0]
            raise ValueError(
                f"{cls}: argument {name!r} has a negative cost ({C[i, j]:.6g}) at instance {i}, "
                f"coefficient {j}; this problem needs non-negative costs."
            )
        return C

    def __repr__(self) -> str:
        return f"{type(self).__name__}(d={self.d}, sense={self.sense!r})"
