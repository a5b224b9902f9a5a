"""Starting training: the backbone choices, comparison jobs and ε sweeps.

Jobs go to the job runner (:mod:`dashboard.services.runner`): a comparison runs in a worker
process, an ε sweep on the engine's sweep pool; neither in the server's script threads. This
module imports the training engine (and so torch); only the pages that train import it, so the
first page (Data) appears without loading torch.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import pandas as pd

from dashboard.services import errors
from dashboard.services.config import compare_kwargs, get_scenario, run_digest
from dashboard.services.data import Loaded
from dashboard.services.jobs import Job, register
from dashboard.services.runner import ProcessTask, ThreadTask, runner
from dashboard.services.state import BACKBONE_LABELS
from dashboard.services.store import (
    cache_dir,
    discard,
    has_result,
    load_result,
    save_sweep,
    sweep_config,
    sweep_runs_dir,
)
from dashboard.services.worker import TrainTask, niced_compare
from dff_core.backbones import BACKBONES
from dff_core.errors import DataError
from dff_core.progress import ProgressEvent
from dff_core.sweep import sweep as run_sweep


def backbone_choices() -> tuple[str, ...]:
    """The engine's backbones, labelled ones first."""
    return tuple([b for b in BACKBONE_LABELS if b in BACKBONES] + [b for b in BACKBONES if b not in BACKBONE_LABELS])


def start_job(session: str, loaded: Loaded, config: Mapping[str, Any]) -> Job:
    """Queue the comparison of ``config`` on ``loaded`` (it runs in a worker process).

    A stored result for the same digest is loaded instead of recomputed; a stored entry that
    cannot be read (corrupt, partly written, from another version) is removed and recomputed.
    """
    config = dict(config)
    digest = run_digest(loaded.digest, config)
    job = Job(id=uuid.uuid4().hex, session=session, digest=digest, config=config)
    register(job)
    scenario = get_scenario(loaded, config)  # here, in the script thread: cached and Streamlit-aware
    if has_result(digest):
        try:
            job.result = load_result(digest, scenario)
        except (DataError, OSError, ValueError, KeyError) as exc:
            errors.logger().warning("stored run %s is unreadable (%s); computing it again", digest, exc)
            discard(digest)
        else:
            job.status, job.stage, job.finished = "done", "loaded from the result store", job.queued_at
            return job
    task = TrainTask(scenario=scenario, compare_kwargs=compare_kwargs(config), digest=digest, cache_dir=cache_dir())
    return runner().submit(job, ProcessTask(payload=task, load=lambda: load_result(digest, scenario)))


def start_sweep(session: str, loaded: Loaded, config: Mapping[str, Any], epsilons: tuple[float, ...]) -> Job:
    """Queue the ε trade-off sweep for ``config`` (stored as CSV); it runs on the engine's sweep pool.

    The job takes as many of the runner's slots as it has ε values (at least one, at most the free
    ones), so training jobs and sweeps together never run more processes than there are slots.
    """
    cfg = sweep_config(config, epsilons)
    job = Job(id=uuid.uuid4().hex, session=session, digest=run_digest(loaded.digest, cfg), config=cfg)
    register(job)

    scenario = get_scenario(loaded, config)

    def run(slots: int) -> pd.DataFrame:
        kw = compare_kwargs(config)
        grid = {"epsilon": list(epsilons), "seed": [kw["seed"]], "backbone": [kw["backbone"]], "loss": [kw["loss"]]}
        total = len(epsilons)

        def progress(done: int, n: int, row: Mapping[str, Any] | None = None) -> None:
            message = f"{done} of {n} ε values done"
            job.record(ProgressEvent("train", method="dff", epoch=done, epochs=n, status="epoch", message=message))

        progress(0, total)
        # The engine's local sweep backend, one process per slot (below the server's priority), each run a
        # full plain-vs-DFF comparison; finished runs are kept under the cache folder, so a cancelled sweep resumes.
        res = run_sweep(
            scenario,
            grid,
            backend="local",
            max_workers=max(1, min(total, slots)),
            out_dir=sweep_runs_dir(job.digest),
            train={"epochs": kw["epochs"], "methods": ["two_stage", "dff"]},
            on_progress=progress,
            should_stop=job.cancel.is_set,
            run_fn=niced_compare,
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

    return runner().submit(job, ThreadTask(run=run, save=save_sweep, max_slots=len(epsilons)))
