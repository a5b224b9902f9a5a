"""Garbage collection in the server: none after every script run, and the start-up heap exempt from full ones."""

from __future__ import annotations

import gc
import threading
import tomllib
from pathlib import Path

import pytest
import streamlit as st

from dashboard.services import errors, server_gc

REPO = Path(__file__).resolve().parents[3]


class _Marker:
    """An object the collector tracks (instances of plain classes are tracked)."""


@pytest.fixture
def fresh_freeze(monkeypatch):
    """A process that has not frozen its heap yet; everything frozen is handed back to the collector afterwards."""
    monkeypatch.setattr(server_gc, "_FROZEN", threading.Event())
    yield
    gc.unfreeze()


def _tracked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_the_repository_config_turns_off_streamlits_collection_after_every_run():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["postScriptGC"] is False
    st.get_option(server_gc.POST_SCRIPT_GC)  # the option exists under this name (raises otherwise)


def test_objects_alive_at_start_up_leave_the_collector_and_later_ones_stay(fresh_freeze):
    before = _Marker()
    assert _tracked(before)
    assert server_gc.freeze_startup_heap() > 0
    after = _Marker()
    assert not _tracked(before)  # full collections no longer walk it
    assert _tracked(after)  # sessions' objects created later are still collected
    count = gc.get_freeze_count()
    later = _Marker()
    # once per process: later objects are never frozen (the count may only drop: a frozen object that another
    # thread releases in between leaves the permanent generation)
    assert server_gc.freeze_startup_heap() <= count
    assert _tracked(later)


def _log_text() -> str:
    for h in errors.logger().handlers:
        h.flush()
    path = errors.log_file()
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def test_tune_warns_in_the_server_log_when_streamlit_collects_after_every_run(fresh_freeze, monkeypatch):
    options = {server_gc.POST_SCRIPT_GC: False}
    monkeypatch.setattr(server_gc.st, "get_option", options.__getitem__)
    server_gc.tune()
    assert "postScriptGC" not in _log_text()
    options[server_gc.POST_SCRIPT_GC] = True
    server_gc.tune()
    assert "postScriptGC = true" in _log_text() and "repository root" in _log_text()
