"""METR-LA folder files and the restricted pickle reader: malformed or hostile files end in a DataError."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dff_core.data import DataError, load_metr_la, read_restricted_pickle
from dff_core.data import metr_la as ml

IDS = ["101", "102", "103", "104"]
LAT = [34.00, 34.00, 34.01, 34.01]
LON = [-118.20, -118.19, -118.20, -118.19]


def make_folder(folder: Path, ids: list[str] = IDS, locations: list[str] | None = None) -> Path:
    """A tiny METR-LA-shaped folder: one day of 5-minute speeds, a ring adjacency, locations."""
    folder.mkdir(exist_ok=True)
    n = len(ids)
    rng = np.random.default_rng(0)
    speeds = pd.DataFrame(60 + rng.normal(0, 3, size=(300, n)).round(1), columns=ids)
    speeds.to_csv(folder / "los_speed.csv", index=False)
    adj = np.eye(n, dtype=np.float32) + np.roll(np.eye(n, dtype=np.float32), 1, axis=1)
    np.savez(folder / "adj_mx.npz", sensor_ids=np.array(ids), adj=adj)
    keep = locations if locations is not None else ids
    rows = [(s, LAT[i % 4], LON[i % 4] + 0.01 * (i // 4)) for i, s in enumerate(ids) if s in keep]
    pd.DataFrame(rows, columns=["sensor_id", "latitude", "longitude"]).to_csv(
        folder / "graph_sensor_locations.csv", index=False
    )
    return folder


def npy_header_only(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """An .npy file whose header asks for ``shape`` but that holds no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()  # magic string and header


def test_small_folder_loads(tmp_path: Path) -> None:
    ds = load_metr_la(make_folder(tmp_path / "m"))
    assert list(ds.readings.columns) == IDS and len(ds.links) == 4


def test_locations_missing_sensors_is_a_short_data_error(tmp_path: Path) -> None:
    ids = [str(700000 + i) for i in range(300)]
    folder = make_folder(tmp_path / "m", ids=ids, locations=ids[:50])
    with pytest.raises(DataError) as exc:
        load_metr_la(folder)
    msg = str(exc.value)
    assert "graph_sensor_locations.csv" in msg and "250 of the 300 sensors" in msg
    assert "700050, 700051" in msg and len(msg) < 400


