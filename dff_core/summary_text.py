"""A comparison's ``summary.json`` as text: the table the command line prints under a run.

One row per method (regret, normalised regret, errors, largest prediction shift), the per-fold
verdicts of a backtest, the training budget every trained method shared, and the verdict in
plain words. Pure: it reads only the summary, so a saved run prints the same table.
"""

from __future__ import annotations

from typing import Any

__all__ = ["summary_table"]


def summary_table(summary: dict[str, Any]) -> str:
    """The comparison as text: one row per method, then the shared budget and the verdict in plain words."""
    unit = summary.get("unit") or ""
    folds = summary.get("folds") if summary.get("kind") == "backtest" else None
    scope = f"{folds} folds, pooled test n={summary['n_test']}" if folds else f"test n={summary['n_test']}"
    lines = [
        f"{'method':<14}{'regret':>12}{'norm.regret':>13}{'mse':>12}{'mae':>10}{'max shift':>11}  ({unit}, {scope})"
    ]
    for name, m in summary["methods"].items():

        def f(k: str, fmt: str = "{:.4g}", m: dict = m) -> str:
            v = m.get(k)
            return "-" if v is None else fmt.format(v)

        lines.append(
            f"{name:<14}{f('regret_mean'):>12}{f('normalized_regret'):>13}{f('mse'):>12}{f('mae'):>10}"
            f"{f('max_relative_shift', '{:.3g}'):>11}"
        )
    for fold in summary.get("per_fold") or []:
        dff = (fold.get("verdict") or {}).get("dff_vs_two_stage")
        window = f"{fold.get('test_start') or ''} .. {fold.get('test_end') or ''}".strip(" .")
        if dff:
            lines.append(
                f"  fold {fold['fold']} ({window}, n={fold['n_test']}): DFF − plain {dff['mean_difference']:+.4g} "
                f"[{dff['ci_low']:+.3g}, {dff['ci_high']:+.3g}], p = {dff['p_value']:.2g}: {dff['verdict']}"
            )
    budget = summary.get("training_budget")
    if budget:
        lr = (
            "lr chosen from " + ", ".join(f"{v:g}" for v in budget["lr_grid"])
            if budget["lr"] == "auto"
            else (f"lr {budget['lr']:g}")
        )
        stop = "no early stopping" if budget["patience"] is None else f"patience {budget['patience']}"
        lines.append(
            f"Training budget of every trained method ({', '.join(budget.get('methods', []))}): up to "
            f"{budget['epochs']} epochs, {lr}, {stop}, batch {budget['batch_size']}; best validation epoch kept"
            + (f"; mean of {budget['members']} fits with different seeds." if budget.get("members", 1) > 1 else ".")
        )
    dff_eps = ((summary.get("training") or {}).get("dff") or {}).get("epsilon")
    if summary.get("epsilon") == "auto" and dff_eps is not None:
        lines.append(f"ε chosen on validation data: {dff_eps:g}.")
    verdict = (summary.get("verdict") or {}).get("dff_vs_two_stage")
    if verdict:
        lines.append(("Pooled verdict: " if folds else "Verdict: ") + verdict["sentence"])
    return "\n".join(lines)
