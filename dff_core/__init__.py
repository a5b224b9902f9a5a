"""DFF Studio engine: decision problems, decision losses, metrics and decision-focused fine-tuning.

The training entry points (``DFF``, ``DFL``, ``run_comparison``, ``compare``, ``sweep``) load torch, so
they are imported on first use through this module's ``__getattr__`` (the package's one lazy import):
``import dff_core.data`` and ``import dff_core.problems`` (what the dashboard's first page needs)
never load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from dff_core import sweep
    from dff_core.ablation import DFFUnbounded
    from dff_core.backtest import BacktestResult
    from dff_core.baselines import DFL
    from dff_core.comparison import compare, run_comparison
    from dff_core.dff import DFF
    from dff_core.ensemble import SeedEnsemble

__version__ = "0.1.0"

_LAZY = {
    "DFF": "dff_core.dff",
    "DFL": "dff_core.baselines",
    "DFFUnbounded": "dff_core.ablation",
    "BacktestResult": "dff_core.backtest",
    "run_comparison": "dff_core.comparison",
    "compare": "dff_core.comparison",
    "SeedEnsemble": "dff_core.ensemble",
}


def __getattr__(name: str) -> Any:
    if name == "sweep":
        # The package itself: it is callable as its ``sweep()`` function, and as an attribute it must
        # stay the package so that ``dff_core.sweep.<module>`` keeps resolving.
        return importlib.import_module("dff_core.sweep")
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dff_core' has no attribute {name!r}")


__all__ = [
    "DFF",
    "DFL",
    "Allocation",
    "BacktestResult",
    "CvxpyProblem",
    "DFFUnbounded",
    "DataError",
    "LinearMapped",
    "MinCostFlow",
    "OptProblem",
    "Portfolio",
    "SeedEnsemble",
    "ShortestPath",
    "SolverError",
    "__version__",
    "compare",
    "run_comparison",
    "sweep",
]
