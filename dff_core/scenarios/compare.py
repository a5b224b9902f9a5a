"""``dff_core.compare``: two-stage vs DFF vs end-to-end DFL on a scenario's chronological split."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dff_core.results import ComparisonResult
from dff_core.scenarios.base import Scenario


def _engine(name: str) -> Any:
    """Find ``name`` (``run_comparison``, ``make_backbone``, ...) in the modules that may define it."""
    for mod in ("dff_core.baselines", "dff_core.comparison", "dff_core.dff", "dff_core.backbones"):
        try:
            m = importlib.import_module(mod)
        except ImportError:
            continue
        if hasattr(m, name):
            return getattr(m, name)
    raise ImportError(f"dff_core has no {name}; the comparison engine is not installed in this version.")


def profile_key(scenario: Scenario) -> str:
    """Key of the historical profile: hour of week when training covers every test hour of week, else hour of day."""
    names = list(scenario.feature_names)
    if "slot_of_week" not in names:
        raise ValueError(
            "backbone 'historical_profile' needs a time-of-week column, which this scenario (an items table) "
            "does not have; choose another backbone (e.g. ridge)."
        )
    k = names.index("slot_of_week")
    seen = set(scenario.X[scenario.split["train"], k].tolist())
    needed = set(scenario.X[scenario.split["test"], k].tolist())
    return "slot_of_week" if needed <= seen or "slot_of_day" not in names else "slot_of_day"


def resolve_backbone(backbone: Any, scenario: Scenario) -> Any:
    """A backbone object for ``backbone``; ``"historical_profile"`` is keyed on :func:`profile_key`."""
    if not isinstance(backbone, str) or backbone != "historical_profile":
        return backbone
    key = scenario.feature_names.index(profile_key(scenario))
    try:
        cls = _engine("HistoricalProfileBackbone")
    except ImportError:
        return backbone
    return cls(key_column=key)


def compare(
    scenario: Scenario,
    backbone: Any = "ridge",
    epsilon: float = 0.2,
    methods: Sequence[str] = ("two_stage", "dff", "dfl"),
    seed: int = 0,
    on_progress: Callable[..., Any] | None = None,
    loss: str = "spo+",
    epochs: int = 30,
    should_stop: Callable[[], bool] | None = None,
    **kw: Any,
) -> ComparisonResult:
    """Compare two-stage, DFF and end-to-end DFL on ``scenario`` (train/val/test in time order).

    Extra keyword arguments (``batch_size``, ``lr``, ``cross_fit``...) go to ``run_comparison``.
    The result carries the test decision times, column names, the scenario's unit, a
    ``config`` (scenario kind and options, training options, data digest) and the scenario's
    ``extra`` (sensors, links, OD pairs...) so displays can draw the decisions.
    """
    if not isinstance(scenario, Scenario):
        raise ValueError(
            f"compare: scenario must be a Scenario (see dff_core.scenarios); got {type(scenario).__name__}."
        )
    run_comparison = _engine("run_comparison")
    X_tr, C_tr, _ = scenario.part("train")
    X_va, C_va, _ = scenario.part("val")
    X_te, C_te, t_te = scenario.part("test")
    if len(X_va) == 0:
        X_va, C_va = X_va.reshape(0, scenario.X.shape[1]), C_va.reshape(0, scenario.C.shape[1])
    bb = resolve_backbone(backbone, scenario)
    config: dict[str, Any] = {
        "scenario": scenario.kind,
        **scenario.options,
        "backbone": backbone if isinstance(backbone, str) else type(backbone).__name__,
        **({"profile_key": profile_key(scenario)} if backbone == "historical_profile" else {}),
        "epsilon": float(epsilon),
        "methods": list(methods),
        "seed": int(seed),
        "loss": loss,
        "epochs": int(epochs),
        **{k: v for k, v in kw.items() if isinstance(v, (str, int, float, bool)) or v is None},
        "data_digest": scenario.data_digest,
        "unit": scenario.unit,
    }
    result = run_comparison(
        scenario.problem,
        X_tr,
        C_tr,
        X_va,
        C_va,
        X_te,
        C_te,
        backbone=bb,
        epsilon=epsilon,
        loss=loss,
        methods=tuple(methods),
        seed=seed,
        epochs=epochs,
        on_progress=on_progress,
        should_stop=should_stop,
        times_test=t_te,
        feature_names=list(scenario.feature_names),
        output_names=list(scenario.output_names),
        config=config,
        **kw,
    )
    result.times = t_te
    result.feature_names = list(scenario.feature_names)
    result.output_names = list(scenario.output_names)
    result.unit = scenario.unit
    result.config = {**(result.config or {}), **config}
    result.extra = {**(result.extra or {}), **scenario.extra}
    result.timings = {**scenario.timings, **(result.timings or {})}
    result.n_train = len(X_tr)
    result.n_val = len(X_va)
    if "time" in getattr(result.per_instance, "columns", []) and len(result.per_instance):
        inst = result.per_instance["instance"].to_numpy(dtype=np.int64)
        result.per_instance["time"] = np.asarray(t_te)[inst]
    return result
