"""The bundled synthetic sample city (see ``sample_data/README.md``)."""

from __future__ import annotations

import pandas as pd

from dff_core.data.dataset import Dataset
from dff_core.data.items import load_items
from dff_core.data.load import load_dataset
from dff_core.data.paths import sample_paths

__all__ = ["load_sample", "load_sample_items"]


def load_sample() -> Dataset:
    """The sample city's readings (15-minute speeds, km/h), 50 sensors and road links."""
    p = sample_paths()
    ds, _ = load_dataset(p["readings"], p["sensors"], p["links"], value="speed_kmh", source="sample")
    return ds


def load_sample_items() -> pd.DataFrame:
    """The sample city's allocation items: hourly call demand per district with features."""
    items, _ = load_items(sample_paths()["items"])
    return items
