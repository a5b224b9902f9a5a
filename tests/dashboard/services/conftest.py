"""A private result store and empty Streamlit caches for every services test."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DFF_CACHE_DIR", str(tmp_path / "store"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tmp_path / "store"
    st.cache_data.clear()
    st.cache_resource.clear()
