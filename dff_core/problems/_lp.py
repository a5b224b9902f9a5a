"""LPs built once and re-solved with a new objective (HiGHS through highspy).

Decision losses solve the same feasible set thousands of times with different costs, so the
model is passed to HiGHS once and only the objective changes. Every solve starts from the
same stored basis: warm (a feasible vertex, so primal simplex needs few pivots) and
deterministic (the same costs always end at the same vertex, whatever was solved before).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

import highspy
import numpy as np
import scipy.sparse as sp

from dff_core.errors import SolverError

INF = highspy.kHighsInf
_banner_lock = threading.Lock()
_banner_shown = False


def new_highs() -> highspy.Highs:
    """A silent ``Highs`` instance.

    HiGHS prints a copyright banner from C on the first instance of a process, before any
    option can be set; that first construction runs with file descriptor 1 sent to /dev/null.
    """
    global _banner_shown
    with _banner_lock:
        if _banner_shown:
            h = highspy.Highs()
        else:
            sys.stdout.flush()
            saved = os.dup(1)
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, 1)
                h = highspy.Highs()
                ctypes.CDLL(None).fflush(None)
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(null)
            _banner_shown = True
    h.setOptionValue("output_flag", False)
    # No "threads" option: once another HiGHS user (e.g. cvxpy) has started the global
    # scheduler with a different count, HiGHS refuses to run. Dual/primal simplex is serial.
    return h


class StaticLP:
    """``min c^T x`` s.t. ``row_lower <= A x <= row_upper``, ``col_lower <= x <= col_upper``.

    Only ``c`` changes between solves. ``name`` prefixes error messages (the problem class).
    Raises :class:`ValueError` at construction when the feasible set is empty, since that
    does not depend on the costs. ``warm_cost`` (a typical cost vector, e.g. all ones) picks
    the stored starting basis: the optimum for it is usually a few pivots from the optimum
    for real costs (about 4x fewer simplex iterations than an arbitrary feasible vertex on
    a 360-arc flow network).
    """

    def __init__(
        self,
        A: sp.spmatrix,
        row_lower: np.ndarray,
        row_upper: np.ndarray,
        col_lower: np.ndarray,
        col_upper: np.ndarray,
        name: str,
        warm_cost: np.ndarray | None = None,
    ) -> None:
        A = sp.csc_matrix(A, dtype=np.float64)
        self.name = name
        m, n = A.shape
        h = new_highs()
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = m
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.asarray(col_lower, dtype=np.float64)
        lp.col_upper_ = np.where(np.isinf(col_upper), INF, col_upper).astype(np.float64)
        lp.row_lower_ = np.where(np.isinf(row_lower), -INF, row_lower).astype(np.float64)
        lp.row_upper_ = np.where(np.isinf(row_upper), INF, row_upper).astype(np.float64)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data
        h.passModel(lp)
        if h.run() == highspy.HighsStatus.kError:
            raise SolverError(f"{name}: HiGHS could not run on the model (HighsStatus.kError).")
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise ValueError(
                f"{name}: the constraints admit no feasible decision (HiGHS: {h.modelStatusToString(status)}); "
                "check capacities, supplies and demands."
            )
        # Later solves change only the objective: primal simplex from this feasible vertex,
        # no presolve (which would discard the basis).
        h.setOptionValue("presolve", "off")
        h.setOptionValue("simplex_strategy", 4)
        self._basis0 = h.getBasis()
        if warm_cost is not None:
            h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(warm_cost, dtype=np.float64))
            h.run()
            if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                self._basis0 = h.getBasis()
        self._h = h
        self._idx = np.arange(n, dtype=np.int32)
        self._n = n
        self._lo = np.asarray(col_lower, dtype=np.float64)
        self._hi = np.asarray(col_upper, dtype=np.float64)

    def solve(self, c: np.ndarray, instance: int | None = None) -> np.ndarray:
        """Optimal ``x`` for cost ``c``; :class:`SolverError` naming ``instance`` otherwise."""
        h = self._h
        h.changeColsCost(self._n, self._idx, np.asarray(c, dtype=np.float64))
        h.setBasis(self._basis0)
        ran = h.run()
        status = h.getModelStatus()
        if ran == highspy.HighsStatus.kError and status == highspy.HighsModelStatus.kOptimal:
            status = highspy.HighsModelStatus.kSolveError
        if status != highspy.HighsModelStatus.kOptimal:
            where = "" if instance is None else f" on instance {instance}"
            hint = (
                " The costs make the LP unbounded (a negative-cost cycle of arcs without capacity?)."
                if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible)
                else ""
            )
            raise SolverError(f"{self.name}: HiGHS ended{where} with status {h.modelStatusToString(status)}.{hint}")
        return np.clip(np.asarray(h.getSolution().col_value), self._lo, self._hi)


def incidence(num_nodes: int, edges: np.ndarray) -> sp.csc_matrix:
    """Node-arc incidence matrix: +1 at an arc's tail, -1 at its head (out minus in)."""
    m = len(edges)
    return sp.csc_matrix(
        (
            np.concatenate([np.ones(m), -np.ones(m)]),
            (np.concatenate([edges[:, 0], edges[:, 1]]), np.concatenate([np.arange(m), np.arange(m)])),
        ),
        shape=(num_nodes, m),
    )


class BoundedFlowLP(StaticLP):
    """``min c^T w`` over unit s-t flows with ``0 <= w <= 1``; only the objective changes per solve.

    ``usable`` (one bool per arc) fixes the other arcs to 0 (e.g. arcs that would pass through a zone).
    """

    def __init__(
        self,
        num_nodes: int,
        edges: np.ndarray,
        source: int,
        target: int,
        name: str = "ShortestPath",
        usable: np.ndarray | None = None,
    ) -> None:
        rhs = np.zeros(num_nodes)
        rhs[source], rhs[target] = 1.0, -1.0
        m = len(edges)
        upper = np.ones(m) if usable is None else np.asarray(usable, dtype=np.float64)
        super().__init__(incidence(num_nodes, edges), rhs, rhs, np.zeros(m), upper, name, warm_cost=np.ones(m))
