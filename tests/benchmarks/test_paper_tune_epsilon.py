"""The ε-rule study: each rule picks the ε its own score prefers, and the smoke run writes every score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.paper.tables import pick, rule_table
from benchmarks.paper.tune_epsilon import main


def _raw() -> pd.DataFrame:
    base = {"task": "shortest_path", "n_train": 100, "seed": 100}
    rows = []
    for deg in (1, 6):
        rows.append({**base, "deg": deg, "method": "two_stage", "test": 1.0})
        rows.append({**base, "deg": deg, "method": "dfl_backbone", "test": 0.8})
        # ε 0.1: best on the halves and in cross-validation; ε 0.5: best at its best epoch and on test
        for eps, test, halves, swapped, best, cv in ((0.1, 0.9, 0.2, 0.5, 0.4, 0.1), (0.5, 0.7, 0.3, 0.1, 0.3, 0.2)):
            rows.append({**base, "deg": deg, "method": "dff", "epsilon": eps, "test": test, "halves": halves,
                         "swapped": swapped, "best_epoch": best, "cv": cv})  # fmt: skip
    return pd.DataFrame(rows)


def test_each_rule_takes_the_epsilon_its_score_prefers() -> None:
    p = pick(_raw()).xs(6, level="deg").iloc[0]
    assert p["validation halves (the default)"] == 0.9  # halves: 0.2 < 0.3 -> ε 0.1
    assert p["both halves, each choosing the other's epoch"] == 0.7  # 0.7 vs 0.4 -> ε 0.5
    assert p["all validation rows at their best epoch"] == 0.7
    assert p["5-fold cross-validation of the whole fit"] == 0.9
    assert p["oracle: the test regret (not a usable rule)"] == 0.7
    assert p["fixed ε = 0.1"] == 0.9 and p["fixed ε = 0.5"] == 0.7
    table = rule_table(_raw())
    # the default rule: ratio 0.9 in both groups, never beats DFL's 0.8; the oracle beats it
    assert "| validation halves (the default) | 0.900 | 0% | 0.900 | 0.900 |" in table
    assert "| oracle: the test regret (not a usable rule) | 0.700 | 100% | 0.700 | 0.700 |" in table


def test_ties_go_to_the_smallest_epsilon() -> None:
    raw = _raw()
    raw.loc[raw["method"] == "dff", "halves"] = 0.25
    assert pick(raw).xs(6, level="deg").iloc[0]["validation halves (the default)"] == 0.9


def test_quick_study_writes_every_score(tmp_path) -> None:
    assert main(["--quick", "--jobs", "1", "--out", str(tmp_path)]) == 0
    raw = pd.read_csv(tmp_path / "tune_epsilon.csv")
    dff = raw[raw["method"] == "dff"]
    assert len(dff) == 2 * 6 and set(raw["method"]) == {"two_stage", "dfl_backbone", "dff"}
    cols = ["test", "halves", "swapped", "best_epoch", "cv"]
    assert np.isfinite(dff[cols].to_numpy()).all() and (dff[cols].to_numpy() >= -1e-12).all()


def test_reported_seeds_are_refused() -> None:
    with pytest.raises(SystemExit):
        main(["--seeds", "3", "--quick"])
