"""The Data page: reading options (count unit, duplicate policy), the quality banner, and switching data."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from dashboard.services import labels as L
from tests.dashboard.apps import SAMPLE, count_files, new_app, upload

pytestmark = [
    pytest.mark.skipif(not (SAMPLE / "readings.csv").is_file(), reason="sample_data/ is missing"),
    pytest.mark.usefixtures("fresh_caches"),
]


def _sidebar_text(at) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_counts_are_labelled_with_the_unit_the_user_names():
    at = upload(new_app(), count_files(), upload_value="count", upload_count_unit="boardings")
    loaded = at.session_state["loaded"]
    assert loaded.dataset.value_kind == "count" and loaded.dataset.count_unit == "boardings"
    assert any("Count (boardings per 15 min)" in c.value for c in at.caption)
    assert not at.warning  # nothing was changed by loading: no banner


def test_conflicting_duplicates_stop_with_a_hint_then_load_with_the_chosen_policy():
    files = count_files(duplicates=5)
    at = upload(new_app(), files, upload_value="count")
    assert at.session_state["loaded"].is_sample  # refused: the sample stays
    assert any("could not be loaded" in e.value for e in at.error)
    assert any("Different readings for one sensor and time" in i.value for i in at.info)  # where to choose
    # The problem table names the page's control, not the command line's flag or the keyword.
    messages = " ".join(" ".join(map(str, t.value.iloc[:, -1])) for t in at.table)
    assert "“Different readings for one sensor and time” (Data page): use their mean" in messages, messages
    assert "--duplicates" not in messages and "duplicates='mean'" not in messages
    policies = at.selectbox(key="upload_duplicates")
    assert policies.options == [L.DUPLICATE_LABELS[p] for p in ("error", "mean", "sum", "first", "last")]
    policies.set_value("sum").run()
    assert not at.exception, at.exception
    loaded = at.session_state["loaded"]
    assert not loaded.is_sample and loaded.options["duplicates"] == "sum"
    assert not at.error
    banner = " ".join(w.value for w in at.warning)
    assert "10 conflicting readings at 1 sensor(s) merged (sum per timestamp)" in banner


def test_sum_is_offered_for_counts_only():
    at = new_app("app_pages/data.py")
    at.segmented_control(key="data_source").set_value("Upload CSV files").run()
    assert at.selectbox(key="upload_value").value == "speed_kmh"
    assert L.DUPLICATE_LABELS["sum"] not in at.selectbox(key="upload_duplicates").options
    at.selectbox(key="upload_value").set_value("count").run()
    assert L.DUPLICATE_LABELS["sum"] in at.selectbox(key="upload_duplicates").options


def test_dropped_sensors_show_a_visible_banner_with_the_reason():
    files = count_files()
    sensors = pd.read_csv(io.BytesIO(files["sensors"][1]))
    sensors.loc[3, ["latitude", "longitude"]] = 0.0
    files["sensors"] = ("detectors.csv", sensors.to_csv(index=False).encode())
    at = upload(new_app(), files, upload_value="count")
    assert not at.exception, at.exception
    banner = [w.value for w in at.warning]  # an alert on the page itself, not inside the collapsed report
    assert len(banner) == 1 and "1 sensor dropped: 1 at 0/0 (D03)" in banner[0]
    sensors_tile = next(m for m in at.metric if m.label == "Sensors")
    assert sensors_tile.value == "7"


def test_the_sidebar_shows_the_upload_in_the_run_that_loaded_it():
    at = new_app("app_pages/data.py")
    sample_digest = at.session_state["loaded"].digest
    assert "Sample city" in _sidebar_text(at) and sample_digest[:12] in _sidebar_text(at)
    at = upload(at, count_files(), upload_value="count")  # no extra rerun after the upload
    loaded = at.session_state["loaded"]
    text = _sidebar_text(at)
    assert "**Uploaded data** (8 sensors)" in text and "Sample city" not in text
    assert loaded.digest[:12] in text and sample_digest[:12] not in text


def test_the_sensor_preview_is_filled_after_an_upload():
    at = new_app("app_pages/data.py")
    at.multiselect(key="preview_sensors").set_value([at.session_state["loaded"].sensors["sensor_id"].iloc[5]]).run()
    at = upload(at, count_files(), upload_value="count")
    chosen = at.multiselect(key="preview_sensors").value
    assert chosen == ["D00", "D01", "D02"]  # the new data's first sensors, not the sample's selection
    assert len(at.get("plotly_chart")) == 2  # the map and the readings of the chosen sensors


def test_one_click_on_sample_city_switches_back_and_upload_brings_the_upload_back():
    at = upload(new_app(), count_files(), upload_value="count")
    uploaded = at.session_state["loaded"].digest
    at.segmented_control(key="data_source").set_value("Sample city").run()
    assert not at.exception, at.exception
    assert at.session_state["loaded"].is_sample
    assert at.subheader[0].value == "Loaded: Sample city"
    assert "Sample city" in _sidebar_text(at)
    assert not [b for b in at.button if "Switch back" in b.label]  # no second button needed
    at.segmented_control(key="data_source").set_value("Upload CSV files").run()
    assert at.session_state["loaded"].digest == uploaded  # the earlier upload without uploading again
    assert at.subheader[0].value == "Loaded: Uploaded data"


def test_every_control_of_the_data_page_explains_itself():
    at = new_app("app_pages/data.py")
    at.segmented_control(key="data_source").set_value("Upload CSV files").run()
    controls = [
        *at.segmented_control,
        *at.selectbox,
        *at.text_input,
        *at.multiselect,
        *at.get("file_uploader"),
    ]
    assert len(controls) >= 10
    for control in controls:
        assert (getattr(control, "help", None) or control.proto.help).strip(), control.label


def test_validation_report_counts_read_as_words_and_its_table_has_no_none_cells():
    at = new_app("app_pages/data.py")
    assert not at.exception, at.exception
    counts = next(c.value for c in at.caption if re.search(r"errors?\b.*·.*warnings?\b.*·.*notes?\b", c.value))
    assert not re.search(r"\b1 (errors|warnings|notes)\b", counts)
    tables = [t.value for t in at.table]
    assert tables and all("None" not in t.to_string() for t in tables)
