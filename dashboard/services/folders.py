"""Where the dashboard keeps files on the server: the repository root and the cache folder.

A module of its own (no dashboard imports), so the result store and the modules it imports can all
reach the cache folder.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """Folder of stored results: ``$DFF_CACHE_DIR`` or ``<repo>/.dff_cache``."""
    d = Path(os.environ.get("DFF_CACHE_DIR") or REPO_ROOT / ".dff_cache")
    d.mkdir(parents=True, exist_ok=True)
    return d
