"""Run keys: what a sweep run's result depends on, digested into a stable ``run_id``.

A run is keyed by a digest of its scenario's data (:func:`scenario_digest`), the scenario options,
the training options and its grid values (digests come from :mod:`dff_core.data.digest`). The same
run in a later sweep, on another machine or backend, gets the same ``run_id``; that is what lets a
stopped or killed sweep resume.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dff_core.data.digest import json_digest, object_digest
from dff_core.sweep.config import GridConfig

#: Grid dimensions in the order they appear as columns of ``runs.csv``.
GRID_KEYS = ("epsilon", "seed", "backbone", "loss", "horizon")

#: Scenario fields left out of its digest: build timings vary between builds, ``extra`` is display data
#: and ``spec`` holds file paths (their contents are already in the data).
_DIGEST_SKIP = frozenset({"timings", "extra", "spec"})


def scenario_digest(scenario: Any) -> str:
    """Digest of what a run's result depends on: the scenario's data, problem, split and options."""
    return object_digest(scenario, skip=_DIGEST_SKIP)


@dataclass(frozen=True)
class RunSpec:
    """One grid point: its values (``epsilon``, ``seed``, ``backbone``, ``loss``[, ``horizon``]) and key."""

    values: tuple[tuple[str, Any], ...]
    run_id: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.values)


def plan_runs(
    grid: GridConfig, digests: Mapping[str | None, str], train: Mapping[str, Any], scenario_options: Mapping | None
) -> list[RunSpec]:
    """Expand the grid into run specs with stable ``run_id`` keys (digest of data + config).

    ``digests`` maps each horizon (``None`` without a horizon axis) to its scenario's digest.
    """
    axes = grid.axes()
    runs = []
    for combo in itertools.product(*axes.values()):
        values = dict(zip(axes, combo))
        key = {
            "data": digests[values.get("horizon")],
            "scenario": dict(scenario_options or {}),
            "train": {k: list(v) if isinstance(v, tuple) else v for k, v in train.items()},
            "run": {k: values[k] for k in sorted(values)},
        }
        ordered = tuple((k, values[k]) for k in GRID_KEYS if k in values)
        runs.append(RunSpec(ordered, json_digest(key)[:16]))
    return runs
