"""Paired comparisons of two arms across seeds (same data set and backbone for both arms).

Per cell and pooled over the runs of several cells: a 95% bootstrap interval of the mean regret
difference, the Wilcoxon signed-rank p-value, wins and the sign-test p-value (:mod:`dff_core.stats`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.paper.labels import method_order
from benchmarks.paper.raw import KEYS, group_mask
from dff_core.stats import paired_difference, sign_test_p


def _pairs(raw: pd.DataFrame, method: str, baseline: str, mask: pd.Series | None = None) -> pd.DataFrame:
    """Runs where both arms exist (same task, degree, size, backbone and seed): their normalized regrets."""
    sel = raw if mask is None else raw[mask]
    a = sel[sel["method"] == method].set_index([*KEYS, "seed"])["normalized_regret"]
    b = sel[sel["method"] == baseline].set_index([*KEYS, "seed"])["normalized_regret"]
    both = a.index.intersection(b.index)
    return pd.DataFrame({"method": a.loc[both], "baseline": b.loc[both]})


def pooled(raw: pd.DataFrame, method: str, baseline: str, mask: pd.Series | None = None) -> dict:
    """Paired comparison of two arms over every run selected by ``mask`` (independent runs: ordinary bootstrap).

    ``wins`` counts runs where ``method`` has lower regret; ``sign_p`` is the exact sign-test p-value of the
    win share, ``p_value`` the Wilcoxon signed-rank p-value of the regret differences, ``reduction`` the mean
    over runs of ``1 − method / baseline`` with its 95% bootstrap interval.
    """
    pr = _pairs(raw, method, baseline, mask)
    if len(pr) < 2:
        return {"runs": len(pr)}
    pc = paired_difference(pr["method"].to_numpy(), pr["baseline"].to_numpy(), time_ordered=False)
    ok = pr["baseline"] > 0
    ratio = (pr["method"][ok] / pr["baseline"][ok]).to_numpy()
    red = {}
    if len(ratio) >= 2:
        rc = paired_difference(1.0 - ratio, np.zeros_like(ratio), time_ordered=False)
        red = {"reduction": rc.mean_difference, "reduction_low": rc.ci_low, "reduction_high": rc.ci_high}
    return {
        "runs": pc.n,
        "mean_difference": pc.mean_difference,
        "ci_low": pc.ci_low,
        "ci_high": pc.ci_high,
        "p_value": pc.p_value,
        "verdict": pc.verdict,
        "wins": pc.wins,
        "losses": pc.losses,
        "ties": pc.ties,
        "win_share": pc.wins / pc.n,
        "sign_p": sign_test_p(pc.wins, pc.losses),
        **red,
    }


def paired_table(raw: pd.DataFrame) -> pd.DataFrame:
    """Per cell (task, degree, size, backbone) and arm: paired comparison with two-stage across seeds
    (and, for DFF, with DFL of the backbone's class from its weights)."""
    rows = []
    for key, grp in raw.groupby(KEYS, sort=True):
        methods = set(grp["method"])
        for m in method_order(list(methods)):
            for base in ("two_stage", "dfl_backbone"):
                if m == base or base not in methods or (base == "dfl_backbone" and m != "dff"):
                    continue
                res = pooled(grp, m, base)
                if res.get("runs", 0) >= 2:
                    rows.append({**dict(zip(KEYS, key, strict=True)), "method": m, "baseline": base, **res})
    return pd.DataFrame(rows)


def head_to_head(raw: pd.DataFrame) -> pd.DataFrame:
    """Per cell group (misspecified / well-specified), task and backbone, pooled over sizes ≥ 100 and seeds:
    DFF vs two-stage (reduction, p), DFF vs DFL of the backbone's class (from its weights, from scratch)."""
    rows = []
    big = raw["n_train"] >= 100
    for group in ("misspecified", "well-specified"):
        gm = group_mask(raw, group) & big
        for (task, bb), _ in raw[gm].groupby(["task", "backbone"], sort=True):
            m = gm & (raw["task"] == task) & (raw["backbone"] == bb)
            ts = pooled(raw, "dff", "two_stage", m)
            if ts.get("runs", 0) < 2:
                continue
            own = pooled(raw, "dff", "dfl_backbone", m)
            scratch = pooled(raw, "dff", "dfl_scratch", m)
            s = raw[m].groupby("method")[["mse", "mean_relative_shift"]].mean()
            rows.append(
                {
                    "group": group,
                    "task": task,
                    "backbone": bb,
                    "runs": ts["runs"],
                    "dff_reduction": ts.get("reduction", np.nan),
                    "dff_reduction_low": ts.get("reduction_low", np.nan),
                    "dff_reduction_high": ts.get("reduction_high", np.nan),
                    "dff_p": ts["p_value"],
                    "vs_dfl_backbone_wins": own.get("win_share", np.nan),
                    "vs_dfl_backbone_p": own.get("sign_p", np.nan),
                    "vs_dfl_scratch_wins": scratch.get("win_share", np.nan),
                    "dff_mse_ratio": s.at["dff", "mse"] / s.at["two_stage", "mse"],
                    "dff_shift": s.at["dff", "mean_relative_shift"],
                    "dfl_backbone_shift": s["mean_relative_shift"].get("dfl_backbone", np.nan),
                }
            )
    return pd.DataFrame(rows)
