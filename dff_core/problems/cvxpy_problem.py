"""Wrap any cvxpy problem whose objective is ``c^T x`` in a predicted parameter ``c``."""

from __future__ import annotations

import warnings

import numpy as np

from dff_core.errors import SolverError
from dff_core.problems.base import OptProblem


class CvxpyProblem(OptProblem):
    """A user's cvxpy model as a batched decision problem.

    Parameters
    ----------
    problem:
        A ``cvxpy.Problem`` with objective ``Minimize(c @ x)`` or ``Maximize(c @ x)``
        (``cp.sum(cp.multiply(c, x))`` for matrices); the sense is read from it.
    cost_parameter:
        The ``cvxpy.Parameter`` ``c`` holding the predicted costs; ``d = c.size``. It may
        appear only in the objective.
    decision_variable:
        The ``cvxpy.Variable`` ``x`` paired with ``c`` (same size); ``W[i]`` is its value,
        flattened in row-major order like the cost row.
    solver:
        cvxpy solver name (default: cvxpy's choice).
    name:
        Name used in error messages (default ``"CvxpyProblem"``).

    The problem must be DPP (cvxpy then compiles it once and re-solves it per instance with a
    new parameter value). The objective is checked numerically to equal ``c^T x``: extra
    terms or a non-linear use of ``c`` would make regret and SPO+ meaningless.
    """

    def __init__(  # type: ignore[no-untyped-def]
        self,
        problem,
        cost_parameter,
        decision_variable,
        *,
        solver: str | None = None,
        name: str = "CvxpyProblem",
    ) -> None:
        import cvxpy as cp  # imported on use: it takes seconds to load and only cvxpy models need it

        self.name = name
        if not isinstance(problem, cp.Problem):
            raise ValueError(f"{name}: 'problem' must be a cvxpy.Problem; got {type(problem).__name__}.")
        if not isinstance(cost_parameter, cp.Parameter):
            raise ValueError(
                f"{name}: 'cost_parameter' must be a cvxpy.Parameter; got {type(cost_parameter).__name__}."
            )
        if not isinstance(decision_variable, cp.Variable):
            raise ValueError(
                f"{name}: 'decision_variable' must be a cvxpy.Variable; got {type(decision_variable).__name__}."
            )
        if cost_parameter.id not in {p.id for p in problem.parameters()}:
            raise ValueError(f"{name}: 'cost_parameter' {cost_parameter.name()!r} does not appear in the problem.")
        if decision_variable.id not in {v.id for v in problem.variables()}:
            raise ValueError(
                f"{name}: 'decision_variable' {decision_variable.name()!r} does not appear in the problem."
            )
        if cost_parameter.size != decision_variable.size:
            raise ValueError(
                f"{name}: 'cost_parameter' has {cost_parameter.size} entries but 'decision_variable' has "
                f"{decision_variable.size}; the objective must pair them one to one (c @ x)."
            )
        for k, con in enumerate(problem.constraints):
            if cost_parameter.id in {p.id for p in con.parameters()}:
                raise ValueError(
                    f"{name}: 'cost_parameter' appears in constraint {k}; predicted costs may appear only in the "
                    "objective c @ x."
                )
        other = [p for p in problem.parameters() if p.id != cost_parameter.id and p.value is None]
        if other:
            raise ValueError(
                f"{name}: parameter {other[0].name()!r} has no value; set every other parameter before wrapping."
            )
        if not problem.is_dcp():
            raise ValueError(f"{name}: the problem is not DCP (disciplined convex); cvxpy cannot solve it.")
        if not problem.is_dpp():
            raise ValueError(
                f"{name}: the problem is not DPP, so cvxpy would recompile it for every instance; write the "
                "objective as c @ x with c a Parameter (see cvxpy's 'Disciplined Parametrized Programming')."
            )
        self.sense = "min" if isinstance(problem.objective, cp.Minimize) else "max"
        self.problem = problem
        self.param = cost_parameter
        self.var = decision_variable
        self.d = int(cost_parameter.size)
        self.solver = solver
        self._check_linear_objective()

    def _check_linear_objective(self) -> None:
        """Evaluate the objective at random (c, x): it must equal sum(c * x) every time."""
        rng = np.random.default_rng(0)
        expr = self.problem.objective.expr
        old_c, old_x = self.param.value, self.var.value
        try:
            for _ in range(3):
                c = rng.normal(size=self.param.shape) if self.param.shape else rng.normal()
                x = rng.normal(size=self.var.shape) if self.var.shape else rng.normal()
                self.param.value = c
                self.var.value = x
                got = float(np.asarray(expr.value).reshape(-1)[0])
                want = float(np.sum(np.asarray(c) * np.asarray(x)))
                if not np.isclose(got, want, rtol=1e-9, atol=1e-9):
                    raise ValueError(
                        f"{self.name}: the objective is not exactly c @ x (c = {self.param.name()!r}, "
                        f"x = {self.var.name()!r}): at a random point it is {got:.6g} instead of {want:.6g}. "
                        "Regret and SPO+ need an objective linear in the predicted costs with no other terms."
                    )
        finally:
            self.param.value = old_c
            self.var.value = old_x

    def _solve(self, C: np.ndarray) -> np.ndarray:
        import cvxpy as cp  # imported on use: it takes seconds to load and only cvxpy models need it

        W = np.empty_like(C)
        shape = self.param.shape
        for i, c in enumerate(C):
            self.param.value = c.reshape(shape) if shape else float(c[0])
            try:
                self.problem.solve(solver=self.solver)
            except cp.SolverError as err:
                raise SolverError(f"{self.name}: the solver failed on instance {i}: {err}") from err
            status = self.problem.status
            if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or self.var.value is None:
                raise SolverError(
                    f"{self.name}: instance {i} is {status}"
                    + (
                        " (the costs push the objective to infinity; bound the decision variable)."
                        if status in (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE)
                        else " (no decision satisfies the constraints)."
                        if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)
                        else "."
                    )
                )
            if status == cp.OPTIMAL_INACCURATE:
                msg = f"{self.name}: the solver reports an inaccurate optimum on instance {i}."
                warnings.warn(msg, RuntimeWarning, stacklevel=3)
            W[i] = np.asarray(self.var.value, dtype=np.float64).reshape(-1)
        return W

    def __repr__(self) -> str:
        return f"{self.name}(d={self.d}, sense={self.sense!r}, solver={self.solver!r})"
