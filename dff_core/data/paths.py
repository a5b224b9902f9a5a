"""Where the sample data and the optional real datasets live."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["REPO_ROOT", "SAMPLE_DIR", "sample_paths", "shared_data_dir"]

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO_ROOT / "sample_data"
SAMPLE_FILES = {
    "readings": "readings.csv",
    "sensors": "sensors.csv",
    "links": "links.csv",
    "items": "items.csv",
}


def sample_paths() -> dict[str, Path]:
    """Paths of the bundled synthetic city: readings, sensors, links and allocation items."""
    return {key: SAMPLE_DIR / fname for key, fname in SAMPLE_FILES.items()}


def shared_data_dir() -> Path | None:
    """The real-data folder: ``$DFF_SHARED_DATA`` or ``<repo>/../shared/data``; ``None`` if absent."""
    env = os.environ.get("DFF_SHARED_DATA")
    path = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return path.resolve() if path.is_dir() else None
