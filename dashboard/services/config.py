"""Run configurations: the Train page's settings as a scenario spec plus training options.

A run configuration is ``{"scenario": ScenarioSpec(...).model_dump(mode="json"), "training":
{backbone, epsilon, loss, epochs, methods, seed}}``. Its scenario is built only through the
engine's factory, :func:`dff_core.scenarios.spec.build`, on the loaded data; a run is keyed by
the data's digest and this configuration (:func:`run_digest`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from dashboard.services import cache
from dashboard.services.data import Loaded
from dashboard.services.network import RoadView
from dashboard.services.state import (
    DEFAULT_BACKBONE,
    DEFAULT_BUDGET,
    DEFAULT_EPOCHS,
    DEFAULT_EPSILON,
    DEFAULT_HORIZON,
    DEFAULT_LOSS,
    DEFAULT_METHODS,
    HORIZON_CANDIDATES,
    Widget,
)
from dff_core.data.digest import json_digest
from dff_core.data.parsing import parse_duration
from dff_core.scenarios.base import Scenario
from dff_core.scenarios.choices import default_allocation_value
from dff_core.scenarios.features import MIN_AUTO_HORIZON, smallest_multiple
from dff_core.scenarios.network import network_pairs, trip_ends
from dff_core.scenarios.spec import READ_FIELDS, ScenarioSpec, build
from dff_core.scenarios.traffic import default_pairs, network_arcs

#: Bumped when the meaning of a run configuration or the store's layout changes (it enters every run digest).
STORE_VERSION = "3"
#: The scenario spec's fields naming a road network and how to read it.
NETWORK_FIELDS = ("network", "network_nodes", "network_crs", "match_distance")
#: The training options of a run configuration, in the order of ``dff_core.compare``'s arguments.
TRAINING_KEYS = ("backbone", "epsilon", "loss", "epochs", "methods", "seed")


def scenario_spec(
    kind: str,
    *,
    horizon: str,
    pairs: Sequence[Sequence[str]] | None = None,
    budget: float | None = None,
    source: str | None = None,
    alloc_value: str | None = None,
    sample: bool = False,
    read: Mapping[str, Any] | None = None,
    network: Mapping[str, Any] | None = None,
) -> ScenarioSpec:
    """The scenario the Train page's widgets describe.

    Options that do not apply to ``kind`` keep the spec's defaults, so they never change a run's
    digest. ``sample`` names the bundled sample city as the data (the spec then rebuilds the
    scenario on its own); uploaded data are passed to :func:`get_scenario` instead, and ``read``
    (:attr:`Loaded.options`: how the Data page read them) is recorded so the run says how its
    files were read. ``alloc_value`` (what the allocation ranks by) applies to readings only.
    ``network`` (:attr:`RoadView.spec <dashboard.services.network.RoadView.spec>`: the uploaded road
    network's files and options) makes traffic routing use its links; allocation ignores it.
    """
    how = {k: v for k, v in (read or {}).items() if k in READ_FIELDS and v is not None}
    if kind == "traffic":
        trips = [(str(a), str(b)) for a, b in pairs] if pairs else None
        road = {k: v for k, v in (network or {}).items() if k in NETWORK_FIELDS and v is not None}
        return ScenarioSpec(kind="traffic", horizon=horizon, pairs=trips, sample=sample, **how, **road)
    source = source or "readings"
    return ScenarioSpec(
        kind="allocation",
        horizon=horizon,
        budget=float(budget if budget is not None else DEFAULT_BUDGET),
        source=source,
        sample=sample,
        items="sample" if sample and source == "items" else None,
        alloc_value=alloc_value if source == "readings" else None,
        **(how if source == "readings" else {}),
    )


def horizon_choices(freq: pd.Timedelta | str | None) -> tuple[list[str], str]:
    """Forecast horizons that are whole multiples of the reading interval ``freq``, and the default.

    The default is the engine's: the smallest multiple of the interval of at least 30 minutes
    (``"30min"`` for 5- or 15-minute data, ``"60min"`` for hourly data). Without readings (an
    allocation table alone) the horizon does not apply and the usual choices are returned.
    """
    if freq is None:
        return list(HORIZON_CANDIDATES[:3]), DEFAULT_HORIZON
    step = parse_duration(freq, "freq")
    fits = [h for h in HORIZON_CANDIDATES if (td := parse_duration(h, "horizon")) >= step and not td % step]
    auto = smallest_multiple(step, MIN_AUTO_HORIZON)
    default = next((h for h in fits if parse_duration(h, "horizon") == auto), None)
    if default is None:  # an interval none of the usual horizons is a multiple of (e.g. 7 minutes)
        minutes = int(auto / pd.Timedelta("1min"))
        default = f"{minutes}min" if auto % pd.Timedelta("1min") == pd.Timedelta(0) else f"{int(auto.total_seconds())}s"
        fits = [default, *fits]
    start = fits.index(default)
    return fits[max(0, start - 1) : max(0, start - 1) + 4], default


def run_config(
    spec: ScenarioSpec,
    *,
    backbone: str,
    epsilon: float,
    loss: str,
    epochs: int,
    methods: Sequence[str],
    seed: int = 0,
) -> dict[str, Any]:
    """The JSON-able run configuration the digest and the store are keyed on."""
    return {
        "scenario": spec.model_dump(mode="json"),
        "training": {
            "backbone": backbone,
            "epsilon": round(float(epsilon), 4),
            "loss": loss,
            "epochs": int(epochs),
            "methods": list(methods),
            "seed": int(seed),
        },
    }


def run_config_of(result_config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The run configuration of a comparison, read back from its result's ``config``.

    ``dff_core.compare`` records the scenario spec (``scenario_spec``) and the training options,
    so a run folder describes its own configuration: the store needs no file of its own, and a
    run written by ``python -m dff_core compare --out`` has one too. ``None`` when the result does
    not record them (a scenario built by hand, or options the Train page cannot set).
    """
    spec = result_config.get("scenario_spec")
    if spec is None or any(k not in result_config for k in TRAINING_KEYS):
        return None
    training = {k: result_config[k] for k in TRAINING_KEYS}
    if not isinstance(training["backbone"], str):
        return None
    return run_config(ScenarioSpec.model_validate(spec), **training)


def spec_of(config: Mapping[str, Any]) -> ScenarioSpec:
    """The scenario spec of a run configuration."""
    return ScenarioSpec.model_validate(config["scenario"])


def compare_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments of ``dff_core.compare`` taken from a run configuration's training options."""
    t = config["training"]
    return {
        "backbone": t["backbone"],
        "epsilon": float(t["epsilon"]),
        "methods": tuple(t["methods"]),
        "seed": int(t.get("seed", 0)),
        "loss": t["loss"],
        "epochs": int(t["epochs"]),
    }


def run_digest(data_digest: str, config: Mapping[str, Any]) -> str:
    """Key of one comparison: the data's digest and the full configuration."""
    return json_digest({"v": STORE_VERSION, "data": data_digest, "config": config})


def get_scenario(loaded: Loaded, config: Mapping[str, Any]) -> Scenario:
    """The scenario of ``config`` on ``loaded``, built by the engine's spec factory (cached)."""
    spec = spec_of(config)
    key = json.dumps(spec.model_dump(mode="json"), sort_keys=True)
    return cache.scenario(loaded.digest, key, lambda: build(spec, dataset=loaded.dataset, items=loaded.items))


def scenario_unit(loaded: Loaded, config: Mapping[str, Any]) -> str:
    """Unit of regret for ``config`` on ``loaded`` (e.g. vehicle-minutes); empty if the scenario cannot be built."""
    try:
        return str(get_scenario(loaded, config).unit)
    except (ValueError, KeyError):
        return ""


def _choose_pairs(dataset: Any, n_pairs: int) -> list[str]:
    ids = [str(c) for c in dataset.readings.columns]
    s = dataset.sensors.copy()
    s.index = s.index.astype(str)
    arcs = network_arcs(dataset, ids)
    lat = s.loc[ids, "latitude"].astype(float).to_numpy()
    lon = s.loc[ids, "longitude"].astype(float).to_numpy()
    return [f"{a} → {b}" for a, b in default_pairs(ids, lat, lon, arcs, n_pairs=n_pairs)]


def _choose_network_pairs(road: RoadView, n_pairs: int) -> list[str]:
    ends = trip_ends(road.network, road.match)
    return [f"{a} → {b}" for a, b in network_pairs(road.network, ends, n_pairs=n_pairs)]


def candidate_pairs(loaded: Loaded, n_pairs: int = 20) -> list[str]:
    """Reachable long trips (``"origin → destination"``) offered for routing, from the engine's chooser.

    On a road network they join network nodes (its zones, else the ends of links holding sensors).
    """
    road = loaded.network
    try:
        if road is not None:
            return cache.candidate_pairs(loaded.digest, n_pairs, lambda: _choose_network_pairs(road, n_pairs))
        return cache.candidate_pairs(loaded.digest, n_pairs, lambda: _choose_pairs(loaded.dataset, n_pairs))
    except (ValueError, KeyError):
        return []


def default_config(loaded: Loaded) -> dict[str, Any]:
    """The run configuration of the Train page's default settings on ``loaded`` (what "Run the sample" runs)."""
    has_readings = loaded.dataset is not None
    freq = loaded.dataset.freq if has_readings else None
    kind = "traffic" if has_readings else "allocation"
    spec = scenario_spec(
        kind,
        horizon=horizon_choices(freq)[1],
        source="readings" if has_readings else "items",
        alloc_value=default_allocation_value(loaded.dataset) if has_readings else None,
        sample=loaded.is_sample,
        read=loaded.options,
        network=loaded.network.spec if loaded.network is not None else None,
    )
    return run_config(
        spec,
        backbone=DEFAULT_BACKBONE,
        epsilon=DEFAULT_EPSILON,
        loss=DEFAULT_LOSS,
        epochs=DEFAULT_EPOCHS,
        methods=list(DEFAULT_METHODS),
    )


def widget_state(cfg: Mapping[str, Any], loaded: Loaded) -> dict[str, Any]:
    """Train-page widget values (by key) that reproduce the run configuration ``cfg``."""
    spec, t = spec_of(cfg), cfg["training"]
    out: dict[str, Any] = {
        Widget.SCENARIO: spec.kind,
        Widget.BACKBONE: t["backbone"],
        Widget.LOSS: t["loss"],
        Widget.EPSILON: float(t["epsilon"]),
        Widget.HORIZON: spec.horizon,
        Widget.EPOCHS: int(t["epochs"]),
        Widget.METHODS: list(t["methods"]),
    }
    if spec.kind == "traffic":
        pairs = [f"{a} → {b}" for a, b in spec.pairs or []]
        if all(p in candidate_pairs(loaded) for p in pairs):
            out[Widget.PAIRS] = pairs
    else:
        out[Widget.BUDGET] = int(spec.budget)
        out[Widget.SOURCE] = spec.source or "readings"
        if loaded.dataset is not None:
            out[Widget.ALLOC_VALUE] = spec.alloc_value or default_allocation_value(loaded.dataset)
    return out
