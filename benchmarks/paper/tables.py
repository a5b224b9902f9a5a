"""Markdown tables of the report: per-task metrics, ratios and shifts, targets, head to head, and the tuning studies."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from benchmarks.paper.labels import (
    BACKBONE_LABELS,
    GROUP_LABELS,
    TASK_LABELS,
    fmt_mean_std,
    fmt_p,
    fmt_sci,
    method_label,
    method_order,
)
from benchmarks.paper.paired import paired_table
from benchmarks.paper.raw import KEYS, group_mask, summarize


def _cell_grid(sub: pd.DataFrame, methods: list[str], cell: Callable[[pd.DataFrame, str, tuple], str]) -> str:
    """Markdown table with one row per (degree, n_train, backbone) of ``sub`` and one column per arm of
    ``methods``: ``cell(rows, arm, (deg, n_train, backbone))`` writes an entry (``rows``: that cell's rows
    indexed by arm), a dash where the arm did not run."""
    lines = [
        "| deg | n_train | backbone | " + " | ".join(method_label(m) for m in methods) + " |",
        "|---|---|---|" + "---|" * len(methods),
    ]
    for (deg, n, bb), grp in sub.groupby(["deg", "n_train", "backbone"], sort=True):
        row = grp.set_index("method")
        cells = [cell(row, m, (deg, n, bb)) if m in row.index else "–" for m in methods]
        lines.append(f"| {deg} | {n} | {BACKBONE_LABELS.get(bb, bb)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def metric_table(summary: pd.DataFrame, task: str, metric: str, digits: int = 4, group: str | None = None) -> str:
    """Markdown table for one task: rows = (degree, n_train, backbone), columns = arms, cells mean ± std."""
    sub = summary[summary["task"] == task]
    if group is not None:
        sub = sub[group_mask(sub, group)]
    if sub.empty:
        return ""

    def cell(row: pd.DataFrame, m: str, _: tuple) -> str:
        return fmt_mean_std(row.at[m, f"{metric}_mean"], row.at[m, f"{metric}_std"], digits)

    return _cell_grid(sub, method_order(sub["method"].tolist()), cell)


def ratio_table(raw: pd.DataFrame, task: str, group: str) -> str:
    """Markdown: per cell, each arm's regret / two-stage (mean over seeds) with the paired p-value vs two-stage."""
    sub = raw[(raw["task"] == task) & group_mask(raw, group)]
    if sub.empty:
        return ""
    pt = paired_table(sub)
    pt = pt[pt["baseline"] == "two_stage"].set_index([*KEYS, "method"]) if len(pt) else pt

    def cell(row: pd.DataFrame, m: str, key: tuple) -> str:
        p = pt["p_value"].get((task, *key, m), float("nan")) if len(pt) else float("nan")
        return f"{row.at[m, 'regret_ratio_mean']:.3f} (p {fmt_p(p)})"

    methods = [m for m in method_order(sub["method"].tolist()) if m != "two_stage"]
    return _cell_grid(summarize(sub), methods, cell)


def shift_table(summary: pd.DataFrame, task: str) -> str:
    """Markdown table of prediction shift vs the backbone: mean relative shift / max relative shift / min cosine."""
    sub = summary[(summary["task"] == task) & (summary["method"] != "two_stage")]
    if sub.empty:
        return ""

    def cell(row: pd.DataFrame, m: str, _: tuple) -> str:
        return (
            f"{fmt_sci(row.at[m, 'mean_relative_shift_mean'])} / {fmt_sci(row.at[m, 'max_relative_shift_mean'])}"
            f" / {row.at[m, 'min_cosine_mean']:.4f}"
        )

    return _cell_grid(sub, method_order(sub["method"].tolist()), cell)


