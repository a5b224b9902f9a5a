"""Allocation: send a limited number of response units where the predicted value is highest.

Two sources:

* sensor readings: each decision time is an instance and each sensor an item whose value
  is its predicted *delay* ``horizon`` ahead (minutes lost per vehicle against free flow:
  ``max(0, pace - free-flow pace) x stretch length``) or its predicted *count*;
* an allocation-items table (``period, item_id, value, features...``): each period is an
  instance, each item a coefficient.

The problem is :class:`~dff_core.problems.Allocation` (maximise), optionally with a cap per
corridor (the sensors' ``corridor`` column, else k-means clusters of their coordinates).
Regret is in the value's unit.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from dff_core.data import load_items
from dff_core.data.dataset import value_unit
from dff_core.data.digest import frame_digest
from dff_core.errors import DataError
from dff_core.problems import Allocation
from dff_core.scenarios.base import Scenario
from dff_core.scenarios.choices import allocation_value_problem
from dff_core.scenarios.features import chronological_split, infer_freq, make_features, resolve_timing
from dff_core.scenarios.traffic import MIN_SPEED_KMH, paces_min_per_km

#: Percentile of a sensor's training-period speeds taken as its free-flow speed.
FREE_FLOW_PERCENTILE = 85


def corridor_labels(
    sensors: pd.DataFrame, node_ids: list[str], n_groups: int | None = None, seed: int = 0
) -> np.ndarray:
    """One corridor label per sensor: the ``corridor`` column if present, else k-means of coordinates."""
    s = sensors.copy()
    s.index = s.index.astype(str)
    s = s.reindex(node_ids)
    if "corridor" in s.columns and s["corridor"].notna().all():
        return s["corridor"].astype(str).to_numpy(dtype=object)
    xy = np.column_stack([s["longitude"].astype(float), s["latitude"].astype(float)])
    if not np.isfinite(xy).all():
        raise ValueError("allocation scenario: sensors need latitude and longitude to group them into corridors.")
    d = len(node_ids)
    k = n_groups or max(2, round(np.sqrt(d / 2)))
    k = int(min(k, d))
    xy[:, 0] *= np.cos(np.radians(xy[:, 1].mean()))
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(xy)
    return np.array([f"zone {i + 1}" for i in labels], dtype=object)


def _group_caps(groups: np.ndarray, corridor_caps: int | float | Mapping[str, float] | None) -> dict[str, float]:
    if corridor_caps is None:
        return {}
    names = sorted(set(groups.tolist()))
    if isinstance(corridor_caps, Mapping):
        unknown = [g for g in corridor_caps if g not in names]
        if unknown:
            raise ValueError(f"corridor_caps names unknown corridors {unknown}; corridors are {names}.")
        caps = {str(g): float(c) for g, c in corridor_caps.items()}
    else:
        caps = dict.fromkeys(names, float(corridor_caps))
    if caps and (min(caps.values()) < 0 or max(caps.values()) <= 0):
        raise ValueError(
            f"allocation scenario: corridor cap {min(caps.values()):g} allows no units (caps must be positive); "
            "leave the corridor cap out for no cap."
        )
    return caps


def _check_decision_exists(C: np.ndarray, cap: np.ndarray, budget: float, groups: Any, caps: dict, what: str) -> None:
    """``ValueError`` when the decision is the same whatever the forecast: nothing has a positive value,
    or the budget covers every item's cap while no corridor cap binds (every item simply gets its cap)."""
    if not (np.asarray(C) > 0).any():
        raise DataError(
            [f"allocation scenario: no {what} has a positive value at any decision time, so the best allocation "
             "is always nothing. Larger values must mean more worth allocating (check the value column)."]
        )  # fmt: skip
    total = float(np.sum(cap))
    binding = any(c < cap[np.asarray(groups) == g].sum() for g, c in caps.items())
    if budget >= total and not binding:
        raise ValueError(
            f"allocation scenario: budget {budget:g} is at least the total capacity of the {len(cap)} {what}s "
            f"({total:g}), so every {what} gets its full cap whatever the forecast: there is nothing to decide. "
            f"Give a budget below {total:g}."
        )


def _train_rows(index: pd.Index, split: Sequence[Any]) -> pd.Index:
    """Reading times inside the training part (for free-flow speeds without look-ahead)."""
    parts = chronological_split(index, split)
    return index[parts["train"]]


