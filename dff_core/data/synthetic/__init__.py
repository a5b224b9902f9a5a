"""Synthetic data: the sample city the dashboard opens with, and PyEPO-style problem data.

* :mod:`~dff_core.data.synthetic.city`: the deterministic synthetic city written to
  ``sample_data/`` (``python -m dff_core.data.synthetic [--out DIR] [--seed N]``).
* :mod:`~dff_core.data.synthetic.problems`: features and true costs for shortest path,
  knapsack, portfolio and allocation problems from one seed (PyEPO's ``genData`` formulas).
"""

from dff_core.data.synthetic.city import SEED, City, build_city, simulate_speeds, write_sample
from dff_core.data.synthetic.problems import (
    SyntheticData,
    allocation_data,
    knapsack_data,
    portfolio_data,
    shortest_path_data,
)

__all__ = [
    "SEED",
    "City",
    "SyntheticData",
    "allocation_data",
    "build_city",
    "knapsack_data",
    "portfolio_data",
    "shortest_path_data",
    "simulate_speeds",
    "write_sample",
]
