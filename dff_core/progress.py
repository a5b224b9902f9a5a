"""Progress reports of fitting and comparing: one typed event passed to ``on_progress(event)``.

Every long-running entry point (``DFF.fit``, ``DFL.fit``, ``run_comparison``, ``compare``) reports
through the same :class:`ProgressEvent`, so a progress bar, a log or a dashboard reads one shape.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from tqdm import tqdm

#: Pipeline stages, in the order a comparison goes through them.
STAGES = ("backbone", "train", "evaluate")

Stage = Literal["backbone", "train", "evaluate"]


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a fit or comparison.

    Attributes
    ----------
    stage: ``"backbone"`` (fitting the backbone), ``"train"`` (an epoch of DFF or DFL) or ``"evaluate"``
        (scoring on the test set).
    method: the method being trained (``"dff"``, ``"dfl"``), ``None`` for the shared stages.
    epoch / epochs: progress within the stage (for ``"train"``: the epoch just finished, 0 = the starting
        point, and the configured number of epochs; other stages count 0 of 1 at the start and 1 of 1 when done).
    status: ``"fitting"``/``"scoring"`` when a stage starts, ``"epoch"`` after a training epoch, ``"done"``.
    seconds: time the step took (the epoch, or the whole stage when done), if known.
    best_epoch: for training, the epoch kept so far (lowest validation regret).
    metrics: the epoch's numbers: ``train_loss``, ``val_regret``, ``val_normalized_regret`` (NaN without
        validation rows).
    message: an optional line a user can read.
    """

    stage: Stage
    method: str | None = None
    epoch: int = 0
    epochs: int = 1
    status: str = ""
    seconds: float | None = None
    best_epoch: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def label(self) -> str:
        """What is running: the method when one is being trained, else the stage."""
        return self.method or self.stage


#: The callback type every entry point accepts.
ProgressCallback = Callable[[ProgressEvent], None]


def epoch_event(
    method: str, epoch: int, epochs: int, row: Mapping[str, float], best_epoch: int, metric_keys: tuple[str, ...]
) -> ProgressEvent:
    """The event after a training epoch, from its history row (``seconds`` and ``metric_keys`` columns)."""
    return ProgressEvent(
        stage="train",
        method=method,
        epoch=int(epoch),
        epochs=int(epochs),
        status="epoch",
        seconds=float(row["seconds"]),
        best_epoch=int(best_epoch),
        metrics={k: float(row[k]) for k in metric_keys},
    )


class ProgressBar:
    """tqdm bar on stderr fed by :class:`~dff_core.progress.ProgressEvent` objects (one bar step per training epoch)."""

    def __init__(self, total: int, disable: bool) -> None:
        self.bar = tqdm(total=total, file=sys.stderr, disable=disable, unit="epoch", dynamic_ncols=True)

    def __call__(self, event: ProgressEvent) -> None:
        self.bar.set_description(event.label, refresh=False)
        if event.stage == "train" and event.epoch > 0 and self.bar.n < self.bar.total:
            self.bar.update(1)

    def close(self, finished: bool = False) -> None:
        """Close the bar; ``finished`` fills it (early stopping ends training before the last epoch)."""
        if finished and not self.bar.disable:
            self.bar.set_description("done", refresh=False)
            self.bar.update(self.bar.total - self.bar.n)
        self.bar.close()
