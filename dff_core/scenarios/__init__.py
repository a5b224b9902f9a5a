"""Ready scenarios built from data files: traffic routing and allocation (compared by :mod:`dff_core.comparison`)."""

from dff_core.scenarios.allocation import build_allocation_scenario
from dff_core.scenarios.base import Scenario
from dff_core.scenarios.bpr import BPR, CountBackbone
from dff_core.scenarios.choices import Choice, allocation_values, scenario_choices
from dff_core.scenarios.features import FeatureSet, Timing, chronological_split, make_features, resolve_timing
from dff_core.scenarios.traffic import build_traffic_scenario

__all__ = [
    "BPR",
    "Choice",
    "CountBackbone",
    "FeatureSet",
    "Scenario",
    "Timing",
    "allocation_values",
    "build_allocation_scenario",
    "build_traffic_scenario",
    "chronological_split",
    "make_features",
    "resolve_timing",
    "scenario_choices",
]
