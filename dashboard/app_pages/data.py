"""Data page: the sample city or uploaded CSVs, the validation report, the sensor map, a time-series preview."""

from __future__ import annotations

import streamlit as st

from dashboard import figures as F
from dashboard import services as S
from dashboard.services.report_view import report_counts, show_issues
from dashboard.services.state import Session, Widget
from dff_core.errors import DataError

st.title("Data")
ss = st.session_state

UPLOAD = "Upload CSV files"
UPLOAD_HELP = {
    "readings": "timestamp, sensor_id, value (long) — or one column per sensor (wide).",
    "sensors": "sensor_id, latitude, longitude (optional: name, corridor).",
    "links": "from_id, to_id, length_km (optional: capacity). Without it the road graph is inferred.",
    "allocation": "period, item_id, value (+ feature columns): for the allocation scenario without sensors.",
}


def forget_runs() -> None:
    """New data: stop this session's running jobs and drop results computed on the old data."""
    for key in (Session.JOB_ID, Session.SWEEP_JOB_ID):
        job = S.get_job(ss.get(key), ss[Session.ID])
        if job is not None and job.running:
            job.cancel.set()
    ss[Session.JOB_ID] = ss[Session.SWEEP_JOB_ID] = None
    if not ss[Session.OPENED_DIR]:  # a run opened from a folder does not depend on the loaded data
        S.show_result(ss, None, None, None)
        st.query_params.pop(S.RUN_PARAM, None)


source = st.segmented_control(
    "Data source",
    [S.SAMPLE_NAME, UPLOAD],
    default=S.SAMPLE_NAME,
    key=Widget.DATA_SOURCE,
    persist_state="session",
)

if source == UPLOAD:
    st.caption(
        f"Each file may be up to **{S.MAX_UPLOAD_MB} MB** (set by `server.maxUploadSize` in .streamlit/config.toml). "
        "Readings and sensors are needed for maps and routing; an allocation table alone is enough for allocation."
    )
    value = st.selectbox(
        "The readings are",
        ["speed_kmh", "speed_mph", "count"],
        format_func={"speed_kmh": "speeds in km/h", "speed_mph": "speeds in mph", "count": "vehicle counts"}.get,
        key=Widget.UPLOAD_VALUE,
        persist_state="session",
    )
    with st.expander("Readings without a timestamp column (e.g. METR-LA's speed table)"):
        st.caption(
            "A wide file with one column per sensor and no timestamps: give the time of the first row and "
            "the reading interval. Leave both empty for files with a timestamp column."
        )
        tc1, tc2 = st.columns(2)
        start = tc1.text_input(
            "Time of the first row", key=Widget.UPLOAD_START, placeholder="2012-03-01 00:00", persist_state="session"
        )
        freq = tc2.text_input("Reading interval", key=Widget.UPLOAD_FREQ, placeholder="5min", persist_state="session")
    start, freq = (start or "").strip() or None, (freq or "").strip() or None
    cols = st.columns(2)
    files: dict[str, tuple[str, bytes]] = {}
    for i, kind in enumerate(S.UPLOAD_KINDS):
        with cols[i % 2]:
            up = st.file_uploader(
                f"{kind.capitalize()} CSV (max {S.MAX_UPLOAD_MB} MB)",
                type=["csv", "txt"],
                key=Widget.upload(kind),
                help=UPLOAD_HELP[kind],
            )
            if up is not None:
                files[kind] = (up.name, up.getvalue())
    if not files:  # uploads removed: forget the last attempt and its problems
        ss[Session.UPLOAD_TRIED] = ss[Session.UPLOAD_ISSUES] = None
    else:
        digest = S.upload_digest(files, value, start, freq)
        if ss.get(Session.UPLOAD_TRIED) != digest:  # validate each new set of files once
            ss[Session.UPLOAD_TRIED] = digest
            try:
                new = S.load_uploaded_data(files, value=value, start=start, freq=freq)
                if ss[Session.LOADED] is None or new.digest != ss[Session.LOADED].digest:
                    ss[Session.LOADED] = new
                    forget_runs()
                ss[Session.UPLOAD_ISSUES] = None
            except DataError as err:
                problems = {"errors": list(err.problems), "warnings": list(getattr(err, "warnings", []))}
                ss[Session.UPLOAD_ISSUES] = problems
            except (ValueError, KeyError) as err:
                ss[Session.UPLOAD_ISSUES] = {"errors": [f"{type(err).__name__}: {err}"], "warnings": []}
    issues = ss[Session.UPLOAD_ISSUES]
    if issues:
        n = len(issues["errors"])
        st.error(
            f"The uploaded files could not be loaded ({n} problem{'s' if n != 1 else ''}); "
            "the previously loaded data stays active. Fix the listed rows and upload again.",
            icon=":material/error:",
        )
        show_issues(S.issues_frame(issues["errors"] + issues["warnings"]), key="upload_issues_table")
elif (
    ss[Session.LOADED] is not None
    and not ss[Session.LOADED].is_sample
    and st.button("Switch back to the sample city", icon=":material/restart_alt:")
):
    ss[Session.LOADED] = S.load_sample_data()
    forget_runs()
    ss[Session.UPLOAD_ISSUES] = None
    st.rerun()

loaded = ss[Session.LOADED]
if loaded is None:
    st.error(ss.get(Session.LOAD_ERROR) or "No data loaded.", icon=":material/error:")
    st.stop()

st.subheader(f"Loaded: {loaded.name}")
if loaded.dataset is not None:
    r = loaded.readings
    c = st.container(horizontal=True)
    c.metric("Sensors", r.shape[1], border=True)
    c.metric("Time steps", f"{len(r):,}", border=True)
    c.metric("Links", len(loaded.links), border=True)
    c.metric("Period", f"{r.index[0]:%d %b} – {r.index[-1]:%d %b %Y}", border=True)
if loaded.items is not None:
    st.caption(f"Allocation table: {len(loaded.items):,} rows, {loaded.items['item_id'].nunique()} items.")

with st.expander("Validation report", expanded=False, icon=":material/fact_check:"):
    rep = loaded.report
    if rep is None:
        st.caption("No report.")
    else:
        st.caption(report_counts(len(rep.errors), len(rep.warnings), len(rep.info)))
        show_issues(rep.to_frame(), key="report_table")

if loaded.dataset is not None and len(loaded.sensors):
    ids = list(loaded.sensors["sensor_id"])
    default = [s for s in ss.get(Widget.PREVIEW_SENSORS) or ids[:3] if s in ids]
    chosen = st.multiselect(
        "Sensors to preview",
        ids,
        default=default,
        key=Widget.PREVIEW_SENSORS,
        max_selections=8,
        persist_state="session",
    )
    st.plotly_chart(
        F.sensor_map(
            loaded.sensors, loaded.links, value="mean_value", value_label=f"Mean {loaded.value_label}", selected=chosen
        ),
        key="sensor_map",
        config={"displaylogo": False, "scrollZoom": True},
        alt=f"Map of {len(ids)} sensors and {len(loaded.links)} road links",
    )
    if chosen:
        long = loaded.readings[[c for c in loaded.readings.columns if str(c) in chosen]]
        long = long.rename(columns=str).rename_axis("time").reset_index()
        long = long.melt(id_vars="time", var_name="sensor_id", value_name="value")
        st.plotly_chart(
            F.timeseries(long, value_label=loaded.value_label),
            key="timeseries",
            config={"displaylogo": False},
            alt="Readings over time of the selected sensors",
        )
st.page_link("app_pages/train.py", label="Next: train and compare", icon=":material/arrow_forward:")
