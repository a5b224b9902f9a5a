"""Every Streamlit cache of the dashboard, in one module.

Each function is a memo keyed on its named arguments: digests and options that fully determine
the value. The underscore-prefixed argument is the computation, which Streamlit does not hash;
callers pass one whose result depends on the key alone. Datasets are keyed by the SHA-256 of
their bytes, so identical inputs share one read-only copy and different users never see each
other's data (nothing per-user lives in module globals).

The other service modules decide *what* is cached and under which key; this module only says
*how* (resource or data cache, size, spinner, scope).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

T = TypeVar("T")


@st.cache_resource(max_entries=2, show_spinner="Loading the sample city…")
def sample_data(digest: str, _load: Callable[[], T]) -> T:
    """The sample city, keyed by the digest of its files."""
    return _load()


@st.cache_resource(max_entries=8, show_spinner="Validating the uploaded files…")
def uploaded_data(digest: str, _load: Callable[[], T]) -> T:
    """Uploaded files, keyed by the digest of their bytes and reading options."""
    return _load()


@st.cache_resource(max_entries=8, show_spinner="Building the scenario…")
def scenario(data_digest: str, spec_json: str, _build: Callable[[], T]) -> T:
    """A scenario, keyed by its data's digest and its spec (canonical JSON); rebuilding is deterministic."""
    return _build()


@st.cache_data(max_entries=8, show_spinner=False)
def candidate_pairs(data_digest: str, n_pairs: int, _choose: Callable[[], list[str]]) -> list[str]:
    """The trips offered for routing on a dataset."""
    return _choose()


@st.cache_resource(max_entries=4, scope="session")
def stored_result(run_key: str, _load: Callable[[], T]) -> T:
    """A stored comparison result, keyed by its run digest (per session: results hold fitted models)."""
    return _load()


@st.cache_resource(max_entries=32, show_spinner=False)
def result_view(run_key: str, what: str, _make: Callable[[], T]) -> T:
    """A figure or summary drawn from a finished run, keyed by its run digest (data + settings, which determine
    the run) and what it shows: page switches redraw it without recomputing (plotly figures take 50-150 ms each)."""
    return _make()


@st.cache_data(max_entries=8, show_spinner="Attributing the correction to the inputs…")
def attribution(run_key: str, n_max: int, _compute: Callable[[], pd.DataFrame | None]) -> pd.DataFrame | None:
    """Feature attribution of a run's DFF correction on up to ``n_max`` test instances."""
    return _compute()


@st.cache_resource
def job_table() -> dict[str, Any]:
    """The process-wide job table (job id -> job). Sessions reach their own jobs only, by the id they hold."""
    return {}


@st.cache_resource
def job_runner(_make: Callable[[], T]) -> T:
    """The process-wide job runner: the queue and the worker processes every session's jobs share."""
    return _make()


@st.cache_resource
def server_tuned(_tune: Callable[[], T]) -> T:
    """Process-wide set-up run once per server (garbage collection, :mod:`dashboard.services.server_gc`)."""
    return _tune()
