"""The tuning script's options: studies run on tuning seeds only, restricted as asked."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.paper import tune


def test_cross_fit_study_takes_its_grid_from_the_options(tmp_path, monkeypatch) -> None:
    seen: dict = {}

    def fake(**kw):
        seen.update(kw)
        return pd.DataFrame(
            {"seed": [100], "n_train": [1000], "backbone": ["random_forest"], "scheme": ["forward"], "blocks": [20],
             "rows_used": [950], "epsilon": [0.9], "held_ratio": [0.7]}
        )  # fmt: skip

    monkeypatch.setattr(tune, "tune_cross_fit", fake)
    argv = ["--part", "cross_fit", "--seeds", "100", "101", "--backbones", "random_forest", "--sizes", "1000"]
    assert tune.main([*argv, "--epsilons", "0.9", "--out", str(tmp_path)]) == 0
    assert seen == {"seeds": (100, 101), "backbones": ("random_forest",), "n_trains": (1000,), "epsilons": (0.9,)}
    assert pd.read_csv(tmp_path / "tune_cross_fit.csv")["held_ratio"].tolist() == [0.7]


def test_reported_seeds_are_refused() -> None:
    with pytest.raises(SystemExit) as err:
        tune.main(["--part", "cross_fit", "--seeds", "5", "100"])
    assert err.value.code == 2