def test_locations_without_coordinate_columns(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    (folder / "graph_sensor_locations.csv").write_text("sensor_id,lat\n101,34\n")
    with pytest.raises(DataError, match=r"graph_sensor_locations\.csv: column\(s\) latitude, longitude missing"):
        load_metr_la(folder)


def test_npz_with_objects_is_refused_without_suggesting_pickles(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    np.savez(folder / "adj_mx.npz", sensor_ids=np.array(IDS, dtype=object), adj=np.eye(4))
    with pytest.raises(DataError) as exc:
        load_metr_la(folder)
    msg = str(exc.value)
    assert "adj_mx.npz" in msg and "sensor_ids" in msg and "Python objects" in msg
    assert "allow_pickle" not in msg


def test_npz_header_asking_for_a_huge_array_is_refused_before_reading(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    with zipfile.ZipFile(folder / "adj_mx.npz", "w") as zf:
        zf.writestr("sensor_ids.npy", npy_header_only((4,), "<U3") + np.array(IDS, dtype="<U3").tobytes())
        zf.writestr("adj.npy", npy_header_only((2**20, 2**20)))  # 8 TiB, from a file of a few hundred bytes
    with pytest.raises(DataError) as exc:
        load_metr_la(folder)
    assert "adj_mx.npz: array 'adj' of shape (1048576, 1048576)" in str(exc.value)
    assert "256 MiB limit" in str(exc.value)


@pytest.mark.parametrize("content", [b"not a zip", b"PK\x03\x04broken"])
def test_damaged_npz(tmp_path: Path, content: bytes) -> None:
    folder = make_folder(tmp_path / "m")
    (folder / "adj_mx.npz").write_bytes(content)
    with pytest.raises(DataError, match=r"adj_mx\.npz: not a readable \.npz"):
        load_metr_la(folder)


def test_npz_missing_array_and_wrong_shape(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    np.savez(folder / "adj_mx.npz", sensor_ids=np.array(IDS))
    with pytest.raises(DataError, match=r"adj_mx\.npz: has no array 'adj' \(arrays: sensor_ids\)"):
        load_metr_la(folder)
    np.savez(folder / "adj_mx.npz", sensor_ids=np.array(IDS), adj=np.eye(3))
    with pytest.raises(DataError, match=r"'adj' must be a 4 x 4 numeric matrix"):
        load_metr_la(folder)


@pytest.mark.timeout(30)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
@pytest.mark.parametrize("name", ["los_speed.csv", "adj_mx.npz", "graph_sensor_locations.csv"])
def test_folder_files_must_be_regular(tmp_path: Path, name: str) -> None:
    folder = make_folder(tmp_path / "m")
    (folder / name).unlink()
    os.mkfifo(folder / name)
    with pytest.raises(DataError) as exc:
        load_metr_la(folder)
    assert name in str(exc.value) and "named pipe" in str(exc.value)


def test_days_with_a_broken_speed_file(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m")
    (folder / "los_speed.csv").write_bytes(b'"101,102\n1,2\n')  # unterminated quote
    with pytest.raises(DataError, match=r"los_speed\.csv"):
        load_metr_la(folder, days=1)


# ---------------------------------------------------------------------- restricted pickle


class _Call:
    """Pickles as ``func(*args)``: how a hostile pickle asks the loader to call something."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def write_pickle(tmp_path: Path, obj, protocol: int = 2) -> Path:
    p = tmp_path / "adj_mx.pkl"
    p.write_bytes(pickle.dumps(obj, protocol=protocol))
    return p


@pytest.mark.parametrize(
    "payload",
    [
        _Call(bytearray, 2**31),  # 2 GiB from a 35-byte file
        _Call(bytes, 2**31),
        _Call(np.ndarray, (2**31,)),
        _Call(np.zeros, 2**31),
        _Call(set, [1, 2]),  # plain containers need no global: anything named is refused
    ],
    ids=["bytearray", "bytes", "ndarray", "zeros", "set"],
)
def test_pickle_calls_that_allocate_are_refused(tmp_path: Path, payload: _Call) -> None:
    p = write_pickle(tmp_path, [payload])
    assert len(p.read_bytes()) < 100
    with pytest.raises(DataError, match=r"adj_mx\.pkl: refused"):
        read_restricted_pickle(p)


def test_pickle_array_stub_with_a_shape_is_refused(tmp_path: Path) -> None:
    from numpy._core.multiarray import _reconstruct

    p = write_pickle(tmp_path, _Call(_reconstruct, np.ndarray, (2**31,), b"b"))
    with pytest.raises(DataError, match=r"refused to allocate a numpy array of shape \(2147483648,\)"):
        read_restricted_pickle(p)


def test_pickle_object_array_is_refused(tmp_path: Path) -> None:
    p = write_pickle(tmp_path, np.array([1, "a"], dtype=object))
    with pytest.raises(DataError, match="object array"):
        read_restricted_pickle(p)


def test_pickle_codec_other_than_latin1_is_refused(tmp_path: Path) -> None:
    import _codecs

    # each hex round doubles the size: forty nested calls would ask for terabytes
    obj: object = "ab"
    for _ in range(3):
        obj = _Call(_codecs.encode, obj, "hex")
    with pytest.raises(DataError, match=r"refused '_codecs\.encode' with encoding 'hex'"):
        read_restricted_pickle(write_pickle(tmp_path, obj))


def test_pickle_larger_than_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ml, "MAX_PICKLE_BYTES", 1000)
    with pytest.raises(DataError, match=r"adj_mx\.pkl: .*larger than"):
        read_restricted_pickle(write_pickle(tmp_path, np.zeros(1000)))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_pickled_arrays_of_any_protocol_and_numpy_1_names_load(tmp_path: Path, protocol: int) -> None:
    obj = [["a", "b"], {"a": 0, "b": 1}, np.arange(6, dtype=np.float32).reshape(2, 3), np.float64(2.5)]
    data = pickle.dumps(obj, protocol=protocol)
    for variant in (data, data.replace(b"numpy._core", b"numpy.core")) if protocol < 4 else (data,):
        p = tmp_path / "x.pkl"
        p.write_bytes(variant)
        back = read_restricted_pickle(p)
        assert back[:2] == obj[:2] and back[3] == 2.5
        np.testing.assert_array_equal(back[2], obj[2])


def test_truncated_pickle_is_a_data_error(tmp_path: Path) -> None:
    data = pickle.dumps([np.arange(10)], protocol=2)
    p = tmp_path / "t.pkl"
    for cut in (1, len(data) // 2, len(data) - 1):
        p.write_bytes(data[:cut])
        with pytest.raises(DataError, match=r"t\.pkl"):
            read_restricted_pickle(p)
