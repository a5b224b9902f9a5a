"""Data page: the sample city or uploaded CSVs, what loading changed, the validation report, map and preview."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import figures as F
from dashboard import services as S
from dashboard.components import road_network as RN
from dashboard.services import labels as L
from dashboard.services.state import Session, Widget
from dff_core.errors import DataError

UPLOAD = "Upload CSV files"
UPLOAD_HELP = {
    "readings": "timestamp, sensor_id, value (long) — or one column per sensor (wide).",
    "sensors": "sensor_id, latitude, longitude (or x, y with a coordinate system; optional: name, corridor).",
    "links": "from_id, to_id, length_km (optional: capacity, lanes, free_flow_kmh). Without it the road graph "
    "is inferred from the nearest sensors.",
    "allocation": "period, item_id, value (+ feature columns): for the allocation scenario without sensors.",
}


# ------------------------------------------------------------------------------ switching data
def on_source_change() -> None:
    """The "Data source" control: the sample city at once, or the last upload back (if any)."""
    ss = st.session_state
    if ss.get(Widget.DATA_SOURCE) == S.SAMPLE_NAME:
        loaded = ss.get(Session.LOADED)
        if loaded is None or not loaded.is_sample:
            S.activate(ss, S.load_sample_data(), st.query_params)
        ss[Session.UPLOAD_ISSUES] = ss[Session.UPLOAD_TRIED] = None
    elif ss.get(Session.UPLOADED) is not None:
        S.activate(ss, ss[Session.UPLOADED], st.query_params)


def source_choice() -> str:
    """The sample city or an upload; returns the choice."""
    ss = st.session_state
    if ss.get(Widget.DATA_SOURCE) not in (S.SAMPLE_NAME, UPLOAD):  # first visit: follow the loaded data
        loaded = ss.get(Session.LOADED)
        ss[Widget.DATA_SOURCE] = UPLOAD if loaded is not None and not loaded.is_sample else S.SAMPLE_NAME
    return st.segmented_control(
        "Data source",
        [S.SAMPLE_NAME, UPLOAD],
        key=Widget.DATA_SOURCE,
        required=True,
        on_change=on_source_change,
        help=L.HELP["data_source"],
        persist_state="session",
    )


# ------------------------------------------------------------------------------ uploads
def text_option(col: Any, label: str, key: str, placeholder: str, help_key: str) -> str:
    """A free-text reading option kept for the session, with its tooltip from :data:`labels.HELP`."""
    return col.text_input(label, key=key, placeholder=placeholder, help=L.HELP[help_key], persist_state="session")


def reading_options() -> dict[str, str | None]:
    """The "Reading options" controls; returns ``value`` and the loader's options as typed."""
    c1, c2, c3 = st.columns(3)
    value = c1.selectbox(
        "The readings are",
        list(L.VALUE_KIND_LABELS),
        format_func=L.VALUE_KIND_LABELS.get,
        key=Widget.UPLOAD_VALUE,
        help=L.HELP["value"],
        persist_state="session",
    )
    is_count = value == "count"
    count_unit = c2.text_input(
        "What is counted",
        key=Widget.UPLOAD_COUNT_UNIT,
        placeholder="vehicles",
        disabled=not is_count,
        help=L.HELP["count_unit"],
        persist_state="session",
    )
    policies = [p for p in L.DUPLICATE_LABELS if is_count or p != "sum"]
    if st.session_state.get(Widget.UPLOAD_DUPLICATES) not in policies:
        st.session_state[Widget.UPLOAD_DUPLICATES] = "error"
    duplicates = c3.selectbox(
        "Different readings for one sensor and time",
        policies,
        format_func=L.DUPLICATE_LABELS.get,
        key=Widget.UPLOAD_DUPLICATES,
        help=L.HELP["duplicates"],
        persist_state="session",
    )
    with st.expander("More reading options: coordinates, time zone, speeds of 0, files without timestamps"):
        c1, c2, c3 = st.columns(3)
        wgs84 = "latitude/longitude (WGS84)"
        crs = text_option(c1, "Coordinate system of the sensors", Widget.UPLOAD_CRS, wgs84, "crs")
        timezone = text_option(c2, "Time zone", Widget.UPLOAD_TIMEZONE, "as in the file", "timezone")
        zero_speeds = c3.selectbox(
            "Speeds of exactly 0 are",
            list(L.ZERO_SPEED_LABELS),
            format_func=L.ZERO_SPEED_LABELS.get,
            key=Widget.UPLOAD_ZERO_SPEEDS,
            disabled=is_count,
            help=L.HELP["zero_speeds"],
            persist_state="session",
        )
        c1, c2, _ = st.columns(3)
        start = text_option(
            c1, "Time of the first row (files without timestamps)", Widget.UPLOAD_START, "2012-03-01 00:00", "start"
        )
        freq = text_option(c2, "Reading interval", Widget.UPLOAD_FREQ, "e.g. 5min", "freq")
    return {
        "value": value,
        "count_unit": count_unit,
        "duplicates": duplicates,
        "crs": crs,
        "timezone": timezone,
        "zero_speeds": zero_speeds,
        "start": start,
        "freq": freq,
    }


