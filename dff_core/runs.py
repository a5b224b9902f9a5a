"""Open a run folder with its scenario: the scenario is rebuilt from the specification stored with the run
and checked against the run's stored data digest, so a run is never shown on data it was not made on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dff_core.backtest import BacktestResult, is_backtest, read_backtest_manifest
from dff_core.errors import DataError
from dff_core.results import ComparisonResult, read_run_meta
from dff_core.scenarios.base import Scenario
from dff_core.scenarios.spec import ScenarioSpec, build

__all__ = ["load_run"]


def load_run(path: str | Path) -> ComparisonResult | BacktestResult:
    """Read a run folder written by :meth:`ComparisonResult.save` (or a backtest folder written by
    :meth:`BacktestResult.save`), rebuilding its scenario from the specification stored in its
    configuration (``config["scenario_spec"]``).

    The rebuilt scenario's data digest must equal the one stored with the run; otherwise the input
    files changed since the run was made and :class:`~dff_core.errors.DataError` says so, naming the folder.
    """
    path = Path(path)
    if is_backtest(path):
        names = read_backtest_manifest(path)
        meta = read_run_meta(path / names[0])  # every fold was made on the same scenario
        return BacktestResult.load(path, _rebuilt_scenario(meta["config"], path, path / names[0] / "meta.json"))
    meta = read_run_meta(path)
    return ComparisonResult.load(path, _rebuilt_scenario(meta["config"], path, path / "meta.json"))


def _rebuilt_scenario(config: dict[str, Any], folder: Path, meta_file: Path) -> Scenario:
    """The scenario a run's stored specification builds, checked against the run's stored data digest."""
    spec = config.get("scenario_spec")
    if spec is None:
        raise DataError(
            f"load_run: {meta_file} has no scenario specification (config['scenario_spec']); load the run with "
            "ComparisonResult.load(path, scenario) (or BacktestResult.load) and the scenario it was made on."
        )
    scenario = build(ScenarioSpec.model_validate(spec))
    stored = config.get("data_digest")
    if stored and stored != scenario.data_digest:
        raise DataError(
            f"load_run: {folder} was made on data with digest {stored}, but the scenario rebuilt from its stored "
            f"specification has digest {scenario.data_digest}: the input files changed since the run. Restore "
            "them, or load the run with ComparisonResult.load(path, scenario) and the scenario it was made on."
        )
    return scenario
