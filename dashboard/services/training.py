"""Starting training: the backbone choices, comparison jobs and ε sweeps.

This module imports the training engine (and so torch); only the pages that train import it,
so the first page (Data) appears without loading torch.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import pandas as pd

import dff_core
from dashboard.services.config import compare_kwargs, get_scenario, run_digest
from dashboard.services.data import Loaded
from dashboard.services.jobs import Job, register, work
from dashboard.services.state import BACKBONE_LABELS
from dashboard.services.store import has_result, load_result, save_sweep, sweep_config, sweep_runs_dir
from dff_core.backbones import BACKBONES
from dff_core.correction import torch_threads
from dff_core.progress import ProgressEvent
from dff_core.results import ComparisonResult
from dff_core.sweep import sweep as run_sweep


def backbone_choices() -> tuple[str, ...]:
    """The engine's backbones, labelled ones first."""
    return tuple([b for b in BACKBONE_LABELS if b in BACKBONES] + [b for b in BACKBONES if b not in BACKBONE_LABELS])


def start_job(session: str, loaded: Loaded, config: Mapping[str, Any]) -> Job:
    """Start (or reuse) the comparison of ``config`` on ``loaded`` in a background thread.

    A stored result for the same digest is loaded instead of recomputed.
    """
    config = dict(config)
    digest = run_digest(loaded.digest, config)
    job = Job(id=uuid.uuid4().hex, session=session, digest=digest, config=config)
    register(job)
    if has_result(digest):
        try:
            job.result = load_result(digest, get_scenario(loaded, config))
            job.status, job.stage, job.finished = "done", "loaded from the result store", time.perf_counter()
            return job
        except Exception:  # unreadable store entry: recompute it
            pass

    scenario = get_scenario(loaded, config)  # here, in the script thread: cached and Streamlit-aware

    def run() -> ComparisonResult:
        with job.lock:
            job.stage = "training"
        with torch_threads(1):  # small networks train fastest on one thread, and the server keeps the other
            return dff_core.compare(
                scenario, **compare_kwargs(config), on_progress=job.record, should_stop=job.cancel.is_set
            )

    threading.Thread(target=work, args=(job, run), name=f"dff-job-{job.id[:8]}", daemon=True).start()
    return job


def start_sweep(session: str, loaded: Loaded, config: Mapping[str, Any], epsilons: tuple[float, ...]) -> Job:
    """Run the ε trade-off sweep for ``config`` in a background thread (stored as CSV)."""
    cfg = sweep_config(config, epsilons)
    job = Job(id=uuid.uuid4().hex, session=session, digest=run_digest(loaded.digest, cfg), config=cfg)
    register(job)

    scenario = get_scenario(loaded, config)

    def run() -> pd.DataFrame:
        kw = compare_kwargs(config)
        grid = {"epsilon": list(epsilons), "seed": [kw["seed"]], "backbone": [kw["backbone"]], "loss": [kw["loss"]]}
        total = len(epsilons)

        def progress(done: int, n: int, row: Mapping[str, Any] | None = None) -> None:
            message = f"{done} of {n} ε values done"
            job.record(ProgressEvent("train", method="dff", epoch=done, epochs=n, status="epoch", message=message))

        progress(0, total)
        # The engine's local sweep backend: one process per core, each run a full plain-vs-DFF
        # comparison; finished runs are kept under the cache folder, so a cancelled sweep resumes.
        res = run_sweep(
            scenario,
            grid,
            backend="local",
            max_workers=max(1, min(total, os.cpu_count() or 1)),
            out_dir=sweep_runs_dir(job.digest),
            train={"epochs": kw["epochs"], "methods": ["two_stage", "dff"]},
            on_progress=progress,
            should_stop=job.cancel.is_set,
        )
        if len(res.failed):
            raise RuntimeError(f"{len(res.failed)} sweep run(s) failed: {res.failed['error'].iloc[0]}")
        runs = res.runs.sort_values("epsilon").reset_index(drop=True)
        return pd.DataFrame(
            {
                "epsilon": runs["epsilon"].astype(float),
                "regret_mean": runs["regret_dff"],
                "normalized_regret": runs["normalized_regret_dff"],
                "mse": runs["mse_dff"],
                "mean_relative_shift": runs["mean_relative_shift"],
                "max_relative_shift": runs["max_relative_shift"],
                "min_cosine": runs["min_cosine"],
                "plain_regret": runs["regret_two_stage"],
                "seconds": runs["seconds"],
            }
        )

    threading.Thread(target=work, args=(job, run, save_sweep), name=f"dff-sweep-{job.id[:8]}", daemon=True).start()
    return job
