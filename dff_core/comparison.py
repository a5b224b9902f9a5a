"""The comparison DFF is judged by: two-stage (the backbone alone), DFF, and decision-focused baselines.

* :func:`run_comparison` fits every method on one chronological split of arrays and fills a
  :class:`~dff_core.results.ComparisonResult`.
* :func:`compare` does the same on a :class:`~dff_core.scenarios.Scenario` (its split, names,
  times, unit and display payload go into the result); with ``folds=k`` it runs a rolling-origin
  backtest instead (:class:`~dff_core.backtest.BacktestResult`).
* :func:`load_run` reads a saved run or backtest folder, rebuilding its scenario from the stored specification.

Method keys are listed in :data:`dff_core.results.ALL_METHODS`. Every method trained on the decision loss
gets the same :class:`~dff_core.presets.Budget` (epochs, learning rate or learning-rate grid,
early-stopping patience, batch size), stated in the result's ``config["training_budget"]`` and ``summary.json``.
:data:`~dff_core.presets.PRESETS` hold the ready-made settings: ``"fast"`` (interactive; the command
line and dashboard default) and ``"thorough"`` (ε chosen on validation data; the estimators' defaults).

Progress is reported as :class:`~dff_core.progress.ProgressEvent` objects to ``on_progress(event)``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dff_core import metrics
from dff_core.ablation import DFFUnbounded
from dff_core.backbones import (
    HistoricalProfileBackbone,
    MLPBackbone,
    cross_fit_predict,
    dfl_model_class,
    resolve_backbone,
)
from dff_core.backtest import BacktestResult, rolling_origin_splits
from dff_core.baselines import DFL
from dff_core.dff import DFF
from dff_core.errors import DataError
from dff_core.losses import true_solutions
from dff_core.metrics import metrics_row
from dff_core.presets import PRESETS, Budget, Preset, available_methods, resolve_preset
from dff_core.problems.base import OptProblem
from dff_core.progress import ProgressCallback, ProgressEvent
from dff_core.results import ALL_METHODS, TRAINED_METHODS, ComparisonResult, MethodResult
from dff_core.runs import load_run
from dff_core.scenarios.base import Scenario
from dff_core.selection import is_auto
from dff_core.validation import as_2d


def _relabel(on_progress: ProgressCallback | None, method: str) -> ProgressCallback | None:
    if on_progress is None:
        return None

    def relay(event: ProgressEvent) -> None:
        on_progress(dataclasses.replace(event, method=method) if event.method not in (None, method) else event)

    return relay


def _training_info(name: str, model: Any, start: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "start": start,
        "epochs": int(model.epochs),
        "patience": model.patience,
        "lr": float(model.lr_),
        "best_epoch": int(model.best_epoch_),
        "members": int(model.n_members_),
        "best_epochs": [int(e) for e in model.best_epochs_],
        "epochs_run": int(model.history_["epoch"].max()) if len(model.history_) else 0,
        "cancelled": bool(model.cancelled_),
    }
    if name == "dff":
        info["epsilon"] = float(model.epsilon_)
    if getattr(model, "selection_", None) is not None:
        info["selection"] = model.selection_.drop(columns=["seconds"]).to_dict(orient="records")
    return info


def run_comparison(
    problem: OptProblem,
    X_train: np.ndarray,
    C_train: np.ndarray,
    X_val: np.ndarray | None,
    C_val: np.ndarray | None,
    X_test: np.ndarray,
    C_test: np.ndarray,
    *,
    backbone: Any = "ridge",
    epsilon: float | str | None = None,
    loss: str = "spo+",
    methods: Sequence[str] = ("two_stage", "dff", "dfl"),
    seed: int = 0,
    preset: str = "fast",
    training_budget: Budget | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | str | None = None,
    members: int | None = None,
    cross_fit: bool = False,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    times_test: Any = None,
    feature_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    config: dict[str, Any] | None = None,
    dff_kwargs: dict[str, Any] | None = None,
    dfl_kwargs: dict[str, Any] | None = None,
) -> ComparisonResult:
    """Fit the backbone, then every requested decision-focused method, and score all on the test set.

    Methods (keys of :data:`dff_core.results.ALL_METHODS`):

    * ``two_stage``: decisions on the backbone's predictions ``Ĉ`` (its ``seconds`` = backbone fit + predict).
    * ``dff``: :class:`~dff_core.dff.DFF` on the backbone's training predictions (forward-chained
      out-of-sample ones when ``cross_fit=True``: see :func:`~dff_core.backbones.cross_fit_predict`),
      early-stopped on the validation set; ``seconds`` excludes the backbone.
    * ``dfl``: :class:`~dff_core.baselines.DFL`, a linear model warm-started from its own ridge fit.
    * ``dfl_backbone`` / ``dfl_scratch``: DFL of the backbone's own model class (linear or MLP) from the
      backbone's fitted weights / from random weights; a ``ValueError`` for other backbones.
    * ``dff_unbounded``: :class:`~dff_core.ablation.DFFUnbounded`, DFF's network without the trust region.

    ``epsilon`` and the shared training budget come from ``preset`` (:data:`PRESETS`), then ``training_budget``,
    then ``epochs``/``lr``/``batch_size``/``members`` when given; ``epsilon="auto"`` and ``lr="auto"`` choose on
    held-out validation rows (:mod:`dff_core.selection`). ``backbone`` is a name from
    :data:`dff_core.backbones.BACKBONES` or an object with ``fit``/``predict``. ``on_progress(event)``
    receives a :class:`~dff_core.progress.ProgressEvent` when the backbone stage starts and ends, after
    every training epoch of every method, and when scoring starts and ends. ``should_stop()`` cancels
    training (the best epoch so far is kept; later methods are still scored). Shift and cosine in the
    metrics table are measured against the backbone's ``Ĉ``.
    """
    owner = "run_comparison"
    methods = tuple(methods)
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown or not methods:
        raise ValueError(f"{owner}: unknown method(s) {unknown}; choose from {', '.join(ALL_METHODS)}.")
    eps, bud = resolve_preset(preset, owner, epsilon=epsilon, epochs=epochs, lr=lr, batch_size=batch_size,
                              budget=training_budget, members=members)  # fmt: skip
    d = int(problem.d)
    X_train = as_2d("X_train", X_train, owner=owner)
    p = X_train.shape[1]
    C_train = as_2d("C_train", C_train, d, X_train.shape[0], owner=owner)
    if (X_val is None) != (C_val is None):
        raise ValueError(f"{owner}: pass both X_val and C_val, or neither.")
    if X_val is not None:
        X_val = as_2d("X_val", np.asarray(X_val, dtype=np.float64).reshape(-1, p), p, owner=owner)
        C_val = as_2d("C_val", np.asarray(C_val, dtype=np.float64).reshape(-1, d), d, X_val.shape[0], owner=owner)
    X_test = as_2d("X_test", X_test, p, owner=owner)
    C_test = as_2d("C_test", C_test, d, X_test.shape[0], owner=owner)
    if X_test.shape[0] == 0:
        raise DataError(f"{owner}: the test set is empty; there is nothing to compare on.")
    own_class = dfl_model_class(backbone)
    needs_own = [m for m in methods if m in ("dfl_backbone", "dfl_scratch")]
    if needs_own and own_class is None:
        name = backbone if isinstance(backbone, str) else type(backbone).__name__
        raise ValueError(
            f"{owner}: method(s) {', '.join(needs_own)} train the backbone's own model class on the decision loss, "
            f"which needs a differentiable backbone (linear, ridge or mlp); {name!r} is not. Leave them out."
        )

    def progress(event: ProgressEvent) -> None:
        if on_progress is not None:
            on_progress(event)

    timings: dict[str, float] = {}
    results: dict[str, MethodResult] = {}
    training: dict[str, dict[str, Any]] = {}
    W_test, z_test = true_solutions(problem, C_test)

    # --- backbone -------------------------------------------------------------------------------
    progress(ProgressEvent("backbone", epoch=0, epochs=1, status="fitting"))
    t0 = time.perf_counter()
    bb = resolve_backbone(backbone, seed=seed)
    bb.fit(X_train, C_train)
    C_hat_test = as_2d("backbone predictions", bb.predict(X_test), d, X_test.shape[0], owner=owner)
    C_hat_val = None if X_val is None else as_2d("backbone predictions", bb.predict(X_val), d, owner=owner)
    t_bb = time.perf_counter() - t0
    corrected = [m for m in methods if m in ("dff", "dff_unbounded")]
    X_corr, C_hat_train, C_corr = X_train, None, C_train
    if corrected:
        t1 = time.perf_counter()
        if cross_fit:
            C_hat_train = cross_fit_predict(resolve_backbone(backbone, seed=seed), X_train, C_train, seed=seed)
            honest = np.isfinite(C_hat_train).all(axis=1)  # forward chaining: the first block has no prediction
            X_corr, C_hat_train, C_corr = X_train[honest], C_hat_train[honest], C_train[honest]
        else:
            C_hat_train = bb.predict(X_train)
        C_hat_train = as_2d("backbone predictions", C_hat_train, d, X_corr.shape[0], owner=owner)
        timings["backbone_train_predictions"] = time.perf_counter() - t1
    timings["backbone"] = t_bb
    progress(ProgressEvent("backbone", epoch=1, epochs=1, status="done", seconds=t_bb))

    def score(name: str, C_pred: np.ndarray, seconds: float, **kw: Any) -> MethodResult:
        W = problem.solve(C_pred)
        r = metrics.regret(problem, C_test, C_pred, W_true=W_test, W_pred=W)
        return MethodResult(name=name, C_pred=C_pred, W=W, regret=r, seconds=seconds, **kw)

    if "two_stage" in methods:
        results["two_stage"] = score("two_stage", C_hat_test, t_bb, model=bb)

    train = {"epochs": bud.epochs, "lr": bud.lr, "batch_size": bud.batch_size, "patience": bud.patience,
             "seed": seed, "loss": loss, "n_members": bud.members}  # fmt: skip

    def fit_kw(name: str) -> dict[str, Any]:
        return {"callback": _relabel(on_progress, name), "should_stop": should_stop}

    val_corr = () if X_val is None else (X_val, C_hat_val, C_val)
    # --- DFF and its unbounded ablation -----------------------------------------------------------
    if "dff" in methods:
        assert C_hat_train is not None  # set above for every corrected method
        t0 = time.perf_counter()
        dff = DFF(problem, **{"epsilon": eps, **train, **(dff_kwargs or {})})
        dff.fit(X_corr, C_hat_train, C_corr, *val_corr, **fit_kw("dff"))
        timings["dff"] = time.perf_counter() - t0
        C_dff = dff.predict(X_test, C_hat_test)
        results["dff"] = score(
            "dff", C_dff, timings["dff"], history=dff.history_, factors=dff.factors(X_test, C_hat_test), model=dff
        )
        training["dff"] = _training_info("dff", dff, "the backbone's predictions")
    if "dff_unbounded" in methods:
        assert C_hat_train is not None  # set above for every corrected method
        t0 = time.perf_counter()
        hidden = {"hidden": dff_kwargs["hidden"]} if dff_kwargs and "hidden" in dff_kwargs else {}
        unb = DFFUnbounded(problem, **train, **hidden).fit(X_corr, C_hat_train, C_corr, *val_corr,
                                                           **fit_kw("dff_unbounded"))  # fmt: skip
        timings["dff_unbounded"] = time.perf_counter() - t0
        results["dff_unbounded"] = score(
            "dff_unbounded", unb.predict(X_test, C_hat_test), timings["dff_unbounded"], history=unb.history_,
            factors=unb.factors(X_test), model=unb,
        )  # fmt: skip
        training["dff_unbounded"] = _training_info("dff_unbounded", unb, "the backbone's predictions")

    # --- decision-focused learning ----------------------------------------------------------------
    val_dfl = () if X_val is None else (X_val, C_val)
    own_kw: dict[str, Any] = {"model": own_class}
    if isinstance(bb, MLPBackbone):
        own_kw["hidden"] = tuple(bb.hidden)
    arms = {
        "dfl": ({"model": "linear", **(dfl_kwargs or {})}, {}, "its own ridge fit"),
        "dfl_backbone": (own_kw, {"start_from": bb}, "the backbone's fitted weights"),
        "dfl_scratch": ({**own_kw, "warm_start": False}, {}, "random weights"),
    }
    for name, (model_kw, extra_fit, start) in arms.items():
        if name not in methods:
            continue
        t0 = time.perf_counter()
        m = DFL(problem, **{**train, **model_kw}).fit(X_train, C_train, *val_dfl, **extra_fit, **fit_kw(name))
        timings[name] = time.perf_counter() - t0
        results[name] = score(name, m.predict(X_test), timings[name], history=m.history_, model=m)
        training[name] = _training_info(name, m, start)

    # --- evaluate -------------------------------------------------------------------------------
    progress(ProgressEvent("evaluate", epoch=0, epochs=1, status="scoring"))
    t0 = time.perf_counter()
    order = [m for m in ALL_METHODS if m in results]
    table = pd.DataFrame(
        [metrics_row(z_test, C_test, C_hat_test, results[m].C_pred, results[m].regret, results[m].seconds)
         for m in order],
        index=pd.Index(order, name="method"),
    )  # fmt: skip
    n = X_test.shape[0]
    times = None if times_test is None else pd.DatetimeIndex(times_test)
    if times is not None and len(times) != n:
        raise DataError(f"{owner}: times_test has {len(times)} entries for {n} test instances.")
    pieces = []
    for m in order:
        r = results[m]
        pieces.append(
            pd.DataFrame(
                {
                    "instance": np.arange(n),
                    "time": times if times is not None else pd.NaT,
                    "method": m,
                    "regret": r.regret,
                    "objective": problem.objective(C_test, r.W),
                    "optimal_objective": z_test,
                }
            )
        )
    per_instance = pd.concat(pieces, ignore_index=True)
    timings["evaluate"] = time.perf_counter() - t0
    progress(ProgressEvent("evaluate", epoch=1, epochs=1, status="done", seconds=timings["evaluate"]))

    trained = [m for m in order if m in TRAINED_METHODS]
    cfg = {
        "backbone": backbone if isinstance(backbone, str) else type(backbone).__name__,
        "epsilon": eps,
        "loss": loss,
        "methods": list(methods),
        "seed": int(seed),
        "preset": preset,
        "epochs": int(bud.epochs),
        "batch_size": int(bud.batch_size),
        "lr": bud.lr if is_auto(bud.lr) else float(bud.lr),
        "patience": bud.patience,
        "cross_fit": bool(cross_fit),
        **({"training_budget": {**bud.to_dict(), "methods": trained}, "training": training} if trained else {}),
        **(config or {}),
    }
    return ComparisonResult(
        problem=problem,
        X_test=X_test,
        C_test=C_test,
        W_test=W_test,
        z_test=z_test,
        C_hat=C_hat_test,
        methods=results,
        metrics=table,
        per_instance=per_instance,
        times=times,
        feature_names=list(feature_names) if feature_names is not None else [f"x{j}" for j in range(p)],
        output_names=list(output_names) if output_names is not None else [f"c{j}" for j in range(d)],
        config=cfg,
        timings=timings,
        n_train=int(X_train.shape[0]),
        n_val=0 if X_val is None else int(X_val.shape[0]),
    )


# ---------------------------------------------------------------------------------------- scenarios
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


def scenario_backbone(backbone: Any, scenario: Scenario, seed: int = 0) -> Any:
    """The backbone to use on ``scenario``: ``"historical_profile"`` becomes a profile keyed on
    :func:`profile_key`'s column; a scenario with ``wrap_backbone`` (traffic routing from counts:
    the count forecaster followed by the BPR map) gets the resolved backbone through it; other
    names and objects are returned as they are."""
    if isinstance(backbone, str) and backbone == "historical_profile":
        backbone = HistoricalProfileBackbone(key_column=scenario.feature_names.index(profile_key(scenario)))
    if scenario.wrap_backbone is not None:
        return scenario.wrap_backbone(resolve_backbone(backbone, seed=seed))
    return backbone


def compare(
    scenario: Scenario,
    backbone: Any = "ridge",
    epsilon: float | str | None = None,
    methods: Sequence[str] = ("two_stage", "dff", "dfl"),
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
    loss: str = "spo+",
    epochs: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    preset: str = "fast",
    folds: int | None = None,
    **kw: Any,
) -> ComparisonResult | BacktestResult:
    """Compare two-stage, DFF and the decision-focused baselines on ``scenario`` (train/val/test in time order).

    ``preset`` (:data:`PRESETS`) sets ε and the shared training budget; ``epsilon``, ``epochs`` and
    extra keyword arguments (``lr``, ``batch_size``, ``training_budget``, ``cross_fit``...) given here replace the
    preset's values and go to :func:`run_comparison`. With ``folds=k`` the comparison is a rolling-origin
    backtest over ``k`` consecutive test windows ending with the scenario's test period, each trained
    and validated only on earlier rows (:func:`~dff_core.backtest.rolling_origin_splits`), and a
    :class:`~dff_core.backtest.BacktestResult` is returned. The result carries the test decision times,
    column names, the scenario's unit and description, a ``config`` (scenario kind and options, training
    options and budget, data digest, and the scenario's specification ``scenario_spec`` when it was built
    from one, so :func:`load_run` can rebuild it) and the scenario's ``extra`` (sensors, links, OD pairs...)
    so displays can draw the decisions.
    """
    if not isinstance(scenario, Scenario):
        raise ValueError(
            f"compare: scenario must be a Scenario (see dff_core.scenarios); got {type(scenario).__name__}."
        )
    if folds is not None:
        return _backtest(scenario, folds, backbone=backbone, epsilon=epsilon, methods=methods, seed=seed,
                         on_progress=on_progress, loss=loss, epochs=epochs, should_stop=should_stop,
                         preset=preset, **kw)  # fmt: skip
    eps, bud = resolve_preset(preset, "compare", epsilon=epsilon, epochs=epochs, lr=kw.get("lr"),
                              batch_size=kw.get("batch_size"), budget=kw.get("training_budget"),
                              members=kw.get("members"))  # fmt: skip
    X_tr, C_tr, _ = scenario.part("train")
    X_va, C_va, _ = scenario.part("val")
    X_te, C_te, t_te = scenario.part("test")
    if len(X_va) == 0:
        X_va, C_va = X_va.reshape(0, scenario.X.shape[1]), C_va.reshape(0, scenario.C.shape[1])
    config: dict[str, Any] = {
        "scenario": scenario.kind,
        **scenario.options,
        "backbone": backbone if isinstance(backbone, str) else type(backbone).__name__,
        **({"profile_key": profile_key(scenario)} if backbone == "historical_profile" else {}),
        "epsilon": eps,
        "methods": list(methods),
        "seed": int(seed),
        "loss": loss,
        "preset": preset,
        "epochs": int(bud.epochs),
        **{k: v for k, v in kw.items() if isinstance(v, (str, int, float, bool)) or v is None},
        "data_digest": scenario.data_digest,
        "unit": scenario.unit,
        **({} if scenario.spec is None else {"scenario_spec": scenario.spec}),
    }
    run_kw = {k: v for k, v in kw.items() if k not in ("lr", "batch_size", "training_budget", "members")}
    result = run_comparison(
        scenario.problem,
        X_tr,
        C_tr,
        X_va,
        C_va,
        X_te,
        C_te,
        backbone=scenario_backbone(backbone, scenario, seed),
        epsilon=eps,
        loss=loss,
        methods=tuple(methods),
        seed=seed,
        preset=preset,
        training_budget=bud,
        on_progress=on_progress,
        should_stop=should_stop,
        times_test=t_te,
        feature_names=list(scenario.feature_names),
        output_names=list(scenario.output_names),
        config=config,
        **run_kw,
    )
    result.times = t_te
    result.feature_names = list(scenario.feature_names)
    result.output_names = list(scenario.output_names)
    result.unit = scenario.unit
    result.description = scenario.describe()
    result.config = {**(result.config or {}), **config}
    result.extra = {**(result.extra or {}), **scenario.extra}
    result.timings = {**scenario.timings, **(result.timings or {})}
    result.n_train = len(X_tr)
    result.n_val = len(X_va)
    if "time" in getattr(result.per_instance, "columns", []) and len(result.per_instance):
        inst = result.per_instance["instance"].to_numpy(dtype=np.int64)
        result.per_instance["time"] = np.asarray(t_te)[inst]
    return result


def _backtest(scenario: Scenario, folds: int, **kw: Any) -> BacktestResult:
    """``compare`` on each fold of :func:`~dff_core.backtest.rolling_origin_splits`, oldest window first."""
    t0 = time.perf_counter()
    splits = rolling_origin_splits(scenario.split, folds, owner="compare")
    on_progress = kw.pop("on_progress", None)
    results = []
    for k, split in enumerate(splits, 1):
        fold = dataclasses.replace(scenario, split={name: idx.copy() for name, idx in split.items()})
        if on_progress is not None:
            on_progress(ProgressEvent("backbone", epoch=0, epochs=1, status="fitting",
                                      message=f"fold {k} of {len(splits)}"))  # fmt: skip
        res = compare(fold, on_progress=on_progress, **kw)
        res.config = {**res.config, "fold": k, "folds": len(splits)}
        results.append(res)
    first = results[0].config
    config = {key: v for key, v in first.items() if key not in ("fold", "training")}
    config["folds"] = len(splits)
    return BacktestResult(folds=results, config=config, wall_seconds=time.perf_counter() - t0)


__all__ = [
    "PRESETS",
    "BacktestResult",
    "Budget",
    "Preset",
    "available_methods",
    "compare",
    "load_run",
    "profile_key",
    "run_comparison",
    "scenario_backbone",
]
