"""Smoke run of the paper-style harness (``--quick``) and checks of its report writer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks.paper import report
from benchmarks.paper.config import FULL, QUICK, TaskGrid, with_overrides
from benchmarks.paper.data import allocation, knapsack, portfolio_data, shortest_path
from benchmarks.paper.run import main
from tests.benchmarks.paper_rows import row


def test_generators_share_the_cost_map_and_shapes() -> None:
    t = shortest_path(deg=2, n_train=30, n_test=20, seed=3)
    assert t.X_train.shape == (30, 5) and t.C_test.shape == (20, t.problem.d) == (20, 40)
    # Same seed, different split sizes: the instances are the same stream (train first, test last).
    t2 = shortest_path(deg=2, n_train=10, n_test=40, seed=3)
    np.testing.assert_allclose(t2.C_train, t.C_train[:10])
    a = allocation(deg=4, n_train=25, n_test=5, seed=1)
    assert (a.C_train > 0).all() and a.problem.sense == "max" and a.problem.d == 20
    assert not np.allclose(a.C_train, allocation(deg=4, n_train=25, n_test=5, seed=2).C_train)
    cov, _, Rtr, Xte, _ = portfolio_data(deg=1, n_train=8, n_test=4, seed=0)
    assert cov.shape == (50, 50) and Rtr.shape == (8, 50) and Xte.shape == (4, 5)
    with pytest.raises(ValueError, match="deg"):
        allocation(deg=0, n_train=5, n_test=5, seed=0)


def test_quick_run_writes_consistent_outputs(tmp_path, monkeypatch) -> None:
    cfg = with_overrides(
        QUICK,
        grid={
            "shortest_path": TaskGrid(degs=(6,), n_trains=(100,), backbones=("linear", "random_forest")),
            "knapsack": TaskGrid(degs=(1,), n_trains=(40,), backbones=("mlp",)),
        },
        seeds=(0, 1),
        n_test=30,
        epsilons=(0.1, 0.5),
        epochs=2,
        hidden=(4,),
    )
    monkeypatch.setattr("benchmarks.paper.run.QUICK", cfg)
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n## Other section\n\nkept text\n", encoding="utf-8")
    assert main(["--quick", "--jobs", "1", "--out", str(tmp_path / "out"), "--results", str(results)]) == 0

    raw = pd.read_csv(tmp_path / "out" / "raw.csv")
    per_cell = raw.groupby(["task", "backbone", "seed"])["method"].apply(set)
    sweep = {"dff@0.1", "dff@0.5", "dff_unbounded"}
    own = {"dfl_backbone", "dfl_scratch"}
    for (task, bb, _), methods in per_cell.items():
        expected = {"two_stage", "dff"} | {"linear": sweep | own | {"dfl"}, "mlp": own, "random_forest": set()}[bb]
        assert methods == expected, (task, bb)
    assert raw["n_test"].eq(30).all() and set(raw["n_val"]) == {20, 8}
    # The trust region holds on every test instance of every DFF run; the unbounded arm is not held to it.
    dff = raw[raw["method"].str.startswith("dff") & (raw["method"] != "dff_unbounded")]
    assert (dff["max_relative_shift"] <= dff["epsilon"] + 1e-9).all()
    assert (dff["min_cosine"] >= np.sqrt(1 - dff["epsilon"] ** 2) - 1e-9).all()
    assert np.isinf(raw.loc[raw["method"] == "dff_unbounded", "epsilon"]).all()
    ts = raw[raw["method"] == "two_stage"]
    assert ts["mean_relative_shift"].eq(0).all() and np.allclose(ts["min_cosine"], 1.0)
    assert (raw["normalized_regret"] >= 0).all()
    # Every arm gets the same budget.
    trained = raw[raw["method"] != "two_stage"]
    assert (trained["epochs_run"] <= 2).all() and (trained["lr"] == cfg.lr).all()

    out = tmp_path / "out"
    table = (out / "table.md").read_text(encoding="utf-8")
    assert "Network flow" in table and "knapsack" in table and "DFF ε=0.5" in table and "misspecified" in table
    assert (out / "regret_vs_shift.png").stat().st_size > 1000
    paired = pd.read_csv(out / "paired.csv")
    assert {"p_value", "ci_low", "ci_high", "wins", "sign_p"} <= set(paired.columns)
    tg = pd.read_csv(out / "targets.csv")
    assert set(tg["verdict"]) <= {"met", "missed", "reference"}
    bound = tg[tg["target"].str.startswith("every DFF run")]
    assert len(bound) == 1 and bound["verdict"].item() == "met"
    text = results.read_text(encoding="utf-8")
    assert text.count(report.SECTION_TITLE) == 1 and "## Other section\n\nkept text" in text
    # The section is rebuilt in place (not appended twice) when regenerated.
    report.update_results(results, out)
    assert results.read_text(encoding="utf-8").count(report.SECTION_TITLE) == 1


def test_cross_fit_blocks_per_backbone_and_size() -> None:
    assert [FULL.folds("random_forest", n) for n in (50, 100, 200, 1000)] == [5, 5, 5, 20]
    assert FULL.folds("mlp", 100) == 0 and FULL.folds("linear", 100) == 0
    # config.json stores the per-size keys as strings; the lookup accepts both.
    cfg = with_overrides(FULL, cross_fit={"mlp": {"100": 3}})
    assert cfg.folds("mlp", 100) == 3 and cfg.folds("mlp", 1000) == 0


def test_full_grid_is_the_issue_grid() -> None:
    assert len(FULL.seeds) >= 10 and set(FULL.grid) == {"shortest_path", "knapsack", "allocation", "portfolio"}
    for g in FULL.grid.values():
        assert g.degs == (1, 2, 4, 6) and g.n_trains == (50, 100, 200, 1000)
    assert knapsack(deg=2, n_train=5, n_test=5, seed=0).problem.method == "dp"


def test_replace_section_keeps_other_sections() -> None:
    doc = "# R\n\n## A\n\na\n\n## Paper-style synthetic experiments\n\nold\n\n## B\n\nb\n"
    new = report.replace_section(doc, report.SECTION_TITLE, "new body")
    assert "old" not in new and "new body" in new and "## A\n\na" in new and "## B\n\nb" in new
    appended = report.replace_section("# R\n", report.SECTION_TITLE, "x")
    assert appended.endswith("## Paper-style synthetic experiments\n\nx\n")


def test_grid_flags_and_resume_keep_finished_cells(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    args = ["--quick", "--jobs", "1", "--out", str(out), "--tasks", "shortest_path", "--degs", "2", "--sizes", "30",
            "--seeds", "2", "--backbones", "linear", "--arms", "two_stage", "dff", "--epochs", "2"]  # fmt: skip
    assert main(args) == 0
    raw = pd.read_csv(out / "raw.csv")
    assert set(raw["method"]) == {"two_stage", "dff"} and set(raw["backbone"]) == {"linear"}
    assert set(raw["deg"]) == {2} and set(raw["n_train"]) == {30} and set(raw["seed"]) == {0, 1}
    # Every finished cell was appended as it finished; a resumed run keeps them and runs nothing again.
    assert len(pd.read_csv(out / "raw.partial.csv")) == len(raw)
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    said = capsys.readouterr().out
    assert "2 cells kept" in said and "0 to run" in said
    pd.testing.assert_frame_equal(pd.read_csv(out / "raw.csv"), raw)
    with pytest.raises(SystemExit):
        main([*args[:-2], "--arms", "nonsense"])


def test_merged_runs_keep_only_cells_with_every_seed(tmp_path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    rows_a = [row(s, m, 0.1) for s in range(3) for m in ("two_stage", "dff")]
    rows_b = [row(s, m, 0.1, deg=1) for s in range(3) for m in ("two_stage", "dff")]
    rows_b += [row(0, m, 0.1, deg=2) for m in ("two_stage", "dff")]  # a cell stopped after one seed
    pd.DataFrame(rows_a).to_csv(a / "raw.csv", index=False)
    pd.DataFrame(rows_b).to_csv(b / "raw.partial.csv", index=False)
    (a / "config.json").write_text('{"command": "python -m benchmarks.paper.run --out a", "arms": ["dff"]}')
    raw, notes = report.merge_runs([a, b], tmp_path / "out")
    assert sorted(raw["deg"].unique()) == [1, 6] and len(raw) == 12
    assert len(notes) == 1 and "shortest_path/2/1000/linear (1 of 3 seeds" in notes[0]
    cfg = json.loads((tmp_path / "out" / "config.json").read_text())
    assert [p["rows_from"] for p in cfg["parts"]] == ["raw.csv", "raw.partial.csv"]
    assert "--out a" in report._setup_text(cfg, raw) and "Not reported" in report._setup_text(cfg, raw)
    # a row two parts share is kept once when both give the same result (a deterministic arm: two-stage) ...
    raw, _ = report.merge_runs([a, a], tmp_path / "twice")
    assert len(raw) == 6
    # ... and refused when they differ: the merge would depend on the order of the parts
    c = tmp_path / "c"
    c.mkdir()
    pd.DataFrame([row(s, m, 0.2 if m == "dff" else 0.1) for s in range(3) for m in ("two_stage", "dff")]).to_csv(
        c / "raw.csv", index=False
    )
    with pytest.raises(ValueError, match="more than one part with different results"):
        report.merge_runs([a, c], tmp_path / "clash")


def test_new_runs_merge_onto_an_earlier_merge(tmp_path) -> None:
    """The published folder (an earlier merge) takes new parts: its parts and settings are carried
    over, and its note about an unfinished cell goes once a new part supplies that cell."""
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
    pd.DataFrame([row(s, m, 0.1) for s in range(3) for m in ("two_stage", "dff")]).to_csv(a / "raw.csv", index=False)
    rows_b = [row(0, m, 0.1, deg=2) for m in ("two_stage", "dff")]  # stopped after one seed
    rows_b += [row(s, m, 0.1, deg=1) for s in range(3) for m in ("two_stage", "dff")]
    pd.DataFrame(rows_b).to_csv(b / "raw.partial.csv", index=False)
    (a / "config.json").write_text(
        '{"command": "python -m benchmarks.paper.run --out a", "seeds": [0, 1, 2], "git_commit": "aaaaaaaaaaaa"}'
    )
    (b / "config.json").write_text('{"command": "python -m benchmarks.paper.run --out b", "seeds": [0, 1, 2]}')
    report.merge_runs([a, b], tmp_path / "published")
    pd.DataFrame([row(s, m, 0.1, deg=2) for s in range(3) for m in ("two_stage", "dff")]).to_csv(
        c / "raw.csv", index=False
    )
    (c / "config.json").write_text(
        '{"command": "python -m benchmarks.paper.run --out c", "seeds": [0, 1, 2], "git_commit": "cccccccccccc9"}'
    )
    raw, notes = report.merge_runs([tmp_path / "published", c], tmp_path / "published")
    assert sorted(raw["deg"].unique()) == [1, 2, 6] and len(raw) == 18 and notes == []
    cfg = json.loads((tmp_path / "published" / "config.json").read_text())
    assert [p["command"].split()[-1] for p in cfg["parts"]] == ["a", "b", "c"]
    assert cfg["seeds"] == [0, 1, 2] and cfg["left_out"] == []
    assert "--out c` (0 min wall, arms , commit `cccccccccccc`)" in report._setup_text(cfg, raw)  # parts' own commits
    # a rerun of a published cell replaces its rows, and says so
    pd.DataFrame([row(s, m, 0.3, deg=1) for s in range(3) for m in ("two_stage", "dff")]).to_csv(
        c / "raw.csv", index=False
    )
    raw, _ = report.merge_runs([tmp_path / "published", c], tmp_path / "again")
    assert len(raw) == 18 and set(raw.loc[raw["deg"] == 1, "normalized_regret"]) == {0.3}
    cfg = json.loads((tmp_path / "again" / "config.json").read_text())
    assert cfg["replaced"] == [
        "shortest_path/1/1000/linear (dff, two_stage) from a later run replaces the earlier rows (same seeds)"
    ]
    assert "Rerun: shortest_path/1/1000/linear (dff, two_stage)" in report._setup_text(cfg, raw)
    # a run that adds an arm to published cells keeps the arms it does not rerun
    rows_c = [row(s, "two_stage", 0.3, deg=1) for s in range(3)] + [row(s, "dff_single", 0.2, deg=1) for s in range(3)]
    pd.DataFrame(rows_c).to_csv(c / "raw.csv", index=False)
    raw, _ = report.merge_runs([tmp_path / "again", c], tmp_path / "added")
    deg1 = raw[raw["deg"] == 1].groupby("method")["normalized_regret"].agg(set)
    assert deg1.to_dict() == {"dff": {0.3}, "dff_single": {0.2}, "two_stage": {0.3}} and len(raw) == 21
    # the two-stage rows came back unchanged (a deterministic fit), so no new rerun is reported
    assert json.loads((tmp_path / "added" / "config.json").read_text())["replaced"] == cfg["replaced"]


def test_estimate_counts_every_fit_of_the_grid() -> None:
    """The CPU-time bound is (fits per cell) x epochs x n_train x the probe's per-instance-epoch cost, summed
    over cells; the fits per cell follow the arms (DFF auto = one fit per ε plus the refit, then the further
    members; each DFL arm one fit per member; the sweep arms ``sweep_members`` each)."""
    from benchmarks.paper.run import estimate
    from dff_core.selection import EPSILON_GRID

    cfg = with_overrides(
        QUICK,
        grid={"shortest_path": TaskGrid(degs=(1, 6), n_trains=(20, 30), backbones=("linear", "random_forest"))},
        seeds=(0, 1, 2),
        epsilons=(0.1, 0.5),
        epochs=7,
        hidden=(4,),
        members=3,
        arms=("two_stage", "dff", "dff_eps", "dff_unbounded", "dfl_backbone", "dff_single"),
    )
    logged: list[str] = []
    out = estimate(cfg, probe_n=40, probe_epochs=1, log=logged.append)
    per = out["seconds_per_instance_epoch"]["shortest_path"]
    assert per > 0 and out["cells"] == 2 * 2 * 3
    auto = len(EPSILON_GRID) + 1
    # DFF auto with 3 members, one DFF fit (auto), two fixed ε, the unbounded arm, DFL from the backbone x 3
    linear = (auto + 2) + auto + 2 + 1 + 3
    forest = (auto + 2) + auto  # no sweep and no differentiable class of its own
    expected = (linear + forest) * 7 * (20 + 30) * 2 * 3 * per
    assert out["cpu_seconds_upper_bound"] == pytest.approx(expected, rel=1e-12)
    assert json.loads(logged[0])["cells"] == 12


def test_compared_arms_average_members_and_the_single_fit_arms_do_not(monkeypatch) -> None:
    """``dff`` and the DFL arms average ``members`` fits alike, ``dff_single`` / ``dfl_backbone_single`` are one
    fit, the sweep arms ``sweep_members``; the mean keeps DFF's trust region."""
    from benchmarks.paper.run import run_cell
    from dff_core.baselines import DFL
    from dff_core.dff import DFF

    fitted: list[tuple[str, object, int]] = []
    for cls in (DFF, DFL):
        fit = cls.fit

        def record(self, *a, _fit=fit, **k):  # type: ignore[no-untyped-def]
            out = _fit(self, *a, **k)  # every fit: an ensemble's members and selection candidates too
            fitted.append((type(self).__name__, getattr(self, "epsilon", None), self.n_members_))
            return out

        monkeypatch.setattr(cls, "fit", record)
    cfg = with_overrides(
        QUICK,
        grid={"shortest_path": TaskGrid(degs=(6,), n_trains=(40,), backbones=("linear",))},
        n_test=20,
        epochs=2,
        hidden=(4,),
        members=3,
        epsilons=(0.15,),  # not in EPSILON_GRID, so no selection candidate has it
        arms=("two_stage", "dff", "dff_single", "dfl_backbone", "dfl_backbone_single", "dff_eps"),
    )
    cell = {"task": "shortest_path", "deg": 6, "n_train": 40, "seed": 0, "backbones": ("linear",)}
    rows = pd.DataFrame(run_cell(cell, cfg)).set_index("method")
    assert set(rows.index) == {"two_stage", "dff", "dff_single", "dfl_backbone", "dfl_backbone_single", "dff@0.15"}
    assert fitted.count(("DFF", "auto", 3)) == 1 and fitted.count(("DFL", None, 3)) == 1
    assert fitted.count(("DFF", 0.15, 1)) == 1  # the sweep arm: one fit
    assert fitted.count(("DFL", None, 1)) == 3 + 1  # the ensemble's three members and dfl_backbone_single
    # the first member is the single fit itself, so they chose the same ε
    assert rows.loc["dff", "epsilon"] == rows.loc["dff_single", "epsilon"]
    assert rows.loc["dff", "max_relative_shift"] <= rows.loc["dff", "epsilon"] + 1e-9


