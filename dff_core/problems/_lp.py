"""Small LP helpers built once and re-solved with a new objective (HiGHS through highspy)."""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

from dff_core.errors import SolverError


class BoundedFlowLP:
    """``min c^T w`` over unit s-t flows with ``0 <= w <= 1``; only the objective changes per solve."""

    def __init__(self, num_nodes: int, edges: np.ndarray, source: int, target: int) -> None:
        m = len(edges)
        inc = sp.csc_matrix(
            (
                np.concatenate([np.ones(m), -np.ones(m)]),
                (np.concatenate([edges[:, 0], edges[:, 1]]), np.concatenate([np.arange(m), np.arange(m)])),
            ),
            shape=(num_nodes, m),
        )
        rhs = np.zeros(num_nodes)
        rhs[source], rhs[target] = 1.0, -1.0
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        lp = highspy.HighsLp()
        lp.num_col_ = m
        lp.num_row_ = num_nodes
        lp.col_cost_ = np.zeros(m)
        lp.col_lower_ = np.zeros(m)
        lp.col_upper_ = np.ones(m)
        lp.row_lower_ = rhs
        lp.row_upper_ = rhs
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = inc.indptr
        lp.a_matrix_.index_ = inc.indices
        lp.a_matrix_.value_ = inc.data
        h.passModel(lp)
        self._h = h
        self._idx = np.arange(m, dtype=np.int32)
        self._m = m

    def solve(self, c: np.ndarray) -> np.ndarray:
        self._h.changeColsCost(self._m, self._idx, np.asarray(c, dtype=np.float64))
        self._h.run()
        status = self._h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"ShortestPath: bounded-flow LP ended with status {self._h.modelStatusToString(status)}.")
        return np.clip(np.asarray(self._h.getSolution().col_value), 0.0, 1.0)
