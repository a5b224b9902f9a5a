"""Server-wide settings: no full garbage collection after every script run; startup objects frozen once."""

from __future__ import annotations

import gc
import tomllib
from pathlib import Path

from dashboard.services import server

ROOT = Path(__file__).resolve().parents[3]


def test_no_full_collection_after_each_script_run() -> None:
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["runner"]["postScriptGC"] is False


def test_startup_heap_is_frozen_once(monkeypatch) -> None:
    monkeypatch.setattr(server, "_frozen", False)
    before = gc.get_freeze_count()
    try:
        assert server.freeze_startup_heap() is True
        assert gc.get_freeze_count() > before  # the objects alive now left the collector's generations
        assert server.freeze_startup_heap() is False  # later script runs change nothing
    finally:
        gc.unfreeze()
