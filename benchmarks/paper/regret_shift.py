"""Regret versus prediction shift on the misspecified linear-backbone cells: the points, their table and the figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.paper.labels import TASK_LABELS, fmt_sci, method_label, method_order
from benchmarks.paper.raw import MISSPECIFIED_DEG, with_ratio
from benchmarks.paper.targets import target_mask

SHIFT_METHODS = ("dfl_scratch", "dfl_backbone", "dff", "dff_unbounded")


def shift_points(raw: pd.DataFrame, backbone: str = "linear") -> pd.DataFrame:
    """Regret ratio and mean relative shift per task and arm over the misspecified cells (n ≥ 100) of one backbone."""
    df = with_ratio(raw[target_mask(raw, backbone)])
    df = df[df["method"].str.startswith("dff@") | df["method"].isin(SHIFT_METHODS)]
    g = df.groupby(["task", "method"])
    out = g.agg(
        regret_ratio=("regret_ratio", "mean"),
        ratio_sd=("regret_ratio", "std"),
        mean_shift=("mean_relative_shift", "mean"),
        max_shift=("max_relative_shift", "median"),
        runs=("regret_ratio", "size"),
    ).reset_index()
    out["ratio_ci"] = 1.96 * out["ratio_sd"] / np.sqrt(out["runs"].clip(lower=1))
    return out


def regret_shift_figure(raw: pd.DataFrame, path: Path) -> Path | None:
    """Write the regret-versus-shift picture (PNG, matplotlib): one panel per task, DFF at each ε, without the
    trust region, and the DFL arms, on the misspecified linear-backbone cells. ``None`` without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    pts = shift_points(raw)
    if pts.empty:
        return None
    tasks = [t for t in TASK_LABELS if t in set(pts["task"])]
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 4.2), squeeze=False)
    style = {"dfl_scratch": ("s", "#B45309"), "dfl_backbone": ("D", "#D97706"), "dff": ("*", "#111827"),
             "dff_unbounded": ("X", "#DC2626")}  # fmt: skip
    for ax, task in zip(axes[0], tasks, strict=True):
        sub = pts[pts["task"] == task]
        eps = sub[sub["method"].str.startswith("dff@")].copy()
        eps["e"] = eps["method"].str.split("@").str[1].astype(float)
        eps = eps.sort_values("e")
        unb = sub[sub["method"] == "dff_unbounded"]
        line = pd.concat([eps, unb])
        ax.plot(line["mean_shift"], line["regret_ratio"], "-", color="#1D4ED8", alpha=0.5, zorder=1)
        ax.errorbar(eps["mean_shift"], eps["regret_ratio"], yerr=eps["ratio_ci"], fmt="o", color="#1D4ED8",
                    label="DFF, fixed ε", zorder=2)  # fmt: skip
        for _, r in eps.iterrows():
            ax.annotate(f"ε={r['e']:g}", (r["mean_shift"], r["regret_ratio"]), textcoords="offset points",
                        xytext=(4, 4), fontsize=7)  # fmt: skip
        for m, (marker, color) in style.items():
            r = sub[sub["method"] == m]
            if not r.empty:
                ax.errorbar(r["mean_shift"], r["regret_ratio"], yerr=r["ratio_ci"], fmt=marker, color=color,
                            markersize=9 if m == "dff" else 7, label=method_label(m), zorder=3)  # fmt: skip
        ax.axhline(1.0, color="#64748B", lw=0.8, ls="--")
        # The y range follows DFF's points; an arm far above it is drawn at the top edge with its value.
        core = sub[sub["method"].str.startswith("dff") | (sub["method"] == "dfl_backbone")]["regret_ratio"]
        top = max(1.1, float(core.max()) * 1.1) if len(core) else 1.5
        bottom = min(0.9, float(core.min()) * 0.95) if len(core) else 0.5
        ax.set_ylim(bottom, top)
        for _, r in sub[sub["regret_ratio"] > top].iterrows():
            ax.annotate(
                f"{method_label(r['method'])}: {r['regret_ratio']:.2f} ↑", (r["mean_shift"], top),
                textcoords="offset points", xytext=(-10, -12), fontsize=7, ha="right",
            )  # fmt: skip
        ax.set_xscale("symlog", linthresh=1e-3)
        ax.set_xlim(left=0)
        ax.set_title(TASK_LABELS[task].split(" (")[0], fontsize=10)
        ax.set_xlabel("mean relative shift from the backbone (log above 0.001)")
        ax.set_ylabel("test regret / two-stage")
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle(
        f"Regret versus prediction shift: linear backbone, degree ≥ {MISSPECIFIED_DEG}, n_train ≥ 100 "
        "(means over runs, 95% intervals)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def shift_points_table(raw: pd.DataFrame) -> str:
    pts = shift_points(raw)
    if pts.empty:
        return ""
    lines = [
        "| task | arm | runs | regret / two-stage | mean relative shift | median max shift |",
        "|---|---|---|---|---|---|",
    ]
    for task in [t for t in TASK_LABELS if t in set(pts["task"])]:
        sub = pts[pts["task"] == task].set_index("method")
        for m in method_order(sub.index.tolist()):
            r = sub.loc[m]
            lines.append(
                f"| {TASK_LABELS[task].split(' (')[0]} | {method_label(m)} | {int(r['runs'])} | "
                f"{r['regret_ratio']:.3f} ± {r['ratio_ci']:.3f} | {fmt_sci(r['mean_shift'])} | "
                f"{fmt_sci(r['max_shift'])} |"
            )
    return "\n".join(lines)
