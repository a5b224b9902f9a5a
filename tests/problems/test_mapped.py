"""LinearMapped: costs mapped by a fixed sparse matrix, solved in row blocks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from dff_core.problems import LinearMapped, ShortestPath, mapped


@pytest.fixture
def problem() -> LinearMapped:
    rng = np.random.default_rng(0)
    k = 6  # a 6 x 6 two-way grid, 8 predicted values, 3 of them weighing on each arc
    idx = np.arange(k * k).reshape(k, k)
    right = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1)
    down = np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1)
    E = np.concatenate([right, right[:, ::-1], down, down[:, ::-1]])
    base = ShortestPath(k * k, E, pairs=[(0, 35), (5, 30)])
    rows = np.repeat(np.arange(len(E)), 3)
    A = sp.csr_matrix((rng.uniform(0.1, 1.0, 3 * len(E)), (rows, rng.integers(0, 8, 3 * len(E)))), shape=(len(E), 8))
    return LinearMapped(base, A)


def test_base_costs_are_the_sparse_product(problem: LinearMapped) -> None:
    C = np.random.default_rng(1).uniform(0.5, 2.0, (7, 8))
    got = problem.base_costs(C)
    assert got.flags.c_contiguous and np.array_equal(got, (problem.A @ C.T).T)
    assert np.array_equal(problem.base_costs(C[0]), got[:1])


def test_decisions_are_mapped_base_decisions(problem: LinearMapped) -> None:
    C = np.random.default_rng(2).uniform(0.5, 2.0, (9, 8))
    Wb = problem.base.solve(np.ascontiguousarray((problem.A @ C.T).T))
    assert np.allclose(problem.solve(C), (problem.A.T @ Wb.T).T)
    Q = 2 * C * np.random.default_rng(3).uniform(0.2, 1.2, C.shape) - C  # SPO+ surrogates, some negative
    assert (Q < 0).any()
    Wq = problem.base.solve_surrogate(np.ascontiguousarray((problem.A @ Q.T).T))
    assert np.allclose(problem.solve_surrogate(Q), (problem.A.T @ Wq.T).T)


def test_row_blocks_give_the_same_decisions(problem: LinearMapped, monkeypatch: pytest.MonkeyPatch) -> None:
    C = np.random.default_rng(4).uniform(0.5, 2.0, (11, 8))
    Q = 2 * C * np.random.default_rng(5).uniform(0.2, 1.2, C.shape) - C
    whole, whole_q = problem.solve(C), problem.solve_surrogate(Q)
    monkeypatch.setattr(mapped, "BLOCK_VALUES", 3 * problem.base.d)  # blocks of 3 rows
    assert np.array_equal(problem.solve(C), whole) and np.array_equal(problem.solve_surrogate(Q), whole_q)