def test_a_part_whose_rows_were_all_replaced_leaves_the_list(tmp_path) -> None:
    """An earlier part none of whose cells keeps a row is dropped from the parts (and said so); a part with
    some cells left stays."""
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()

    def grid(degs: list[int]) -> str:
        return json.dumps({"shortest_path": {"degs": degs, "n_trains": [1000], "backbones": ["linear"]}})

    pd.DataFrame([row(s, m, 0.1, deg=d) for d in (1, 2) for s in range(2) for m in ("two_stage", "dff")]).to_csv(
        a / "raw.csv", index=False
    )
    (a / "config.json").write_text(f'{{"command": "run --out a", "grid": {grid([1, 2])}}}')
    pd.DataFrame([row(s, m, 0.1, deg=6) for s in range(2) for m in ("two_stage", "dff")]).to_csv(
        b / "raw.csv", index=False
    )
    (b / "config.json").write_text(f'{{"command": "run --out b", "grid": {grid([6])}}}')
    report.merge_runs([a, b], tmp_path / "published")
    pd.DataFrame([row(s, m, 0.2, deg=d) for d in (2, 6) for s in range(2) for m in ("two_stage", "dff")]).to_csv(
        c / "raw.csv", index=False
    )
    (c / "config.json").write_text(f'{{"command": "run --out c", "grid": {grid([2, 6])}}}')
    raw, _ = report.merge_runs([tmp_path / "published", c], tmp_path / "new")
    cfg = json.loads((tmp_path / "new" / "config.json").read_text())
    assert [p["command"] for p in cfg["parts"]] == ["run --out a", "run --out c"]  # b's only cell was rerun
    assert "every row of `run --out b` was replaced by later runs" in cfg["replaced"]
    assert len(raw) == 12 and set(raw.loc[raw["deg"] == 1, "normalized_regret"]) == {0.1}


