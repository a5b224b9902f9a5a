"""Hand-made ``raw.csv`` rows for the paper report's tests."""

from __future__ import annotations

import numpy as np


def row(seed: int, method: str, nr: float, **kw) -> dict:
    """One run's row: a shortest-path cell (degree 6, n_train 1000, linear backbone unless given)."""
    return {
        "task": "shortest_path", "deg": kw.pop("deg", 6), "n_train": kw.pop("n_train", 1000),
        "backbone": kw.pop("backbone", "linear"), "seed": seed, "method": method, "epsilon": kw.pop("epsilon", np.nan),
        "normalized_regret": nr, "mse": 1.0, "mean_relative_shift": kw.pop("shift", 0.0),
        "max_relative_shift": kw.pop("max_shift", 0.0), "min_cosine": 0.99,
    }  # fmt: skip
