"""The targets the full run is checked against, each *met* or *missed* as measured."""

from __future__ import annotations

import pandas as pd

from benchmarks.paper.labels import fmt_p
from benchmarks.paper.paired import pooled
from benchmarks.paper.raw import KEYS, MISSPECIFIED_DEG

#: Numerical slack when checking the trust-region bound (float64 round-off of φ ⊙ ĉ).
BOUND_TOL = 1e-9
#: Targets (floors) the full run must check.
TARGET_REDUCTION = 0.20
TARGET_P = 0.01
TARGET_WIN_SHARE = 0.60
TARGET_WIN_P = 0.05
TARGET_DEG1_RATIO = 1.02
TARGET_RF_RATIO = 0.75


def _met(ok: bool | None) -> str:
    return "reference" if ok is None else ("met" if ok else "missed")


def target_mask(raw: pd.DataFrame, backbone: str = "linear") -> pd.Series:
    """Runs of the misspecified cells the main targets are about: degree ≥ 4, n_train ≥ 100, one backbone."""
    return (raw["deg"] >= MISSPECIFIED_DEG) & (raw["n_train"] >= 100) & (raw["backbone"] == backbone)


def _cell_ratio(raw: pd.DataFrame, mask: pd.Series, method: str = "dff") -> pd.Series:
    """Per cell: mean regret of ``method`` / mean regret of two-stage (ratio of the means over seeds)."""
    sel = raw[mask]
    m = sel[sel["method"] == method].groupby(KEYS)["normalized_regret"].mean()
    b = sel[sel["method"] == "two_stage"].groupby(KEYS)["normalized_regret"].mean()
    both = m.index.intersection(b.index)
    return (m.loc[both] / b.loc[both].where(b.loc[both] > 0)).dropna()


