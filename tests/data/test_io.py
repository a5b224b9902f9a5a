"""Reading user files with bounded resources: gzip bombs, huge headers, devices and pipes."""

from __future__ import annotations

import difflib
import gzip
import os
import threading
import tomllib
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from dff_core.data import DataError, load_dataset
from dff_core.data import io as dio
from dff_core.data.paths import REPO_ROOT
from dff_core.data.readings import detect_layout
from dff_core.data.report import IssueCollector, ValidationReport

MiB = 1024**2


def gzip_bomb(member_mib: int = 64, members: int = 16) -> bytes:
    """A small gzip file (about 1 MB) that expands to ``member_mib * members`` MiB of valid CSV rows.

    Built as identical gzip members (a valid multi-member gzip file), so making it costs one
    ``member_mib`` compression, not the whole expansion.
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    row = b"0,0,0\n" * (MiB // 6)
    member = b"".join([comp.compress(row) for _ in range(member_mib)]) + comp.flush()
    return gzip.compress(b"timestamp,sensor_id,value\n") + member * members


def collector() -> tuple[IssueCollector, ValidationReport]:
    report = ValidationReport()
    return IssueCollector(report), report


# ----------------------------------------------------------------------------- gzip bombs


def test_gzip_bomb_stops_at_the_cap_with_bounded_memory() -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 2 * MiB  # ... and expands to 1 GiB
    cap = 4 * MiB
    issues, report = collector()
    tracemalloc.start()
    try:
        out = dio._decode(bomb, "bomb.csv", issues, max_decompressed=cap)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out is None
    # the cap, one chunk and the buffer's growth margin: nowhere near the 1 GiB the file expands to
    assert peak < 2 * cap + 2 * MiB, f"peak {peak / MiB:.1f} MiB"
    (issue,) = report.errors
    assert issue.file == "bomb.csv" and "more than 4 MiB" in issue.message and "gzip" in issue.message


def test_gzip_bomb_refused_by_load_dataset_naming_file_and_limit(monkeypatch: pytest.MonkeyPatch, sensors_csv) -> None:
    monkeypatch.setattr(dio, "MAX_DECOMPRESSED_BYTES", 2 * MiB)
    with pytest.raises(DataError) as exc:
        load_dataset(gzip_bomb(member_mib=4, members=2), sensors_csv, readings_name="bomb.csv.gz")
    assert "bomb.csv.gz" in str(exc.value) and "2 MiB" in str(exc.value)


def test_gzip_below_the_cap_and_multi_member_is_read(readings_csv, sensors_csv) -> None:
    half = len(readings_csv) // 2
    cut = readings_csv.rindex(b"\n", 0, half) + 1
    two_members = gzip.compress(readings_csv[:cut]) + gzip.compress(readings_csv[cut:])
    ds, _ = load_dataset(two_members, sensors_csv)
    plain, _ = load_dataset(readings_csv, sensors_csv)
    assert ds.readings.equals(plain.readings)


def test_default_cap_is_a_multiple_of_the_upload_limit() -> None:
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] * MiB == dio.UPLOAD_LIMIT_BYTES
    assert dio.MAX_DECOMPRESSED_BYTES % dio.UPLOAD_LIMIT_BYTES == 0
    assert dio.MAX_DECOMPRESSED_BYTES >= 2 * dio.UPLOAD_LIMIT_BYTES


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_damaged_gzip_is_an_issue(damage: str) -> None:
    data = gzip.compress(b"timestamp,sensor_id,value\n" + b"2025-01-01 00:00,A,1\n" * 500)
    data = data[: len(data) // 2] if damage == "truncated" else data[:20] + b"\xff" * 20 + data[40:]
    issues, report = collector()
    assert dio._decode(data, "x.csv.gz", issues) is None
    assert "damaged gzip" in report.errors[0].message


# ------------------------------------------------------------------------ text handling


def test_rows_are_parsed_without_a_decoded_copy_of_the_whole_file() -> None:
    data = b"timestamp,sensor_id,value\n" + b"2025-03-03 00:00,S01,40.2\n" * 40_000  # 1 MB
    issues, _ = collector()
    tracemalloc.start()
    try:
        table = dio.read_table(data, "r.csv", issues)
        peak = tracemalloc.get_traced_memory()[1]
        current = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert table is not None and len(table.rows) == 40_000
    # a text copy held while parsing (4 bytes per character in a StringIO) would add 4 MB more
    assert peak - current < len(data) + 2 * MiB, f"{(peak - current) / MiB:.1f} MiB above the result"


def test_line_numbers_and_line_endings_survive_line_by_line_parsing() -> None:
    data = b'timestamp,sensor_id,value\r\n2025-01-01 00:00,A,1\r\n\r\n2025-01-01 00:15,"B\nC",2\r2025-01-01 00:30,D,3\n'
    issues, report = collector()
    table = dio.read_table(data, "r.csv", issues)
    assert report.ok
    assert table.lines == [2, 4, 6]
    assert [r[1] for r in table.rows] == ["A", "B\nC", "D"]


def test_windows_1252_line_is_reported(sensors_csv) -> None:
    data = b"timestamp,sensor_id,value\n2025-01-01 00:00,A,1\n2025-01-01 00:15,Stra\xdfe,2\n"
    issues, report = collector()
    table = dio.read_table(data, "r.csv", issues)
    assert table.rows[1][1] == "Straße"
    (w,) = report.warnings
    assert w.row == 3 and "Windows-1252" in w.message


# ------------------------------------------------------------------------- wide headers


def wide_table(n: int, dup: tuple[str, ...] = ()) -> bytes:
    names = [f"S{i}" for i in range(n - len(dup))] + list(dup)
    header = "timestamp," + ",".join(names)
    return f"{header}\n2025-01-01 00:00,{','.join(['1'] * n)}\n".encode()


@pytest.mark.timeout(120)
def test_200k_columns_need_a_bounded_number_of_fuzzy_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = difflib.get_close_matches

    def counting(word, possibilities, *args, **kwargs):
        calls.append(word)
        return real(word, possibilities, *args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", counting)
    issues, report = collector()
    table = dio.read_table(wide_table(200_000), "wide.csv", issues)
    assert report.ok and len(table.columns) == 200_001
    assert detect_layout(table, None, None) == "wide"
    assert len(calls) <= 3  # was one fuzzy match per column
    # a three-column file with a misspelt long-format column still gets the fuzzy check
    issues, report = collector()
    small = dio.read_table(b"timestamp,sensr_id,valu\n2025-01-01 00:00,A,1\n", "r.csv", issues)
    calls.clear()
    assert detect_layout(small, None, None) == "long"
    assert calls


@pytest.mark.timeout(120)
def test_duplicate_columns_found_among_200k() -> None:
    issues, report = collector()
    dio.read_table(wide_table(200_000, dup=("S7", "S7", "S123")), "wide.csv", issues)
    assert sorted(i.column for i in report.errors) == ["S123", "S7"]
    assert all("more than once" in i.message for i in report.errors)


# ------------------------------------------------------------------ non-regular files


def test_device_is_refused_without_reading(sensors_csv) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    with pytest.raises(DataError) as exc:
        load_dataset("/dev/zero", sensors_csv)
    msg = str(exc.value)
    assert "zero" in msg and "device" in msg and "not a regular file" in msg
    with pytest.raises(DataError, match="device"):
        dio.read_regular_file("/dev/zero")


def test_open_device_file_object_is_refused(sensors_csv) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    with open("/dev/zero", "rb") as fh, pytest.raises(DataError, match="not a regular file"):
        load_dataset(fh, sensors_csv)


@pytest.mark.timeout(30)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_named_pipe_is_refused_without_blocking(tmp_path: Path, sensors_csv) -> None:
    fifo = tmp_path / "readings.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError) as exc:
        load_dataset(fifo, sensors_csv)  # opening a pipe for reading would wait for a writer forever
    assert "readings.csv" in str(exc.value) and "named pipe" in str(exc.value)
    assert "named pipe" in dio.regular_file_problem(fifo)


def test_pipe_swapped_in_after_the_check_is_still_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes")
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    monkeypatch.setattr(dio, "regular_file_problem", lambda path: None)  # the race: the check saw a file
    done = threading.Event()
    result: list[BaseException] = []

    def read() -> None:
        try:
            dio.read_regular_file(fifo)
        except DataError as exc:
            result.append(exc)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(10), "blocked on the pipe"
    assert result and "named pipe" in str(result[0])


def test_folder_and_missing_file_messages(tmp_path: Path) -> None:
    assert "folder" in dio.regular_file_problem(tmp_path)
    assert "not found" in dio.regular_file_problem(tmp_path / "nope.csv")
    f = tmp_path / "ok.csv"
    f.write_text("a\n")
    assert dio.regular_file_problem(f) is None
    assert dio.read_regular_file(f) == b"a\n"


# ----------------------------------------------------------------------------- .npz arrays
def test_read_npz_reads_every_array_or_the_named_ones(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez_compressed(path, ids=np.array(["x", "y"]), m=np.arange(6.0).reshape(2, 3))
    got = dio.read_npz(path)
    assert sorted(got) == ["ids", "m"] and got["ids"].tolist() == ["x", "y"]
    assert np.array_equal(got["m"], np.arange(6.0).reshape(2, 3))
    assert list(dio.read_npz(path, ("m",))) == ["m"]
    with pytest.raises(DataError, match=r"a\.npz: has no array 'w' \(arrays: ids, m\)"):
        dio.read_npz(path, ("w",))


def test_read_npz_caps_each_array_and_their_sum_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, a=np.zeros(100), b=np.zeros(100), objs=np.array([1, "x"], dtype=object))
    with pytest.raises(DataError, match=r"run/arrays\.npz: array 'objs' holds Python objects"):
        dio.read_npz(path, name="run/arrays.npz")
    with pytest.raises(DataError, match=r"array 'a' of shape \(100,\) would need"):
        dio.read_npz(path, ("a",), max_bytes=799)
    assert len(dio.read_npz(path, ("a", "b"), max_bytes=800, max_total_bytes=1600)) == 2
    with pytest.raises(DataError, match=r"a\.npz: its arrays would need .* in all"):
        dio.read_npz(path, ("a", "b"), max_total_bytes=1599)
