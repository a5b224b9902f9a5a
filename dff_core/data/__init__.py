"""Data import and validation: sensor readings, sensor locations, road links, allocation items.

Everything user-supplied goes through :func:`load_dataset` / :func:`load_items`, which return
validated data plus a :class:`ValidationReport`, or raise :class:`~dff_core.errors.DataError`
listing every problem with file, line and column.
"""

from dff_core.data.dataset import MPH_TO_KMH, VALUE_KINDS, Dataset
from dff_core.data.items import load_items
from dff_core.data.load import DEFAULT_MIN_STEPS, load_dataset
from dff_core.data.metr_la import load_metr_la, read_restricted_pickle
from dff_core.data.networks import load_geojson_links, load_tntp_network
from dff_core.data.paths import sample_paths, shared_data_dir
from dff_core.data.report import Issue, ValidationReport
from dff_core.data.sample import load_sample, load_sample_items
from dff_core.errors import DataError

__all__ = [
    "DEFAULT_MIN_STEPS",
    "MPH_TO_KMH",
    "VALUE_KINDS",
    "DataError",
    "Dataset",
    "Issue",
    "ValidationReport",
    "load_dataset",
    "load_geojson_links",
    "load_items",
    "load_metr_la",
    "load_sample",
    "load_sample_items",
    "load_tntp_network",
    "read_restricted_pickle",
    "sample_paths",
    "shared_data_dir",
]