def upload_files() -> dict[str, tuple[str, bytes]]:
    """The file uploaders; returns ``{kind: (file name, bytes)}`` of the files given."""
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
    return files


def load_upload(
    files: dict[str, tuple[str, bytes]], options: dict[str, str | None], network: dict[str, Any] | None = None
) -> None:
    """Validate each new set of files and options once (``network``: the road network's options); good data
    become the session's data."""
    ss = st.session_state
    if not files:  # uploads removed: forget the last attempt and its problems
        ss[Session.UPLOAD_TRIED] = ss[Session.UPLOAD_ISSUES] = None
        return
    opts = dict(options)
    value = opts.pop("value") or "speed_kmh"
    try:
        digest = S.upload_digest(files, value, network=network, **opts)
    except ValueError as err:
        ss[Session.UPLOAD_ISSUES] = {"errors": [str(err)], "warnings": []}
        return
    if ss.get(Session.UPLOAD_TRIED) == digest:
        return
    ss[Session.UPLOAD_TRIED] = digest
    try:
        S.activate(ss, S.load_uploaded_data(files, value, network=network, **opts), st.query_params)
        ss[Session.UPLOAD_ISSUES] = None
    except DataError as err:
        ss[Session.UPLOAD_ISSUES] = {"errors": list(err.problems), "warnings": list(getattr(err, "warnings", []))}
    except (ValueError, KeyError) as err:  # a reading option the loader refuses (time zone, CRS...)
        ss[Session.UPLOAD_ISSUES] = {"errors": [str(err).strip("'\"")], "warnings": []}


def problem_table(items: list, key: str) -> None:
    """Problems as a table whose messages wrap (never cut off), scrolling when long."""
    frame = S.issues_frame(items)
    frame.columns = ["Severity", "File", "Line", "Column", "What is wrong and what to do"]
    box = st.container(height=420 if len(frame) > 8 else "content", key=key)
    box.table(frame, hide_index=True)


def upload_problems() -> None:
    """The problems of the last upload that could not be loaded."""
    issues = st.session_state.get(Session.UPLOAD_ISSUES)
    if not issues:
        return
    n = len(issues["errors"])
    st.error(
        f"The uploaded files could not be loaded ({L.plural(n, 'problem')}); the previously loaded data stay "
        "active. Fix the listed rows (or the reading options) and upload again.",
        icon=":material/error:",
    )
    if any("duplicates=" in str(e) for e in issues["errors"]):
        st.info(
            "To combine the repeated readings instead, choose how under **Reading options → Different readings "
            "for one sensor and time**.",
            icon=":material/lightbulb:",
        )
    problem_table(issues["errors"] + issues["warnings"], key="upload_issues_table")


def upload_section() -> None:
    """Reading options, uploaders and the upload's problems."""
    st.caption(
        f"Each file may be up to **{S.MAX_UPLOAD_MB} MB**. Readings and sensors are needed for maps and routing; "
        "an allocation table alone is enough for allocation."
    )
    with st.container(border=True):
        st.markdown("**Reading options**")
        options = reading_options()
    files = upload_files()
    road_files, road_options = RN.upload()
    files = {**files, **road_files}
    load_upload(files, options, road_options)
    loaded = st.session_state.get(Session.LOADED)
    if not files and loaded is not None and not loaded.is_sample:
        st.caption("Showing the files uploaded earlier; upload files to replace them.")
    upload_problems()


