"""Ready scenarios built from data files: traffic routing and allocation (compared by :mod:`dff_core.comparison`)."""

from dff_core.scenarios.allocation import build_allocation_scenario
from dff_core.scenarios.base import Scenario
from dff_core.scenarios.features import FeatureSet, chronological_split, make_features
from dff_core.scenarios.traffic import build_traffic_scenario

__all__ = [
    "FeatureSet",
    "Scenario",
    "build_allocation_scenario",
    "build_traffic_scenario",
    "chronological_split",
    "make_features",
]
