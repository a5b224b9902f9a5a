"""0/1 (multi-dimensional) knapsack: pick items to maximise total value under capacity limits.

Two exact batched algorithms, chosen once at construction from the weights and capacities
alone (never from the values), so the choice is deterministic:

* ``"dp"``: a dynamic programme over the remaining capacity, compiled with numba. Used when
  every weight is a whole multiple of 1, 0.1, 0.01 or 0.001 (PyEPO's weights have two decimals)
  and the table ``items x prod(capacity + 1)`` (in those units) stays below ``max_cells``.
* ``"mip"``: HiGHS branch and bound on the binary program, built once and re-solved per
  instance with a new objective.

Items whose value is not positive are never picked (as in :class:`Allocation`). Among equally
valuable selections the DP keeps the one that leaves out later items (it takes item ``j`` only
when that is strictly better than the best selection of items ``0..j-1``); HiGHS is
deterministic too, but may choose another of several equally valuable selections.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import highspy
import numpy as np
from numba import njit

from dff_core.errors import SolverError
from dff_core.problems._lp import new_highs
from dff_core.problems.base import OptProblem

Method = Literal["auto", "dp", "mip"]
#: Weight units tried for the DP, coarsest first (weights must be whole multiples of one).
_UNITS = (1.0, 0.1, 0.01, 0.001)


@njit(cache=True)
def _dp(C, enc, wint, radix, out):  # type: ignore[no-untyped-def]
    """Best 0/1 selections for every row of ``C`` by DP over mixed-radix capacity states.

    State ``s`` encodes a remaining-capacity vector (digit ``k`` in base ``radix[k]``);
    ``enc[j]`` is item ``j``'s weight vector in that encoding, so taking it moves from ``s`` to
    ``s - enc[j]`` when every digit of ``s`` is at least the item's weight in that dimension.
    """
    n, m = C.shape
    dim = radix.shape[0]
    S = 1
    for k in range(dim):
        S *= radix[k]
    best = np.empty(S)
    keep = np.zeros((m, S), dtype=np.bool_)
    for i in range(n):
        best[:] = 0.0
        for j in range(m):
            c = C[i, j]
            e = enc[j]
            for s in range(S - 1, -1, -1):
                take = False
                if c > 0.0 and s >= e:
                    fits = True
                    if dim > 1:
                        rest = s
                        for k in range(dim):
                            if rest % radix[k] < wint[k, j]:
                                fits = False
                                break
                            rest //= radix[k]
                    if fits and best[s - e] + c > best[s]:
                        best[s] = best[s - e] + c
                        take = True
                keep[j, s] = take
        s = S - 1
        for j in range(m - 1, -1, -1):
            if keep[j, s]:
                out[i, j] = 1.0
                s -= enc[j]


class Knapsack(OptProblem):
    """``max c^T x`` s.t. ``weights @ x <= capacity``, ``x in {0, 1}^items`` (PyEPO's knapsack model).

    Parameters
    ----------
    weights:
        Non-negative item weights, shape ``(dim, items)`` as PyEPO's ``genData`` returns them
        (a 1-D array is one dimension). ``items`` defines ``d``.
    capacity:
        Non-negative capacity per dimension, shape ``(dim,)`` (a number when ``dim == 1``).
    method:
        ``"auto"`` (DP when the weights allow it, else HiGHS), ``"dp"`` or ``"mip"``.
    max_cells:
        Largest DP table (items x capacity states) ``"auto"`` accepts; one byte per cell.

    ``method`` afterwards tells which algorithm the problem uses.
    """

    sense = "max"

    def __init__(
        self,
        weights: Sequence[float] | Sequence[Sequence[float]] | np.ndarray,
        capacity: float | Sequence[float] | np.ndarray,
        *,
        method: Method = "auto",
        max_cells: int = 5_000_000,
    ) -> None:
        W = np.asarray(weights, dtype=np.float64)
        if W.ndim == 1:
            W = W[None, :]
        if W.ndim != 2 or W.size == 0:
            raise ValueError(
                f"Knapsack: weights must have shape (dim, items) with at least one item; got shape {np.shape(weights)}."
            )
        bad = ~np.isfinite(W) | (W < 0)
        if bad.any():
            k, j = np.argwhere(bad)[0]
            raise ValueError(f"Knapsack: weights[{k}, {j}] = {W[k, j]!r}; weights must be finite and non-negative.")
        cap = np.atleast_1d(np.asarray(capacity, dtype=np.float64))
        if cap.shape != (W.shape[0],):
            raise ValueError(
                f"Knapsack: capacity must hold one limit per weight dimension ({W.shape[0]}); got shape {cap.shape}."
            )
        if not np.all(np.isfinite(cap)) or (cap < 0).any():
            k = int(np.argwhere(~np.isfinite(cap) | (cap < 0))[0, 0])
            raise ValueError(f"Knapsack: capacity[{k}] = {cap[k]!r}; capacities must be finite and non-negative.")
        if method not in ("auto", "dp", "mip"):
            raise ValueError(f"Knapsack: method must be 'auto', 'dp' or 'mip'; got {method!r}.")
        self.weights = W
        self.capacity = cap
        self.dim, self.d = W.shape
        self._dp_table = self._dp_setup(int(max_cells) if method == "auto" else np.iinfo(np.int64).max)
        if method == "dp" and self._dp_table is None:
            raise ValueError(
                "Knapsack: method='dp' needs weights that are whole multiples of 1, 0.1, 0.01 or 0.001; "
                "use method='mip' (or 'auto') for these weights."
            )
        #: "dp" (compiled dynamic programme) or "mip" (HiGHS branch and bound).
        self.method: str = "dp" if self._dp_table is not None and method != "mip" else "mip"
        self._h: highspy.Highs | None = self._mip_setup() if self.method == "mip" else None

    # ------------------------------------------------------------------ DP
    def _dp_setup(self, max_cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Integer weights, state encoding and radices for the DP, or None if it does not apply."""
        for unit in _UNITS:
            scaled = self.weights / unit
            wint = np.rint(scaled)
            if np.all(np.abs(scaled - wint) <= 1e-9 * np.maximum(1.0, scaled)):
                break
        else:
            return None
        wint = wint.astype(np.int64)
        # a capacity above the total weight of a dimension never binds: cap the state range there
        cint = np.floor(self.capacity / unit + 1e-9 * np.maximum(1.0, self.capacity / unit))
        cint = np.minimum(cint, wint.sum(axis=1)).astype(np.int64)
        radix = cint + 1
        if float(np.prod(radix.astype(np.float64))) * self.d > max_cells:
            return None
        strides = np.cumprod(np.r_[1, radix[:-1]])
        enc = (strides[:, None] * wint).sum(axis=0)
        # an item heavier than the capacity of some dimension can never be taken
        enc = np.where((wint > cint[:, None]).any(axis=0), np.iinfo(np.int64).max, enc)
        return enc.astype(np.int64), wint, radix.astype(np.int64)

    # ------------------------------------------------------------------ MIP
    def _mip_setup(self) -> highspy.Highs:
        h = new_highs()
        lp = highspy.HighsLp()
        lp.num_col_ = self.d
        lp.num_row_ = self.dim
        lp.col_cost_ = np.zeros(self.d)
        lp.col_lower_ = np.zeros(self.d)
        lp.col_upper_ = np.ones(self.d)
        lp.row_lower_ = np.full(self.dim, -highspy.kHighsInf)
        lp.row_upper_ = self.capacity.copy()
        A = self.weights
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = (np.arange(self.dim + 1) * self.d).astype(np.int32)
        lp.a_matrix_.index_ = np.tile(np.arange(self.d, dtype=np.int32), self.dim)
        lp.a_matrix_.value_ = A.ravel()
        lp.integrality_ = [highspy.HighsVarType.kInteger] * self.d
        h.passModel(lp)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.0)
        # Small knapsacks are solved at or near the root, where HiGHS' fixed costs dominate:
        # without presolve, symmetry detection and primal heuristics they run about 1.5x faster
        # (benchmarks/bench_knapsack.py); branch and bound still proves optimality.
        h.setOptionValue("presolve", "off")
        h.setOptionValue("mip_detect_symmetry", False)
        h.setOptionValue("mip_heuristic_effort", 0.0)
        return h

    def _mip_solve(self, c: np.ndarray, instance: int) -> np.ndarray:
        h = self._h
        assert h is not None  # built whenever method is "mip"
        idx = np.arange(self.d, dtype=np.int32)
        h.clearSolver()  # every solve starts from scratch: the same values give the same selection
        h.changeColsCost(self.d, idx, c)
        # items of non-positive value are never picked (fixed at 0, as the DP leaves them out)
        h.changeColsBounds(self.d, idx, np.zeros(self.d), (c > 0).astype(np.float64))
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(
                f"Knapsack: HiGHS did not prove instance {instance} optimal ({h.modelStatusToString(status)})."
            )
        x = np.rint(np.asarray(h.getSolution().col_value, dtype=np.float64))
        load = self.weights @ x
        if (load > self.capacity + 1e-9 * np.maximum(1.0, self.capacity)).any():
            raise SolverError(f"Knapsack: HiGHS returned an over-capacity selection for instance {instance}.")
        return x

    # ------------------------------------------------------------------ solve
    def _solve(self, C: np.ndarray) -> np.ndarray:
        out = np.zeros_like(C)
        if self.method == "dp":
            assert self._dp_table is not None  # method "dp" is chosen only when the table was built
            enc, wint, radix = self._dp_table
            _dp(np.ascontiguousarray(C), enc, wint, radix, out)
            return out
        for i, c in enumerate(C):
            out[i] = self._mip_solve(c, i)
        return out

    def __repr__(self) -> str:
        return f"Knapsack(items={self.d}, dim={self.dim}, method={self.method!r})"
