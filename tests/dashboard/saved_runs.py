"""Saved runs of the sample city, made once per test session by the command line, and helpers to open them
headlessly on a page and read its charts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dff_core import cli

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "dashboard" / "app.py")
SAMPLE = REPO / "sample_data"


def _saved(tmp_path_factory, scenario: str, *extra: str) -> Path:
    if not (SAMPLE / "readings.csv").is_file():
        pytest.skip("sample_data/ is missing")
    out = tmp_path_factory.mktemp(scenario) / "run"
    argv = ["compare", "--scenario", scenario, "--sample", "--epochs", "2", "--methods", "two_stage,dff,dfl", *extra]
    assert cli.main([*argv, "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="session")
def traffic_run(tmp_path_factory) -> Path:
    """A routing run of the sample city with two trips."""
    return _saved(tmp_path_factory, "traffic", "--n-pairs", "2")


@pytest.fixture(scope="session")
def allocation_run(tmp_path_factory) -> Path:
    """An allocation run of the sample city's sensors (units placed at sensor locations)."""
    return _saved(tmp_path_factory, "allocation", "--budget", "3")


def open_run(folder: Path, page: str) -> AppTest:
    """The app with the saved run in ``folder`` opened, showing ``page`` (e.g. ``app_pages/decisions.py``)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["run_dir"] = str(folder.resolve())
    at.run()
    at.switch_page("app_pages/train.py").run()  # the Train page opens the run the URL names
    assert not at.exception, at.exception
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.session_state["result"] is not None
    return at


def chart(at: AppTest, key: str) -> dict:
    """The plotly figure (as JSON) of the chart with ``key``."""
    found = [e for e in at.get("plotly_chart") if e.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, [e.proto.id for e in at.get("plotly_chart")]
    return json.loads(found[0].proto.spec)


def chart_keys(at: AppTest) -> list[str]:
    """Keys of the page's plotly charts, in page order."""
    return [e.proto.id.rsplit("-", 1)[-1] for e in at.get("plotly_chart")]
