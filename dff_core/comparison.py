"""The comparison DFF is judged by: two-stage (backbone alone), end-to-end DFL, and DFF itself.

* :func:`run_comparison` fits every method on one chronological split of arrays and fills a
  :class:`~dff_core.results.ComparisonResult`.
* :func:`compare` does the same on a :class:`~dff_core.scenarios.Scenario` (its split, names,
  times, unit and display payload go into the result).
* :func:`load_run` reads a saved run folder, rebuilding its scenario from the stored specification.

Progress is reported as :class:`~dff_core.progress.ProgressEvent` objects to ``on_progress(event)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dff_core import metrics
from dff_core.backbones import HistoricalProfileBackbone, cross_fit_predict, resolve_backbone
from dff_core.baselines import DFL
from dff_core.dff import DFF
from dff_core.errors import DataError
from dff_core.losses import true_solutions
from dff_core.problems.base import OptProblem
from dff_core.progress import ProgressCallback, ProgressEvent
from dff_core.results import METHODS, ComparisonResult, MethodResult, read_run_meta
from dff_core.scenarios.base import Scenario
from dff_core.scenarios.spec import ScenarioSpec, build
from dff_core.validation import as_2d, check_epsilon


def _metrics_row(z_test: np.ndarray, C_test: np.ndarray, C_hat: np.ndarray, mr: MethodResult) -> dict[str, float]:
    return {
        "regret_mean": float(mr.regret.mean()) if len(mr.regret) else float("nan"),
        "regret_median": float(np.median(mr.regret)) if len(mr.regret) else float("nan"),
        "normalized_regret": float(mr.regret.sum() / (np.abs(z_test).sum() + 1e-7)),
        "mse": metrics.mse(C_test, mr.C_pred),
        "mae": metrics.mae(C_test, mr.C_pred),
        "mape": metrics.mape(C_test, mr.C_pred),
        **metrics.shift_metrics(C_hat, mr.C_pred),
        "seconds": float(mr.seconds),
    }


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
    epsilon: float = 0.2,
    loss: str = "spo+",
    methods: Sequence[str] = ("two_stage", "dff", "dfl"),
    seed: int = 0,
    epochs: int = 50,
    batch_size: int = 32,
    lr: float = 1e-3,
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
    """Fit the backbone, then DFF and end-to-end DFL, and score every method on the test set.

    * ``two_stage``: decisions on the backbone's predictions ``Ĉ`` (its ``seconds`` = backbone fit + predict).
    * ``dff``: :class:`~dff_core.dff.DFF` on the backbone's training predictions (out-of-fold when
      ``cross_fit=True``), early-stopped on the validation set; ``seconds`` excludes the backbone.
    * ``dfl``: :class:`~dff_core.baselines.DFL` (linear, warm-started from least squares) on the same
      loss, no trust region.

    ``backbone`` is a name from :data:`dff_core.backbones.BACKBONES` or an object with ``fit``/``predict``.
    ``on_progress(event)`` receives a :class:`~dff_core.progress.ProgressEvent` when the backbone
    stage starts and ends, after every training epoch of DFF and DFL, and when scoring starts and ends.
    ``should_stop()`` cancels training (the best epoch so far is kept; later methods are still scored).
    Shift and cosine in the metrics table are measured against the backbone's ``Ĉ``.
    """
    owner = "run_comparison"
    methods = tuple(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"{owner}: unknown method(s) {unknown}; choose from {', '.join(METHODS)}.")
    eps = check_epsilon(epsilon)
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

    def progress(event: ProgressEvent) -> None:
        if on_progress is not None:
            on_progress(event)

    timings: dict[str, float] = {}
    results: dict[str, MethodResult] = {}
    W_test, z_test = true_solutions(problem, C_test)

    # --- backbone -------------------------------------------------------------------------------
    progress(ProgressEvent("backbone", epoch=0, epochs=1, status="fitting"))
    t0 = time.perf_counter()
    bb = resolve_backbone(backbone, seed=seed)
    bb.fit(X_train, C_train)
    C_hat_test = as_2d("backbone predictions", bb.predict(X_test), d, X_test.shape[0], owner=owner)
    C_hat_val = None if X_val is None else as_2d("backbone predictions", bb.predict(X_val), d, owner=owner)
    t_bb = time.perf_counter() - t0
    C_hat_train = None
    if "dff" in methods:
        t1 = time.perf_counter()
        if cross_fit:
            C_hat_train = cross_fit_predict(resolve_backbone(backbone, seed=seed), X_train, C_train, seed=seed)
        else:
            C_hat_train = bb.predict(X_train)
        C_hat_train = as_2d("backbone predictions", C_hat_train, d, X_train.shape[0], owner=owner)
        timings["backbone_train_predictions"] = time.perf_counter() - t1
    timings["backbone"] = t_bb
    progress(ProgressEvent("backbone", epoch=1, epochs=1, status="done", seconds=t_bb))

    def score(name: str, C_pred: np.ndarray, seconds: float, **kw: Any) -> MethodResult:
        W = problem.solve(C_pred)
        r = metrics.regret(problem, C_test, C_pred, W_true=W_test, W_pred=W)
        return MethodResult(name=name, C_pred=C_pred, W=W, regret=r, seconds=seconds, **kw)

    if "two_stage" in methods:
        results["two_stage"] = score("two_stage", C_hat_test, t_bb, model=bb)

    train = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed, "loss": loss}
    fit_kw = {"callback": on_progress, "should_stop": should_stop}
    # --- DFF ------------------------------------------------------------------------------------
    if "dff" in methods:
        t0 = time.perf_counter()
        dff = DFF(problem, epsilon=eps, **train, **(dff_kwargs or {}))
        if X_val is not None:
            dff.fit(X_train, C_hat_train, C_train, X_val, C_hat_val, C_val, **fit_kw)
        else:
            dff.fit(X_train, C_hat_train, C_train, **fit_kw)
        timings["dff"] = time.perf_counter() - t0
        C_dff = dff.predict(X_test, C_hat_test)
        results["dff"] = score(
            "dff", C_dff, timings["dff"], history=dff.history_, factors=dff.factors(X_test, C_hat_test), model=dff
        )

    # --- end-to-end DFL -------------------------------------------------------------------------
    if "dfl" in methods:
        t0 = time.perf_counter()
        dfl = DFL(problem, **train, **(dfl_kwargs or {})).fit(X_train, C_train, X_val, C_val, **fit_kw)
        timings["dfl"] = time.perf_counter() - t0
        results["dfl"] = score("dfl", dfl.predict(X_test), timings["dfl"], history=dfl.history_, model=dfl)

    # --- evaluate -------------------------------------------------------------------------------
    progress(ProgressEvent("evaluate", epoch=0, epochs=1, status="scoring"))
    t0 = time.perf_counter()
    order = [m for m in METHODS if m in results]
    table = pd.DataFrame(
        [_metrics_row(z_test, C_test, C_hat_test, results[m]) for m in order], index=pd.Index(order, name="method")
    )
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

    cfg = {
        "backbone": backbone if isinstance(backbone, str) else type(backbone).__name__,
        "epsilon": eps,
        "loss": loss,
        "methods": list(methods),
        "seed": int(seed),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "lr": float(lr),
        "cross_fit": bool(cross_fit),
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
    epsilon: float = 0.2,
    methods: Sequence[str] = ("two_stage", "dff", "dfl"),
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
    loss: str = "spo+",
    epochs: int = 30,
    should_stop: Callable[[], bool] | None = None,
    **kw: Any,
) -> ComparisonResult:
    """Compare two-stage, DFF and end-to-end DFL on ``scenario`` (train/val/test in time order).

    Extra keyword arguments (``batch_size``, ``lr``, ``cross_fit``...) go to :func:`run_comparison`.
    The result carries the test decision times, column names, the scenario's unit and description,
    a ``config`` (scenario kind and options, training options, data digest, and the scenario's
    specification ``scenario_spec`` when it was built from one, so :func:`load_run` can rebuild it)
    and the scenario's ``extra`` (sensors, links, OD pairs...) so displays can draw the decisions.
    """
    if not isinstance(scenario, Scenario):
        raise ValueError(
            f"compare: scenario must be a Scenario (see dff_core.scenarios); got {type(scenario).__name__}."
        )
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
        "epsilon": float(epsilon),
        "methods": list(methods),
        "seed": int(seed),
        "loss": loss,
        "epochs": int(epochs),
        **{k: v for k, v in kw.items() if isinstance(v, (str, int, float, bool)) or v is None},
        "data_digest": scenario.data_digest,
        "unit": scenario.unit,
        **({} if scenario.spec is None else {"scenario_spec": scenario.spec}),
    }
    result = run_comparison(
        scenario.problem,
        X_tr,
        C_tr,
        X_va,
        C_va,
        X_te,
        C_te,
        backbone=scenario_backbone(backbone, scenario, seed),
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


def load_run(path: str | Path) -> ComparisonResult:
    """Read a run folder written by :meth:`ComparisonResult.save`, rebuilding its scenario from the
    specification stored in its configuration (``config["scenario_spec"]``)."""
    path = Path(path)
    meta = read_run_meta(path)
    spec = meta["config"].get("scenario_spec")
    if spec is None:
        raise DataError(
            f"load_run: {path / 'meta.json'} has no scenario specification (config['scenario_spec']); "
            "load it with ComparisonResult.load(path, scenario) and the scenario it was made on."
        )
    return ComparisonResult.load(path, build(ScenarioSpec.model_validate(spec)))
