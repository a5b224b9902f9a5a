"""Progress events: one typed shape for every stage."""

from __future__ import annotations

import dataclasses

import pytest

from dff_core.progress import STAGES, ProgressEvent, epoch_event


def test_events_are_frozen_and_labelled() -> None:
    ev = ProgressEvent("backbone", epoch=1, epochs=1, status="done", seconds=0.5)
    assert ev.label == "backbone" and ev.method is None and ev.metrics == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.epoch = 2  # type: ignore[misc]
    assert STAGES == ("backbone", "train", "evaluate")


def test_epoch_event_from_a_history_row() -> None:
    row = {"epoch": 3, "train_loss": 0.25, "val_regret": 1.5, "val_normalized_regret": 0.01, "seconds": 0.2}
    ev = epoch_event("dff", 3, 10, row, 2, ("train_loss", "val_regret"))
    assert (ev.stage, ev.label, ev.epoch, ev.epochs, ev.best_epoch, ev.seconds) == ("train", "dff", 3, 10, 2, 0.2)
    assert ev.metrics == {"train_loss": 0.25, "val_regret": 1.5}
    assert dataclasses.asdict(ev)["metrics"] == {"train_loss": 0.25, "val_regret": 1.5}
