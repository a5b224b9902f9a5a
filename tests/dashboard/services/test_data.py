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
    assert D.upload_digest(files, "count", "2012-03-01", "5min") != D.upload_digest(files, "count")
    assert D.upload_digest(files, "count") == D.upload_digest({"readings": ("other name.csv", b"1,2\n")}, "count")


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


def test_issues_frame_takes_issue_objects_and_strings():
    class Issue:
        severity, file, row, column, message = "warning", "r.csv", 3, "value", "not a number"

    df = D.issues_frame([Issue(), "plain problem"])
    assert list(df.columns) == ["severity", "file", "row", "column", "message"]
    assert df["row"].tolist()[0] == 3 and pd.isna(df["row"].tolist()[1])
    assert df["severity"].tolist() == ["warning", "error"]


@pytest.mark.skipif(not D.sample_paths()["readings"].is_file(), reason="sample_data/ is missing")
def test_sample_is_cached_by_its_digest():
    a = D.load_sample_data()
    assert a.is_sample and a is D.load_sample_data()
    assert a.digest == D.digest_bytes(D.sample_files())
    assert set(a.sensors.columns) == {"sensor_id", "name", "lat", "lon", "mean_value"}
    assert len(a.links) and a.items is not None
