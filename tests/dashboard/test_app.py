"""The dashboard driven headlessly with streamlit.testing.v1.AppTest on the sample city."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import services as S

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "dashboard" / "app.py")
PAGES = ["app_pages/train.py", "app_pages/decisions.py", "app_pages/interpretability.py", "app_pages/export.py"]
ALL_PAGES = ["app_pages/start.py", "app_pages/data.py", *PAGES]
SAMPLE = REPO / "sample_data"

pytestmark = pytest.mark.skipif(not (SAMPLE / "readings.csv").is_file(), reason="sample_data/ is missing")


@pytest.fixture(autouse=True)
def fresh(fresh_caches: None) -> None:
    """Empty Streamlit caches and a private result store for every test (tests/dashboard/conftest.py)."""


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _upload_mode(at: AppTest) -> AppTest:
    at.switch_page("app_pages/data.py").run()
    at.segmented_control(key="data_source").set_value("Upload CSV files").run()
    assert not at.exception
    return at


def test_every_page_runs_on_the_sample():
    at = _app()
    assert at.title[0].value == "DFF Studio"  # the start page is the default page
    at.switch_page("app_pages/data.py").run()
    assert at.subheader[0].value == "Loaded: Sample city"
    assert _metrics(at)["Sensors"] == "50"
    assert len(at.get("plotly_chart")) == 2  # sensor map + time series
    for page in ALL_PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    assert any("Start" in i.value for i in at.switch_page("app_pages/train.py").run().info)


def test_valid_upload_replaces_the_data():
    readings = pd.read_csv(SAMPLE / "readings.csv", nrows=50 * 96 * 3)
    readings = readings[readings["timestamp"] < "2025-03-05"]  # the first two days, every sensor
    at = _upload_mode(_app())
    buf = io.StringIO()
    readings.to_csv(buf, index=False)
    at.file_uploader(key="upload_readings").upload("my_readings.csv", buf.getvalue().encode(), "text/csv")
    at.file_uploader(key="upload_sensors").upload("s.csv", (SAMPLE / "sensors.csv").read_bytes(), "text/csv")
    at.file_uploader(key="upload_links").upload("l.csv", (SAMPLE / "links.csv").read_bytes(), "text/csv").run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.subheader[0].value == "Loaded: Uploaded data"
    assert _metrics(at)["Time steps"] == "192"


def test_invalid_upload_lists_problems_and_keeps_previous_data():
    bad = b"timestamp,sensor_id,value\nnot-a-time,S01,40\n2025-03-03 00:15,S01,abc\n"
    at = _upload_mode(_app())
    at.file_uploader(key="upload_readings").upload("bad.csv", bad, "text/csv").run()
    assert not at.exception
    assert any("could not be loaded" in e.value for e in at.error)
    issues = next(t.value for t in at.table if "bad.csv" in set(t.value.get("File", pd.Series()).astype(str)))
    assert list(issues.columns) == ["Severity", "File", "Line", "Column", "What is wrong and what to do"]
    assert (issues["File"] == "bad.csv").any()
    assert (issues["Line"] != "").any()
    assert "None" not in issues.to_string()  # empty cells stay blank
    assert at.subheader[0].value == "Loaded: Sample city"  # the good data stays loaded
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception


def _train(at: AppTest, epochs: int = 2, methods=("two_stage", "dff", "dfl"), timeout: float = 180) -> AppTest:
    at.switch_page("app_pages/train.py").run()
    at.number_input(key="cfg_epochs").set_value(epochs)
    at.multiselect(key="cfg_methods").set_value(list(methods))
    at.button(key="start").click().run()
    assert not at.exception, at.exception
    assert at.button(key="start").disabled  # controls locked while the job runs
    deadline = time.monotonic() + timeout
    while at.session_state["result"] is None:
        job = S.get_job(at.session_state["job_id"], at.session_state["session_id"])
        assert job is not None and job.status != "error", job and job.error
        assert time.monotonic() < deadline, "training did not finish in time"
        time.sleep(0.5)
        at.run()  # what the polling fragment does in the browser
    at.run()
    assert not at.exception, at.exception
    return at


def test_short_training_shows_kpis_and_every_page_then_reloads_from_store():
    at = _train(_app())
    kpis = _metrics(at)
    for name in ("Plain regret", "DFF regret", "DFL regret", "DFF max shift", "DFF min cosine"):
        assert name in kpis
    assert float(kpis["DFF regret"]) >= 0
    assert len(at.get("plotly_chart")) >= 3  # distribution, paired scatter, curves
    at.switch_page("app_pages/decisions.py").run()
    assert not at.exception
    realised = {k: v for k, v in _metrics(at).items() if k.endswith("realised")}
    assert "Hindsight realised" in realised
    assert all(float(v) >= 0 for v in realised.values())  # numbers only: the unit would not fit the card
    at.switch_page("app_pages/interpretability.py").run()
    assert not at.exception, at.exception
    at.button(key="start_sweep").click().run()
    sweep = S.get_job(at.session_state["sweep_job_id"], at.session_state["session_id"])
    deadline = time.monotonic() + 180
    while sweep.running and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sweep.status == "done", sweep.error
    at.run()
    assert not at.exception, at.exception
    assert at.button(key="start_sweep").disabled  # a finished sweep is not recomputed
    table = sweep.result
    assert list(table["epsilon"]) == list(S.SWEEP_EPSILONS)
    assert (table["max_relative_shift"] <= table["epsilon"] + 1e-9).all()  # the trust region holds
    at.switch_page("app_pages/export.py").run()
    assert not at.exception, at.exception
    assert {"dl_summary", "dl_instances", "dl_decisions", "dl_factors", "dl_fig_png", "dl_figures"} <= {
        b.key for b in at.download_button
    }
    digest = at.session_state["result_digest"]

    # A browser refresh is a new session: the same inputs load the stored run instead of training again.
    again = _app()
    again.switch_page("app_pages/train.py").run()
    again.number_input(key="cfg_epochs").set_value(2).run()
    assert again.session_state["result_digest"] == digest
    assert again.session_state["job_id"] is None
    assert "DFF regret" in _metrics(again)
    # ... and the other session's job stays invisible to it.
    assert S.get_job(at.session_state["job_id"], again.session_state["session_id"]) is None


def test_cancel_stops_the_job():
    at = _app()
    at.switch_page("app_pages/train.py").run()
    at.number_input(key="cfg_epochs").set_value(200)
    at.multiselect(key="cfg_methods").set_value(["two_stage", "dff"])
    at.button(key="start").click().run()
    at.button(key="cancel").click().run()
    job = S.get_job(at.session_state["job_id"], at.session_state["session_id"])
    deadline = time.monotonic() + 120
    while job.running and time.monotonic() < deadline:
        time.sleep(0.3)
    assert job.status == "cancelled"
    at.run()
    assert not at.exception
    assert any("cancelled" in w.value for w in at.warning)
    assert not S.has_result(job.digest)


@pytest.mark.parametrize("source", ["readings", "items"])
def test_allocation_scenario_decisions(source):
    at = _app()
    at.switch_page("app_pages/train.py").run()
    at.radio(key="cfg_scenario").set_value("allocation").run()
    at.radio(key="cfg_source").set_value(source).run()
    at.number_input(key="cfg_budget").set_value(2)
    at = _train(at, epochs=2, methods=("two_stage", "dff"))
    assert {"Plain regret", "DFF regret"} <= set(_metrics(at))
    assert at.session_state["result"].config["scenario"] == "allocation"
    at.switch_page("app_pages/decisions.py").run()
    assert not at.exception, at.exception
    assert "Hindsight realised value" in _metrics(at)
    at.switch_page("app_pages/interpretability.py").run()
    assert not at.exception, at.exception


def test_allocation_table_alone_is_enough_for_allocation():
    at = _upload_mode(_app())
    at.file_uploader(key="upload_allocation").upload("calls.csv", (SAMPLE / "items.csv").read_bytes(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.subheader[0].value == "Loaded: Uploaded data"
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    assert at.radio(key="cfg_scenario").options == ["Allocation of response units"]
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)


def test_browser_refresh_reopens_the_run_named_in_the_url():
    at = _app()
    at.switch_page("app_pages/train.py").run()
    at.slider(key="cfg_epsilon").set_value(0.1)
    at = _train(at, epochs=2, methods=("two_stage", "dff"))
    digest = at.session_state["result_digest"]
    assert at.query_params["run"] == [digest] or at.query_params["run"] == digest

    fresh = AppTest.from_file(APP, default_timeout=90)  # a refresh: new session, same URL
    fresh.query_params["run"] = digest
    fresh.run()
    fresh.switch_page("app_pages/train.py").run()
    assert not fresh.exception, fresh.exception
    assert fresh.session_state["result_digest"] == digest
    assert fresh.slider(key="cfg_epsilon").value == pytest.approx(0.1)  # the settings come back too
    assert fresh.number_input(key="cfg_epochs").value == 2
    assert not fresh.warning  # results match the shown settings
    assert "DFF regret" in _metrics(fresh)


def _metr_la_dir() -> Path | None:
    import os

    base = Path(os.environ.get("DFF_SHARED_DATA") or REPO.parent / "shared" / "data")
    folder = base / "metr-la-week"
    return folder if (folder / "los_speed.csv").is_file() else None


@pytest.mark.slow
@pytest.mark.skipif(_metr_la_dir() is None, reason="METR-LA week not found in ../shared/data (or DFF_SHARED_DATA)")
def test_metr_la_files_uploaded_run_on_every_page():
    """The real METR-LA files as a user has them: a wide mph table without timestamps and a locations file."""
    folder = _metr_la_dir()
    at = _upload_mode(_app())
    at.selectbox(key="upload_value").set_value("speed_mph")
    at.text_input(key="upload_start").input("2012-03-01 00:00")
    at.text_input(key="upload_freq").input("5min")
    at.file_uploader(key="upload_readings").upload("los_speed.csv", (folder / "los_speed.csv").read_bytes(), "text/csv")
    locations = (folder / "graph_sensor_locations.csv").read_bytes()
    at.file_uploader(key="upload_sensors").upload("graph_sensor_locations.csv", locations, "text/csv").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.subheader[0].value == "Loaded: Uploaded data"
    assert _metrics(at)["Sensors"] == "207"
    assert _metrics(at)["Time steps"] == "2,016"
    at = _train(at, epochs=2)
    assert "DFF regret" in _metrics(at)
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)


def test_a_run_saved_by_the_command_line_opens_on_every_page(tmp_path):
    from dff_core import cli

    out = tmp_path / "runs" / "traffic"
    argv = ["compare", "--scenario", "traffic", "--sample", "--epochs", "2", "--methods", "two_stage,dff"]
    assert cli.main([*argv, "--out", str(out), "--quiet"]) == 0
    at = _app()
    at.switch_page("app_pages/train.py").run()
    assert at.button(key="close_run").disabled  # nothing opened yet
    at.text_input(key="open_run_dir").input(str(out))
    at.button(key="open_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["opened_dir"] == str(out.resolve())
    assert any("Saved run opened from" in i.value for i in at.info)
    kpis = _metrics(at)
    summary = json.loads((out / "summary.json").read_text())
    assert float(kpis["DFF regret"]) == pytest.approx(summary["methods"]["dff"]["regret_mean"], abs=1e-3)
    assert at.query_params["run_dir"] in ([str(out.resolve())], str(out.resolve()))
    at.switch_page("app_pages/decisions.py").run()
    assert not at.exception, at.exception
    assert "Hindsight realised" in _metrics(at)
    at.switch_page("app_pages/interpretability.py").run()
    assert not at.exception, at.exception
    assert at.button(key="start_sweep").disabled  # the sweep would run on the loaded data, not the run's
    at.switch_page("app_pages/export.py").run()
    assert not at.exception, at.exception
    assert any("DFF.load" in c.value for c in at.caption)  # the run's fitted correction is offered

    fresh = AppTest.from_file(APP, default_timeout=90)  # a refresh: the URL names the folder
    fresh.query_params["run_dir"] = str(out.resolve())
    fresh.run()
    fresh.switch_page("app_pages/train.py").run()
    assert not fresh.exception, fresh.exception
    assert fresh.session_state["opened_dir"] == str(out.resolve())
    fresh.button(key="close_run").click().run()
    assert fresh.session_state["result"] is None and fresh.session_state["opened_dir"] is None


def test_a_folder_that_is_not_a_run_is_refused_on_the_train_page(tmp_path):
    at = _app()
    at.switch_page("app_pages/train.py").run()
    at.text_input(key="open_run_dir").input(str(tmp_path))
    at.button(key="open_run").click().run()
    assert not at.exception, at.exception
    assert any("not a run folder" in e.value for e in at.error)
    assert at.session_state["result"] is None
