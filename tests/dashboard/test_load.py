"""Load test: three browser sessions train at once against a real ``streamlit run`` with one job slot.

Functional checks only (timings are measured by benchmarks/bench_dashboard.py --load 3): the jobs
queue and the waiting sessions show their place in the queue, a new visitor's first page still
draws and the health endpoint answers while they train, every job finishes with its results, and
no page shows an exception. Skipped when Chromium is absent.
"""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.browser import streamlit_server

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
SESSIONS = 3

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); skipped"),
    pytest.mark.skipif(not (REPO / "sample_data" / "readings.csv").is_file(), reason="sample_data/ is missing"),
]

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_api.expect

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CONNECTED = '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'


def _health(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as r:
        return r.status


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real server with ONE job slot, so three sessions' jobs must queue; yields (URL, result store)."""
    store = tmp_path_factory.mktemp("load-store")
    log = tmp_path_factory.mktemp("load") / "streamlit.log"
    with streamlit_server({"DFF_CACHE_DIR": str(store), "DFF_JOB_WORKERS": "1"}, log, ready_s=120) as url:
        yield url, store


def _idle(page) -> None:
    page.wait_for_selector(CONNECTED, timeout=120_000)
    page.wait_for_selector(IDLE, timeout=300_000)


def _open_train_page(browser, url: str, epochs: int, backbone: str | None = None):
    page = browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
    page.goto(url, timeout=300_000)
    _idle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Train & compare").click()
    _idle(page)
    if backbone is not None:
        page.get_by_role("combobox", name="Backbone (the trusted forecaster)").click()
        page.get_by_role("option", name=backbone).click()
        _idle(page)
    box = page.get_by_label(
        "Epochs (training passes)", exact=True
    )  # a different setting per session: three different runs
    box.fill(str(epochs))
    box.press("Enter")
    _idle(page)
    return page


def _no_exception(page) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_text("error id").count() == 0


def test_three_sessions_training_at_once_queue_and_all_finish(server) -> None:
    url, store = server
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            # The first job fits a random forest (tens of seconds, against ~2 s for ridge on a fast machine),
            # so the jobs behind it wait long enough to be seen waiting however fast the machine is.
            pages = [_open_train_page(browser, url, 6, "Random forest")]
            pages += [_open_train_page(browser, url, epochs) for epochs in (7, 8)[: SESSIONS - 1]]
            for page in pages:
                page.get_by_role("button", name="Start").click()
            # The last session waits for the two jobs ahead of it, and says so.
            expect(pages[-1].get_by_text("in the queue")).to_be_visible(timeout=120_000)
            expect(pages[-1].get_by_text("at a time")).to_be_visible()

            # While the queue is full: the health check answers and a new visitor's first page draws.
            assert _health(url) == 200
            visitor = browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
            visitor.goto(f"{url}/data", timeout=300_000)  # the Data page draws the sample's map and readings
            _idle(visitor)
            expect(visitor.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first).to_be_visible(
                timeout=300_000
            )
            expect(visitor.get_by_text("Loaded: Sample city")).to_be_visible()
            _no_exception(visitor)

            for page in pages:
                expect(page.get_by_test_id("stMetric").filter(has_text="DFF regret").first).to_be_visible(
                    timeout=900_000
                )
                _idle(page)
                _no_exception(page)
                expect(page.get_by_text("in the queue")).to_have_count(0)
        finally:
            browser.close()
    stored = [p for p in store.iterdir() if (p / "manifest.json").is_file()]
    assert len(stored) == SESSIONS  # three different runs, each saved once
    assert [p.name for p in store.iterdir() if ".tmp-" in p.name] == []
