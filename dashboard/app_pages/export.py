"""Export page: the run's summary and tables as JSON/CSV, every figure as PNG, SVG or HTML, the fitted correction."""

from __future__ import annotations

import json

import streamlit as st

from dashboard import services as S
from dashboard.services import export as X
from dashboard.services import views as V
from dashboard.services.labels import metrics_table
from dashboard.services.state import Session, Widget

st.title("Export")
ss = st.session_state
result = ss[Session.RESULT]
if result is None:
    st.info("Run a comparison first; its results can be downloaded here.")
    st.page_link("app_pages/train.py", label="Go to Train & compare", icon=":material/model_training:")
    st.stop()

digest = ss[Session.RESULT_DIGEST] or "run"
tag = digest[:10]
unit = result.unit or "cost units"
st.caption(f"{result.config.get('scenario')} run · ε = {result.config.get('epsilon')} · costs and regret in {unit}")
with st.expander("Run details"):
    st.caption(f"Run id `{digest}`")
loaded = ss[Session.LOADED]
own = V.result_sensors(result) if ss[Session.OPENED_DIR] else None
sensors = own if own is not None else (loaded.sensors if loaded is not None else None)
cfg = ss[Session.RESULT_CONFIG]
sweep = (
    S.stored_sweep(loaded, cfg, S.SWEEP_EPSILONS) if cfg is not None and loaded and not ss[Session.OPENED_DIR] else None
)

# ------------------------------------------------------------------------------ results and tables
st.subheader("Results and tables")
c1, c2 = st.columns(2)
c1.download_button(
    "Summary (JSON)",
    lambda: json.dumps({**result.summary(), "run_digest": digest}, indent=2, default=str),
    file_name=f"dff-summary-{tag}.json",
    mime="application/json",
    icon=":material/data_object:",
    on_click="ignore",
    key="dl_summary",
)
c1.caption("Configuration, sizes, timings and per-method metrics.")
c2.download_button(
    "Per-instance regret (CSV)",
    lambda: X.csv_bytes(result.per_instance),
    file_name=f"dff-per-instance-{tag}.csv",
    mime="text/csv",
    icon=":material/table:",
    on_click="ignore",
    key="dl_instances",
)
c2.caption(f"One row per test time and method: regret and objective in {unit}.")
c1.download_button(
    "Metrics per method (CSV)",
    lambda: X.csv_bytes(metrics_table(result.metrics, unit=unit).reset_index()),
    file_name=f"dff-metrics-{tag}.csv",
    mime="text/csv",
    icon=":material/leaderboard:",
    on_click="ignore",
    key="dl_metrics",
)
c1.caption("Regret, accuracy and shift from the backbone, one row per method.")
traffic = V.is_routing(result)
c2.download_button(
    "Decisions (CSV)",
    (lambda: X.csv_bytes(V.routes_table(result))) if traffic else (lambda: X.csv_bytes(V.allocations_table(result))),
    file_name=f"dff-{'routes' if traffic else 'allocations'}-{tag}.csv",
    mime="text/csv",
    icon=":material/route:" if traffic else ":material/pin_drop:",
    on_click="ignore",
    key="dl_decisions",
)
c2.caption(
    f"Every method's route per test time and trip, with realised travel time and regret ({unit})."
    if traffic
    else f"Units per test time and item for every method and hindsight, with the realised value per unit ({unit})."
)
has_factors = "dff" in result.methods and result.methods["dff"].factors is not None
c1.download_button(
    "Correction factors (CSV)",
    (lambda: X.csv_bytes(V.correction_factors_table(result))) if has_factors else b"",
    file_name=f"dff-corrections-{tag}.csv",
    mime="text/csv",
    icon=":material/tune:",
    on_click="ignore",
    disabled=not has_factors,
    key="dl_factors",
)
c1.caption("DFF's factor φ per test time and value, with the backbone's and the corrected prediction.")
folder = ss[Session.OPENED_DIR] or (S.run_dir(digest) if ss[Session.RESULT_DIGEST] else None)
model = S.model_file(folder) if folder else None
c2.download_button(
    "Fitted DFF correction (.safetensors)",
    (lambda: model.read_bytes()) if model is not None else b"",
    file_name=f"dff-correction-{tag}.safetensors",
    mime="application/octet-stream",
    icon=":material/memory:",
    on_click="ignore",
    disabled=model is None,
    key="dl_model",
)
c2.caption(
    "Load with `dff_core.dff.DFF.load(path, problem)`; weights and configuration only, no code."
    if model is not None
    else "No stored DFF model for this run."
)

# ------------------------------------------------------------------------------ figures
st.subheader("Figures")
figs = X.result_figures(result, digest, sensors, sweep)
ok, why = X.images_available()
name = st.selectbox(
    "Figure", list(figs), format_func=lambda k: figs[k].layout.title.text or k, key=Widget.EXPORT_FIGURE
)
fig = figs[name]
b1, b2, b3 = st.columns(3)
for col, fmt, icon in ((b1, "png", ":material/image:"), (b2, "svg", ":material/polyline:")):
    col.download_button(
        f"{fmt.upper()} image",
        (lambda f=fmt: X.figure_image(fig, f)) if ok else b"",
        file_name=f"dff-{name}-{tag}.{fmt}",
        mime=X.IMAGE_FORMATS[fmt],
        icon=icon,
        on_click="ignore",
        disabled=not ok,
        key=f"dl_fig_{fmt}",
    )
b3.download_button(
    "Interactive HTML",
    lambda: X.figure_html(fig),
    file_name=f"dff-{name}-{tag}.html",
    mime="text/html",
    icon=":material/code:",
    on_click="ignore",
    key="dl_fig_html",
)
st.caption(why or "Images are drawn by the local Chromium (a few seconds); HTML opens offline in any browser.")
z1, z2 = st.columns(2)
z1.download_button(
    f"All {len(figs)} figures (one HTML file, zip)",
    lambda: X.figures_zip(figs),
    file_name=f"dff-figures-{tag}.zip",
    mime="application/zip",
    icon=":material/bar_chart:",
    on_click="ignore",
    key="dl_figures",
)
z1.caption("Every figure on one interactive page that opens offline (about 1.5 MB).")
z2.download_button(
    f"All {len(figs)} figures as PNG (+ HTML, zip)",
    (lambda: X.figures_zip(figs, png=True)) if ok else b"",
    file_name=f"dff-figures-png-{tag}.zip",
    mime="application/zip",
    icon=":material/photo_library:",
    on_click="ignore",
    disabled=not ok,
    key="dl_figures_png",
)
z2.caption(why or "One PNG per figure, plus the interactive page (takes a few seconds more).")
