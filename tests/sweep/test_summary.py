"""Summary across seeds and the Pareto front of DFF regret against prediction shift."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dff_core.sweep import pareto_front, summarize


def test_summary_and_pareto_front():
    runs = pd.DataFrame(
        {
            "epsilon": [0.1, 0.1, 0.2, 0.2, 0.4, 0.4],
            "seed": [0, 1, 0, 1, 0, 1],
            "backbone": "ridge",
            "loss": "spo+",
            "regret_dff": [5.0, 7.0, 4.0, 4.0, 4.5, 5.5],
            "mean_relative_shift": [0.01, 0.03, 0.05, 0.07, 0.2, 0.2],
            "run_id": list("abcdef"),
        }
    )
    s = summarize(runs)
    assert list(s["epsilon"]) == [0.1, 0.2, 0.4] and list(s["n_seeds"]) == [2, 2, 2]
    np.testing.assert_allclose(s["regret_dff_mean"], [6.0, 4.0, 5.0])
    np.testing.assert_allclose(s["regret_dff_std"], [np.sqrt(2), 0.0, np.sqrt(0.5)])
    front = pareto_front(s)
    # ε=0.4 is dominated by ε=0.2 (more shift, more regret); ε=0.1 shifts least.
    assert list(front["epsilon"]) == [0.1, 0.2]
