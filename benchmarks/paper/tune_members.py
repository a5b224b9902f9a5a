"""Averaging several fits or one, on tuning seeds: the study behind the estimators' ``n_members`` default.

Run the grid's compared arms and their one-fit references on seeds the reported results never use, then
write the paired runs this study reads::

    python -m benchmarks.paper.run --seeds 5 --first-seed 100 --backbones linear --degs 4 6 --sizes 100 200 \\
        --arms two_stage dff dff_single dfl_backbone dfl_backbone_single --out benchmarks/paper/runs/t1
    python -m benchmarks.paper.tune_members --run benchmarks/paper/runs/t1 --out benchmarks/paper/out

``tune_members.csv`` holds one row per (comparison, cell, seed): both arms' test regret and two-stage's. The
report (:func:`members_table`) pools them per task: how often the first arm has the lower regret, the exact
sign-test p-value and both arms' mean regret relative to two-stage.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from benchmarks.paper.labels import TASK_LABELS, fmt_p, method_label
from benchmarks.paper.raw import KEYS, load_raw
from dff_core.stats import sign_test_p

#: (arm, baseline) pairs of the study: what averaging does to each method, and the head-to-head either way.
COMPARISONS = (
    ("dff", "dff_single"),
    ("dfl_backbone", "dfl_backbone_single"),
    ("dff", "dfl_backbone"),
    ("dff_single", "dfl_backbone_single"),
)


def paired_runs(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison and run: ``method_regret``, ``baseline_regret`` and ``ts_regret``."""
    by = [*KEYS, "seed"]
    regret = raw.pivot_table(index=by, columns="method", values="normalized_regret")
    rows = []
    for method, baseline in COMPARISONS:
        if method not in regret or baseline not in regret or "two_stage" not in regret:
            continue
        both = regret[[method, baseline, "two_stage"]].dropna()
        df = both.rename(columns={method: "method_regret", baseline: "baseline_regret", "two_stage": "ts_regret"})
        rows.append(df.reset_index().assign(method=method, baseline=baseline))
    if not rows:
        raise ValueError("no comparison of the study has both arms and two-stage in the run; see the module docs.")
    return pd.concat(rows, ignore_index=True)


def members_table(df: pd.DataFrame) -> str:
    """Markdown: per comparison and task, wins of the first arm, the sign test and both arms' regret / two-stage."""
    out = [
        "| comparison | task | runs | first arm lower | sign-test p | first arm / two-stage | second / two-stage |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for (method, baseline), g in df.groupby(["method", "baseline"], sort=False):
        for task, t in [*g.groupby("task"), ("all", g)]:
            wins = int((t["method_regret"] < t["baseline_regret"] - 1e-12).sum())
            losses = int((t["method_regret"] > t["baseline_regret"] + 1e-12).sum())
            r_m = (t["method_regret"] / t["ts_regret"]).mean()
            r_b = (t["baseline_regret"] / t["ts_regret"]).mean()
            name = "**all tasks**" if task == "all" else TASK_LABELS.get(task, task)
            out.append(
                f"| {method_label(method)} vs {method_label(baseline)} | {name} | {len(t)} | {wins / len(t):.0%} "
                f"({wins}W/{losses}L) | {fmt_p(sign_test_p(wins, losses))} | {r_m:.3f} | {r_b:.3f} |"
            )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="run folder of the tuning seeds (raw.csv)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/paper/out"), help="where tune_members.csv goes")
    args = ap.parse_args(argv)
    raw = load_raw(args.run / "raw.csv")
    if (raw["seed"] < 100).any():
        ap.error(f"{args.run}: seeds below 100 are the reported seeds; the study runs on tuning seeds only")
    df = paired_runs(raw)
    args.out.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out / "tune_members.csv", index=False)
    print(members_table(df))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
