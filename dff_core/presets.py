"""Ready-made comparison settings: the shared training budget and the ``fast`` / ``thorough`` presets.

A fair comparison gives every method trained on the decision loss (DFF, its unbounded ablation and
the DFL baselines) the same :class:`Budget`; :func:`dff_core.comparison.run_comparison` states it in
its result. :data:`PRESETS` name the two settings users pick from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from dff_core.backbones import dfl_model_class
from dff_core.ensemble import check_members
from dff_core.results import ALL_METHODS
from dff_core.selection import (
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    DEFAULT_MEMBERS,
    DEFAULT_PATIENCE,
    EPSILON_GRID,
    LR_GRID,
    check_auto_or_number,
    is_auto,
)
from dff_core.validation import check_epsilon, check_training_params


@dataclass(frozen=True)
class Budget:
    """The training budget every decision-focused method of a comparison gets, the same for all.

    ``lr="auto"`` means each method chooses its step size from :data:`~dff_core.selection.LR_GRID`
    on validation rows that did not choose its epoch; every method keeps its best validation epoch.
    ``members`` fits with consecutive seeds are averaged for every method alike (:mod:`dff_core.ensemble`).
    """

    epochs: int
    lr: float | str
    patience: int | None
    batch_size: int = 32
    members: int = DEFAULT_MEMBERS

    def check(self, owner: str) -> Budget:
        check_auto_or_number(owner, "lr", self.lr, "1e-3")
        check_members(owner, self.members)
        check_training_params(owner, self.epochs, 1.0 if is_auto(self.lr) else self.lr, self.batch_size, self.patience)
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON form written to ``config["training_budget"]`` and ``summary.json``."""
        return {
            "epochs": int(self.epochs),
            "lr": self.lr if is_auto(self.lr) else float(self.lr),
            "lr_grid": list(LR_GRID) if is_auto(self.lr) else [float(self.lr)],
            "patience": None if self.patience is None else int(self.patience),
            "batch_size": int(self.batch_size),
            "members": int(self.members),
            "rule": "best validation epoch kept (epoch 0 = the starting point)",
        }

    def describe(self) -> str:
        """One line for tables: what every trained method got."""
        lr = f"lr chosen from {', '.join(f'{v:g}' for v in LR_GRID)}" if is_auto(self.lr) else f"lr {self.lr:g}"
        stop = "no early stopping" if self.patience is None else f"patience {self.patience}"
        avg = "one fit" if self.members == 1 else f"mean of {self.members} fits (seeds differ)"
        return f"up to {self.epochs} epochs, {lr}, {stop}, batch {self.batch_size}; best validation epoch kept; {avg}"


@dataclass(frozen=True)
class Preset:
    """Ready-made settings of a comparison: the trust region and the shared training budget."""

    epsilon: float | str
    budget: Budget
    description: str


#: ``"fast"``: one fit per method, DFF at ε = 0.2, a short budget; the command line's and the dashboard's
#: default (the sample comparison trains in seconds). ``"thorough"``: the estimators' defaults, tuned on data
#: the reported results never use (benchmarks/paper/tune.py): ε chosen from ``EPSILON_GRID`` on held-out
#: validation rows, a longer budget and the mean of ``DEFAULT_MEMBERS`` fits per method; it fits
#: ``len(EPSILON_GRID) + DEFAULT_MEMBERS`` DFF models, so expect roughly that many times the fast preset's DFF
#: time (BENCHMARKS.md, "Comparison presets").
PRESETS: dict[str, Preset] = {
    "fast": Preset(
        0.2,
        Budget(epochs=30, lr=1e-3, patience=10, members=1),
        "ε = 0.2, up to 30 epochs, lr 1e-3, patience 10, one fit per method",
    ),
    "thorough": Preset(
        "auto",
        Budget(epochs=DEFAULT_EPOCHS, lr=DEFAULT_LR, patience=DEFAULT_PATIENCE, members=DEFAULT_MEMBERS),
        f"ε chosen from {EPSILON_GRID} on held-out validation rows, up to {DEFAULT_EPOCHS} epochs, "
        f"lr {DEFAULT_LR}, patience {DEFAULT_PATIENCE}, mean of {DEFAULT_MEMBERS} fits per method; about "
        f"{len(EPSILON_GRID) + DEFAULT_MEMBERS}x the fast preset's DFF time",
    ),
}


def resolve_preset(
    preset: str, owner: str, *, epsilon: Any = None, epochs: Any = None, lr: Any = None, batch_size: Any = None,
    budget: Budget | None = None, members: Any = None,
) -> tuple[float | str, Budget]:  # fmt: skip
    """``(epsilon, budget)`` of ``preset`` with the given (non-``None``) values replacing its own."""
    if preset not in PRESETS:
        raise ValueError(f"{owner}: preset must be one of {', '.join(PRESETS)}; got {preset!r}.")
    p = PRESETS[preset]
    b = budget if budget is not None else p.budget
    b = dataclasses.replace(
        b,
        **{
            k: v
            for k, v in {"epochs": epochs, "lr": lr, "batch_size": batch_size, "members": members}.items()
            if v is not None
        },
    )
    eps = p.epsilon if epsilon is None else epsilon
    check_auto_or_number(owner, "epsilon", eps, "0.2")
    if not is_auto(eps):
        eps = check_epsilon(eps)
    return eps, b.check(owner)


def available_methods(backbone: Any) -> tuple[str, ...]:
    """The method keys that apply to ``backbone`` (``dfl_backbone``/``dfl_scratch`` need a linear or MLP one)."""
    own = dfl_model_class(backbone) is not None
    return tuple(m for m in ALL_METHODS if own or m not in ("dfl_backbone", "dfl_scratch"))
