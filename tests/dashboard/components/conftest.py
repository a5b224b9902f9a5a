"""Every page test opens a saved run with empty Streamlit caches and a private result store."""

from __future__ import annotations

import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch):
    """Empty Streamlit caches and a private result store for every test."""
    monkeypatch.setenv("DFF_CACHE_DIR", str(tmp_path / "store"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