def targets(raw: pd.DataFrame) -> pd.DataFrame:
    """Check the targets; one row per check with the measured value, the threshold and ``met``/``missed``.

    Main cells: degree ≥ 4, n_train ≥ 100, linear backbone, DFF with its default settings (``dff``).
    """
    rows: list[dict] = []

    def add(name: str, value: float, threshold: float, ok: bool | None, detail: str) -> None:
        rows.append({"target": name, "measured": value, "threshold": threshold, "verdict": _met(ok), "detail": detail})

    main = target_mask(raw)
    cells = raw[main].groupby(KEYS).ngroups
    # 1. DFF vs two-stage: mean regret reduction >= 20%, pooled paired p < 0.01.
    # 2. DFF vs DFL of the same model class from the same start, equal budget: wins >= 60%, sign-test p < 0.05.
    for baseline, checks in (
        ("two_stage", (
            ("misspecified cells, linear: DFF mean regret reduction vs two-stage (≥ 20%)", "reduction",
             TARGET_REDUCTION, lambda r: r["reduction"] >= TARGET_REDUCTION,
             lambda r: f"{r['runs']} paired runs in {cells} cells; 95% interval {r['reduction_low']:.1%} to "
                       f"{r['reduction_high']:.1%}"),
            ("misspecified cells, linear: pooled paired p, DFF vs two-stage (< 0.01)", "p_value",
             TARGET_P, lambda r: r["p_value"] < TARGET_P and r["mean_difference"] < 0,
             lambda r: "Wilcoxon signed-rank on per-run normalized-regret differences; DFF lower in "
                       f"{r['wins']} of {r['runs']} runs"),
        )),
        ("dfl_backbone", (
            ("misspecified cells, linear: share of paired runs DFF beats DFL from the backbone (≥ 60%)",
             "win_share", TARGET_WIN_SHARE, lambda r: r["win_share"] >= TARGET_WIN_SHARE,
             lambda r: f"{r['wins']} wins, {r['losses']} losses, {r['ties']} ties"),
            ("misspecified cells, linear: pooled sign-test p, DFF vs DFL from the backbone (< 0.05)", "sign_p",
             TARGET_WIN_P, lambda r: r["sign_p"] < TARGET_WIN_P and r["wins"] > r["losses"],
             lambda r: f"Wilcoxon p on the regret differences {fmt_p(r['p_value'])}; mean difference "
                       f"{r['mean_difference']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]"),
        )),
    ):  # fmt: skip
        res = pooled(raw, "dff", baseline, main)
        if res.get("runs", 0) >= 2:
            for name, key, threshold, ok, detail in checks:
                add(name, res[key], threshold, bool(ok(res)), detail(res))
    dff_runs = raw[raw["method"].str.startswith("dff") & (raw["method"] != "dff_unbounded")]
    if not dff_runs.empty:
        excess = (dff_runs["max_relative_shift"] - dff_runs["epsilon"]).max()
        add(
            "every DFF run: max relative shift − ε (≤ 0, on every test instance)",
            float(excess),
            0.0,
            bool(excess <= BOUND_TOL),
            f"{len(dff_runs)} DFF runs (defaults and fixed ε), all cells",
        )
    unb = raw[main & (raw["method"] == "dff_unbounded")].set_index([*KEYS, "seed"])
    chosen = raw[main & (raw["method"] == "dff")].set_index([*KEYS, "seed"])["epsilon"]
    both = unb.index.intersection(chosen.index)
    if len(both):
        over = unb.loc[both, "max_relative_shift"] > chosen.loc[both] + BOUND_TOL
        add(
            "misspecified cells, linear: share of runs where the unbounded arm leaves DFF's trust region (> 50%)",
            float(over.mean()),
            0.5,
            bool(over.mean() > 0.5),
            f"{int(over.sum())} of {len(both)} runs; median max shift of the unbounded arm "
            f"{unb.loc[both, 'max_relative_shift'].median():.3g}",
        )
    # 3. Well-specified cells (degree 1): DFF never worse than 1.02x two-stage.
    # 4. Random forest, degree 6, n = 1000 (network flow): at most 0.75x two-stage.
    # Both also shown for one DFF fit where it ran (for reference: the targets are DFF's defaults).
    rf_cell = (raw["task"] == "shortest_path") & (raw["deg"] == 6) & (raw["n_train"] == 1000)
    rf_cell &= raw["backbone"] == "random_forest"
    for method, who, judged in (("dff", "DFF", True), ("dff_single", "one DFF fit", False)):
        tail = "" if judged else " (for reference)"
        r = _cell_ratio(raw, raw["deg"] == 1, method)
        if len(r):
            worst = r.idxmax()
            add(
                f"degree 1, every task, size and backbone: {who} regret / two-stage (≤ 1.02 in every cell){tail}",
                float(r.max()),
                TARGET_DEG1_RATIO,
                bool(r.max() <= TARGET_DEG1_RATIO) if judged else None,
                f"worst of {len(r)} cells: {worst[0]} n={worst[2]} {worst[3]} (ratio of the means over seeds)",
            )
        r = _cell_ratio(raw, rf_cell, method)
        if len(r):
            add(
                f"network flow, random forest, degree 6, n = 1000: {who} regret / two-stage (≤ 0.75){tail}",
                float(r.iloc[0]),
                TARGET_RF_RATIO,
                bool(r.iloc[0] <= TARGET_RF_RATIO) if judged else None,
                "ratio of the means over seeds",
            )
    # For reference: the paper's quoted figure (≈ 18.7% less decision loss) on misspecified cells of every
    # backbone, and one fit of DFF and of DFL from the backbone instead of the mean of several (the same for both).
    mis = (raw["deg"] >= MISSPECIFIED_DEG) & (raw["n_train"] >= 100)
    references = (
        ("misspecified cells, every backbone: DFF mean regret reduction (paper ≈ 18.7%; for reference)",
         "dff", "two_stage", mis, "reduction", 0.187),
        ("misspecified cells, linear: share of paired runs one DFF fit beats one DFL fit from the backbone "
         "(for reference)", "dff_single", "dfl_backbone_single", main, "win_share", TARGET_WIN_SHARE),
        ("misspecified cells, linear: one DFF fit, mean regret reduction vs two-stage (for reference)",
         "dff_single", "two_stage", main, "reduction", TARGET_REDUCTION),
    )  # fmt: skip
    for name, arm, baseline, mask, key, threshold in references:
        res = pooled(raw, arm, baseline, mask)
        if res.get("runs", 0) >= 2:
            if key == "reduction":
                detail = (
                    f"{res['runs']} runs; 95% interval {res['reduction_low']:.1%} to {res['reduction_high']:.1%}; "
                    f"p {fmt_p(res['p_value'])}"
                )
            else:
                detail = (
                    f"{res['wins']} wins, {res['losses']} losses, {res['ties']} ties; sign-test p "
                    f"{fmt_p(res['sign_p'])}; mean difference {res['mean_difference']:+.4f} "
                    f"[{res['ci_low']:+.4f}, {res['ci_high']:+.4f}]"
                )
            add(name, res[key], threshold, None, detail)
    return pd.DataFrame(rows, columns=["target", "measured", "threshold", "verdict", "detail"])
