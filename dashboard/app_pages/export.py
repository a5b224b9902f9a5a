"""Export page: summary JSON, per-instance CSV, figures as HTML, the fitted DFF correction file."""

from __future__ import annotations

import io
import json
import zipfile

import streamlit as st

from dashboard import figures as F
from dashboard import services as S
from dashboard.services import views as V
from dashboard.services.state import Session

st.title("Export")
ss = st.session_state
result = ss[Session.RESULT]
if result is None:
    st.info("Run a comparison first; its results can be downloaded here.")
    st.page_link("app_pages/train.py", label="Go to Train & compare", icon=":material/model_training:")
    st.stop()

digest = ss[Session.RESULT_DIGEST] or "run"
tag = digest[:10]
st.caption(f"Run `{tag}` · {result.config.get('scenario')} · ε = {result.config.get('epsilon')}")


def summary_json() -> str:
    return json.dumps({**result.summary(), "run_digest": digest}, indent=2, default=str)


def figures_zip() -> bytes:
    """Every result chart as a standalone HTML file (plotly.js embedded: opens offline)."""
    figs = {"regret_distribution": F.regret_distribution(result), "training_curves": F.training_curves(result)}
    if "dff" in result.methods:
        figs["paired_regret"] = F.paired_regret_scatter(result)
        table = V.corrections_by_hour(result)
        if table is not None:
            figs["correction_heatmap"] = F.correction_heatmap(
                table, epsilon=result.config.get("epsilon"), row_label=V.row_label(result)
            )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, fig in figs.items():
            z.writestr(f"{name}.html", fig.to_html(include_plotlyjs=True, full_html=True))
    return buf.getvalue()


c1, c2 = st.columns(2)
c1.download_button(
    "Summary (JSON)",
    summary_json,
    file_name=f"dff-summary-{tag}.json",
    mime="application/json",
    icon=":material/data_object:",
    on_click="ignore",
    key="dl_summary",
)
c1.caption("Configuration, sizes, timings and per-method metrics.")
c2.download_button(
    "Per-instance regret (CSV)",
    lambda: result.per_instance.to_csv(index=False),
    file_name=f"dff-per-instance-{tag}.csv",
    mime="text/csv",
    icon=":material/table:",
    on_click="ignore",
    key="dl_instances",
)
c2.caption("One row per test instance and method.")
c1.download_button(
    "Figures (HTML, zip)",
    figures_zip,
    file_name=f"dff-figures-{tag}.zip",
    mime="application/zip",
    icon=":material/bar_chart:",
    on_click="ignore",
    key="dl_figures",
)
c1.caption("Interactive charts that open in any browser without internet.")
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
