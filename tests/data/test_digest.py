"""dff_core.data.digest: the keys of stored results, which must not change for unchanged content."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from dff_core.data import load_dataset
from dff_core.data.digest import dataset_digest, digest_bytes, frame_digest, json_digest, object_digest

# Values computed by the implementations the stores were written with (the dashboard's result
# folders, sweep run ids and saved runs' data_digest are named by them): a change here orphans
# every stored result, so it must be deliberate.
PINNED_DATASET = "79201d6c62d4154c8e79cf84e5403114f8277fa9dacb767f5f6d1d227e1a2f56"
PINNED_BYTES = "db398053b18b35baec1e92576e8d1907b1b67d19a9971dcec2b3a0e6b0722610"
PINNED_OBJECT = "77616043327da1b8ffdd4d7f848fae629260c8d3a30176d9ba1a91ef6972b76f"


@dataclasses.dataclass
class Thing:
    a: np.ndarray
    b: pd.DataFrame
    c: dict
    timings: dict


def make_thing(**changes) -> Thing:
    base = {"a": np.arange(3.0), "b": pd.DataFrame({"x": [1, 2]}), "c": {"k": [1, "s", None]}, "timings": {"t": 1.0}}
    return Thing(**{**base, **changes})


def test_dataset_digest_keeps_its_value(readings_csv, sensors_csv, links_csv):
    ds, _ = load_dataset(readings_csv, sensors_csv, links_csv)
    assert dataset_digest(ds) == ds.digest() == PINNED_DATASET


def test_dataset_digest_sees_values_units_and_links(readings_csv, sensors_csv, links_csv):
    ds, _ = load_dataset(readings_csv, sensors_csv, links_csv)
    changed = dataclasses.replace(ds, readings=ds.readings.copy())
    changed.readings.iloc[3, 1] += 0.1
    assert dataset_digest(changed) != PINNED_DATASET
    assert dataset_digest(dataclasses.replace(ds, value_kind="speed_mph")) != PINNED_DATASET
    links = ds.links.copy()
    links.loc[0, "length_km"] = 2.0
    assert dataset_digest(dataclasses.replace(ds, links=links)) != PINNED_DATASET


def test_digest_bytes_is_the_documented_hash_and_order_free():
    parts = {"readings": b"x,y\n1,2\n", "sensors": b"id\n"}
    h = hashlib.sha256()
    for name in ("readings", "sensors"):
        h.update(name.encode() + b"\0" + hashlib.sha256(parts[name]).digest())
    assert digest_bytes(parts) == h.hexdigest() == PINNED_BYTES
    assert digest_bytes(dict(reversed(list(parts.items())))) == PINNED_BYTES
    assert digest_bytes({"readings": b"x,y\n1,2\n", "links": b"id\n"}) != PINNED_BYTES  # the name counts


def test_json_digest_ignores_key_order_only():
    cfg = {"epsilon": 0.1, "pairs": [["a", "b"]], "when": pd.Timestamp("2020-01-01")}
    expected = hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()
    assert json_digest(cfg) == json_digest(dict(reversed(list(cfg.items())))) == expected
    assert json_digest({**cfg, "epsilon": 0.2}) != expected


def test_frame_digest_ignores_the_index_not_the_values():
    items = pd.DataFrame({"period": [1, 1], "item_id": ["a", "b"], "value": [1.0, 2.0]})
    assert frame_digest(items) == frame_digest(items.set_axis([10, 11]))
    assert frame_digest(items) != frame_digest(items.assign(value=[1.0, 2.5]))


def test_object_digest_keeps_its_value_and_skips_fields():
    assert object_digest(make_thing(), skip={"timings", "extra"}) == PINNED_OBJECT
    assert object_digest(make_thing(timings={"t": 9.0}), skip={"timings"}) == PINNED_OBJECT
    assert object_digest(make_thing(timings={"t": 9.0})) != object_digest(make_thing())


@pytest.mark.parametrize(
    "change",
    [
        {"a": np.arange(3)},  # same numbers, other dtype
        {"a": np.arange(4.0)},
        {"b": pd.DataFrame({"y": [1, 2]})},  # same values, other column name
        {"c": {"k": [1, "s", 0]}},
    ],
)
def test_object_digest_sees_dtypes_shapes_and_names(change):
    assert object_digest(make_thing(**change), skip={"timings"}) != PINNED_OBJECT
