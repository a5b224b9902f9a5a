"""Synthetic data: the sample city the dashboard opens with, and PyEPO-style problem data.

* :mod:`~dff_core.data.synthetic.city`: the deterministic synthetic city written to
  ``sample_data/`` (``python -m dff_core.data.synthetic [--out DIR] [--seed N]``).
* :mod:`~dff_core.data.synthetic.network`: speed readings simulated at sensor sites of a given
  road network (``python -m dff_core.data.synthetic network --net FILE --out DIR``).
* :mod:`~dff_core.data.synthetic.problems`: features and true costs for shortest path,
  knapsack, portfolio and allocation problems from one seed (PyEPO's ``genData`` formulas).
"""

from dff_core.data.synthetic.city import SEED, City, build_city, simulate_speeds, write_sample
from dff_core.data.synthetic.network import pick_sensor_links, simulate_network_speeds, write_network_readings
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
    "pick_sensor_links",
    "portfolio_data",
    "shortest_path_data",
    "simulate_network_speeds",
    "simulate_speeds",
    "write_network_readings",
    "write_sample",
]
