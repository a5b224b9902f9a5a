"""Explanations of what DFF changed and why, as tidy DataFrames for reports and the dashboard.

* :func:`correction_summary`: how far DFF moved each output (and when), from its factors φ.
* :func:`feature_attribution`: which features drive the correction (integrated gradients on
  ``hθ``) or matter for its decisions (permutation importance on regret).
* :func:`decision_differences`: where DFF decided differently from the backbone and what each
  change saved or cost.
* :func:`epsilon_sweep`: the regret / prediction-shift trade-off over trust-region radii.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import check_is_fitted

from dff_core import metrics
from dff_core.backbones import cross_fit_predict, resolve_backbone
from dff_core.dff import DFF
from dff_core.problems.base import OptProblem
from dff_core.results import ComparisonResult, MethodResult
from dff_core.validation import as_2d

_TIME_KEYS = {"hour": lambda t: t.hour, "weekday": lambda t: t.day_of_week}


def _dff_result(result: ComparisonResult, owner: str) -> MethodResult:
    mr = result.methods.get("dff")
    if mr is None or mr.factors is None:
        raise ValueError(f"{owner}: the comparison has no DFF result; run it with 'dff' in methods.")
    return mr


def _output_names(result: ComparisonResult, d: int) -> list[str]:
    names = list(result.output_names or [])
    return names if len(names) == d else [f"c{j}" for j in range(d)]


def correction_summary(result: ComparisonResult, by: str | Sequence[str] = "output") -> pd.DataFrame:
    """Mean, min and max of DFF's factor φ per group (``output``, ``hour``, ``weekday`` or a tuple of them).

    ``hour``/``weekday`` use ``result.times`` (the test decision times). Columns: the group keys,
    ``mean``, ``min``, ``max``, ``mean_change_pct`` (``(mean − 1)·100``) and ``count``.
    """
    owner = "correction_summary"
    phi = np.asarray(_dff_result(result, owner).factors, dtype=np.float64)
    keys = [by] if isinstance(by, str) else list(by)
    valid = {"output", *_TIME_KEYS}
    bad = [k for k in keys if k not in valid]
    if bad or not keys:
        raise ValueError(f"{owner}: by must be one or more of {sorted(valid)}; got {by!r}.")
    n, d = phi.shape
    long = pd.DataFrame(
        {
            "instance": np.repeat(np.arange(n), d),
            "output": np.tile(np.asarray(_output_names(result, d), dtype=object), n),
            "factor": phi.ravel(),
        }
    )
    for k in keys:
        if k in _TIME_KEYS:
            if result.times is None:
                raise ValueError(f"{owner}: by={k!r} needs decision times, but this result has none (result.times).")
            t = pd.DatetimeIndex(result.times)
            long[k] = np.repeat(np.asarray(_TIME_KEYS[k](t)), d)
    g = long.groupby(keys, sort=True)["factor"]
    out = g.agg(["mean", "min", "max", "count"]).reset_index()
    out.insert(len(keys) + 3, "mean_change_pct", (out["mean"] - 1.0) * 100.0)
    if "output" in keys:  # keep the problem's output order rather than alphabetical
        order = {name: i for i, name in enumerate(_output_names(result, d))}
        out = out.sort_values(keys, key=lambda s: s.map(order) if s.name == "output" else s, kind="stable").reset_index(
            drop=True
        )
    return out


def _integrated_gradients(model: DFF, X: np.ndarray, C_hat: np.ndarray | None, steps: int) -> np.ndarray:
    """IG of every output of ``hθ`` w.r.t. raw features, baseline = training feature mean; shape (n, d, p)."""
    module = model.module_
    x0 = module.x_mean.detach()
    Xt = torch.from_numpy(X)
    Ch = None if C_hat is None else torch.from_numpy(C_hat)
    alphas = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps  # midpoint rule
    n, p = X.shape
    d = module.n_outputs
    out = np.zeros((n, d, p))
    chunk = max(1, 4096 // steps)
    for s in range(0, n, chunk):
        xs = Xt[s : s + chunk]
        m = len(xs)
        path = (x0 + alphas[:, None, None] * (xs[None] - x0)).reshape(steps * m, p).requires_grad_(True)
        ch = None if Ch is None else Ch[s : s + chunk].repeat(steps, 1)
        h = module.logits(path, ch)  # (steps*m, d)
        grads = torch.zeros((d, steps * m, p), dtype=torch.float64)
        for j in range(d):
            (g,) = torch.autograd.grad(h[:, j].sum(), path, retain_graph=j < d - 1)
            grads[j] = g
        avg = grads.reshape(d, steps, m, p).mean(dim=1)  # (d, m, p)
        out[s : s + m] = (avg * (xs - x0)[None]).permute(1, 0, 2).numpy()
    return out


def feature_attribution(
    dff_model: DFF,
    X: np.ndarray,
    C_hat: np.ndarray | None = None,
    feature_names: Sequence[str] | None = None,
    method: str = "integrated_gradients",
    problem: OptProblem | None = None,
    C_true: np.ndarray | None = None,
    *,
    steps: int = 32,
    n_repeats: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Which features drive DFF's correction; one row per feature, sorted by importance.

    ``integrated_gradients``: attributions of each output of ``hθ`` (the correction's logits,
    0 = no change) along the straight path from the training feature mean to each ``x``
    (``steps`` midpoints), averaged over instances and outputs: ``importance`` = mean
    |attribution|, ``signed`` = mean attribution (positive: the feature pushes predictions up).
    ``permutation``: increase of DFF's mean regret on ``(X, C_true)`` when a feature column is
    shuffled (``importance`` and ``signed`` are the same number; needs ``C_hat`` and ``C_true``;
    ``problem`` defaults to the model's).
    Columns: ``feature``, ``importance``, ``signed``, ``method``.
    """
    owner = "feature_attribution"
    check_is_fitted(dff_model, "module_", msg=f"{owner}: the DFF model is not fitted; call fit(X, C_hat, C) first.")
    X = as_2d("X", X, dff_model.n_features_in_, owner=owner)
    d = int(dff_model.problem.d)
    Ch = None if C_hat is None else as_2d("C_hat", C_hat, d, X.shape[0], owner=owner)
    p = X.shape[1]
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(p)]
    if len(names) != p:
        raise ValueError(f"{owner}: {len(names)} feature_names for {p} feature columns.")
    if method == "integrated_gradients":
        if dff_model.module_.use_c_hat and Ch is None:
            raise ValueError(f"{owner}: this model uses C_hat as an input; pass C_hat.")
        ig = _integrated_gradients(dff_model, X, Ch if dff_model.module_.use_c_hat else None, int(steps))
        imp = np.abs(ig).mean(axis=(0, 1))
        signed = ig.mean(axis=(0, 1))
    elif method == "permutation":
        problem = problem if problem is not None else dff_model.problem
        if C_true is None or Ch is None:
            raise ValueError(f"{owner}: method='permutation' needs C_hat and C_true (it measures regret).")
        C_true = as_2d("C_true", C_true, d, X.shape[0], owner=owner)
        W_true = problem.solve(C_true)
        base = metrics.regret(problem, C_true, dff_model.predict(X, Ch), W_true=W_true).mean()
        rng = np.random.default_rng(seed)
        imp = np.zeros(p)
        for j in range(p):
            vals = []
            for _ in range(int(n_repeats)):
                Xp = X.copy()
                Xp[:, j] = Xp[rng.permutation(len(X)), j]
                vals.append(metrics.regret(problem, C_true, dff_model.predict(Xp, Ch), W_true=W_true).mean())
            imp[j] = float(np.mean(vals) - base)
        signed = imp.copy()
    else:
        raise ValueError(f"{owner}: method must be 'integrated_gradients' or 'permutation'; got {method!r}.")
    out = pd.DataFrame({"feature": names, "importance": imp, "signed": signed, "method": method})
    return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def decision_differences(result: ComparisonResult, level: str = "output", atol: float = 1e-6) -> pd.DataFrame:
    """Where DFF's decisions differ from the backbone's (two-stage), and what the changes saved.

    ``level="output"``: one row per decision variable with ``n_changed`` (instances where that
    variable's decision changed), ``share_changed``, and ``regret_saved_sum``/``regret_saved_mean``
    (two-stage regret − DFF regret, over those instances; positive = DFF's change helped).
    ``level="instance"``: one row per test instance with ``time``, ``n_changed``,
    ``regret_two_stage``, ``regret_dff`` and ``regret_saved``.
    """
    owner = "decision_differences"
    mr = _dff_result(result, owner)
    ts = result.methods.get("two_stage")
    if ts is None:
        raise ValueError(f"{owner}: the comparison has no two-stage result; run it with 'two_stage' in methods.")
    changed = ~np.isclose(np.asarray(ts.W), np.asarray(mr.W), atol=atol, rtol=0.0)
    saved = np.asarray(ts.regret) - np.asarray(mr.regret)
    n, d = changed.shape
    if level == "instance":
        times = pd.DatetimeIndex(result.times) if result.times is not None else [pd.NaT] * n
        return pd.DataFrame(
            {
                "instance": np.arange(n),
                "time": times,
                "n_changed": changed.sum(axis=1),
                "regret_two_stage": ts.regret,
                "regret_dff": mr.regret,
                "regret_saved": saved,
            }
        )
    if level != "output":
        raise ValueError(f"{owner}: level must be 'output' or 'instance'; got {level!r}.")
    n_changed = changed.sum(axis=0)
    saved_sum = (changed * saved[:, None]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        saved_mean = np.where(n_changed > 0, saved_sum / np.maximum(n_changed, 1), np.nan)
    return pd.DataFrame(
        {
            "output": _output_names(result, d),
            "n_changed": n_changed,
            "share_changed": n_changed / max(n, 1),
            "regret_saved_sum": saved_sum,
            "regret_saved_mean": saved_mean,
        }
    )


def epsilon_sweep(
    problem: OptProblem,
    X_train: np.ndarray,
    C_train: np.ndarray,
    X_val: np.ndarray,
    C_val: np.ndarray,
    X_test: np.ndarray,
    C_test: np.ndarray,
    epsilons: Sequence[float],
    backbone: Any = "ridge",
    seed: int = 0,
    cross_fit: bool = False,
    **dff_kwargs: Any,
) -> pd.DataFrame:
    """Test metrics of DFF for each trust-region radius ε (the backbone is fitted once).

    ``ε = 0`` is allowed and means the backbone itself. Columns: ``epsilon``, ``normalized_regret``,
    ``regret_mean``, ``mse``, ``mean_relative_shift``, ``max_relative_shift``, ``min_cosine``,
    ``val_regret`` and ``best_epoch``. Extra keywords go to :class:`~dff_core.dff.DFF`.
    """
    owner = "epsilon_sweep"
    d = int(problem.d)
    X_train = as_2d("X_train", X_train, owner=owner)
    p = X_train.shape[1]
    C_train = as_2d("C_train", C_train, d, X_train.shape[0], owner=owner)
    X_val = as_2d("X_val", X_val, p, owner=owner)
    C_val = as_2d("C_val", C_val, d, X_val.shape[0], owner=owner)
    X_test = as_2d("X_test", X_test, p, owner=owner)
    C_test = as_2d("C_test", C_test, d, X_test.shape[0], owner=owner)
    eps_list = [float(e) for e in epsilons]
    if not eps_list:
        raise ValueError(f"{owner}: give at least one epsilon.")
    bb = resolve_backbone(backbone, seed=seed).fit(X_train, C_train)
    if cross_fit:
        # Forward chaining leaves the first block without an honest prediction: train on the other rows.
        Ch_tr = cross_fit_predict(resolve_backbone(backbone, seed=seed), X_train, C_train, seed=seed)
        keep = np.isfinite(Ch_tr).all(axis=1)
        X_train, C_train, Ch_tr = X_train[keep], C_train[keep], Ch_tr[keep]
    else:
        Ch_tr = bb.predict(X_train)
    Ch_val, Ch_te = bb.predict(X_val), bb.predict(X_test)
    W_test = problem.solve(C_test)
    W_val = problem.solve(C_val) if len(C_val) else None
    rows = []
    for eps in eps_list:
        if eps == 0.0:
            C_pred, C_pred_val, best = Ch_te, Ch_val, 0
        else:
            m = DFF(problem, epsilon=eps, seed=seed, **dff_kwargs).fit(X_train, Ch_tr, C_train, X_val, Ch_val, C_val)
            C_pred, C_pred_val, best = m.predict(X_test, Ch_te), m.predict(X_val, Ch_val), m.best_epoch_
        r = metrics.regret(problem, C_test, C_pred, W_true=W_test)
        rows.append(
            {
                "epsilon": eps,
                "normalized_regret": metrics.normalized_regret(problem, C_test, C_pred, W_true=W_test),
                "regret_mean": float(r.mean()),
                "mse": metrics.mse(C_test, C_pred),
                **metrics.shift_metrics(Ch_te, C_pred),
                "val_regret": float(metrics.regret(problem, C_val, C_pred_val, W_true=W_val).mean())
                if W_val is not None
                else float("nan"),
                "best_epoch": int(best),
            }
        )
    return pd.DataFrame(rows)