# ------------------------------------------------------------------------------ the loaded data
def quality_banner(loaded: S.Loaded) -> None:
    """A warning with counts whenever loading changed the data (dropped, merged, filled, converted)."""
    rep = loaded.report
    lines = rep.summary_lines() if rep is not None and hasattr(rep, "summary_lines") else []
    if lines:
        st.warning(
            "**Loading changed the data:**\n" + "\n".join(f"- {line}" for line in lines)
            + "\n\nThe validation report below lists every change.",
            icon=":material/warning:",
        )  # fmt: skip


def summary(loaded: S.Loaded) -> None:
    """Size, period and units of the loaded data."""
    st.subheader(f"Loaded: {loaded.name}")
    if loaded.dataset is not None:
        ds, r = loaded.dataset, loaded.readings
        step = L.duration_label(ds.freq)
        dropped = len(getattr(loaded.report, "dropped_sensors", []) or [])
        c = st.container(horizontal=True)
        c.metric(
            "Sensors",
            r.shape[1],
            delta=f"{dropped} dropped" if dropped else None,
            delta_color="off",
            delta_arrow="off",
            border=True,
        )
        c.metric("Time steps", f"{len(r):,}", border=True, help=f"One reading every {step}.")
        c.metric(
            "Links", len(loaded.links), border=True, help="Road links between sensors (from the file or inferred)."
        )
        c.metric("Period", f"{r.index[0]:%d %b} – {r.index[-1]:%d %b %Y}", border=True)
        st.caption(f"Readings: {loaded.value_label}, one every {step}.")
    if loaded.items is not None:
        n_items = loaded.items["item_id"].nunique()
        st.caption(f"Allocation table: {L.plural(len(loaded.items), 'row')}, {L.plural(n_items, 'item')}.")


def validation_report(loaded: S.Loaded) -> None:
    """The full validation report (collapsed)."""
    rep = loaded.report
    with st.expander("Validation report", expanded=False, icon=":material/fact_check:"):
        if rep is None:
            st.caption("No report.")
            return
        st.caption(
            f"{L.plural(len(rep.errors), 'error')} · {L.plural(len(rep.warnings), 'warning')} · "
            f"{L.plural(len(rep.info), 'note')}"
        )
        problem_table([*rep.errors, *rep.warnings, *({"severity": "note", "message": m} for m in rep.info)],
                      key="report_table")  # fmt: skip
        st.caption(f"Data digest (identifies these files and options in saved runs): `{loaded.digest}`")


def preview(loaded: S.Loaded) -> None:
    """The sensor map and the readings of a few sensors."""
    ss = st.session_state
    if loaded.dataset is None or not len(loaded.sensors):
        return
    ids = list(loaded.sensors["sensor_id"])
    kept = [s for s in ss.get(Widget.PREVIEW_SENSORS) or [] if s in ids]
    if ss.get(Session.PREVIEW_FOR) != loaded.digest or not kept:  # new data: start from its first sensors
        kept = ids[:3]
    ss[Session.PREVIEW_FOR] = loaded.digest
    ss[Widget.PREVIEW_SENSORS] = kept
    chosen = st.multiselect(
        "Sensors to preview",
        ids,
        key=Widget.PREVIEW_SENSORS,
        max_selections=8,
        help=L.HELP["preview"],
        persist_state="session",
    )
    if loaded.network is not None:
        fig = RN.figure(loaded, chosen)
        alt = f"Map of the road network's {loaded.network.n_links} links and {len(ids)} sensors on them"
    else:
        fig = F.sensor_map(
            loaded.sensors, loaded.links, value="mean_value", value_label=f"Mean {loaded.value_label}", selected=chosen
        )
        alt = f"Map of {len(ids)} sensors and {len(loaded.links)} road links"
    st.plotly_chart(fig, key="sensor_map", config={"displaylogo": False, "scrollZoom": True}, alt=alt)
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


# ------------------------------------------------------------------------------ page
st.title("Data")
if source_choice() == UPLOAD:
    upload_section()
loaded = st.session_state[Session.LOADED]
if loaded is None:
    st.error(st.session_state.get(Session.LOAD_ERROR) or "No data loaded.", icon=":material/error:")
    st.stop()
summary(loaded)
RN.summary(loaded)
quality_banner(loaded)
validation_report(loaded)
preview(loaded)
st.page_link("app_pages/train.py", label="Next: train and compare", icon=":material/arrow_forward:")
