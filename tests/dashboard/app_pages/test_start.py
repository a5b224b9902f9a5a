"""The start page: the default page, its guide and glossary, and the button that runs the sample."""

from __future__ import annotations

import re
import time

import pytest

from dashboard import services as S
from dashboard.services import labels as L
from tests.dashboard.apps import SAMPLE, count_files, new_app, upload

pytestmark = [
    pytest.mark.skipif(not (SAMPLE / "readings.csv").is_file(), reason="sample_data/ is missing"),
    pytest.mark.usefixtures("fresh_caches"),
]


def test_the_start_page_opens_first_and_explains_the_tool():
    at = new_app()
    assert at.title[0].value == "DFF Studio"
    text = " ".join(m.value for m in at.markdown)
    for term in L.GLOSSARY:  # the glossary is on the page
        assert f"**{term}**" in text
    assert "backbone" in text and "DFF" in text  # what the tool does
    intro = at.markdown[0].value
    assert len(re.findall(r"[.!?](?:\s|$)", intro)) == 3, intro  # in three sentences
    steps = [c.value for c in at.caption]
    assert sum(any(word in c for word in ("upload", "Start", "routes")) for c in steps) >= 3  # the three steps
    button = at.button(key="start_run_sample")
    assert button.label == "Run the sample comparison" and button.help


def test_run_the_sample_loads_it_resets_the_settings_and_starts_the_default_comparison():
    at = upload(new_app(), count_files(), upload_value="count")  # other data loaded first
    assert at.session_state["loaded"].name == "Uploaded data"
    at.switch_page("app_pages/train.py").run()
    at.number_input(key="cfg_epochs").set_value(3).run()  # a changed setting
    at.switch_page("app_pages/start.py").run()
    at.button(key="start_run_sample").click().run()
    assert not at.exception, at.exception
    loaded = at.session_state["loaded"]
    assert loaded.is_sample
    assert at.title[0].value == "Train & compare"  # the button moved on to the Train page
    assert at.number_input(key="cfg_epochs").value == S.DEFAULT_EPOCHS
    job = S.get_job(at.session_state["job_id"], at.session_state["session_id"])
    try:
        assert job is not None and job.config == S.default_config(loaded)
        assert at.button(key="start").disabled  # running: the page follows the job
        at.run()
        assert not at.exception and at.session_state["job_id"] == job.id  # started once, not on every rerun
    finally:
        job.cancel.set()
        deadline = time.monotonic() + 120
        while job.running and time.monotonic() < deadline:
            time.sleep(0.3)
