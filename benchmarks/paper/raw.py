"""The rows of ``raw.csv`` and what every part of the report derives from them.

One row per (task, degree, training size, backbone, seed, arm): the columns the report needs, the
regret ratio of each run to the same run's two-stage arm, the per-cell means over seeds, and the split
of the cells into misspecified and well-specified ones.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

KEYS = ["task", "deg", "n_train", "backbone"]
METRICS = ["normalized_regret", "mse", "mean_relative_shift", "max_relative_shift", "min_cosine"]
#: Degrees at which the linear backbone is misspecified (the data are polynomials of this degree).
MISSPECIFIED_DEG = 4


def load_raw(path: Path | str) -> pd.DataFrame:
    """Read ``raw.csv`` and check it has the columns the report needs."""
    df = pd.read_csv(path)
    missing = [c for c in [*KEYS, "seed", "method", "epsilon", *METRICS] if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; regenerate it with python -m benchmarks.paper.run.")
    return df


def with_ratio(raw: pd.DataFrame) -> pd.DataFrame:
    """``raw`` plus ``ts_regret`` (the same run's two-stage regret) and ``regret_ratio`` (method / two-stage)."""
    base = raw[raw["method"] == "two_stage"][[*KEYS, "seed", "normalized_regret"]].rename(
        columns={"normalized_regret": "ts_regret"}
    )
    df = raw.merge(base, on=[*KEYS, "seed"], how="left")
    df["regret_ratio"] = df["normalized_regret"] / df["ts_regret"].where(df["ts_regret"] > 0)
    return df


def summarize(raw: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of every metric, plus the regret ratio to two-stage (per seed, then averaged)."""
    df = with_ratio(raw)
    cols = [c for c in [*METRICS, "regret_ratio", "seconds"] if c in df.columns]
    g = df.groupby([*KEYS, "method"], sort=False)[cols]
    out = g.mean().add_suffix("_mean").join(g.std(ddof=1).add_suffix("_std")).join(g.size().rename("n_seeds"))
    eps = df.groupby([*KEYS, "method"], sort=False)["epsilon"].mean().rename("epsilon_mean")
    return out.join(eps).reset_index()


def group_mask(df: pd.DataFrame, group: str) -> pd.Series:
    """Rows of the ``"misspecified"`` cells (degree ≥ :data:`MISSPECIFIED_DEG`) or of the ``"well-specified"`` ones."""
    mis = df["deg"] >= MISSPECIFIED_DEG
    return mis if group == "misspecified" else ~mis
