"""The error guard: one friendly line and an id on the page, the full traceback under that id in the server log."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard.services import errors

REPO = Path(__file__).resolve().parents[3]


def _log_text() -> str:
    for h in errors.logger().handlers:
        h.flush()
    return errors.log_file().read_text(encoding="utf-8")


def test_streamlit_never_sends_tracebacks_to_the_browser():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] in ("none", "type")  # not "full"/"stacktrace"


def test_report_logs_the_traceback_under_the_returned_id(store):
    def inner() -> None:
        raise RuntimeError("Unable to determine UTM CRS")

    try:
        inner()
    except RuntimeError as exc:
        error_id = errors.report(exc, "page Data", "session-1")
    assert re.fullmatch(r"[0-9a-f]{10}", error_id)
    assert errors.log_file().parent == store / "logs"
    entry = _log_text().split(f"error id {error_id}", 1)[1]
    assert "session-1" in entry and "Traceback" in entry and "in inner" in entry and "UTM CRS" in entry
    assert errors.report(ValueError("x"), "here") != error_id  # one id per error


def test_public_message_keeps_file_names_and_drops_server_paths():
    msg = "OSError: [Errno 28] No space left on device: '/srv/dff/.dff_cache/ab12.tmp-9/arrays.npz'"
    assert errors.public_message(msg) == "OSError: [Errno 28] No space left on device: 'arrays.npz'"
    win = r"cannot read C:\Users\ana\data\readings.csv now"
    assert errors.public_message(win) == "cannot read readings.csv now"
    kept = "see https://example.org/docs/a/b and sample_data/readings.csv, ratio 3/4"
    assert errors.public_message(kept) == kept  # URLs, relative paths and fractions are not server paths


def _page_script() -> None:
    import streamlit as st

    from dashboard.services.errors import guard, run_page

    class Page:
        title = "Broken"

        def run(self) -> None:
            st.title("Broken page")

            @guard
            def part() -> None:
                raise KeyError("/opt/app/site-packages/lib/secret.py")

            part()
            st.write("after the broken part")
            raise RuntimeError("boom in /opt/app/dashboard/app_pages/broken.py")

    run_page(Page())


def test_a_failing_page_and_component_show_one_line_with_an_id_each(store):
    at = AppTest.from_function(_page_script, default_timeout=30)
    at.run()
    assert not at.exception  # no traceback element reaches the page
    assert at.title[0].value == "Broken page"
    assert at.markdown[0].value == "after the broken part"  # a failing component leaves the page drawn
    shown = [e.value for e in at.error]
    assert len(shown) == 2 and "this part of the page" in shown[0] and "while showing this page" in shown[1]
    ids = [re.search(r"error id `([0-9a-f]{10})`", s).group(1) for s in shown]
    assert not any("/opt/app" in s or "Traceback" in s for s in shown)
    log = _log_text()
    assert "secret.py" in log.split(f"error id {ids[0]}", 1)[1]
    assert "broken.py" in log.split(f"error id {ids[1]}", 1)[1] and "Traceback" in log


def _stopping_script() -> None:
    import streamlit as st

    from dashboard.services.errors import run_page

    class Page:
        def run(self) -> None:
            st.write("before stop")
            st.stop()
            st.write("never")

    run_page(Page())


def test_streamlit_control_flow_passes_through_the_guard(store):
    at = AppTest.from_function(_stopping_script, default_timeout=30)
    at.run()
    assert not at.exception and not at.error
    assert [m.value for m in at.markdown] == ["before stop"]
