"""Result objects shared by the estimator, the scenarios, the CLI and the dashboard, and their one run format.

Plain dataclasses of numpy arrays and DataFrames: the figure builders and exporters read
them directly, :meth:`ComparisonResult.summary` gives the JSON written by the CLI, and
:meth:`ComparisonResult.save` / :meth:`ComparisonResult.load` write and read a run folder
with a manifest of checksums.

A run folder holds ``summary.json`` (what ``compare --out`` reports), ``per_instance.csv``,
``metrics.csv``, ``arrays.npz`` (plain arrays, read with ``allow_pickle=False``), ``meta.json``
(configuration, names, times, timings, split sizes, unit, per-method seconds and histories),
``dff.safetensors`` when the run has a DFF model, and ``manifest.json`` (format version and the
SHA-256 of every other file). Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import dff_core
from dff_core.data.io import read_npz
from dff_core.errors import DataError
from dff_core.problems.base import OptProblem
from dff_core.run_json import _as_datetime, _table_from_json, _table_json, _times_from_json, _times_json, json_default
from dff_core.stats import PairedComparison, paired_difference

#: The core method keys every display shows, in display order (stable: saved runs and sweeps use them):
#:
#: * ``two_stage``: the backbone's own predictions (accuracy-trained, "plain").
#: * ``dff``: DFF, the backbone's predictions corrected within the trust region ε.
#: * ``dfl``: end-to-end decision-focused learning of a *linear* model warm-started from its own ridge fit
#:   (whatever the backbone; the baseline of earlier versions, kept for comparability).
METHODS = ("two_stage", "dff", "dfl")
#: The like-for-like baselines and the ablation, requested by name (stable keys too):
#:
#: * ``dfl_backbone``: decision-focused training of the backbone's own model class (linear or MLP),
#:   starting from the backbone's fitted weights: the like-for-like rival of DFF.
#: * ``dfl_scratch``: the same model class trained on the decision loss from random weights.
#: * ``dff_unbounded``: DFF's correction network without the trust region (the ablation, "ε = ∞").
EXTRA_METHODS = ("dfl_backbone", "dfl_scratch", "dff_unbounded")
#: Every method key, in display order.
ALL_METHODS = (*METHODS, *EXTRA_METHODS)
#: Methods trained on a decision loss (they share one training budget in a comparison).
TRAINED_METHODS = ("dff", "dfl", "dfl_backbone", "dfl_scratch", "dff_unbounded")
#: Human labels used by every report and chart.
METHOD_LABELS = {
    "two_stage": "Plain (two-stage)",
    "dff": "DFF",
    "dfl": "End-to-end DFL",
    "dfl_backbone": "DFL from the backbone",
    "dfl_scratch": "DFL from scratch",
    "dff_unbounded": "DFF without trust region",
    "hindsight": "Hindsight",
}


def verdicts(regrets: dict[str, np.ndarray], unit: str = "", baseline: str = "two_stage") -> dict[str, dict[str, Any]]:
    """The ``verdict`` block of a summary: every method against ``baseline`` on paired per-decision regret.

    Keys ``"<method>_vs_<baseline>"``; values :meth:`PairedComparison.to_dict` plus ``unit`` and a plain
    ``sentence``. Decisions are taken to be in time order (moving-block bootstrap). Empty when the
    baseline is missing or there are fewer than 2 decisions.
    """
    if baseline not in regrets or len(regrets[baseline]) < 2:
        return {}
    out: dict[str, dict[str, Any]] = {}
    base = regrets[baseline]
    for name, r in regrets.items():
        if name == baseline:
            continue
        pc = paired_difference(r, base, time_ordered=True)
        label = METHOD_LABELS.get(name, name)
        plain = "the plain prediction" if baseline == "two_stage" else METHOD_LABELS.get(baseline, baseline)
        out[f"{name}_vs_{baseline}"] = {**pc.to_dict(), "unit": unit, "sentence": pc.sentence(label, plain, unit)}
    return out


@dataclass
class MethodResult:
    """One method's test-set outcome.

    ``C_pred``/``W``/``regret`` are aligned with the comparison's test instances.
    ``factors`` holds DFF's correction factors φ (same shape as ``C_pred``), else ``None``.
    ``history`` has one row per epoch (``epoch``, ``train_loss``, ``val_regret``; epoch 0 is
    the starting point) for trained methods.
    """

    name: str
    C_pred: np.ndarray
    W: np.ndarray
    regret: np.ndarray
    seconds: float
    history: pd.DataFrame | None = None
    factors: np.ndarray | None = None
    model: Any = None


@dataclass
class ComparisonResult:
    """Two-stage vs DFF vs end-to-end DFL on one chronological split.

    Attributes
    ----------
    problem: the decision problem used for every method.
    X_test, C_test: test features and true costs; ``W_test``/``z_test`` the hindsight decisions
        and objective values.
    C_hat: the backbone's test predictions (what DFF corrects).
    methods: per-method results keyed by :data:`ALL_METHODS` names.
    metrics: one row per method (index = method key) with ``regret_mean``, ``regret_median``,
        ``normalized_regret``, ``mse``, ``mae``, ``mape``, ``mean_relative_shift``,
        ``max_relative_shift``, ``min_cosine``, ``seconds``; shift and cosine are measured
        against the backbone prediction ``C_hat``.
    per_instance: long table, one row per (test instance, method): ``instance``, ``time``,
        ``method``, ``regret``, ``objective``, ``optimal_objective``.
    times: decision time of each test instance (or ``None``).
    feature_names / output_names: labels of the columns of ``X_test`` / ``C_test``.
    config: the options that produced this result (JSON-able).
    timings: seconds per stage (``data``, ``features``, ``backbone``, ``dff``, ``dfl``, ...).
    n_train / n_val: instance counts of the other splits.
    extra: scenario-specific payload (e.g. link geometry, OD pairs, units) for displays.
    description: the scenario's description (``Scenario.describe()``), when known.
    wall_seconds: end-to-end seconds of the run as its caller measured them (else the sum of ``timings``).
    """

    problem: OptProblem
    X_test: np.ndarray
    C_test: np.ndarray
    W_test: np.ndarray
    z_test: np.ndarray
    C_hat: np.ndarray
    methods: dict[str, MethodResult]
    metrics: pd.DataFrame
    per_instance: pd.DataFrame
    times: pd.DatetimeIndex | None = None
    feature_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    n_train: int = 0
    n_val: int = 0
    unit: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    wall_seconds: float | None = None

    @property
    def n_test(self) -> int:
        return int(self.C_test.shape[0])

    def regrets(self) -> dict[str, np.ndarray]:
        """Per-decision test regret of every method (in :data:`ALL_METHODS` order)."""
        return {m: np.asarray(self.methods[m].regret) for m in ALL_METHODS if m in self.methods}

    def verdict(self, method: str = "dff", baseline: str = "two_stage") -> PairedComparison:
        """``method`` against ``baseline`` on paired per-decision test regret: mean difference, 95%
        moving-block bootstrap interval, Wilcoxon p-value and a verdict (see :mod:`dff_core.stats`)."""
        for m in (method, baseline):
            if m not in self.methods:
                raise ValueError(f"verdict: this result has no method {m!r}; it has {', '.join(self.methods)}.")
        return paired_difference(self.methods[method].regret, self.methods[baseline].regret, time_ordered=True)

    def summary(self) -> dict[str, Any]:
        """JSON-able summary: scenario, epsilon, sizes, seconds, per-method metrics (and the scenario's description)."""

        def clean(v: Any) -> Any:
            if isinstance(v, (np.floating, float)):
                return None if not np.isfinite(v) else float(v)
            if isinstance(v, np.integer):
                return int(v)
            return v

        methods = {
            name: {k: clean(v) for k, v in row.items()} for name, row in self.metrics.to_dict(orient="index").items()
        }
        out = {
            "scenario": self.config.get("scenario"),
            "epsilon": self.config.get("epsilon"),
            "n_train": int(self.n_train),
            "n_val": int(self.n_val),
            "n_test": self.n_test,
            "unit": self.unit,
            "seconds": float(sum(self.timings.values()) if self.wall_seconds is None else self.wall_seconds),
            "timings": {k: float(v) for k, v in self.timings.items()},
            "config": self.config,
            "methods": methods,
            "verdict": verdicts(self.regrets(), self.unit),
        }
        for key in ("training_budget", "training"):
            if key in self.config:
                out[key] = self.config[key]
        if self.description:
            out["scenario_description"] = self.description
        return out

    def save(self, path: str | Path) -> Path:
        """Write this result as a run folder at ``path``, atomically.

        Files go to a temporary sibling folder, are flushed to disk, and the folder is renamed to
        ``path``; a failed write leaves nothing at ``path`` (or the previous run, unchanged). An
        existing run folder at ``path`` is replaced; any other non-empty folder is refused.
        """
        return _write_run(self, Path(path))

    @classmethod
    def load(cls, path: str | Path, scenario: Any = None, *, problem: OptProblem | None = None) -> ComparisonResult:
        """Read a run folder written by :meth:`save`, checking every file against its manifest.

        The decision problem and the display payload (``extra``) are not stored: they come from
        ``scenario`` (the scenario the run was made on), or give ``problem`` alone (``extra`` stays
        empty). To rebuild the scenario from the specification stored with the run, use
        :func:`dff_core.comparison.load_run`. A missing, corrupt or partly written folder raises
        :class:`~dff_core.errors.DataError` naming the file.
        """
        if scenario is not None:
            return _read_run(Path(path), scenario.problem, dict(getattr(scenario, "extra", {}) or {}))
        if problem is None:
            raise ValueError(
                "ComparisonResult.load: give the scenario the run was made on (or its problem); "
                "dff_core.comparison.load_run(path) rebuilds the scenario from the run's stored specification."
            )
        return _read_run(Path(path), problem, {})


# ---------------------------------------------------------------------------------------- run folder
#: Version of the run-folder layout written by :meth:`ComparisonResult.save`.
RUN_FORMAT_VERSION = 1
RUN_FORMAT = "dff-studio/run"
MANIFEST = "manifest.json"
#: Largest array of a run's ``arrays.npz`` and largest sum of them, read from the headers before any
#: data are decompressed (a run of thousands of test instances on a city-sized network stays well below).
RUN_ARRAY_BYTES, RUN_ARRAYS_TOTAL_BYTES = 1024**3, 4 * 1024**3
_ARRAYS = ("X_test", "C_test", "W_test", "z_test", "C_hat")
_METHOD_ARRAYS = ("C_pred", "W", "regret", "factors")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_files(result: ComparisonResult, folder: Path) -> None:
    (folder / "summary.json").write_text(json.dumps(result.summary(), indent=2, default=str) + "\n", encoding="utf-8")
    result.per_instance.to_csv(folder / "per_instance.csv", index=False)
    result.metrics.to_csv(folder / "metrics.csv")
    arrays = {k: np.asarray(getattr(result, k)) for k in _ARRAYS}
    methods: dict[str, Any] = {}
    for name, m in result.methods.items():
        for key in _METHOD_ARRAYS:
            if getattr(m, key) is not None:
                arrays[f"{name}__{key}"] = np.asarray(getattr(m, key))
        model_file = None
        if name == "dff" and hasattr(m.model, "module_") and hasattr(m.model, "save"):
            model_file = "dff.safetensors"
            m.model.save(folder / model_file)
        methods[name] = {
            "seconds": float(m.seconds),
            "history": None if m.history is None else _table_json(m.history),
            "model_file": model_file,
        }
    np.savez_compressed(folder / "arrays.npz", allow_pickle=False, **arrays)  # numbers only, read back without pickle
    meta = {
        "config": result.config,
        "feature_names": [str(x) for x in result.feature_names],
        "output_names": [str(x) for x in result.output_names],
        "times": _times_json(result.times),
        "timings": {k: float(v) for k, v in result.timings.items()},
        "n_train": int(result.n_train),
        "n_val": int(result.n_val),
        "unit": result.unit,
        "description": result.description,
        "wall_seconds": result.wall_seconds,
        "methods": methods,
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=1, default=json_default), encoding="utf-8")
    write_manifest(folder)


