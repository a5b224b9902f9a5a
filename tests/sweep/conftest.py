"""Sweep fixtures: a scenario built from the tiny city's files, one built from arrays, a local Ray instance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dff_core.data.synthetic import shortest_path_data
from dff_core.scenarios.base import Scenario
from dff_core.scenarios.spec import ScenarioSpec

#: Four runs: two ε values x two seeds.
GRID = {"epsilon": [0.1, 0.3], "seed": [0, 1], "backbone": ["ridge"], "loss": ["spo+"]}
#: The shortest training that still runs every method.
TRAIN = {"epochs": 1}


@pytest.fixture(scope="module")
def scenario(city_dir: Path) -> Scenario:
    return ScenarioSpec(readings=str(city_dir / "readings.csv"), sensors=str(city_dir / "sensors.csv")).build()


def array_scenario(n: int = 120, seed: int = 0) -> Scenario:
    """PyEPO-style shortest paths on a 3x3 grid from 4 features; 60/24/36 instances in time order."""
    data = shortest_path_data(n, 4, grid=(3, 3), deg=4, noise_width=0.25, seed=seed)
    problem = data.problem
    return Scenario(
        kind="synthetic",
        problem=problem,
        X=data.X,
        C=data.C,
        times=pd.date_range("2024-01-01", periods=n, freq="h"),
        feature_names=[f"x{j}" for j in range(4)],
        output_names=[f"c{j}" for j in range(problem.d)],
        split={"train": np.arange(60), "val": np.arange(60, 84), "test": np.arange(84, n)},
        unit="cost",
    )


@pytest.fixture
def ray_session():
    """A local 2-CPU Ray instance, shut down after the test so it holds no resources afterwards."""
    ray = pytest.importorskip("ray", reason="ray is not installed")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # pragma: no cover - environment dependent
        pytest.skip(f"a local Ray instance could not start: {exc}")
    yield ray
    ray.shutdown()
