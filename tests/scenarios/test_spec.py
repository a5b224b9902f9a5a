"""The one scenario spec: validation, the command-line flags generated from it, and the factory."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from dff_core import cli
from dff_core.scenarios.spec import DATA_FIELDS, ScenarioSpec, absolute, build, spec_fields


def test_build_from_only_the_options_a_caller_sets(csv_files: dict[str, Path]) -> None:
    """Sweeps, the CLI and the dashboard build through one factory with only the options they set."""
    spec = ScenarioSpec(readings=str(csv_files["long"]), sensors=str(csv_files["sensors"]), n_pairs=2)
    sc = build(spec)
    assert sc.kind == "traffic" and len(sc.extra["pairs"]) == 2 and sc.options["every"] == "15min"  # 15-min data
    assert sc.options["horizon"] == "30min" and sc.options["auto"] == ["horizon", "every"]
    spec = ScenarioSpec(kind="allocation", readings=str(csv_files["long"]), sensors=str(csv_files["sensors"]))
    assert build(spec).kind == "allocation"


def test_built_scenario_keeps_its_spec_with_absolute_paths(
    csv_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(csv_files["long"].parent)
    spec = ScenarioSpec(readings=csv_files["long"].name, sensors=csv_files["sensors"].name, n_pairs=2)
    sc = build(spec)
    assert sc.spec is not None and Path(sc.spec["readings"]).is_absolute()
    again = build(ScenarioSpec.model_validate(sc.spec))
    assert (again.C == sc.C).all() and again.extra["pairs"] == sc.extra["pairs"]


def test_strings_from_the_command_line_parse_like_lists_from_a_config() -> None:
    a = ScenarioSpec(pairs="S1:S9,S2:S8", split="5D,1D,1D", every="none")
    b = ScenarioSpec(pairs=[["S1", "S9"], ["S2", "S8"]], split=["5D", "1D", "1D"], every=None)
    assert a == b and a.pairs == [("S1", "S9"), ("S2", "S8")] and a.every is None
    assert ScenarioSpec(split="0.5,0.25,0.25").split == (0.5, 0.25, 0.25)


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"pairs": "S1-S9"}, "ORIGIN:DESTINATION"),
        ({"split": "0.6,0.4"}, "three parts"),
        ({"horizon": "soon"}, "duration"),
        ({"budget": 0}, "greater than 0"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_bad_options_are_refused_with_the_reason(kw: dict, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        ScenarioSpec(**kw)


def test_every_spec_field_is_a_compare_flag_and_maps_back() -> None:
    parser = cli.build_parser()
    compare = next(a for a in parser._subparsers._actions if isinstance(a, argparse._SubParsersAction))
    flags = {opt for act in compare.choices["compare"]._actions for opt in act.option_strings}
    for name, _ in spec_fields():
        assert cli.flag_of(name) in flags, name
    args = parser.parse_args(["compare", "--sample", "--scenario", "allocation", "--budget", "3", "--out", "x"])
    spec = cli.spec_from_args(args)
    assert spec == ScenarioSpec(kind="allocation", sample=True, budget=3)


def test_cli_names_the_flag_of_a_bad_value() -> None:
    args = cli.build_parser().parse_args(["compare", "--sample", "--pairs", "A-B", "--out", "x"])
    with pytest.raises(ValueError, match=r"--pairs: .*ORIGIN:DESTINATION"):
        cli.spec_from_args(args)


def test_validate_takes_only_data_flags() -> None:
    args = cli.build_parser().parse_args(["validate", "r.csv", "--value", "count"])
    assert not hasattr(args, "budget") and args.value == "count"
    assert set(DATA_FIELDS) >= {"sensors", "links", "value", "start", "freq"}


def test_missing_files_are_listed_and_absolute_refuses_them(tmp_path: Path) -> None:
    spec = ScenarioSpec(readings="gone.csv", sensors="also-gone.csv", base_dir=str(tmp_path))
    problems = spec.problems()
    assert len(problems) == 2 and "scenario.readings" in problems[0] and "gone.csv" in problems[0]
    with pytest.raises(FileNotFoundError, match=r"gone\.csv"):
        absolute(spec)


def test_items_and_readings_together_are_refused(csv_files: dict[str, Path]) -> None:
    spec = ScenarioSpec(kind="allocation", readings=str(csv_files["long"]), items="sample")
    assert any("either items or readings" in p for p in spec.problems())
    with pytest.raises(ValueError, match="either --items or readings"):
        build(spec)