def head_to_head_table(h: pd.DataFrame) -> str:
    if h.empty:
        return "(no cells with n_train ≥ 100)"
    lines = [
        "| cells | task | backbone | runs | DFF regret reduction vs two-stage [95% CI] | p | "
        "DFF beats DFL from backbone (share, sign-test p) | DFF beats DFL from scratch | DFF MSE / two-stage | "
        "mean shift: DFF / DFL from backbone |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in h.iterrows():
        task = TASK_LABELS.get(r["task"], r["task"]).split(" (")[0]
        own = "–" if np.isnan(r["vs_dfl_backbone_wins"]) else (
            f"{r['vs_dfl_backbone_wins']:.0%} (p {fmt_p(r['vs_dfl_backbone_p'])})"
        )  # fmt: skip
        scratch = "–" if np.isnan(r["vs_dfl_scratch_wins"]) else f"{r['vs_dfl_scratch_wins']:.0%}"
        lines.append(
            f"| {r['group']} | {task} | {BACKBONE_LABELS.get(r['backbone'], r['backbone'])} | {int(r['runs'])} | "
            f"{r['dff_reduction']:.1%} [{r['dff_reduction_low']:.1%}, {r['dff_reduction_high']:.1%}] | "
            f"{fmt_p(r['dff_p'])} | {own} | {scratch} | {r['dff_mse_ratio']:.3f} | "
            f"{fmt_sci(r['dff_shift'])} / {fmt_sci(r['dfl_backbone_shift'])} |"
        )
    return "\n".join(lines)


def targets_table(tg: pd.DataFrame) -> str:
    lines = ["| target | measured | threshold | verdict | detail |", "|---|---|---|---|---|"]
    for _, r in tg.iterrows():
        lines.append(
            f"| {r['target']} | {r['measured']:.4g} | {r['threshold']:.4g} | **{r['verdict']}** | {r['detail']} |"
        )
    return "\n".join(lines)


def tables_markdown(raw: pd.DataFrame) -> str:
    """Per task: regret / two-stage with paired p-values (misspecified and well-specified cells separately),
    normalized regret, MSE and prediction shift."""
    summary = summarize(raw)
    parts: list[str] = []
    for task in [t for t in TASK_LABELS if t in set(summary["task"])]:
        parts.append(f"### {TASK_LABELS[task]}")
        for group in ("misspecified", "well-specified"):
            tab = ratio_table(raw, task, group)
            if tab:
                parts.append(
                    f"\nTest regret / two-stage, {GROUP_LABELS[group]}: mean over seeds of the per-seed ratio, with "
                    "the paired Wilcoxon p-value vs two-stage across seeds:\n"
                )
                parts.append(tab)
        parts.append("\nNormalized regret (test, lower is better), mean ± std over seeds:\n")
        parts.append(metric_table(summary, task, "normalized_regret"))
        parts.append("\nMSE of the predicted costs (test):\n")
        parts.append(metric_table(summary, task, "mse", digits=4 if task != "portfolio" else 6))
        parts.append(
            "\nPrediction shift vs the backbone, means over seeds of: mean relative shift / max relative shift"
            " / min cosine (test):\n"
        )
        parts.append(shift_table(summary, task))
        parts.append("")
    return "\n".join(parts)


def _patience_label(p: float) -> str:
    return "none" if p < 0 else f"{int(p)}"


def budget_table(df: pd.DataFrame, top: int = 10) -> str:
    """Markdown summary of the budget study (``tune_budget.csv``): held-out regret / two-stage, mean over
    tuning seeds, ε and cells, for the best settings and for each factor varied with the others at their best."""
    keys = ["lr", "epochs", "patience"]
    cell_cols = [f"{t} n={n}" for t, n in df[["task", "n_train"]].drop_duplicates().itertuples(index=False)]
    df = df.assign(cell=[f"{t} n={n}" for t, n in zip(df["task"], df["n_train"])])
    per_cell = df.pivot_table(index=keys, columns="cell", values="held_ratio", aggfunc="mean")[cell_cols]
    mean = df.groupby(keys)["held_ratio"].mean().rename("mean")
    secs = df.groupby(keys)["seconds_est"].mean().rename("seconds")
    tab = per_cell.join(mean).join(secs).sort_values("mean")

    def lines_for(sub: pd.DataFrame) -> list[str]:
        out = []
        for (lr, e, p), r in sub.iterrows():
            vals = " | ".join(f"{r[c]:.3f}" for c in cell_cols)
            out.append(
                f"| {lr:g} | {int(e)} | {_patience_label(p)} | {vals} | **{r['mean']:.3f}** | {r['seconds']:.1f} |"
            )
        return out

    head = "| lr | epochs | patience | " + " | ".join(cell_cols) + " | mean | s per fit |"
    sep = "|---|---|---|" + "---|" * len(cell_cols) + "---|---|"
    best_lr, best_e, best_p = tab.index[0]
    parts = [f"Best {min(top, len(tab))} budgets (held-out regret / two-stage, lower is better):", "", head, sep]
    parts += lines_for(tab.head(top))
    for name, fixed in (
        ("learning rate", {"epochs": best_e, "patience": best_p}),
        ("epochs", {"lr": best_lr, "patience": best_p}),
        ("patience", {"lr": best_lr, "epochs": best_e}),
    ):
        sel = tab.reset_index()
        for k, v in fixed.items():
            sel = sel[sel[k] == v]
        shown = ", ".join(f"{k} {_patience_label(v) if k == 'patience' else f'{v:g}'}" for k, v in fixed.items())
        parts += ["", f"Varying the {name} ({shown}):", "", head, sep]
        parts += lines_for(sel.set_index(keys).sort_index())
    return "\n".join(parts)


def cross_fit_table(df: pd.DataFrame) -> str:
    """Markdown: mean held-out regret ratio of DFF (vs two-stage) by backbone, size and the backbone training
    predictions it learned from (in-sample, k-fold, forward-chained)."""
    df = df.assign(variant=[s if b == 0 else f"{s} ({b} blocks)" for s, b in zip(df["scheme"], df["blocks"])])
    order = list(dict.fromkeys(df["variant"]))
    piv = df.pivot_table(index=["backbone", "n_train"], columns="variant", values="held_ratio", aggfunc="mean")
    lines = [
        "| backbone | n_train | " + " | ".join(order) + " |",
        "|---|---|" + "---|" * len(order),
    ]
    for (bb, n), row in piv.iterrows():
        lines.append(f"| {BACKBONE_LABELS.get(bb, bb)} | {n} | " + " | ".join(f"{row[c]:.3f}" for c in order) + " |")
    return "\n".join(lines)


#: Rules compared by :func:`rule_table`: label -> score column (``None``: a fixed ε).
RULES: tuple[tuple[str, str], ...] = (
    ("validation halves (the default)", "halves"),
    ("both halves, each choosing the other's epoch", "both"),
    ("all validation rows at their best epoch", "best_epoch"),
    ("5-fold cross-validation of the whole fit", "cv"),
    ("oracle: the test regret (not a usable rule)", "test"),
)


def pick(raw: pd.DataFrame) -> pd.DataFrame:
    """The test regret each rule (and each fixed ε) gets per run; ties go to the smallest ε, as in ``fit_selected``."""
    keys = ["task", "deg", "n_train", "seed"]
    d = raw[raw["method"] == "dff"].copy()
    d["both"] = d["halves"] + d["swapped"]
    out = []
    for key, g in d.sort_values("epsilon").groupby(keys):
        row = dict(zip(keys, key, strict=True))
        for label, col in RULES:
            v = g[col].to_numpy()
            row[label] = float(g["test"].to_numpy()[np.flatnonzero(v <= v.min() + 1e-12 * max(1.0, abs(v.min())))[0]])
        for eps, t in zip(g["epsilon"], g["test"], strict=True):
            row[f"fixed ε = {eps:g}"] = float(t)
        out.append(row)
    res = pd.DataFrame(out).set_index(keys)
    other = raw[raw["method"] != "dff"].pivot_table(index=keys, columns="method", values="test")
    return res.join(other)


def rule_table(raw: pd.DataFrame) -> str:
    """Markdown: per rule, mean regret / two-stage and the share of runs beating DFL from the backbone, in the
    misspecified (degree >= 4) and well-specified cells, and the worst well-specified cell (ratio of means)."""
    p = pick(raw)
    mis = p.index.get_level_values("deg") >= 4
    rules = [c for c in p.columns if c not in ("two_stage", "dfl_backbone")]
    lines = [
        "| ε rule | misspecified: regret / two-stage | misspecified: beats DFL from the backbone | "
        "well-specified: regret / two-stage | worst well-specified cell |",
        "|---|---|---|---|---|",
    ]
    rows = [*rules, "dfl_backbone"]
    for r in rows:
        ratio = p[r] / p["two_stage"]
        wins = (p[r] < p["dfl_backbone"])[mis].mean() if r != "dfl_backbone" else float("nan")
        cells = p[~mis].groupby(level=["task", "deg", "n_train"])
        worst = (cells[r].mean() / cells["two_stage"].mean()).max()
        label = "DFL from the backbone's weights (reference)" if r == "dfl_backbone" else r
        win = "–" if np.isnan(wins) else f"{wins:.0%}"
        lines.append(f"| {label} | {ratio[mis].mean():.3f} | {win} | {ratio[~mis].mean():.3f} | {worst:.3f} |")
    n_mis = int(mis.sum())
    n_well = int((~mis).sum())
    return "\n".join(lines) + f"\n\n{n_mis} misspecified and {n_well} well-specified runs (tuning seeds).\n"
