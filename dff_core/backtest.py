"""Rolling-origin backtests: the comparison repeated on consecutive test windows, each trained on its past.

One train/validation/test split answers "how did it go on that one test period"; an analyst needs
"how does it go, and how sure is that". :func:`rolling_origin_splits` turns a scenario's split into
``k`` folds whose test windows are consecutive periods ending with the scenario's own test period,
each with its validation window just before it and its training rows everything earlier, so no
fold sees data from after its test window. :func:`dff_core.comparison.compare` with ``folds=k``
runs one comparison per fold and returns a :class:`BacktestResult`: per-fold results, pooled
metrics over all test decisions, and a pooled paired verdict (moving-block bootstrap over the
decisions of all windows, in time order).

A backtest is saved as a folder with ``summary.json`` (pooled), ``meta.json``, ``manifest.json``
(format ``dff-studio/backtest``) and one run folder per fold (``fold_1``, ``fold_2``, ... in time
order, each readable with :meth:`ComparisonResult.load <dff_core.results.ComparisonResult.load>`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dff_core.errors import DataError
from dff_core.metrics import metrics_row
from dff_core.problems.base import OptProblem
from dff_core.results import (
    ALL_METHODS,
    BACKTEST_FORMAT,
    FOLD_PREFIX,
    MANIFEST,
    ComparisonResult,
    read_manifest,
    verdicts,
    write_atomically,
    write_manifest,
)
from dff_core.run_json import json_default
from dff_core.stats import PairedComparison, paired_difference

#: Fewest training rows a fold may have (before its validation window).
MIN_TRAIN_ROWS = 2


def max_folds(split: dict[str, np.ndarray]) -> int:
    """Most folds the split allows: test windows of the test part's size, each after a validation window
    of the validation part's size and at least :data:`MIN_TRAIN_ROWS` training rows."""
    rows = np.sort(np.concatenate([np.asarray(split[k], dtype=np.int64) for k in ("train", "val", "test")]))
    n_test, n_val = len(split["test"]), len(split["val"])
    if n_test == 0:
        return 0
    t0 = int(np.searchsorted(rows, np.min(split["test"])))
    return max(0, (t0 - n_val - MIN_TRAIN_ROWS) // n_test + 1)


def rolling_origin_splits(split: dict[str, np.ndarray], folds: int, owner: str = "compare") -> list[dict[str, Any]]:
    """``folds`` splits with consecutive test windows ending with the split's own test part.

    Every window has as many rows as the split's test part; the validation window (as many rows as
    its validation part) lies just before it and the training rows are all rows before that. The
    last fold is the split itself. Each dict holds ``train``, ``val``, ``test`` index arrays.
    """
    if isinstance(folds, bool) or int(folds) != folds or folds < 1:
        raise ValueError(f"{owner}: folds must be a positive integer (1 = the scenario's own split); got {folds!r}.")
    folds = int(folds)
    n_test, n_val = len(split["test"]), len(split["val"])
    if n_test == 0:
        raise DataError(f"{owner}: the scenario has no test rows, so there is nothing to backtest.")
    if n_val == 0:
        raise DataError(
            f"{owner}: folds={folds} needs validation rows before every test window, but the scenario's split has "
            "none; build the scenario with a validation part (e.g. split=(0.6, 0.2, 0.2)), then use folds >= 1."
        )
    most = max_folds(split)
    if folds > most:
        raise ValueError(
            f"{owner}: folds={folds} needs {folds} test windows of {n_test} rows, each after {n_val} validation rows "
            f"and at least {MIN_TRAIN_ROWS} training rows; the data allow at most folds={most}."
        )
    rows = np.sort(np.concatenate([np.asarray(split[k], dtype=np.int64) for k in ("train", "val", "test")]))
    t0 = int(np.searchsorted(rows, np.min(split["test"])))
    out = []
    for j in range(folds):
        start = t0 - (folds - 1 - j) * n_test
        out.append(
            {
                "train": rows[: start - n_val],
                "val": rows[start - n_val : start],
                "test": rows[start : start + n_test],
            }
        )
    return out


@dataclass
class BacktestResult:
    """Per-fold comparisons of a rolling-origin backtest, and their pooled view.

    ``folds`` are :class:`~dff_core.results.ComparisonResult` objects in time order (fold 1 tests the
    earliest window). Pooled figures treat all test decisions of all folds as one time-ordered series.
    """

    folds: list[ComparisonResult]
    config: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float | None = None

    def __post_init__(self) -> None:
        if not self.folds:
            raise ValueError("BacktestResult: needs at least one fold.")

    @property
    def problem(self) -> OptProblem:
        return self.folds[0].problem

    @property
    def unit(self) -> str:
        return self.folds[0].unit

    @property
    def n_test(self) -> int:
        return int(sum(f.n_test for f in self.folds))

    @property
    def methods(self) -> list[str]:
        """Methods present in every fold, in :data:`~dff_core.results.ALL_METHODS` order."""
        return [m for m in ALL_METHODS if all(m in f.methods for f in self.folds)]

    def regret(self, method: str) -> np.ndarray:
        """Per-decision test regret of ``method`` over all folds, in time order."""
        if method not in self.methods:
            raise ValueError(f"BacktestResult: no method {method!r} in every fold; have {', '.join(self.methods)}.")
        return np.concatenate([np.asarray(f.methods[method].regret) for f in self.folds])

    def verdict(self, method: str = "dff", baseline: str = "two_stage") -> PairedComparison:
        """Pooled paired comparison over every test decision of every fold (moving-block bootstrap)."""
        return paired_difference(self.regret(method), self.regret(baseline), time_ordered=True)

    @property
    def metrics(self) -> pd.DataFrame:
        """Pooled metrics, one row per method (as :attr:`ComparisonResult.metrics`; ``seconds`` summed over folds)."""
        z = np.concatenate([f.z_test for f in self.folds])
        C = np.concatenate([f.C_test for f in self.folds])
        C_hat = np.concatenate([f.C_hat for f in self.folds])
        rows = {}
        for m in self.methods:
            C_pred = np.concatenate([f.methods[m].C_pred for f in self.folds])
            seconds = sum(float(f.methods[m].seconds) for f in self.folds)
            rows[m] = metrics_row(z, C, C_hat, C_pred, self.regret(m), seconds)
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("method")

    def per_fold(self) -> pd.DataFrame:
        """One row per (fold, method): test window, sizes, mean and normalized regret, and DFF's paired verdict."""
        rows = []
        for k, f in enumerate(self.folds, 1):
            times = f.times if f.times is not None and len(f.times) else None
            for m in self.methods:
                rows.append(
                    {
                        "fold": k,
                        "method": m,
                        "test_start": None if times is None else str(times[0]),
                        "test_end": None if times is None else str(times[-1]),
                        "n_train": int(f.n_train),
                        "n_val": int(f.n_val),
                        "n_test": f.n_test,
                        "regret_mean": float(f.metrics.loc[m, "regret_mean"]),
                        "normalized_regret": float(f.metrics.loc[m, "normalized_regret"]),
                    }
                )
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        """JSON-able pooled summary: per-method pooled metrics, pooled verdicts, and a short entry per fold."""

        def clean(v: Any) -> Any:
            if isinstance(v, (float, np.floating)):
                return float(v) if np.isfinite(v) else None
            return v

        pooled = self.metrics
        per_fold = []
        for k, f in enumerate(self.folds, 1):
            s = f.summary()
            per_fold.append(
                {
                    "fold": k,
                    "test_start": None if f.times is None or not len(f.times) else str(f.times[0]),
                    "test_end": None if f.times is None or not len(f.times) else str(f.times[-1]),
                    "n_train": s["n_train"],
                    "n_val": s["n_val"],
                    "n_test": s["n_test"],
                    "methods": {
                        m: {k2: s["methods"][m][k2] for k2 in ("regret_mean", "normalized_regret")}
                        for m in self.methods
                    },
                    "verdict": s["verdict"],
                    "training": s.get("training"),
                }
            )
        first = self.folds[0]
        out: dict[str, Any] = {
            "kind": "backtest",
            "scenario": self.config.get("scenario", first.config.get("scenario")),
            "epsilon": self.config.get("epsilon", first.config.get("epsilon")),
            "folds": len(self.folds),
            "n_test": self.n_test,
            "unit": self.unit,
            "seconds": float(
                self.wall_seconds if self.wall_seconds is not None else sum(f.summary()["seconds"] for f in self.folds)
            ),
            "config": self.config,
            "methods": {m: {k: clean(v) for k, v in row.items()} for m, row in pooled.to_dict(orient="index").items()},
            "verdict": verdicts({m: self.regret(m) for m in self.methods}, self.unit),
            "per_fold": per_fold,
        }
        if "training_budget" in first.config:
            out["training_budget"] = first.config["training_budget"]
        if first.description:
            out["scenario_description"] = first.description
        return out

    def save(self, path: str | Path) -> Path:
        """Write the backtest folder at ``path`` atomically (see the module docstring for its layout)."""

        def write(folder: Path) -> None:
            names = []
            for k, f in enumerate(self.folds, 1):
                name = f"{FOLD_PREFIX}{k}"
                f.save(folder / name)
                names.append(name)
            (folder / "summary.json").write_text(
                json.dumps(self.summary(), indent=2, default=str) + "\n", encoding="utf-8"
            )
            meta = {"config": self.config, "wall_seconds": self.wall_seconds, "folds": names}
            (folder / "meta.json").write_text(json.dumps(meta, indent=1, default=json_default), encoding="utf-8")
            write_manifest(folder, BACKTEST_FORMAT, folds=names)

        return write_atomically(Path(path), write, "BacktestResult.save")

    @classmethod
    def load(cls, path: str | Path, scenario: Any = None, *, problem: OptProblem | None = None) -> BacktestResult:
        """Read a folder written by :meth:`save` (every fold checked against its manifest); the problem
        comes from ``scenario`` or ``problem`` as in :meth:`ComparisonResult.load`."""
        folder = Path(path)
        names = read_backtest_manifest(folder)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        folds = [ComparisonResult.load(folder / n, scenario, problem=problem) for n in names]
        return cls(folds=folds, config=meta.get("config") or {}, wall_seconds=meta.get("wall_seconds"))


def is_backtest(path: str | Path) -> bool:
    """Whether ``path`` is a backtest folder (its manifest says so)."""
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == BACKTEST_FORMAT


def read_backtest_manifest(folder: Path) -> list[str]:
    """The fold folder names of a backtest folder, after checking its own files against its manifest."""
    owner = "BacktestResult.load"
    manifest = read_manifest(folder, BACKTEST_FORMAT, ("summary.json", "meta.json"), owner)
    names = list(manifest.get("folds") or [])
    if not names:
        raise DataError(f"{owner}: {folder / MANIFEST} lists no folds; the backtest folder is incomplete.")
    for n in names:
        if Path(n).name != n or not n.startswith(FOLD_PREFIX) or not (folder / n).is_dir():
            raise DataError(f"{owner}: fold folder {folder / n} is missing; the backtest folder is incomplete.")
    return names
