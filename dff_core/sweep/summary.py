"""Tables derived from a sweep's runs: mean/std across seeds (``summary.csv``) and the Pareto front
of DFF regret against its prediction shift (``pareto.csv``)."""

from __future__ import annotations

import math

import pandas as pd

from dff_core.sweep.keys import GRID_KEYS

#: Grid dimensions that define a group of seeds in ``summary.csv``.
GROUP_KEYS = ("epsilon", "backbone", "loss", "horizon")


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """Numeric result columns of a runs table (everything except grid values and ``run_id``)."""
    return [
        c
        for c in runs.columns
        if c not in GRID_KEYS and c != "run_id" and pd.api.types.is_numeric_dtype(runs[c]) and c != "index"
    ]


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation across seeds per (ε, backbone, loss[, horizon]).

    Columns: the group keys, ``n_seeds``, then ``<metric>_mean`` and ``<metric>_std`` for every
    result column (std is NaN with a single seed).
    """
    if runs.empty:
        return pd.DataFrame()
    keys = [k for k in GROUP_KEYS if k in runs.columns]
    cols = metric_columns(runs)
    g = runs.groupby(keys, sort=False, dropna=False)
    mean = g[cols].mean().add_suffix("_mean")
    std = g[cols].std(ddof=1).add_suffix("_std")
    out = pd.concat([g.size().rename("n_seeds"), mean, std], axis=1)
    ordered = ["n_seeds"] + [f"{c}_{s}" for c in cols for s in ("mean", "std")]
    return out[ordered].reset_index()


def pareto_front(table: pd.DataFrame, x: str = "mean_relative_shift_mean", y: str = "regret_dff_mean") -> pd.DataFrame:
    """Rows of ``table`` not dominated in (lower ``x``, lower ``y``), sorted by ``x``.

    By default: DFF's mean regret against its mean prediction shift from the backbone, i.e. the
    settings where a lower regret cannot be had without moving predictions further.
    """
    if table.empty or x not in table.columns or y not in table.columns:
        return pd.DataFrame(columns=list(table.columns))
    t = table.dropna(subset=[x, y]).sort_values([x, y], kind="mergesort")
    keep, best = [], math.inf
    for idx, yy in zip(t.index, t[y]):
        if yy < best:
            keep.append(idx)
            best = yy
    return t.loc[keep].reset_index(drop=True)
