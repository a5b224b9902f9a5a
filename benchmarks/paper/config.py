"""Experiment grids of the paper-style synthetic benchmark: the full table and a minutes-long quick mode."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from dff_core.selection import DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_MEMBERS, DEFAULT_PATIENCE, EPSILON_GRID

#: Arms run per (cell, backbone). Keys of dff_core's comparison where they exist:
#: ``two_stage``, ``dff`` (default settings: ε chosen on held-out validation rows, the mean of ``Config.members``
#: fits), ``dff_eps`` (one DFF per fixed ε of ``Config.epsilons``, reported as ``dff@<ε>``), ``dff_unbounded`` (the
#: trust-region ablation), ``dfl_backbone`` / ``dfl_scratch`` (decision-focused training of the backbone's own model
#: class from its weights / from random weights; linear and MLP backbones only) and ``dfl`` (the linear model
#: warm-started from its own ridge fit; listed under the linear backbone only, the class it belongs to). The
#: compared arms (``dff`` and every DFL) average ``Config.members`` fits alike; the regret-versus-shift arms
#: (``dff@ε``, ``dff_unbounded``) are ``Config.sweep_members`` fits each, so they compare with each other.
#: ``dff_single`` and ``dfl_backbone_single`` are one fit of ``dff`` / ``dfl_backbone`` (a reference; not run by
#: default).
ARMS = ("two_stage", "dff", "dff_eps", "dff_unbounded", "dfl_backbone", "dfl_scratch", "dfl")
EXTRA_ARMS = ("dff_single", "dfl_backbone_single")


@dataclass(frozen=True)
class TaskGrid:
    """Degrees, training sizes and backbones run for one task."""

    degs: tuple[int, ...]
    n_trains: tuple[int, ...]
    backbones: tuple[str, ...] = ("linear", "random_forest", "mlp")
    #: Per-task overrides of the run-wide settings (``None``: use the run-wide value).
    n_test: int | None = None
    epochs: int | None = None
    patience: int | None = None
    seeds: tuple[int, ...] | None = None
    #: Extra keyword arguments for the data generator (e.g. ``{"num_assets": 20}``).
    data_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """Everything that defines a run; written to ``config.json`` next to the results."""

    grid: dict[str, TaskGrid]
    seeds: tuple[int, ...] = tuple(range(10))
    n_test: int = 1000
    #: Fixed trust regions of the ``dff@ε`` arms (the regret-versus-shift picture).
    epsilons: tuple[float, ...] = EPSILON_GRID
    #: Backbones that get the per-ε arms and the unbounded ablation (they multiply the run time).
    sweep_backbones: tuple[str, ...] = ("linear",)
    arms: tuple[str, ...] = ARMS
    val_fraction: float = 0.2
    #: The shared training budget of every decision-focused arm: the estimators' defaults (tuned on seeds the
    #: results never use: ``python -m benchmarks.paper.tune``).
    epochs: int = DEFAULT_EPOCHS
    lr: float | str = DEFAULT_LR
    patience: int | None = DEFAULT_PATIENCE
    batch_size: int = 32
    hidden: tuple[int, ...] = (32, 32, 32)
    #: Fits averaged by each compared arm (``dff``, ``dfl_backbone``, ``dfl_scratch``, ``dfl``): the estimators'
    #: default ``n_members``.
    members: int = DEFAULT_MEMBERS
    #: Fits averaged by the regret-versus-shift arms (``dff@ε``, ``dff_unbounded``): one, to keep the sweep's cost.
    sweep_members: int = 1
    #: Extra keyword arguments for ``dff_core.DFF`` (e.g. ``{"use_c_hat": True}``).
    dff_kwargs: dict[str, Any] = field(default_factory=dict)
    #: Backbone training predictions for DFF: backbone -> forward-chaining blocks, or -> {n_train: blocks}
    #: (0 = in-sample). The random forest nearly memorises its training set, so its in-sample residuals teach
    #: DFF the wrong errors; the MLP and the linear model use in-sample predictions (see tune.py's study). With
    #: 1000 rows, 20 blocks beat 5 in the paired cross-fitting study on tuning seeds (tune_cross_fit.csv); the
    #: smaller sizes were not studied and keep 5.
    cross_fit: dict[str, int | dict[int, int]] = field(
        default_factory=lambda: {"random_forest": {50: 5, 100: 5, 200: 5, 1000: 20}}
    )
    #: ``forward`` (time-respecting forward chaining) or ``kfold`` (every block from the other blocks).
    cross_fit_scheme: str = "forward"

    def folds(self, backbone: str, n_train: int) -> int:
        """Cross-fitting blocks for ``backbone`` at training size ``n_train`` (0 = in-sample predictions)."""
        spec = self.cross_fit.get(backbone, 0)
        if isinstance(spec, dict):
            return int(spec.get(n_train, spec.get(str(n_train), 0)))
        return int(spec)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["grid"] = {k: asdict(v) for k, v in self.grid.items()}
        return d


_DEGS = (1, 2, 4, 6)
_SIZES = (50, 100, 200, 1000)

FULL = Config(
    grid={
        "shortest_path": TaskGrid(degs=_DEGS, n_trains=_SIZES),
        # One weight dimension with two-decimal weights: the exact dynamic programme solves it (HiGHS is far slower).
        "knapsack": TaskGrid(degs=_DEGS, n_trains=_SIZES),
        "allocation": TaskGrid(degs=_DEGS, n_trains=_SIZES),
        # PyEPO's 50 assets; dff_core's exact critical-line kernel solves each instance in tens of microseconds.
        "portfolio": TaskGrid(degs=_DEGS, n_trains=_SIZES, data_kwargs={"num_assets": 50}),
    },
)

QUICK = Config(
    grid={
        "shortest_path": TaskGrid(degs=(1, 6), n_trains=(100,), backbones=("linear", "random_forest")),
        "knapsack": TaskGrid(degs=(6,), n_trains=(100,), backbones=("linear",)),
        "allocation": TaskGrid(degs=(4,), n_trains=(100,), backbones=("mlp",)),
        "portfolio": TaskGrid(degs=(4,), n_trains=(30,), backbones=("linear",), n_test=30, seeds=(0,)),
    },
    seeds=(0, 1, 2),
    n_test=200,
    epsilons=(0.1, 0.5, 0.9),
    epochs=10,
    patience=3,
    hidden=(16, 16),
)


def with_overrides(cfg: Config, **kw: Any) -> Config:
    """Copy of ``cfg`` with the non-``None`` keyword arguments replaced."""
    return replace(cfg, **{k: v for k, v in kw.items() if v is not None})
