"""Helpers for the dashboard's AppTest tests: a fresh app, uploads, training to the end, and a count dataset."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard import services as S

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "dashboard" / "app.py")
SAMPLE = REPO / "sample_data"
#: The result pages, visited after a run.
RESULT_PAGES = ("app_pages/decisions.py", "app_pages/interpretability.py", "app_pages/export.py")


def new_app(page: str | None = None) -> AppTest:
    """The app after its first run (the start page), optionally switched to ``page``."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    if page is not None:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    """Metric tiles by label."""
    return {m.label: m.value for m in at.metric}


def upload(at: AppTest, files: dict[str, tuple[str, bytes]], **options: str) -> AppTest:
    """Upload ``files`` (``{kind: (name, bytes)}``) on the Data page after setting reading options by widget key."""
    at.switch_page("app_pages/data.py").run()
    at.segmented_control(key="data_source").set_value("Upload CSV files").run()
    for key, value in options.items():
        widget = at.selectbox(key=key) if key in ("upload_value", "upload_duplicates", "upload_zero_speeds") else None
        if widget is not None:
            widget.set_value(value)
        else:
            at.text_input(key=key).input(value)
        at.run()
    for kind, (name, blob) in files.items():
        at.file_uploader(key=f"upload_{kind}").upload(name, blob, "text/csv")
    at.run()
    assert not at.exception, at.exception
    return at


def train(at: AppTest, epochs: int = 2, methods=("two_stage", "dff"), timeout: float = 300) -> AppTest:
    """Press Start on the Train page with few epochs and rerun until the result is shown."""
    at.switch_page("app_pages/train.py").run()
    at.number_input(key="cfg_epochs").set_value(epochs)
    at.multiselect(key="cfg_methods").set_value(list(methods))
    at.button(key="start").click().run()
    assert not at.exception, at.exception
    return wait_for_result(at, timeout)


def wait_for_result(at: AppTest, timeout: float = 300) -> AppTest:
    """Rerun (as the page's polling does) until the session's job has finished and its result is shown."""
    deadline = time.monotonic() + timeout
    while at.session_state["result"] is None:
        job = S.get_job(at.session_state["job_id"], at.session_state["session_id"])
        assert job is not None and job.status != "error", job and job.error
        assert time.monotonic() < deadline, "training did not finish in time"
        time.sleep(0.5)
        at.run()
    at.run()
    assert not at.exception, at.exception
    return at


def count_files(n_sensors: int = 8, days: int = 6, seed: int = 3, duplicates: int = 0) -> dict[str, tuple[str, bytes]]:
    """A small count dataset as a user uploads it: 15-minute vehicle counts (long format) and sensor locations.

    Sensors sit on a 2-row grid about 1 km apart; counts follow morning and evening peaks with noise, so
    the BPR travel times (routing) and the counts themselves (allocation) vary over the day. No links file:
    the road graph is inferred from the nearest sensors. ``duplicates`` repeats that many rows of the
    first sensor with a different count (as signal-system exports do).
    """
    rng = np.random.default_rng(seed)
    ids = [f"D{k:02d}" for k in range(n_sensors)]
    sensors = pd.DataFrame(
        {
            "sensor_id": ids,
            "latitude": [48.10 + 0.009 * (k % 2) for k in range(n_sensors)],
            "longitude": [11.50 + 0.013 * (k // 2) for k in range(n_sensors)],
        }
    )
    times = pd.date_range("2026-03-02 00:00", periods=days * 96, freq="15min")
    hour = times.hour.to_numpy() + times.minute.to_numpy() / 60
    profile = 20 + 120 * np.exp(-(((hour - 8) / 1.5) ** 2)) + 100 * np.exp(-(((hour - 17.5) / 2) ** 2))
    scale = rng.uniform(0.6, 1.4, size=n_sensors)
    counts = np.round(profile[:, None] * scale[None, :] * rng.lognormal(0, 0.15, size=(len(times), n_sensors)))
    long = pd.DataFrame(counts, index=times.strftime("%Y-%m-%d %H:%M"), columns=ids).rename_axis("timestamp")
    long = long.reset_index().melt("timestamp", var_name="sensor_id", value_name="count")
    if duplicates:
        extra = long[long["sensor_id"] == ids[0]].head(duplicates).copy()
        extra["count"] += 7
        long = pd.concat([long, extra], ignore_index=True)
    return {
        "readings": ("detector_counts.csv", long.to_csv(index=False).encode()),
        "sensors": ("detectors.csv", sensors.to_csv(index=False).encode()),
    }