def build_allocation_scenario(
    dataset: Any = None,
    items: Any = None,
    *,
    budget: float = 5,
    value: str = "delay",
    per_sensor_cap: float = 1,
    corridor_caps: int | float | Mapping[str, float] | None = None,
    n_corridors: int | None = None,
    horizon: str | None = None,
    split: Sequence[Any] = (0.6, 0.2, 0.2),
    seed: int = 0,
    every: str | None = "auto",
) -> Scenario:
    """Allocate ``budget`` units (at most ``per_sensor_cap`` per item) to maximise predicted value.

    Give either ``dataset`` (readings; ``value`` = ``"delay"`` needs speeds, ``"count"`` needs
    counts; :func:`~dff_core.scenarios.choices.allocation_values` says which fit a dataset) or
    ``items`` (a path or DataFrame with ``period, item_id, value, features...``).
    ``corridor_caps``: a number (same cap for every corridor) or ``{corridor: cap}``. ``horizon``
    and ``every`` default to multiples of the reading interval
    (:func:`~dff_core.scenarios.features.resolve_timing`).
    """
    if (dataset is None) == (items is None):
        raise ValueError("allocation scenario: give either dataset (sensor readings) or items (an items table).")
    if not np.isfinite(budget) or budget <= 0:
        raise ValueError(f"allocation scenario: budget must be a positive number of units; got {budget!r}.")
    if not np.isfinite(per_sensor_cap) or per_sensor_cap <= 0:
        raise ValueError(f"allocation scenario: per_sensor_cap must be positive; got {per_sensor_cap!r}.")
    if items is not None:
        return _from_items(items, budget=budget, per_item_cap=per_sensor_cap, split=split)

    problem_with_value = allocation_value_problem(dataset, value)
    if problem_with_value:
        raise ValueError(f"allocation scenario: {problem_with_value}")
    kind = getattr(dataset, "value_kind", "speed_kmh")
    readings = dataset.readings.copy()
    readings.columns = [str(c) for c in readings.columns]
    node_ids = list(readings.columns)
    freq = getattr(dataset, "freq", None)
    freq = pd.Timedelta(freq) if freq is not None else infer_freq(readings.index)
    if value == "count":
        source = target = readings.astype(float)
        unit = value_unit(kind, freq, getattr(dataset, "count_unit", None))
        extra_value: dict[str, Any] = {"count_unit": unit}
    else:
        speeds = dataset.speeds_kmh() if callable(getattr(dataset, "speeds_kmh", None)) else readings
        speeds = speeds.copy()
        speeds.columns = node_ids
        pace = paces_min_per_km(speeds)
        train_idx = _train_rows(speeds.index, split)
        ff_speed = speeds.loc[train_idx].quantile(FREE_FLOW_PERCENTILE / 100).clip(lower=MIN_SPEED_KMH)
        ff_speed = ff_speed.fillna(speeds.quantile(FREE_FLOW_PERCENTILE / 100)).clip(lower=MIN_SPEED_KMH)
        stretch = _stretch_km(dataset, node_ids)
        delay = (pace - 60.0 / ff_speed).clip(lower=0.0) * stretch
        source, target = pace, delay
        unit = "minutes of delay per vehicle"
        extra_value = {"free_flow_kmh": ff_speed, "stretch_km": stretch}

    timing = resolve_timing(freq, horizon, every)
    t0 = time.perf_counter()
    fs = make_features(source, target, horizon=timing.horizon, freq=freq, every=timing.every)
    parts = chronological_split(fs.times, split, target_times=fs.target_times)
    sensors = dataset.sensors.copy()
    sensors.index = sensors.index.astype(str)
    groups = corridor_labels(sensors, node_ids, n_corridors, seed)
    caps = _group_caps(groups, corridor_caps)
    _check_decision_exists(fs.C, np.full(len(node_ids), float(per_sensor_cap)), budget, groups, caps, "sensor")
    problem = Allocation(np.full(len(node_ids), float(per_sensor_cap)), budget, groups=groups, group_caps=caps or None)
    extra = {
        "sensors": sensors.reindex(node_ids),
        "links": getattr(dataset, "links", None),
        "node_ids": node_ids,
        "groups": groups.tolist(),
        "group_caps": caps,
        "budget": float(budget),
        "quantity": value,
        "freq": str(freq),
        "timing": timing.describe(),
        **extra_value,
    }
    options = {
        "source": "readings",
        "budget": float(budget),
        "value": value,
        "per_sensor_cap": float(per_sensor_cap),
        "corridor_caps": caps or None,
        **timing.options(),
        "split": [str(s) for s in split],
        "seed": int(seed),
        **({"count_unit": unit} if value == "count" else {}),
    }
    return Scenario(
        kind="allocation",
        problem=problem,
        X=fs.X,
        C=fs.C,
        times=fs.times,
        feature_names=fs.feature_names,
        output_names=fs.output_names,
        split=parts,
        unit=unit,
        extra=extra,
        data_digest=dataset.digest(),
        options=options,
        key_column=fs.slot_column,
        timings={"features": time.perf_counter() - t0},
    )


