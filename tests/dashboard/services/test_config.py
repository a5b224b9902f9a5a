"""Run configurations: the scenario spec from the Train page's widgets, digests, scenarios, widget restore."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.services import config as C
from dashboard.services.data import load_sample_data
from dashboard.services.state import Widget
from dff_core.data.parsing import parse_duration
from dff_core.scenarios import build_allocation_scenario, build_traffic_scenario
from dff_core.scenarios.spec import ScenarioSpec

SAMPLE = pytest.importorskip("dff_core.data").sample_paths()["readings"]
needs_sample = pytest.mark.skipif(not SAMPLE.is_file(), reason="sample_data/ is missing")


def _config(spec: ScenarioSpec, **kw) -> dict:
    train = {"backbone": "ridge", "epsilon": 0.2, "loss": "spo+", "epochs": 5, "methods": ["two_stage", "dff"], **kw}
    return C.run_config(spec, **train)


def test_run_config_is_a_spec_and_training_options():
    cfg = _config(C.scenario_spec("allocation", horizon="15min", budget=3, source="items"), epsilon=0.123456)
    assert set(cfg) == {"scenario", "training"}
    assert ScenarioSpec.model_validate(cfg["scenario"]) == C.spec_of(cfg)
    assert C.spec_of(cfg).kind == "allocation" and C.spec_of(cfg).budget == 3.0 and C.spec_of(cfg).source == "items"
    assert cfg["training"] == {
        "backbone": "ridge", "epsilon": 0.1235, "loss": "spo+", "epochs": 5, "methods": ["two_stage", "dff"], "seed": 0
    }  # fmt: skip
    assert C.compare_kwargs(cfg)["methods"] == ("two_stage", "dff")


def test_options_of_the_other_scenario_kind_do_not_change_the_digest():
    traffic = C.scenario_spec("traffic", horizon="30min", budget=9, source="items")
    assert traffic == C.scenario_spec("traffic", horizon="30min")
    alloc = C.scenario_spec("allocation", horizon="30min", pairs=[("A", "B")])
    assert alloc == C.scenario_spec("allocation", horizon="30min")
    d = "d" * 64
    assert C.run_digest(d, _config(traffic)) != C.run_digest(d, _config(alloc))


def test_run_digest_depends_on_data_and_every_setting():
    cfg = _config(C.scenario_spec("traffic", horizon="30min"))
    d = "a" * 64
    assert C.run_digest(d, cfg) == C.run_digest(d, dict(reversed(list(cfg.items()))))
    assert C.run_digest(d, cfg) != C.run_digest("0" * 64, cfg)
    assert C.run_digest(d, cfg) != C.run_digest(d, _config(C.scenario_spec("traffic", horizon="30min"), epsilon=0.3))
    other = _config(C.scenario_spec("traffic", horizon="30min", pairs=[("S01", "S09")]))
    assert C.run_digest(d, cfg) != C.run_digest(d, other)


@needs_sample
@pytest.mark.parametrize("source", ["readings", "items"])
def test_allocation_scenarios_match_the_builders_called_directly(source):
    loaded = load_sample_data()
    cfg = _config(C.scenario_spec("allocation", horizon="30min", budget=2, source=source, sample=True))
    built = C.get_scenario(loaded, cfg)
    if source == "items":
        direct = build_allocation_scenario(items=loaded.items, budget=2)
    else:
        direct = build_allocation_scenario(loaded.dataset, budget=2, horizon="30min")
    np.testing.assert_array_equal(built.C, direct.C)
    np.testing.assert_array_equal(built.X, direct.X)
    assert built.options == direct.options and built.unit == direct.unit
    assert C.get_scenario(loaded, cfg) is built  # cached


@needs_sample
def test_traffic_scenario_matches_the_builder_and_its_spec_rebuilds_it_alone():
    loaded = load_sample_data()
    trips = [p.split(" → ") for p in C.candidate_pairs(loaded)[:2]]
    cfg = _config(C.scenario_spec("traffic", horizon="15min", pairs=trips, sample=True))
    built = C.get_scenario(loaded, cfg)
    direct = build_traffic_scenario(loaded.dataset, horizon="15min", pairs=[tuple(p) for p in trips])
    np.testing.assert_array_equal(built.C, direct.C)
    assert built.extra["pairs"] == direct.extra["pairs"] and built.options == direct.options
    alone = ScenarioSpec.model_validate(built.spec).build()  # the sample city named in the spec: no dataset needed
    np.testing.assert_array_equal(alone.C, built.C)


@needs_sample
def test_widget_state_restores_the_configuration():
    loaded = load_sample_data()
    trips = [p.split(" → ") for p in C.candidate_pairs(loaded)[:1]]
    for spec in (
        C.scenario_spec("traffic", horizon="60min", pairs=trips, sample=True),
        C.scenario_spec("allocation", horizon="15min", budget=4, source="items", sample=True),
    ):
        cfg = _config(spec, epsilon=0.35, epochs=7, loss="pfyl")
        w = C.widget_state(cfg, loaded)
        extra = (
            {"pairs": [p.split(" → ") for p in w[Widget.PAIRS]]}
            if w[Widget.SCENARIO] == "traffic"
            else {"budget": w[Widget.BUDGET], "source": w[Widget.SOURCE]}
        )
        again = C.run_config(
            C.scenario_spec(w[Widget.SCENARIO], horizon=w[Widget.HORIZON], sample=True, **extra),
            backbone=w[Widget.BACKBONE],
            epsilon=w[Widget.EPSILON],
            loss=w[Widget.LOSS],
            epochs=w[Widget.EPOCHS],
            methods=w[Widget.METHODS],
        )
        assert C.run_digest(loaded.digest, again) == C.run_digest(loaded.digest, cfg)


def test_scenario_unit_is_empty_when_the_scenario_cannot_be_built():
    from dashboard.services.data import Loaded

    empty = Loaded("none", "e" * 64, None, None, *([None] * 3))
    assert C.scenario_unit(empty, _config(C.scenario_spec("allocation", horizon="30min", source="items"))) == ""


def test_run_config_of_reads_a_result_config_back():
    spec = C.scenario_spec("traffic", horizon="15min", pairs=[("S01", "S09")], sample=True)
    cfg = _config(spec, epsilon=0.25)
    recorded = {"scenario": "traffic", "every": "auto", **cfg["training"], "data_digest": "x", "unit": "min"}
    recorded["scenario_spec"] = spec.model_dump(mode="json", exclude_none=True)  # as scenarios record it
    assert C.run_config_of(recorded) == cfg
    assert C.run_config_of({k: v for k, v in recorded.items() if k != "scenario_spec"}) is None  # built by hand
    assert C.run_config_of({k: v for k, v in recorded.items() if k != "loss"}) is None


@pytest.mark.parametrize(
    ("freq", "default", "first"),
    [("5min", "30min", "15min"), ("15min", "30min", "15min"), ("1h", "60min", "60min"), ("10min", "30min", "30min")],
)
def test_horizons_are_whole_multiples_of_the_reading_interval(freq, default, first):
    options, chosen = C.horizon_choices(freq)
    assert chosen == default and options[0] == first and chosen in options
    step = pd.Timedelta(freq)
    assert all(parse_duration(h, "h") % step == pd.Timedelta(0) for h in options)
    assert C.horizon_choices(None)[1] == "30min"  # an allocation table alone: the horizon does not apply


def test_reading_options_and_allocation_value_enter_the_spec():
    read = {"value": "count", "count_unit": "boardings", "duplicates": "sum", "crs": "EPSG:32721"}
    spec = C.scenario_spec("allocation", horizon="60min", alloc_value="count", read=read)
    assert (spec.value, spec.count_unit, spec.duplicates, spec.crs, spec.alloc_value) == (
        "count", "boardings", "sum", "EPSG:32721", "count"
    )  # fmt: skip
    traffic = C.scenario_spec("traffic", horizon="60min", alloc_value="count", read=read)
    assert traffic.value == "count" and traffic.alloc_value is None
    items = C.scenario_spec("allocation", horizon="60min", source="items", alloc_value="count", read=read)
    assert items.value is None and items.alloc_value is None  # an items table is not read with these options
    assert C.scenario_spec("traffic", horizon="30min", read={}) == C.scenario_spec("traffic", horizon="30min")


@needs_sample
def test_default_config_is_what_the_train_page_shows_first():
    loaded = load_sample_data()
    cfg = C.default_config(loaded)
    spec = C.spec_of(cfg)
    assert spec.kind == "traffic" and spec.sample and spec.horizon == "30min" and spec.pairs is None
    assert cfg["training"]["methods"] == ["two_stage", "dff", "dfl"] and cfg["training"]["epochs"] == 30
    state = C.widget_state(cfg, loaded)
    assert state[Widget.SCENARIO] == "traffic" and state[Widget.PAIRS] == []
    alloc = C.widget_state(_config(C.scenario_spec("allocation", horizon="30min", sample=True)), loaded)
    assert alloc[Widget.ALLOC_VALUE] == "delay"  # speeds: allocation by delay
