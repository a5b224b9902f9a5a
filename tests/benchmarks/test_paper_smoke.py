"""Smoke run of the paper-style harness (``--quick``) and checks of its report writer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.paper import report
from benchmarks.paper.config import FULL, QUICK, TaskGrid, with_overrides
from benchmarks.paper.data import allocation, portfolio_data, shortest_path
from benchmarks.paper.run import main


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
            "shortest_path": TaskGrid(degs=(6,), n_trains=(40,), backbones=("linear", "random_forest")),
            "allocation": TaskGrid(degs=(4,), n_trains=(40,), backbones=("linear",)),
        },
    )
    monkeypatch.setattr("benchmarks.paper.run.QUICK", cfg)
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n## Other section\n\nkept text\n", encoding="utf-8")
    assert main(["--quick", "--jobs", "1", "--out", str(tmp_path / "out"), "--results", str(results)]) == 0

    raw = pd.read_csv(tmp_path / "out" / "raw.csv")
    eps = sorted(cfg.epsilons)
    expected = {"two_stage", "dfl", "dff@val", *(f"dff@{e:g}" for e in eps)}
    per_cell = raw.groupby(["task", "deg", "n_train", "backbone", "seed"])["method"].apply(set)
    assert len(per_cell) == 2 * len(cfg.seeds) + len(cfg.seeds)
    assert all(s == expected for s in per_cell)
    assert raw["n_test"].eq(cfg.n_test).all() and raw["n_val"].eq(8).all()
    # The trust region holds on every test instance; the two-stage row is the backbone itself.
    dff = raw[raw["method"].str.startswith("dff@")]
    assert (dff["max_relative_shift"] <= dff["epsilon"] + 1e-9).all()
    assert (dff["min_cosine"] >= np.sqrt(1 - dff["epsilon"] ** 2) - 1e-9).all()
    ts = raw[raw["method"] == "two_stage"]
    assert ts["mean_relative_shift"].eq(0).all() and np.allclose(ts["min_cosine"], 1.0)
    assert (raw["normalized_regret"] >= 0).all()
    # dff@val is one of the per-ε rows: the one with the lowest validation regret.
    for _, g in raw.groupby(["task", "deg", "n_train", "backbone", "seed"]):
        chosen = g[g["method"] == "dff@val"].iloc[0]
        per_eps = g[g["method"].isin([f"dff@{e:g}" for e in eps])]
        assert chosen["val_normalized_regret"] == pytest.approx(per_eps["val_normalized_regret"].min())

    table = (tmp_path / "out" / "table.md").read_text(encoding="utf-8")
    assert "Network flow" in table and "Resource allocation" in table and "DFF ε=0.5" in table
    tg = pd.read_csv(tmp_path / "out" / "targets.csv")
    assert set(tg["verdict"]) <= {"match", "beat", "miss", "n/a"}
    bound_rows = tg[tg["target"].str.startswith("every DFF run")]
    assert len(bound_rows) == 2 and set(bound_rows["verdict"]) <= {"match", "beat"}
    text = results.read_text(encoding="utf-8")
    assert text.count(report.SECTION_TITLE) == 1 and "## Other section\n\nkept text" in text
    # The section is rebuilt in place (not appended twice) when regenerated.
    report.update_results(results, tmp_path / "out")
    assert results.read_text(encoding="utf-8").count(report.SECTION_TITLE) == 1


def test_targets_verdicts_follow_the_numbers() -> None:
    rows = []
    for seed in range(2):
        for method, nr, eps, shift in (
            ("two_stage", 0.10, np.nan, 0.0),
            ("dfl", 0.05, np.nan, 0.40),
            ("dff@0.5", 0.06, 0.5, 0.20),
            ("dff@val", 0.06, 0.5, 0.20),
        ):
            rows.append(
                {
                    "task": "shortest_path",
                    "deg": 6,
                    "n_train": 1000,
                    "backbone": "linear",
                    "seed": seed,
                    "method": method,
                    "epsilon": eps,
                    "normalized_regret": nr,
                    "mse": 1.0,
                    "mean_relative_shift": shift,
                    "max_relative_shift": 0.5 if method.startswith("dff") else 2.0,
                    "min_cosine": 0.9,
                }
            )
    tg = report.targets(pd.DataFrame(rows)).set_index("target")
    lin = tg.loc["grid deg 6, n=1000, linear: DFF (ε by val.) regret / two-stage"]
    assert lin["measured"] == pytest.approx(0.6) and lin["verdict"] == "beat"
    assert tg.loc["every DFF run: max relative shift − ε (≤ 0)", "verdict"] == "match"
    assert tg.loc["every DFF run: min cosine − √(1−ε²) (≥ 0)", "verdict"] == "beat"
    assert tg.loc["DFL mean shift > DFF mean shift (share of cells)", "measured"] == 1.0
    red = tg.loc["average decision-loss reduction of DFF (ε by val.) vs two-stage (paper ≈ 18.7%)"]
    assert red["measured"] == pytest.approx(0.4) and red["verdict"] == "beat"


def test_cross_fit_folds_per_backbone_and_size() -> None:
    assert FULL.folds("random_forest", 100) == FULL.folds("random_forest", 1000) == 5
    assert FULL.folds("mlp", 100) == 2 and FULL.folds("mlp", 1000) == 0 and FULL.folds("linear", 100) == 0
    # config.json stores the per-size keys as strings; the lookup accepts both.
    cfg = with_overrides(FULL, cross_fit={"mlp": {"100": 3}})
    assert cfg.folds("mlp", 100) == 3 and cfg.folds("mlp", 1000) == 0


def test_replace_section_keeps_other_sections() -> None:
    doc = "# R\n\n## A\n\na\n\n## Paper-style synthetic experiments\n\nold\n\n## B\n\nb\n"
    new = report.replace_section(doc, report.SECTION_TITLE, "new body")
    assert "old" not in new and "new body" in new and "## A\n\na" in new and "## B\n\nb" in new
    appended = report.replace_section("# R\n", report.SECTION_TITLE, "x")
    assert appended.endswith("## Paper-style synthetic experiments\n\nx\n")
