"""Start page: what the tool does, the three steps, a glossary, and one button that runs the sample."""

from __future__ import annotations

import streamlit as st

from dashboard import services as S
from dashboard.services import labels as L
from dashboard.services.state import Session, Widget

INTRO = (
    "DFF Studio checks whether your traffic forecasts lead to good decisions — the fastest route for a trip, "
    "or where to send a limited number of response units — and improves them where they do not. "
    "It keeps the forecaster you already trust (the *backbone*) and fine-tunes its forecasts by a bounded "
    "amount (*DFF*), so they stay close to the originals while the decisions made from them cost less. "
    "You compare plain forecasts, DFF and end-to-end decision-focused learning on your own data and see where "
    "and why the decisions change."
)
STEPS = (
    (
        "app_pages/data.py",
        "1 · Data",
        ":material/database:",
        "Use the sample city or upload readings (speeds or counts), sensor locations and road links. The page "
        "says what loading changed and shows a map and the readings.",
    ),
    (
        "app_pages/train.py",
        "2 · Compare",
        ":material/model_training:",
        "Choose what is decided (routing or allocation), the backbone and the trust region ε, and press Start: "
        "plain prediction, DFF and end-to-end DFL are trained and scored by their regret.",
    ),
    (
        "app_pages/decisions.py",
        "3 · Inspect",
        ":material/route:",
        "See the routes or allocations each method chose at any time, which corrections DFF made "
        "(Interpretability), and download everything (Export).",
    ),
)


def prepare_sample_run() -> None:
    """Load the sample city and put the Train page's controls on their defaults; the Train page then starts."""
    ss = st.session_state
    loaded = S.load_sample_data()
    S.activate(ss, loaded, st.query_params)
    ss[Widget.DATA_SOURCE] = S.SAMPLE_NAME
    ss.update(S.widget_state(S.default_config(loaded), loaded))
    ss[Session.RUN_SAMPLE] = True


st.title("DFF Studio")
st.markdown(INTRO)

c1, c2 = st.columns([1, 2], vertical_alignment="center")
if c1.button(
    "Run the sample comparison",
    type="primary",
    icon=":material/play_arrow:",
    key=Widget.RUN_SAMPLE,
    help="Loads the bundled sample city (50 sensors, one week of 5-minute speeds) and compares plain prediction, "
    "DFF and end-to-end DFL on traffic routing with the default settings (about 15–60 s).",
):
    prepare_sample_run()
    st.switch_page("app_pages/train.py")
c2.caption("Or follow the three steps with your own data:")

st.subheader("How it works")
for col, (path, title, icon, text) in zip(st.columns(3), STEPS, strict=True):
    with col.container(border=True, height="stretch"):
        st.page_link(path, label=title, icon=icon)
        st.caption(text)

st.subheader("Glossary")
with st.container(border=True):
    st.markdown("\n".join(f"- **{term}** — {text}" for term, text in L.GLOSSARY.items()))
