"""How the report writes tasks, backbones, cell groups, arms and numbers in its tables and figure."""

from __future__ import annotations

import math

from benchmarks.paper.raw import MISSPECIFIED_DEG
from dff_core.selection import DEFAULT_MEMBERS

TASK_LABELS = {
    "shortest_path": "Network flow (5×5 grid shortest path)",
    "knapsack": "0/1 knapsack (PyEPO generator, one weight dimension)",
    "portfolio": "Portfolio (PyEPO generator)",
    "allocation": "Resource allocation (synthetic budgeted allocation)",
}
BACKBONE_LABELS = {"linear": "linear", "random_forest": "random forest", "mlp": "MLP"}

GROUP_LABELS = {
    "misspecified": f"misspecified cells (degree ≥ {MISSPECIFIED_DEG})",
    "well-specified": f"well-specified cells (degree < {MISSPECIFIED_DEG})",
}


def method_order(methods: list[str]) -> list[str]:
    """Display order: two-stage, the DFL arms, DFF (default), DFF per ε (ascending), DFF without trust region,
    then the one-fit references of the averaged arms in the same order."""
    fixed = {"two_stage": 0, "dfl": 1, "dfl_scratch": 2, "dfl_backbone": 3, "dff": 4, "dff_unbounded": 6}

    def key(m: str) -> tuple[int, float]:
        if m in fixed:
            return (fixed[m], 0.0)
        if m.startswith("dff@"):
            return (5, float(m.split("@", 1)[1]))
        base = m.removesuffix(SINGLE)
        if base != m and base in fixed:
            return (10 + fixed[base], 0.0)
        return (20, 0.0)

    return sorted(set(methods), key=key)


#: Suffix of the arms that are one fit of an arm which otherwise averages several (``dff_single``...).
SINGLE = "_single"
_LABELS = {
    "two_stage": "two-stage",
    "dfl": "DFL linear (from ridge)",
    "dfl_backbone": "DFL (backbone's class, from its weights)",
    "dfl_scratch": "DFL (backbone's class, from scratch)",
    "dff": "DFF (defaults: ε auto)",
    "dff_unbounded": "DFF without trust region (ε = ∞)",
}
#: Arms that average several fits (the estimators' default ``n_members``).
AVERAGED = ("dfl", "dfl_backbone", "dfl_scratch", "dff")


def method_label(m: str) -> str:
    if m in AVERAGED:
        return _LABELS[m][:-1] + f"; {DEFAULT_MEMBERS}-fit mean)"
    base = m.removesuffix(SINGLE)
    if base != m and base in AVERAGED:
        return _LABELS[base][:-1] + "; one fit)"
    if m in _LABELS:
        return _LABELS[m]
    if m.startswith("dff@"):
        return f"DFF ε={m.split('@', 1)[1]}"
    return m


def fmt_mean_std(mean: float, std: float, digits: int = 4) -> str:
    """``mean ± std`` with ``digits`` decimals; a dash for a missing mean."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if math.isinf(mean):
        return "∞"
    s = f"{mean:.{digits}f}"
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        s += f" ± {std:.{digits}f}"
    return s


def fmt_sci(x: float) -> str:
    """Three significant digits; a dash when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "∞"
    return f"{x:.3g}"


def fmt_p(p: float) -> str:
    """A p-value with three decimals, ``<0.001`` below that; a dash when missing."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return "<0.001" if p < 1e-3 else f"{p:.3f}"