def test_setup_text_names_a_part_whose_cross_fitting_differs() -> None:
    raw = pd.DataFrame([row(s, "dff", 0.1) for s in range(2)])
    cfg = {
        "cross_fit": {"random_forest": 5},
        "parts": [
            {"command": "run --out runs/a --tasks x", "cross_fit": {"random_forest": 5}},
            {"command": "run --out runs/b --tasks y", "cross_fit": {"random_forest": {"100": 5, "1000": 20}}},
            {"command": "run --out runs/c"},  # an older part that did not record it
        ],
    }
    text = report._setup_text(cfg, raw)
    assert "random forest forward-chained out-of-sample (5 blocks) (scheme forward); in-sample otherwise" in text
    assert (
        "in the run `runs/b`: random forest forward-chained out-of-sample (5 blocks at n = 100, 20 blocks at n = "
        in text
    )
    assert "runs/a`:" not in text and "runs/c`:" not in text


def test_merge_renames_the_earlier_arms_all_at_once(tmp_path) -> None:
    """``rename`` swaps arm names of the published rows in one step (``dff`` → ``dff_single`` and ``dff_ens`` →
    ``dff`` together), renames the parts' arms too, and the setup text says so."""
    a = tmp_path / "a"
    a.mkdir()
    pd.DataFrame(
        [
            row(s, m, {"two_stage": 0.3, "dff": 0.2, "dff_ens": 0.1}[m])
            for s in range(3)
            for m in ("two_stage", "dff", "dff_ens")
        ]
    ).to_csv(a / "raw.csv", index=False)
    (a / "config.json").write_text(
        '{"command": "python -m benchmarks.paper.run --out a", "arms": ["two_stage", "dff", "dff_ens"]}'
    )
    report.merge_runs([a], tmp_path / "published")
    raw, _ = report.merge_runs([tmp_path / "published"], tmp_path / "renamed", {"dff": "dff_single", "dff_ens": "dff"})
    assert raw.groupby("method")["normalized_regret"].agg(set).to_dict() == {
        "dff": {0.1},
        "dff_single": {0.2},
        "two_stage": {0.3},
    }
    cfg = json.loads((tmp_path / "renamed" / "config.json").read_text())
    assert cfg["parts"][0]["arms"] == ["two_stage", "dff_single", "dff"]
    assert cfg["renamed"] == ["dff → dff_single", "dff_ens → dff"]
    assert "Arms renamed after they ran" in report._setup_text(cfg, raw) and "dff_ens → dff" in report._setup_text(
        cfg, raw
    )
    # a later merge keeps the record without renaming again
    raw2, _ = report.merge_runs([tmp_path / "renamed"], tmp_path / "again")
    assert json.loads((tmp_path / "again" / "config.json").read_text())["renamed"] == cfg["renamed"]
    assert raw2.equals(raw)
