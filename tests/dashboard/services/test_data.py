"""Datasets for the pages: digests, uploads, display tables."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.services import data as D
from dff_core.errors import DataError


def test_digests_depend_on_content_only():
    a = D.digest_bytes({"readings": b"x,y\n1,2\n", "sensors": b"id\n"})
    assert a == D.digest_bytes({"sensors": b"id\n", "readings": b"x,y\n1,2\n"})  # order-free
    assert a != D.digest_bytes({"readings": b"x,y\n1,3\n", "sensors": b"id\n"})
    assert a != D.digest_bytes({"links": b"x,y\n1,2\n", "sensors": b"id\n"})  # the role of a file counts


def test_upload_digest_depends_on_how_files_are_read():
    files = {"readings": ("r.csv", b"1,2\n")}
    assert D.upload_digest(files, "speed_kmh") != D.upload_digest(files, "speed_mph")
    assert D.upload_digest(files, "count", start="2012-03-01", freq="5min") != D.upload_digest(files, "count")
    assert D.upload_digest(files, "count", duplicates="sum") != D.upload_digest(files, "count")
    assert D.upload_digest(files, "count", count_unit="boardings") != D.upload_digest(files, "count")
    assert D.upload_digest(files, "count") == D.upload_digest({"readings": ("other name.csv", b"1,2\n")}, "count")
    # defaults and empty text are the same reading as no option
    assert D.upload_digest(files, "count", duplicates="error", crs=" ") == D.upload_digest(files, "count")


def test_read_options_keep_what_differs_from_the_defaults_and_applies():
    assert D.read_options("count", count_unit=" boardings ", duplicates="sum", zero_speeds="keep", crs="") == {
        "value": "count", "count_unit": "boardings", "duplicates": "sum"
    }  # fmt: skip
    assert D.read_options("speed_mph", count_unit="boardings", zero_speeds="keep") == {
        "value": "speed_mph", "zero_speeds": "keep"
    }  # fmt: skip
    with pytest.raises(ValueError, match="unknown reading option"):
        D.read_options("count", unit="boardings")


def test_no_usable_file_is_a_data_error():
    with pytest.raises(DataError) as err:
        D.load_uploaded_data({"links": ("l.csv", b"from_id,to_id\nA,B\n")})
    assert "upload a readings CSV" in str(err.value.problems)


def test_links_segments_keep_row_order_and_mark_unknown_sensors():
    sensors = pd.DataFrame({"sensor_id": ["A", "B"], "lat": [1.0, 2.0], "lon": [3.0, 4.0]})
    links = pd.DataFrame({"from_id": ["B", "A", "A"], "to_id": ["A", "B", "Z"], "length_km": [1.5, 2.0, None]})
    seg = D.links_segments(links, sensors)
    assert list(seg["link_id"]) == ["B → A", "A → B", "A → Z"]
    assert list(seg.loc[0, ["lon0", "lat0", "lon1", "lat1"]]) == [4.0, 2.0, 3.0, 1.0]
    assert seg.loc[2, ["lon1", "lat1"]].isna().all()
    assert D.links_segments(None, sensors).empty


def test_issues_frame_is_text_without_none_and_keeps_whole_messages():
    class Issue:
        severity, file, row, column = "warning", "r.csv", 3, "value"
        message = "not a number; " * 20

    df = D.issues_frame([Issue(), "plain problem", {"severity": "note", "message": "m"}])
    assert list(df.columns) == ["severity", "file", "line", "column", "message"]
    assert df["line"].tolist() == ["3", "", ""]
    assert df["severity"].tolist() == ["warning", "error", "note"]
    assert df["message"].tolist()[0] == Issue.message
    assert not df.isna().any().any() and "None" not in df.to_numpy().tolist()[1]


@pytest.mark.skipif(not D.sample_paths()["readings"].is_file(), reason="sample_data/ is missing")
def test_sample_is_cached_by_its_digest():
    a = D.load_sample_data()
    assert a.is_sample and a is D.load_sample_data()
    assert a.digest == D.digest_bytes(D.sample_files())
    assert set(a.sensors.columns) == {"sensor_id", "name", "lat", "lon", "mean_value"}
    assert len(a.links) and a.items is not None
