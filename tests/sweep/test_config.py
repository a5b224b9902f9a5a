"""Sweep config files: every problem named by its key, paths resolved against the config's folder."""

from __future__ import annotations

import pytest

from dff_core.sweep import GridConfig, SweepConfigError, load_config, parse_config


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[grid]\nepsilon = []", ["grid.epsilon: must list at least one value"]),
        ("[grid]\nepsilon = [0.1, 1.5]", ["grid.epsilon: ", "strictly between 0 and 1", "1.5"]),
        ("[grid]\nbackbone = ['ridge', 'oracle']", ["grid.backbone: ", "unknown backbone 'oracle'"]),
        ("[grid]\nloss = ['hinge']", ["grid.loss: ", "'hinge'"]),
        ("[grid]\nepsilons = [0.1]", ["grid.epsilons: unknown key", "allowed: epsilon, seed"]),
        ("[grid]\nseed = [1, 1]", ["grid.seed: ", "twice"]),
        ("[grid]\nhorizon = ['soon']", ["grid.horizon: ", "duration"]),
        ("[train]\nepochs = 0", ["train.epochs: "]),
        ("[scenario]\nreadings = 'nope.csv'", ["scenario.readings: file 'nope.csv' not found"]),
        ("[scenario]\nkind = 'boats'", ["scenario.kind: "]),
        ("[sweep]\nx = 1", ["sweep: unknown key"]),
        ("[grid\nepsilon = 1", ["not valid TOML"]),
    ],
)
def test_bad_configs_name_the_key(tmp_path, toml, expected):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(SweepConfigError) as info:
        load_config(path)
    assert len(info.value.problems) == 1, info.value.problems
    for fragment in expected:
        assert fragment in info.value.problems[0]


def test_config_paths_resolve_against_config_folder_then_cwd(city_dir, tmp_path, monkeypatch):
    cfg = parse_config({"scenario": {"readings": "readings.csv"}}, base_dir=city_dir)
    assert cfg.scenario.resolve("readings") == (city_dir / "readings.csv").resolve()
    monkeypatch.chdir(city_dir)
    cfg = parse_config({"scenario": {"readings": "readings.csv"}}, base_dir=tmp_path)
    assert cfg.scenario.resolve("readings") == (city_dir / "readings.csv").resolve()


def test_grid_scalar_values_and_run_order():
    g = GridConfig.model_validate({"epsilon": 0.2, "seed": [3, 1]})
    assert g.epsilon == [0.2] and list(g.axes()) == ["backbone", "loss", "epsilon", "seed"]
