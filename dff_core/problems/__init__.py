"""Decision problems: one batched interface (``d``, ``sense``, ``solve``, ``objective``)."""

from dff_core.problems.allocation import Allocation
from dff_core.problems.base import OptProblem
from dff_core.problems.cvxpy_problem import CvxpyProblem
from dff_core.problems.knapsack import Knapsack
from dff_core.problems.mapped import LinearMapped
from dff_core.problems.min_cost_flow import MinCostFlow
from dff_core.problems.portfolio import Portfolio
from dff_core.problems.shortest_path import ShortestPath

__all__ = [
    "Allocation",
    "CvxpyProblem",
    "Knapsack",
    "LinearMapped",
    "MinCostFlow",
    "OptProblem",
    "Portfolio",
    "ShortestPath",
]
