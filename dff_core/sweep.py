"""Parameter sweeps over ε, seeds, backbones, losses (and horizons) that scale from a laptop to a Ray cluster.

A sweep runs :func:`dff_core.compare` once per grid point and writes, as runs finish:

* ``runs.csv``: one row per run (grid columns, per-method regret / normalized regret / MSE / MAE,
  DFF's prediction shift and cosine, wall seconds, ``run_id``), appended and flushed per run;
* ``summary.csv``: mean and standard deviation across seeds per (ε, backbone, loss[, horizon]);
* ``pareto.csv``: the Pareto front of DFF regret against DFF's mean prediction shift.

Every run is keyed by a digest of the scenario's data and the run's configuration, so a sweep that
was killed or stopped resumes where it left off: finished ``run_id`` values found in ``runs.csv``
are not recomputed.

Backends:

* ``"local"``: a process pool (``forkserver`` context, ``spawn`` where unavailable) over the
  machine's cores. The scenario is shipped once per worker through the pool initializer; each
  worker uses one torch thread.
* ``"ray"``: ``ray.init(address=...)`` on an existing cluster (or a local Ray instance when no
  address is given); the scenario is put once in the object store and passed by reference to
  ``num_cpus=1`` tasks. Ray is optional and imported only when this backend is used.

Both backends give the same table for the same seeds (up to the ``seconds`` column), because every
run starts from its own seed in a fresh single-threaded worker.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import math
import multiprocessing as mp
import os
import sys
import time
import tomllib
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dff_core.data.digest import json_digest, object_digest
from dff_core.data.parsing import parse_duration
from dff_core.scenarios.spec import ScenarioSpec, build

#: Grid dimensions in the order they appear as columns of ``runs.csv``.
GRID_KEYS = ("epsilon", "seed", "backbone", "loss", "horizon")
#: Grid dimensions that define a group of seeds in ``summary.csv``.
GROUP_KEYS = ("epsilon", "backbone", "loss", "horizon")
#: Per-method metric columns (``<metric>_<method>``) copied from ``ComparisonResult.metrics``.
METHOD_METRICS = ("regret_mean", "normalized_regret", "mse", "mae")
#: DFF's prediction-shift columns (against the backbone prediction), copied without suffix.
SHIFT_METRICS = ("max_relative_shift", "mean_relative_shift", "min_cosine")
#: Files written to ``out_dir``.
RUNS_FILE, SUMMARY_FILE, PARETO_FILE, FAILED_FILE = "runs.csv", "summary.csv", "pareto.csv", "failed.csv"

Backend = Literal["local", "ray"]
ProgressFn = Callable[[int, int, dict[str, Any]], None]
RunFn = Callable[..., Any]


# --------------------------------------------------------------------------------------------
# Known choices (read from the engine when available so the sweep never drifts from compare)
# --------------------------------------------------------------------------------------------


def known_backbones() -> tuple[str, ...]:
    """Backbone names ``compare`` accepts (the engine's registry)."""
    from dff_core.backbones import BACKBONES

    return tuple(BACKBONES)


def check_loss(name: str) -> str:
    """Validate a decision-loss name with the estimator's own resolver (so the sweep accepts what DFF does)."""
    from dff_core.losses import resolve_loss

    resolve_loss(name)
    return name


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


class SweepConfigError(ValueError):
    """A sweep configuration has problems; ``problems`` holds one readable line per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _as_list(v: Any) -> Any:
    return [v] if isinstance(v, (str, int, float)) and not isinstance(v, bool) else v


def _no_duplicates(values: list, name: str) -> list:
    seen = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{name} lists {v!r} twice; each value may appear once")
        seen.add(v)
    return values


class GridConfig(BaseModel):
    """The values to sweep; the sweep runs every combination (a scalar counts as a one-value list)."""

    model_config = ConfigDict(extra="forbid")

    epsilon: list[float] = Field(default_factory=lambda: [0.2], min_length=1)
    seed: list[int] = Field(default_factory=lambda: [0], min_length=1)
    backbone: list[str] = Field(default_factory=lambda: ["ridge"], min_length=1)
    loss: list[str] = Field(default_factory=lambda: ["spo+"], min_length=1)
    horizon: list[str] | None = Field(default=None, min_length=1)

    @field_validator("epsilon", "seed", "backbone", "loss", "horizon", mode="before")
    @classmethod
    def _scalar_to_list(cls, v: Any) -> Any:
        return _as_list(v)

    @field_validator("epsilon")
    @classmethod
    def _check_epsilon(cls, v: list[float]) -> list[float]:
        for e in v:
            if not (math.isfinite(e) and 0.0 < e < 1.0):
                raise ValueError(f"every epsilon must be strictly between 0 and 1 (e.g. 0.1, 0.2); got {e!r}")
        return _no_duplicates(v, "epsilon")

    @field_validator("seed")
    @classmethod
    def _check_seed(cls, v: list[int]) -> list[int]:
        for s in v:
            if s < 0:
                raise ValueError(f"seeds must be non-negative integers; got {s!r}")
        return _no_duplicates(v, "seed")

    @field_validator("backbone")
    @classmethod
    def _check_backbone(cls, v: list[str]) -> list[str]:
        known = known_backbones()
        for b in v:
            if b not in known:
                raise ValueError(f"unknown backbone {b!r}; choose from {', '.join(known)}")
        return _no_duplicates(v, "backbone")

    @field_validator("loss")
    @classmethod
    def _check_loss(cls, v: list[str]) -> list[str]:
        for s in v:
            try:
                check_loss(s)
            except ValueError as exc:
                raise ValueError(f"unknown loss {s!r} ({exc})") from None
        return _no_duplicates(v, "loss")

    @field_validator("horizon")
    @classmethod
    def _check_horizon(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        for h in v:
            parse_duration(h, "horizon")
        return _no_duplicates(v, "horizon")

    def axes(self) -> dict[str, list]:
        """The swept dimensions in run order (horizon first: each horizon needs its own scenario)."""
        out: dict[str, list] = {}
        if self.horizon is not None:
            out["horizon"] = list(self.horizon)
        out.update(backbone=list(self.backbone), loss=list(self.loss), epsilon=list(self.epsilon), seed=list(self.seed))
        return out


class TrainConfig(BaseModel):
    """Options passed to every ``compare`` call of the sweep (unset ones keep ``compare``'s defaults)."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(default=30, ge=1, le=100_000)
    methods: list[Literal["two_stage", "dff", "dfl"]] = Field(
        default_factory=lambda: ["two_stage", "dff", "dfl"], min_length=1
    )
    lr: float | None = Field(default=None, gt=0)
    batch_size: int | None = Field(default=None, ge=1)

    @field_validator("methods")
    @classmethod
    def _need_dff(cls, v: list[str]) -> list[str]:
        if "dff" not in v:
            raise ValueError("methods must include 'dff' (the sweep measures DFF's regret and shift)")
        return _no_duplicates(v, "methods")

    def compare_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``compare``."""
        out: dict[str, Any] = {"epochs": self.epochs, "methods": tuple(self.methods)}
        out.update({k: getattr(self, k) for k in ("lr", "batch_size") if getattr(self, k) is not None})
        return out


class SweepConfig(BaseModel):
    """A whole sweep file: ``[scenario]``, ``[train]`` and ``[grid]`` tables."""

    model_config = ConfigDict(extra="forbid")

    scenario: ScenarioSpec = Field(default_factory=ScenarioSpec)
    train: TrainConfig = Field(default_factory=TrainConfig)
    grid: GridConfig = Field(default_factory=GridConfig)


def _loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_problems(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    problems = []
    for err in exc.errors():
        where = _loc(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parent = err["loc"][:-1]
            sub: Any = model
            for part in parent:
                sub = sub.model_fields[part].annotation if isinstance(part, str) else sub
            allowed = [k for k in getattr(sub, "model_fields", {}) if k != "base_dir"]
            msg = "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        elif err["type"] == "too_short":
            msg = "must list at least one value"
        problems.append(f"{where}: {msg}" if where else msg)
    return problems


def parse_config(data: Mapping[str, Any], base_dir: str | Path | None = None) -> SweepConfig:
    """Validate a sweep config given as a mapping; raises :class:`SweepConfigError` listing every problem."""
    if not isinstance(data, Mapping):
        raise SweepConfigError([f"sweep config must be a table of tables, got {type(data).__name__}"])
    data = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}
    if isinstance(data.get("scenario", {}), dict):
        data.setdefault("scenario", {})["base_dir"] = str(base_dir) if base_dir is not None else None
    try:
        cfg = SweepConfig.model_validate(data)
    except ValidationError as exc:
        raise SweepConfigError(_pydantic_problems(exc, SweepConfig)) from None
    problems = cfg.scenario.problems()
    if cfg.grid.horizon is not None and "horizon" in cfg.scenario.model_fields_set:
        problems.append("grid.horizon: also set in [scenario]; set the horizon in one place only")
    if cfg.grid.horizon is not None and cfg.scenario.kind == "allocation" and cfg.scenario.items is not None:
        problems.append("grid.horizon: an items table has no horizon; remove horizon from the grid")
    if problems:
        raise SweepConfigError(problems)
    return cfg


def load_config(path: str | Path) -> SweepConfig:
    """Read and validate a TOML sweep file (relative data paths resolve against its folder, then cwd)."""
    path = Path(path)
    if not path.is_file():
        raise SweepConfigError([f"{path}: config file not found"])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SweepConfigError([f"{path}: not valid TOML ({exc})"]) from None
    return parse_config(data, base_dir=path.resolve().parent)


# --------------------------------------------------------------------------------------------
# Run plan and keys
# --------------------------------------------------------------------------------------------


#: Scenario fields left out of its digest: build timings vary between builds, ``extra`` is display data.
_DIGEST_SKIP = frozenset({"timings", "extra", "spec"})


def scenario_digest(scenario: Any) -> str:
    """Digest of what a run's result depends on: the scenario's data, problem, split and options."""
    return object_digest(scenario, skip=_DIGEST_SKIP)


@dataclass(frozen=True)
class RunSpec:
    """One grid point: its values (``epsilon``, ``seed``, ``backbone``, ``loss``[, ``horizon``]) and key."""

    values: tuple[tuple[str, Any], ...]
    run_id: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.values)


def plan_runs(
    grid: GridConfig, digests: Mapping[str | None, str], train: Mapping[str, Any], scenario_options: Mapping | None
) -> list[RunSpec]:
    """Expand the grid into run specs with stable ``run_id`` keys (digest of data + config)."""
    axes = grid.axes()
    runs = []
    for combo in itertools.product(*axes.values()):
        values = dict(zip(axes, combo))
        key = {
            "data": digests[values.get("horizon")],
            "scenario": dict(scenario_options or {}),
            "train": {k: list(v) if isinstance(v, tuple) else v for k, v in train.items()},
            "run": {k: values[k] for k in sorted(values)},
        }
        ordered = tuple((k, values[k]) for k in GRID_KEYS if k in values)
        runs.append(RunSpec(ordered, json_digest(key)[:16]))
    return runs


# --------------------------------------------------------------------------------------------
# Executing one run (in a worker)
# --------------------------------------------------------------------------------------------


def _compare_run(scenario: Any, **kwargs: Any) -> Any:
    from dff_core import compare

    return compare(scenario, **kwargs)


def result_row(result: Any) -> dict[str, Any]:
    """Flatten a ``ComparisonResult`` (or a mapping of columns) into ``runs.csv`` columns."""
    if isinstance(result, Mapping):
        return dict(result)
    m: pd.DataFrame = result.metrics
    row: dict[str, Any] = {}
    for method in m.index:
        for metric in METHOD_METRICS:
            if metric in m.columns:
                name = "regret" if metric == "regret_mean" else metric
                row[f"{name}_{method}"] = float(m.at[method, metric])
        for metric in SHIFT_METRICS:
            if metric in m.columns:
                col = metric if method == "dff" else f"{metric}_{method}"
                if method != "two_stage":
                    row[col] = float(m.at[method, metric])
        if "seconds" in m.columns:
            row[f"seconds_{method}"] = float(m.at[method, "seconds"])
    return row


def _execute(scenarios: Mapping[str | None, Any], run_fn: RunFn, train: Mapping[str, Any], spec: RunSpec) -> dict:
    """Run one grid point; never raises (errors come back as ``{"run_id", "error"}``)."""
    t0 = time.perf_counter()
    params = spec.params
    try:
        scenario = scenarios[params.pop("horizon", None)]
        row = result_row(run_fn(scenario, **params, **train))
    except Exception as exc:  # reported per run so one failure does not end the sweep
        tb = traceback.format_exc(limit=8)
        return {"run_id": spec.run_id, "error": f"{type(exc).__name__}: {exc}", "traceback": tb}
    out = {k: v for k, v in spec.values}
    out.update(row)
    out["seconds"] = time.perf_counter() - t0
    out["run_id"] = spec.run_id
    return out


def _single_thread() -> None:
    """One thread for torch and for BLAS/OpenMP in this worker.

    Parallelism comes from running many runs at once; single-threaded math also makes a run's
    floating-point results independent of the backend and of how many cores the worker sees.
    """
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1)


_WORKER_STATE: dict[str, Any] = {}


def _init_worker(scenarios: Mapping[str | None, Any], run_fn: RunFn, train: Mapping[str, Any]) -> None:
    """Process-pool initializer: receive the scenario(s) once per worker, one torch thread."""
    _single_thread()
    _WORKER_STATE.update(scenarios=scenarios, run_fn=run_fn, train=dict(train))


def _worker_run(spec: RunSpec) -> dict:
    s = _WORKER_STATE
    return _execute(s["scenarios"], s["run_fn"], s["train"], spec)


def _ray_run(scenarios: Mapping[str | None, Any], run_fn: RunFn, train: Mapping[str, Any], spec: RunSpec) -> dict:
    """Ray task body (``scenarios`` arrives dereferenced from the object store)."""
    _single_thread()
    return _execute(scenarios, run_fn, train, spec)


# --------------------------------------------------------------------------------------------
# Backends: both expose submit(spec) -> handle and wait_any() -> [(spec, outcome), ...]
# --------------------------------------------------------------------------------------------


#: Modules the forkserver imports once, so workers start warm: a run's first ``compare`` otherwise
#: spends seconds importing scikit-learn and ``torch._dynamo`` (pulled in by ``torch.optim``).
_PRELOAD = (
    "__main__",
    "dff_core.sweep",
    "dff_core.scenarios",
    "dff_core.backbones",
    "dff_core.baselines",
    "dff_core.comparison",
    "sklearn.linear_model",
    "torch.optim",
    "torch._dynamo",
)


def _mp_context() -> mp.context.BaseContext:
    """``forkserver`` with the engine preloaded (workers start without re-importing torch), else ``spawn``.

    Both start workers from a clean single-threaded process, so they are safe in threaded hosts such
    as a Streamlit server; plain ``fork`` is not.
    """
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(list(_PRELOAD))
        return ctx
    return mp.get_context("spawn")


class _LocalBackend:
    def __init__(self, scenarios: Mapping, run_fn: RunFn, train: Mapping, workers: int):
        self.workers = workers
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_mp_context(),
            initializer=_init_worker,
            initargs=(dict(scenarios), run_fn, dict(train)),
        )
        self.inflight: dict[Any, RunSpec] = {}

    def submit(self, spec: RunSpec) -> None:
        self.inflight[self.pool.submit(_worker_run, spec)] = spec

    def wait_any(self) -> list[tuple[RunSpec, dict]]:
        done, _ = wait(list(self.inflight), return_when=FIRST_COMPLETED)
        out = []
        for fut in done:
            spec = self.inflight.pop(fut)
            try:
                out.append((spec, fut.result()))
            except BrokenProcessPool:
                raise RuntimeError(
                    "a sweep worker process died (out of memory or killed); finished runs are saved, "
                    "rerun the same sweep to resume"
                ) from None
            except Exception as exc:
                out.append((spec, {"run_id": spec.run_id, "error": f"{type(exc).__name__}: {exc}"}))
        return out

    def close(self, abort: bool = False) -> None:
        """Shut the pool down; ``abort`` (an error or Ctrl-C) ends runs in progress instead of waiting."""
        if abort:
            for proc in list((getattr(self.pool, "_processes", None) or {}).values()):
                proc.terminate()
        self.pool.shutdown(wait=not abort, cancel_futures=True)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError(
            "backend='ray' needs the optional 'ray' package: pip install 'ray>=2.40' "
            "(or use backend='local', which needs nothing extra)"
        ) from None
    return ray


def _pythonpath(first: Path) -> str:
    """``PYTHONPATH`` for local Ray workers: this package's folder, then the caller's own entries."""
    parts = [str(first), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    return os.pathsep.join(dict.fromkeys(parts))


class _RayBackend:
    def __init__(self, scenarios: Mapping, run_fn: RunFn, train: Mapping, workers: int | None, address: str | None):
        ray = self.ray = _import_ray()
        self.started = False
        if not ray.is_initialized():
            package = str(Path(__file__).resolve().parent)
            if address:
                # Ship this package to the cluster so its nodes need only the dependencies.
                ray.init(address=address, runtime_env={"py_modules": [package]}, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    log_to_driver=False,
                    runtime_env={"env_vars": {"PYTHONPATH": _pythonpath(Path(package).parent)}},
                )
            self.started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, min(workers, cpus) if workers else cpus)
        self.scenarios_ref = ray.put(dict(scenarios))  # once; every task gets the reference
        self.run_fn_ref = ray.put(run_fn)
        self.train = dict(train)
        self.remote = ray.remote(num_cpus=1, max_retries=0)(_ray_run)
        self.inflight: dict[Any, RunSpec] = {}

    def submit(self, spec: RunSpec) -> None:
        ref = self.remote.remote(self.scenarios_ref, self.run_fn_ref, self.train, spec)
        self.inflight[ref] = spec

    def wait_any(self) -> list[tuple[RunSpec, dict]]:
        ready, _ = self.ray.wait(list(self.inflight), num_returns=1)
        out = []
        for ref in ready:
            spec = self.inflight.pop(ref)
            try:
                out.append((spec, self.ray.get(ref)))
            except Exception as exc:  # worker crash, node loss
                out.append((spec, {"run_id": spec.run_id, "error": f"{type(exc).__name__}: {exc}"}))
        return out

    def close(self, abort: bool = False) -> None:
        for ref in self.inflight:
            self.ray.cancel(ref, force=abort)
        if self.started:
            self.ray.shutdown()


# --------------------------------------------------------------------------------------------
# Output files
# --------------------------------------------------------------------------------------------


def _read_runs(path: Path) -> pd.DataFrame:
    """Read ``runs.csv`` tolerating a truncated last line (a sweep killed mid-write)."""
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return pd.DataFrame()
    header, body = rows[0], rows[1:]
    complete = text.endswith("\n")
    good = [r for i, r in enumerate(body) if len(r) == len(header) and (complete or i < len(body) - 1)]
    df = pd.read_csv(io.StringIO("\n".join([",".join(header)] + [_csv_line(r) for r in good])))
    if "run_id" not in df.columns:
        raise ValueError(f"{path}: not a sweep runs file (no run_id column); choose another output folder")
    df["run_id"] = df["run_id"].astype(str)
    return df.dropna(subset=["run_id"]).drop_duplicates("run_id", keep="last").reset_index(drop=True)


def _csv_line(values: Sequence[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(values)
    return buf.getvalue()


class _RunsWriter:
    """Append-and-flush writer of ``runs.csv`` with a fixed column order."""

    def __init__(self, path: Path, columns: list[str], existing: pd.DataFrame):
        self.path = path
        self.columns = list(columns)
        if not existing.empty:
            self.columns += [c for c in existing.columns if c not in self.columns]
        # Rewrite what was kept (drops a truncated line, aligns columns), then append.
        tmp = path.with_suffix(".csv.tmp")
        existing.reindex(columns=self.columns).to_csv(tmp, index=False)
        os.replace(tmp, path)
        self.fh = path.open("a", encoding="utf-8", newline="")
        self.writer = csv.DictWriter(self.fh, fieldnames=self.columns, extrasaction="ignore")

    def add_columns(self, row: Mapping[str, Any]) -> None:
        new = [c for c in row if c not in self.columns]
        if new:  # a run reported extra columns: rewrite the header once
            self.fh.close()
            self.columns += new
            df = _read_runs(self.path)
            tmp = self.path.with_suffix(".csv.tmp")
            df.reindex(columns=self.columns).to_csv(tmp, index=False)
            os.replace(tmp, self.path)
            self.fh = self.path.open("a", encoding="utf-8", newline="")
            self.writer = csv.DictWriter(self.fh, fieldnames=self.columns, extrasaction="ignore")

    def write(self, row: Mapping[str, Any]) -> None:
        self.add_columns(row)
        self.writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """Numeric result columns of a runs table (everything except grid values and ``run_id``)."""
    return [
        c
        for c in runs.columns
        if c not in GRID_KEYS and c != "run_id" and pd.api.types.is_numeric_dtype(runs[c]) and c != "index"
    ]


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation across seeds per (ε, backbone, loss[, horizon]).

    Columns: the group keys, ``n_seeds``, then ``<metric>_mean`` and ``<metric>_std`` for every
    result column (std is NaN with a single seed).
    """
    if runs.empty:
        return pd.DataFrame()
    keys = [k for k in GROUP_KEYS if k in runs.columns]
    cols = metric_columns(runs)
    g = runs.groupby(keys, sort=False, dropna=False)
    mean = g[cols].mean().add_suffix("_mean")
    std = g[cols].std(ddof=1).add_suffix("_std")
    out = pd.concat([g.size().rename("n_seeds"), mean, std], axis=1)
    ordered = ["n_seeds"] + [f"{c}_{s}" for c in cols for s in ("mean", "std")]
    return out[ordered].reset_index()


def pareto_front(table: pd.DataFrame, x: str = "mean_relative_shift_mean", y: str = "regret_dff_mean") -> pd.DataFrame:
    """Rows of ``table`` not dominated in (lower ``x``, lower ``y``), sorted by ``x``.

    By default: DFF's mean regret against its mean prediction shift from the backbone, i.e. the
    settings where a lower regret cannot be had without moving predictions further.
    """
    if table.empty or x not in table.columns or y not in table.columns:
        return pd.DataFrame(columns=list(table.columns))
    t = table.dropna(subset=[x, y]).sort_values([x, y], kind="mergesort")
    keep, best = [], math.inf
    for idx, yy in zip(t.index, t[y]):
        if yy < best:
            keep.append(idx)
            best = yy
    return t.loc[keep].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    """Outcome of :func:`sweep`.

    runs: one row per finished run of this grid (grid order), including runs resumed from disk.
    summary: mean/std across seeds (:func:`summarize`); pareto: :func:`pareto_front` of ``summary``.
    failed: runs that raised (``run_id``, grid values, ``error``); they are retried on resume.
    n_total / n_resumed / n_ran: grid size, runs found finished on disk, runs computed now.
    stopped: ``should_stop`` ended the sweep early.
    """

    runs: pd.DataFrame
    summary: pd.DataFrame
    pareto: pd.DataFrame
    failed: pd.DataFrame
    n_total: int
    n_resumed: int
    n_ran: int
    stopped: bool = False
    backend: str = "local"
    workers: int = 1
    seconds: float = 0.0
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether every run of the grid has finished."""
        return len(self.runs) == self.n_total


def _scenarios_for(scenario: Any, grid: GridConfig) -> tuple[dict[str | None, Any], dict | None]:
    """Build (or accept) one scenario per horizon; returns them and the spec options for run keys."""
    spec: ScenarioSpec | None = None
    if isinstance(scenario, ScenarioSpec):
        spec = scenario
    elif isinstance(scenario, Mapping):
        try:
            spec = ScenarioSpec.model_validate(dict(scenario))
        except ValidationError as exc:
            raise SweepConfigError(
                [f"scenario.{p}" if not p.startswith("scenario") else p for p in _pydantic_problems(exc, ScenarioSpec)]
            ) from None
        if problems := spec.problems():
            raise SweepConfigError(problems)
    horizons = grid.horizon if grid.horizon is not None else [None]
    if spec is not None:
        return {
            h: build(spec if h is None else spec.model_copy(update={"horizon": h})) for h in horizons
        }, spec.options()
    if callable(scenario) and not hasattr(scenario, "X"):
        return {h: scenario(h) for h in horizons}, None
    if grid.horizon is not None:
        raise ValueError(
            "grid.horizon needs one scenario per horizon: pass a ScenarioSpec (or a callable horizon -> Scenario) "
            "instead of a built scenario, or remove horizon from the grid"
        )
    return {None: scenario}, None


def _column_order(grid: GridConfig, methods: Sequence[str]) -> list[str]:
    cols = [k for k in GRID_KEYS if k in grid.axes()]
    for metric in ("regret", "normalized_regret", "mse", "mae"):
        cols += [f"{metric}_{m}" for m in methods]
    cols += list(SHIFT_METRICS)
    cols += [f"{s}_dfl" for s in SHIFT_METRICS if "dfl" in methods]
    cols += [f"seconds_{m}" for m in methods]
    return [*cols, "seconds", "run_id"]


def sweep(
    scenario: Any,
    grid: GridConfig | Mapping[str, Any],
    backend: Backend = "local",
    address: str | None = None,
    on_progress: ProgressFn | None = None,
    out_dir: str | Path | None = None,
    max_workers: int | None = None,
    resume: bool = True,
    *,
    train: TrainConfig | Mapping[str, Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    run_fn: RunFn | None = None,
) -> SweepResult:
    """Run ``compare`` over every combination of ``grid`` on the chosen backend.

    Parameters
    ----------
    scenario: a built ``Scenario``; or a :class:`ScenarioSpec` / mapping of ``[scenario]`` options
        (needed when ``grid`` sweeps ``horizon``: one scenario is built per horizon); or a callable
        ``horizon -> Scenario``.
    grid: lists of ``epsilon``, ``seed``, ``backbone``, ``loss`` and optionally ``horizon``.
    backend: ``"local"`` (process pool, default ``os.cpu_count()`` workers) or ``"ray"``.
    address: Ray cluster address (e.g. ``"auto"`` or ``"ray://head:10001"``); ``None`` starts a local
        Ray instance with ``max_workers`` CPUs. An already initialised Ray session is reused.
    on_progress: called in this process as ``on_progress(done, total, row)`` after each finished run
        (``row`` is the run's ``runs.csv`` row, or ``{"run_id", "error"}`` for a failed run).
    out_dir: folder for ``runs.csv``/``summary.csv``/``pareto.csv``; ``None`` keeps results in memory only.
    max_workers: parallel runs (local: processes; ray: concurrent tasks, default the cluster's CPUs).
    resume: skip runs whose ``run_id`` is already in ``out_dir/runs.csv``.
    train: options for every ``compare`` call (``epochs``, ``methods``).
    should_stop: polled after each finished run; when it returns True no new run starts, runs in
        progress finish and are saved, and the result has ``stopped=True``.
    run_fn: the function run per grid point, ``run_fn(scenario, epsilon=, seed=, backbone=, loss=,
        **train)`` returning a ``ComparisonResult`` or a mapping of columns (default
        :func:`dff_core.compare`). It must be importable by name for the process backends.
    """
    t_start = time.perf_counter()
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray'; got {backend!r}")
    if max_workers is not None and (not isinstance(max_workers, int) or max_workers < 1):
        raise ValueError(f"max_workers must be a positive integer; got {max_workers!r}")
    if backend == "ray":
        _import_ray()  # fail before any work when ray is missing
    try:
        grid = grid if isinstance(grid, GridConfig) else GridConfig.model_validate(dict(grid))
        train = train if isinstance(train, TrainConfig) else TrainConfig.model_validate(dict(train or {}))
    except ValidationError as exc:
        problems = _pydantic_problems(exc, GridConfig if not isinstance(grid, GridConfig) else TrainConfig)
        prefix = "grid" if not isinstance(grid, GridConfig) else "train"
        raise SweepConfigError([f"{prefix}.{p}" for p in problems]) from None
    train_kw = train.compare_kwargs()
    run_fn = run_fn or _compare_run

    scenarios, spec_options = _scenarios_for(scenario, grid)
    digests = {h: scenario_digest(s) for h, s in scenarios.items()}
    plan = plan_runs(grid, digests, train_kw, spec_options)
    order = {r.run_id: i for i, r in enumerate(plan)}
    columns = _column_order(grid, train.methods)

    done_rows: dict[str, dict] = {}
    files: dict[str, Path] = {}
    writer: _RunsWriter | None = None
    out_path = Path(out_dir) if out_dir is not None else None
    if out_path is not None:
        out_path.mkdir(parents=True, exist_ok=True)
        runs_path = out_path / RUNS_FILE
        existing = _read_runs(runs_path)
        if not resume and not existing.empty:  # recompute this grid's runs; keep other sweeps' rows
            existing = existing[~existing["run_id"].isin(order)].reset_index(drop=True)
        if not existing.empty:
            for rec in existing.to_dict(orient="records"):
                if rec["run_id"] in order:
                    done_rows[rec["run_id"]] = rec
        writer = _RunsWriter(runs_path, columns, existing)
        files = {
            "runs": runs_path,
            "summary": out_path / SUMMARY_FILE,
            "pareto": out_path / PARETO_FILE,
            "failed": out_path / FAILED_FILE,
        }
    n_resumed = len(done_rows)
    todo: Iterator[RunSpec] = iter([r for r in plan if r.run_id not in done_rows])
    n_todo = len(plan) - n_resumed
    failed: list[dict] = []
    stopped = False
    n_ran = 0

    cpu = os.cpu_count() or 1
    workers = max(1, min(max_workers or cpu, n_todo or 1))
    be: _LocalBackend | _RayBackend | None = None
    aborted = False
    try:
        if n_todo:
            aborted = True  # until the loop ends normally
            if backend == "local":
                be = _LocalBackend(scenarios, run_fn, train_kw, workers)
            else:
                be = _RayBackend(scenarios, run_fn, train_kw, max_workers, address)
                workers = be.workers
            for spec in itertools.islice(todo, workers):
                be.submit(spec)
            while be.inflight:
                for spec, row in be.wait_any():
                    if "error" in row:
                        row = {**spec.params, **row}
                        failed.append({**spec.params, "run_id": spec.run_id, "error": row["error"]})
                        if "traceback" in row:
                            print(f"sweep: run {spec.params} failed:\n{row['traceback']}", file=sys.stderr)
                    else:
                        n_ran += 1
                        done_rows[spec.run_id] = row
                        if writer is not None:
                            writer.write(row)
                    if on_progress is not None:
                        on_progress(len(done_rows) + len(failed), len(plan), dict(row))
                    if not stopped and should_stop is not None and should_stop():
                        stopped = True
                    if not stopped:
                        nxt = next(todo, None)
                        if nxt is not None:
                            be.submit(nxt)
            aborted = False
    finally:
        if be is not None:
            be.close(abort=aborted)
        if writer is not None:
            writer.close()

    runs = pd.DataFrame(sorted(done_rows.values(), key=lambda r: order[r["run_id"]]))
    if not runs.empty:
        runs = runs.reindex(columns=columns + [c for c in runs.columns if c not in columns])
        runs = runs.dropna(axis=1, how="all")
    summary = summarize(runs)
    pareto = pareto_front(summary)
    failed_df = pd.DataFrame(failed)
    if out_path is not None:
        summary.to_csv(files["summary"], index=False)
        pareto.to_csv(files["pareto"], index=False)
        if failed:
            failed_df.to_csv(files["failed"], index=False)
        elif files["failed"].exists():
            files["failed"].unlink()
    return SweepResult(
        runs=runs,
        summary=summary,
        pareto=pareto,
        failed=failed_df,
        n_total=len(plan),
        n_resumed=n_resumed,
        n_ran=n_ran,
        stopped=stopped,
        backend=backend,
        workers=workers,
        seconds=time.perf_counter() - t_start,
        out_dir=out_path,
        files=files,
    )


# --------------------------------------------------------------------------------------------
# Command line: `python -m dff_core sweep --config sweep.toml --backend local --out DIR`
# --------------------------------------------------------------------------------------------


def add_sweep_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``sweep`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "sweep",
        help="run compare over a grid of epsilon/seed/backbone/loss (local process pool or Ray)",
        description="Run compare over every combination of a TOML grid; writes runs.csv (resumable), "
        "summary.csv and pareto.csv to --out.",
    )
    p.add_argument("--config", required=True, help="TOML file with [scenario], [train] and [grid] tables")
    p.add_argument("--backend", choices=("local", "ray"), default="local", help="where runs execute (default local)")
    p.add_argument("--address", default=None, help="Ray cluster address (e.g. auto, or ray://HEAD:10001)")
    p.add_argument("--workers", type=int, default=None, help="parallel runs (default: all cores / cluster CPUs)")
    p.add_argument("--out", required=True, help="output folder (an existing runs.csv there is resumed)")
    p.add_argument("--no-resume", action="store_true", help="recompute runs already in --out/runs.csv")
    p.add_argument("--quiet", action="store_true", help="no per-run progress lines")
    p.set_defaults(func=run_sweep_cli)
    return p


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def run_sweep_cli(args: argparse.Namespace) -> int:
    """Execute the ``sweep`` subcommand; returns the exit code (2 = bad config, 1 = some runs failed)."""
    problems: list[str] = []
    if args.workers is not None and args.workers < 1:
        problems.append(f"--workers: must be a positive integer, got {args.workers}")
    if args.address and args.backend != "ray":
        problems.append("--address: only used with --backend ray")
    cfg = None
    try:
        cfg = load_config(args.config)
    except SweepConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        return 2

    def progress(done: int, total: int, row: dict) -> None:
        if args.quiet:
            return
        keys = ", ".join(f"{k}={_fmt(row[k])}" for k in GRID_KEYS if k in row)
        if "error" in row:
            print(f"[{done}/{total}] run {row['run_id']} FAILED: {row['error']}", file=sys.stderr, flush=True)
        else:
            print(
                f"[{done}/{total}] {keys}: regret dff {_fmt(row.get('regret_dff'))} "
                f"(two-stage {_fmt(row.get('regret_two_stage'))}) in {row['seconds']:.1f}s",
                file=sys.stderr,
                flush=True,
            )

    try:
        res = sweep(
            cfg.scenario,
            cfg.grid,
            backend=args.backend,
            address=args.address,
            on_progress=progress,
            out_dir=args.out,
            max_workers=args.workers,
            resume=not args.no_resume,
            train=cfg.train,
        )
    except (SweepConfigError, ImportError, FileNotFoundError) as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    print(
        f"sweep: {res.n_total} runs ({res.n_resumed} resumed, {res.n_ran} computed, {len(res.failed)} failed) "
        f"on {res.backend} with {res.workers} worker(s) in {res.seconds:.1f}s"
    )
    for name, path in res.files.items():
        if path.exists():
            print(f"  {name}: {path}")
    if not res.summary.empty:
        show = [c for c in res.summary.columns if c in GROUP_KEYS or c in ("regret_dff_mean", "regret_two_stage_mean")]
        print(res.summary[show].to_string(index=False))
    return 1 if len(res.failed) else 0


def main(argv: Iterable[str] | None = None) -> int:
    """Standalone entry: ``python -m dff_core.sweep --config ... --out ...``."""
    parser = argparse.ArgumentParser(prog="dff sweep")
    sub = parser.add_subparsers(dest="command", required=True)
    add_sweep_parser(sub)
    args = parser.parse_args(["sweep", *(list(argv) if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