def _stretch_km(dataset: Any, node_ids: list[str]) -> pd.Series:
    """Road length a sensor stands for: mean length of its links (1 km without links)."""
    out = pd.Series(1.0, index=node_ids)
    links = getattr(dataset, "links", None)
    if links is None or len(links) == 0 or "length_km" not in links.columns:
        return out
    lk = pd.DataFrame(links)
    long = pd.concat(
        [
            pd.DataFrame({"sensor": lk["from_id"].astype(str), "km": lk["length_km"]}),
            pd.DataFrame({"sensor": lk["to_id"].astype(str), "km": lk["length_km"]}),
        ]
    )
    long["km"] = pd.to_numeric(long["km"], errors="coerce")
    mean = long.dropna().groupby("sensor")["km"].mean()
    mean = mean[mean > 0]
    out.update(mean.reindex(node_ids).dropna())
    return out


def _read_items(items: Any) -> pd.DataFrame:
    if isinstance(items, pd.DataFrame) and {"period", "item_id", "value"} <= set(items.columns):
        return items.copy()
    if isinstance(items, (str, Path)) or hasattr(items, "read"):
        out = load_items(items)
        return out[0] if isinstance(out, tuple) else out
    raise ValueError("allocation scenario: items must be a file path or a table with columns period, item_id, value.")


def _from_items(items: Any, *, budget: float, per_item_cap: float, split: Sequence[Any]) -> Scenario:
    df = _read_items(items)
    df["item_id"] = df["item_id"].astype(str)
    feats = [c for c in df.columns if c not in ("period", "item_id", "value")]
    dup = df.duplicated(["period", "item_id"])
    if dup.any():
        r = df[dup].iloc[0]
        raise DataError([f"items: period {r['period']} lists item {r['item_id']} more than once."])
    periods = pd.Index(pd.unique(df["period"]))
    try:
        ptimes = pd.DatetimeIndex(pd.to_datetime(periods))
    except (ValueError, TypeError):
        ptimes = None
    order = np.argsort(ptimes.asi8 if ptimes is not None else periods.to_numpy(), kind="stable")
    periods = periods[order]
    item_ids = sorted(df["item_id"].unique().tolist())
    wide = df.pivot(index="period", columns="item_id", values="value").reindex(index=periods, columns=item_ids)
    if wide.isna().any().any():
        missing = [(p, i) for p in wide.index for i in wide.columns if pd.isna(wide.loc[p, i])]
        lines = [f"items: period {p} has no value for item {i}" for p, i in missing[:20]]
        if len(missing) > 20:
            lines.append(f"items: ... and {len(missing) - 20} more missing (period, item) values")
        raise DataError([*lines, "items: every period must list every item once (value 0 if nothing)."])
    C_all = wide.to_numpy(dtype=float)
    blocks = [np.vstack([np.full(len(item_ids), np.nan), C_all[:-1]])]
    names = [f"{i}@prev" for i in item_ids]
    for f in feats:
        fw = df.pivot(index="period", columns="item_id", values=f).reindex(index=periods, columns=item_ids)
        blocks.append(fw.to_numpy(dtype=float))
        names += [f"{i}:{f}" for i in item_ids]
    X_all = np.hstack(blocks)[1:]  # the first period has no previous values
    C = C_all[1:]
    if not np.isfinite(X_all).all():
        r, c = np.argwhere(~np.isfinite(X_all))[0]
        raise DataError([f"items: feature {names[c]} is missing or not a number in period {periods[r + 1]}."])
    times = ptimes[order][1:] if ptimes is not None else pd.Index(periods[1:])
    parts = chronological_split(times, split)
    _check_decision_exists(C, np.full(len(item_ids), float(per_item_cap)), budget, None, {}, "item")
    problem = Allocation(np.full(len(item_ids), float(per_item_cap)), budget)
    return Scenario(
        kind="allocation",
        problem=problem,
        X=X_all,
        C=C,
        times=times,
        feature_names=names,
        output_names=item_ids,
        split=parts,
        unit="value",
        extra={"node_ids": item_ids, "budget": float(budget), "quantity": "value", "groups": None},
        data_digest=frame_digest(df),
        options={
            "source": "items",
            "budget": float(budget),
            "per_sensor_cap": float(per_item_cap),
            "split": [str(s) for s in split],
        },
        key_column=None,
    )
