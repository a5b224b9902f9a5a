"""The comparison summary as text: rows per method, the shared budget and the verdict."""

from __future__ import annotations

import json
from pathlib import Path

from dff_core.summary_text import summary_table


def _summary() -> dict:
    return {
        "unit": "minutes",
        "n_test": 40,
        "methods": {
            "two_stage": {"regret_mean": 1.5, "normalized_regret": 0.02, "mse": 0.3, "mae": 0.4},
            "dff": {"regret_mean": 1.25, "normalized_regret": 0.015, "mse": 0.31, "max_relative_shift": 0.2},
        },
        "training_budget": {
            "methods": ["dff"], "epochs": 30, "lr": 0.001, "lr_grid": [], "patience": 10, "batch_size": 32,
        },
        "verdict": {"dff_vs_two_stage": {"sentence": "DFF lowers regret by 0.25 minutes per decision."}},
    }  # fmt: skip


def test_one_row_per_method_with_missing_values_as_dashes():
    lines = summary_table(_summary()).splitlines()
    assert "(minutes, test n=40)" in lines[0]
    assert lines[1].split()[:2] == ["two_stage", "1.5"] and lines[1].split()[-1] == "-"  # no shift for two-stage
    assert lines[2].split()[:2] == ["dff", "1.25"] and lines[2].split()[-1] == "0.2"


def test_budget_and_verdict_in_plain_words():
    text = summary_table(_summary())
    assert "Training budget of every trained method (dff): up to 30 epochs, lr 0.001, patience 10, batch 32" in text
    assert text.splitlines()[-1] == "Verdict: DFF lowers regret by 0.25 minutes per decision."


def test_a_saved_runs_summary_prints(tmp_path: Path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(_summary()))
    assert summary_table(json.loads(path.read_text())) == summary_table(_summary())
