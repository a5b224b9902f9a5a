"""Starting training: backbone choices, and a finished run is loaded instead of trained again."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.services import config as C
from dashboard.services import store as R
from dashboard.services import training as T
from dashboard.services.data import load_sample_data, sample_paths
from dashboard.services.state import BACKBONE_LABELS
from dff_core.backbones import BACKBONES


def test_backbone_choices_list_every_engine_backbone_labelled_first():
    choices = T.backbone_choices()
    assert sorted(choices) == sorted(BACKBONES)
    labelled = [b for b in choices if b in BACKBONE_LABELS]
    assert choices[: len(labelled)] == tuple(labelled)


@pytest.mark.skipif(not sample_paths()["readings"].is_file(), reason="sample_data/ is missing")
def test_a_stored_run_is_loaded_not_trained(traffic_result):
    loaded = load_sample_data()
    cfg = C.run_config(
        C.scenario_spec("traffic", horizon="30min", sample=True),
        backbone="ridge", epsilon=0.2, loss="spo+", epochs=3, methods=["two_stage", "dff"],
    )  # fmt: skip
    digest = C.run_digest(loaded.digest, cfg)
    R.save_result(digest, traffic_result)
    job = T.start_job("A", loaded, cfg)
    assert job.status == "done" and job.stage == "loaded from the result store" and job.digest == digest
    np.testing.assert_array_equal(job.result.methods["dff"].regret, traffic_result.methods["dff"].regret)
