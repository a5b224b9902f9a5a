"""Every test here runs with empty Streamlit caches and a private result store."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh(fresh_caches: None) -> None:
    """Use the shared ``fresh_caches`` fixture (tests/dashboard/conftest.py) for every test here."""
