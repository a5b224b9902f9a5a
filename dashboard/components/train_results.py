"""Train page: the results of the run shown (KPIs, the trust-region check, distributions, curves)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from dashboard import figures as F
from dashboard import services as S
from dashboard.services.labels import method_label, metrics_table
from dashboard.services.state import Session
from dashboard.services.views import cached

if TYPE_CHECKING:
    from dff_core.results import ComparisonResult


def render(current: str, running: bool, opened: str | None) -> None:
    """Results of the run in the session (or a hint to press Start)."""
    ss = st.session_state
    result = ss[Session.RESULT]
    digest = ss[Session.RESULT_DIGEST]
    if result is None:
        if not running:
            st.info("Press **Start** to compare the methods on this data.", icon=":material/info:")
        st.stop()

    # A browser refresh reopens this run: from the store (see app.py) or from its folder (above).
    st.query_params.pop(S.RUN_PARAM if opened else S.RUN_DIR_PARAM, None)
    st.query_params[S.RUN_DIR_PARAM if opened else S.RUN_PARAM] = opened or digest
    unit = result.unit
    k = F.kpi_table(result)
    st.subheader("Results on the test period")
    if opened:
        st.info(
            f"Saved run opened from `{opened}`. **Close** it (under *Open a saved run*) to compare with the settings "
            "above.",
            icon=":material/folder_open:",
        )
    elif digest != current and not running:
        st.warning(
            "These results are for the previous settings; press **Start** to compare with the current ones.",
            icon=":material/history:",
        )
    st.caption(
        f"{result.n_test} test instances · {result.n_train} training · {result.n_val} validation · regret in {unit} · "
        f"run `{digest[:10]}` · {sum(result.timings.values()):.1f} s"
    )
    has_dff = "dff" in set(k["method"])
    cells = iter(st.columns(len(k) + (2 if has_dff else 0)))
    for r in k.itertuples():
        delta = None if r.method == "two_stage" or not np.isfinite(r.rel_change) else f"{100 * r.rel_change:+.1f} %"
        next(cells).metric(
            f"{F.label(r.method, short=True)} regret",
            f"{r.regret_mean:.3f}",
            delta=delta,
            delta_color="inverse",
            delta_description="vs plain" if delta else None,
            border=True,
            help=f"{r.label}: mean test regret in {unit}, the extra cost of acting on its predictions instead of "
            "perfect foresight.",
        )
    if has_dff:
        d = k.set_index("method").loc["dff"]
        next(cells).metric(
            "DFF max shift",
            f"{100 * d.max_relative_shift:.1f} %",
            delta=f"bound ε = {100 * d.shift_bound:.0f} %",
            delta_color="off",
            delta_arrow="off",
            border=True,
            help="Largest |c̃−ĉ|/|ĉ| over the test set; DFF guarantees it is at most ε.",
        )
        next(cells).metric(
            "DFF min cosine",
            f"{d.min_cosine:.4f}",
            delta=f"bound {d.cosine_bound:.4f}",
            delta_color="off",
            delta_arrow="off",
            border=True,
            help="Smallest cosine similarity between corrected and backbone predictions; the bound is √(1−ε²).",
        )

    verdict(result, unit, digest)

    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(
            cached(digest, "regret_distribution", lambda: F.regret_distribution(result)),
            key="regret_chart",
            config={"displaylogo": False},
            alt="Per-instance regret distribution per method",
        )
    with c2:
        if "dff" in result.methods:
            st.plotly_chart(
                cached(digest, "paired_regret_scatter", lambda: F.paired_regret_scatter(result)),
                key="paired_chart",
                config={"displaylogo": False},
                alt="Plain regret against DFF regret per test instance",
            )
    st.plotly_chart(
        cached(digest, "training_curves", lambda: F.training_curves(result)),
        key="curves_chart",
        config={"displaylogo": False},
        alt="Validation regret per epoch",
    )
    st.caption(
        "Epoch 0 is where each method starts: DFF from the plain backbone (no correction), end-to-end DFL from its "
        "own least-squares warm start, so their first points differ. Each method keeps the epoch with the lowest "
        "validation regret (★); training stops early when that has not improved for a while."
    )
    with st.expander("All metrics"):
        st.dataframe(
            metrics_table(result.metrics, unit=unit),
            key="metrics_table",
        )
    st.page_link("app_pages/decisions.py", label="Next: inspect decisions", icon=":material/arrow_forward:")


def verdict(result: ComparisonResult, unit: str, digest: str) -> None:
    """Each fine-tuned method against the plain prediction in plain words: the mean change in regret per
    decision, its 95% interval and whether the difference is reliable (paired test on the test decisions)."""
    if "two_stage" not in result.methods or result.n_test < 2:
        return
    for name in [m for m in result.methods if m != "two_stage"]:
        v = cached(digest, f"verdict:{name}", lambda name=name: result.verdict(name))
        text = f"**{method_label(name)}:** " + v.sentence(method=method_label(name), unit=unit)
        if v.verdict == "better":
            st.success(text, icon=":material/thumb_up:")
        elif v.verdict == "worse":
            st.error(text, icon=":material/thumb_down:")
        else:
            st.info(text, icon=":material/balance:")