#: Every file a run folder may hold: an existing folder with only these is a run and may be replaced.
RUN_FILES = frozenset(
    {MANIFEST, "summary.json", "per_instance.csv", "metrics.csv", "arrays.npz", "meta.json", "dff.safetensors"}
)


#: Sub-folders of a backtest folder: ``fold_1``, ``fold_2``, ... (each a run folder).
FOLD_PREFIX = "fold_"
#: ``format`` of the manifest of a rolling-origin backtest folder (see :mod:`dff_core.backtest`).
BACKTEST_FORMAT = "dff-studio/backtest"


def _is_fold_dir(p: Path) -> bool:
    return p.is_dir() and p.name.startswith(FOLD_PREFIX) and p.name[len(FOLD_PREFIX) :].isdigit()


def replaceable(path: Path) -> bool:
    """Whether ``path`` may be overwritten by a run: absent, or a folder holding only a run's files
    (or a backtest's: run files plus ``fold_<k>`` run folders)."""
    if not path.exists():
        return True
    if not path.is_dir():
        return False
    for entry in path.iterdir():
        if _is_fold_dir(entry):
            if not {q.name for q in entry.iterdir()} <= RUN_FILES:
                return False
        elif entry.name not in RUN_FILES:
            return False
    return True


def write_manifest(folder: Path, fmt: str = RUN_FORMAT, **extra: Any) -> None:
    """Write ``manifest.json`` with the SHA-256 of every file directly in ``folder``, then sync everything."""
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    manifest = {"format": fmt, "version": RUN_FORMAT_VERSION, "files": {n: _sha256(folder / n) for n in files}, **extra}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    for name in [*files, MANIFEST]:
        _fsync(folder / name)
    _fsync(folder)


