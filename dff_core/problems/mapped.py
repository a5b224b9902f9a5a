"""A problem whose costs are a fixed linear map of the predicted quantities.

Traffic routing predicts one *pace* (minutes per km) per sensor, while the router needs one
travel time per link. With link cost = ``A @ pace`` (``A[l, s]`` = km of link ``l`` timed
by sensor ``s``), the objective ``(A p)^T w = p^T (A^T w)`` stays linear in the prediction,
so SPO+ and regret apply unchanged to the sensor-level vector.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from dff_core.problems._graph import AVAILABLE, njit
from dff_core.problems.base import OptProblem

#: Rows of a batch mapped and solved at a time are capped so one block of base costs holds about
#: this many numbers (32 MB): a road network's link costs for a whole training set would not fit.
BLOCK_VALUES = 1 << 22


@njit(cache=True, nogil=True)
def _map_rows(C, indptr, indices, data, out):  # type: ignore[no-untyped-def]
    """``out[i] = A @ C[i]`` for CSR ``A``, written row by row (the layout the solvers read), summed in
    the same order as scipy's sparse product, so both give the same numbers."""
    for i in range(C.shape[0]):
        for row in range(indptr.shape[0] - 1):
            acc = 0.0
            for p in range(indptr[row], indptr[row + 1]):
                acc += data[p] * C[i, indices[p]]
            out[i, row] = acc


class LinearMapped(OptProblem):
    """Wrap ``base`` so that its costs are ``C @ A.T``; decisions are ``W_base @ A``.

    ``A`` has shape ``(base.d, k)``: ``k`` is the number of predicted coefficients.
    Non-negative ``A`` keeps non-negative predictions non-negative after mapping. Large batches
    are solved in row blocks (:data:`BLOCK_VALUES`), so memory stays bounded on large networks.
    """

    def __init__(self, base: OptProblem, A: np.ndarray | sp.spmatrix) -> None:
        csr = sp.csr_matrix(A, dtype=np.float64)
        if csr.shape[0] != base.d:
            raise ValueError(
                f"LinearMapped: A must have {base.d} rows (one per cost of {type(base).__name__}); got {csr.shape}."
            )
        if not np.all(np.isfinite(csr.data)):
            raise ValueError("LinearMapped: A has non-finite entries.")
        self.base = base
        self.A: sp.csr_matrix = csr
        self.d = csr.shape[1]
        self.sense = base.sense
        self.requires_nonnegative = base.requires_nonnegative and bool((csr.data >= 0).all())

    def base_costs(self, C: np.ndarray) -> np.ndarray:
        """The base problem's costs for predicted coefficients ``C`` (n, k), row-major."""
        C = np.ascontiguousarray(np.atleast_2d(np.asarray(C, dtype=np.float64)))
        if not AVAILABLE or C.ndim != 2 or C.shape[1] != self.d:
            return np.ascontiguousarray((self.A @ C.T).T)
        out = np.empty((C.shape[0], self.A.shape[0]))
        _map_rows(C, self.A.indptr, self.A.indices, self.A.data, out)
        return out

    def solve_base(self, C: np.ndarray) -> np.ndarray:
        """Decisions of the base problem (e.g. arc flows) for predicted coefficients ``C``."""
        return self.base.solve(self.base_costs(self.check_costs(np.atleast_2d(C))))

    def solve_surrogate(self, C: np.ndarray) -> np.ndarray:
        """Auxiliary-cost decisions through the base problem's own :meth:`solve_surrogate`."""
        C = np.atleast_2d(np.asarray(C, dtype=np.float64))
        if C.ndim != 2 or C.shape[1] != self.d or not np.isfinite(C).all():
            return self.solve(C)
        return self._blocks(C, self.base.solve_surrogate)

    def _solve(self, C: np.ndarray) -> np.ndarray:
        return self._blocks(C, self.base.solve)

    def _blocks(self, C: np.ndarray, solve: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``A^T solve(A c)`` per row, in row blocks of bounded size."""
        rows = max(1, BLOCK_VALUES // max(1, self.base.d))
        out = np.empty((C.shape[0], self.d))
        for lo in range(0, C.shape[0], rows):
            Wb = solve(self.base_costs(C[lo : lo + rows]))
            out[lo : lo + rows] = (self.A.T @ Wb.T).T
        return out
