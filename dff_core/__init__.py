"""DFF Studio engine: decision problems, decision losses, metrics and decision-focused fine-tuning."""

from dff_core.baselines import run_comparison
from dff_core.dff import DFF
from dff_core.errors import DataError, SolverError
from dff_core.problems import (
    Allocation,
    CvxpyProblem,
    LinearMapped,
    MinCostFlow,
    OptProblem,
    Portfolio,
    ShortestPath,
)
from dff_core.scenarios.compare import compare
from dff_core.sweep import sweep

__version__ = "0.1.0"

__all__ = [
    "DFF",
    "Allocation",
    "CvxpyProblem",
    "DataError",
    "LinearMapped",
    "MinCostFlow",
    "OptProblem",
    "Portfolio",
    "ShortestPath",
    "SolverError",
    "__version__",
    "compare",
    "run_comparison",
    "sweep",
]