def write_atomically(path: Path, write: Callable[[Path], None], owner: str) -> Path:
    """Run ``write(folder)`` into a temporary sibling folder and rename it to ``path``.

    A failed write leaves nothing at ``path`` (or the previous run, unchanged). An existing run
    folder at ``path`` is replaced; any other non-empty folder is refused.
    """
    if not replaceable(path):
        raise DataError(f"{owner}: {path} exists and holds files other than a run's; choose a new or empty folder.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp = path.with_name(f".{path.name}.tmp-{tag}")
    old = path.with_name(f".{path.name}.old-{tag}")
    tmp.mkdir()
    try:
        write(tmp)
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        _fsync(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not path.exists():
            old.rename(path)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return path


def _write_run(result: ComparisonResult, path: Path) -> Path:
    return write_atomically(path, lambda folder: _write_files(result, folder), "ComparisonResult.save")


def read_manifest(folder: Path, fmt: str, required: tuple[str, ...], owner: str) -> dict[str, Any]:
    """A folder's manifest after verifying every listed file; :class:`DataError` names a bad or missing file."""
    if not folder.is_dir():
        raise DataError(f"{owner}: no run folder at {folder}.")
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"{owner}: {folder / MANIFEST} is missing; the folder is not a complete run (written by an older "
            "version, or interrupted). Re-run the comparison."
        ) from None
    except ValueError as exc:
        raise DataError(f"{owner}: {folder / MANIFEST} is not valid JSON ({exc}).") from None
    if fmt == RUN_FORMAT and manifest.get("format") == BACKTEST_FORMAT:
        raise DataError(
            f"{owner}: {folder} holds a rolling-origin backtest of {len(manifest.get('folds') or [])} folds, not one "
            "run; read it with dff_core.backtest.BacktestResult.load or dff_core.comparison.load_run."
        )
    if manifest.get("format") != fmt or manifest.get("version") != RUN_FORMAT_VERSION:
        raise DataError(
            f"{owner}: {folder / MANIFEST} describes format {manifest.get('format')!r} version "
            f"{manifest.get('version')!r}; this version reads {fmt!r} version {RUN_FORMAT_VERSION}."
        )
    files = dict(manifest.get("files") or {})
    for name in required:
        if name not in files:
            raise DataError(f"{owner}: {folder / MANIFEST} does not list {name}; the run folder is incomplete.")
    for name, digest in files.items():
        f = folder / name
        if Path(name).name != name or not f.is_file():
            raise DataError(f"{owner}: {f} is missing; the run folder is incomplete.")
        if _sha256(f) != digest:
            raise DataError(
                f"{owner}: {f} does not match its checksum in {MANIFEST}; the file is corrupt or was edited."
            )
    return manifest


def _check_manifest(folder: Path) -> dict[str, str]:
    """The run folder's checksums, after verifying every listed file."""
    required = ("summary.json", "per_instance.csv", "metrics.csv", "arrays.npz", "meta.json")
    return read_manifest(folder, RUN_FORMAT, required, "ComparisonResult.load")["files"]


def read_run_meta(path: str | Path) -> dict[str, Any]:
    """``meta.json`` of a run folder (configuration, names, times, ...), after checking the folder's manifest."""
    folder = Path(path)
    _check_manifest(folder)
    return json.loads((folder / "meta.json").read_text(encoding="utf-8"))


def _read_run(folder: Path, problem: OptProblem, extra: dict[str, Any]) -> ComparisonResult:
    meta = read_run_meta(folder)
    # Checked against the manifest above, and still read header first: no pickles, no oversized arrays.
    arrays = read_npz(folder / "arrays.npz", None, RUN_ARRAY_BYTES, max_total_bytes=RUN_ARRAYS_TOTAL_BYTES,
                      name=str(folder / "arrays.npz"))  # fmt: skip
    methods = {}
    for name, mm in meta["methods"].items():
        model = None
        if mm.get("model_file"):
            # Through the package's lazy entry point: reading results must not load torch until a model is read.
            model = dff_core.DFF.load(folder / mm["model_file"], problem)
        methods[name] = MethodResult(
            name=name,
            C_pred=arrays[f"{name}__C_pred"],
            W=arrays[f"{name}__W"],
            regret=arrays[f"{name}__regret"],
            seconds=float(mm["seconds"]),
            history=None if mm.get("history") is None else _table_from_json(mm["history"]),
            factors=arrays.get(f"{name}__factors"),
            model=model,
        )
    times = _times_from_json(meta["times"])
    per = pd.read_csv(folder / "per_instance.csv")
    if "time" in per and isinstance(times, pd.DatetimeIndex):
        per["time"] = _as_datetime(per["time"], meta["times"].get("tz"))
    return ComparisonResult(
        problem=problem,
        X_test=arrays["X_test"],
        C_test=arrays["C_test"],
        W_test=arrays["W_test"],
        z_test=arrays["z_test"],
        C_hat=arrays["C_hat"],
        methods=methods,
        metrics=pd.read_csv(folder / "metrics.csv", index_col=0),
        per_instance=per,
        times=times,
        feature_names=list(meta["feature_names"]),
        output_names=list(meta["output_names"]),
        config=meta["config"],
        timings=meta["timings"],
        n_train=int(meta["n_train"]),
        n_val=int(meta["n_val"]),
        unit=meta["unit"],
        extra=extra,
        description=meta.get("description", ""),
        wall_seconds=meta.get("wall_seconds"),
    )
