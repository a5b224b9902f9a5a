"""Byte mutations of the sample files: every loader either loads or raises a DataError, never anything else.

Inputs are bounded (the first lines of each sample file, a few KB, plus at most a handful of
mutations), each case has a deadline, and the examples are derandomised so CI runs the same cases.
Set ``DFF_FUZZ_EXAMPLES`` to run more of them, and ``DFF_FUZZ_RANDOM=1`` (with pytest's
``--hypothesis-seed``) to explore other cases.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dff_core.data import DataError, load_dataset, load_items, load_tntp_network, read_restricted_pickle
from dff_core.data.io import read_npz
from dff_core.data.paths import sample_paths

EXAMPLES = int(os.environ.get("DFF_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=10),  # generous for a loaded 2-core machine; a hang or blow-up fails
    derandomize=not os.environ.get("DFF_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Largest input handed to a loader (bytes, after mutation).
MAX_INPUT = 16 * 1024


def head(path: Path, lines: int) -> bytes:
    with path.open("rb") as fh:
        return b"".join(fh.readline() for _ in range(lines))


PATHS = sample_paths()
if not all(p.is_file() for p in PATHS.values()):
    pytest.skip("sample data not found", allow_module_level=True)
# 4 time steps of all 50 sensors, all sensors and links, 10 periods of items
SAMPLE = {
    "readings": head(PATHS["readings"], 201),
    "sensors": PATHS["sensors"].read_bytes(),
    "links": PATHS["links"].read_bytes(),
    "items": head(PATHS["items"], 61),
}
TNTP = b"""<NUMBER OF NODES> 3
<NUMBER OF LINKS> 3
<END OF METADATA>
~ init_node term_node capacity length free_flow_time b power speed toll link_type ;
\t1\t2\t9000\t5280\t1.09\t0.15\t4\t4842\t0\t1\t;
\t2\t3\t9000\t5280\t1.09\t0.15\t4\t4842\t0\t1\t;
\t3\t1\t800\t10.5\t2\t0.15\t4\t60\t0\t1\t;
"""

mutation = st.tuples(
    st.sampled_from(["flip", "replace", "insert", "delete", "duplicate"]),
    st.floats(0, 1, exclude_max=True),
    st.binary(min_size=1, max_size=8)
    | st.sampled_from([b",", b"\n", b'"', b";", b"\t", b"\x00", b"-", b"e9", b"\xff"]),
)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few byte-level edits, maybe truncated, maybe gzip-compressed."""
    out = bytearray(data)
    for op, where, payload in draw(st.lists(mutation, min_size=1, max_size=6)):
        i = int(where * max(1, len(out)))
        if op == "flip" and out:
            out[min(i, len(out) - 1)] ^= 1 << (payload[0] % 8)
        elif op == "replace":
            out[i : i + len(payload)] = payload
        elif op == "insert":
            out[i:i] = payload
        elif op == "delete":
            del out[i : i + len(payload)]
        elif op == "duplicate":  # repeat a stretch (e.g. a line) to create duplicates and extra fields
            out[i:i] = out[i : i + 40 * len(payload)]
    if draw(st.booleans()) and draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]
    result = bytes(out[:MAX_INPUT])
    return gzip.compress(result) if draw(st.integers(0, 9)) == 0 else result


def loads_or_data_error(load, *args, **kwargs) -> None:
    try:
        load(*args, **kwargs)
    except DataError as exc:
        assert exc.problems and all(str(p).strip() for p in exc.problems)


@pytest.mark.parametrize("target", ["readings", "sensors", "links"])
def test_traffic_files(target: str) -> None:
    @FUZZ
    @given(mutated(SAMPLE[target]))
    def run(data: bytes) -> None:
        files = {**{k: SAMPLE[k] for k in ("readings", "sensors", "links")}, target: data}
        loads_or_data_error(load_dataset, files["readings"], files["sensors"], files["links"], min_steps=2)

    run()


@FUZZ
@given(mutated(SAMPLE["items"]))
def test_items_file(data: bytes) -> None:
    loads_or_data_error(load_items, data)


def test_tntp_file(tmp_path: Path) -> None:
    path = tmp_path / "Fuzz_net.tntp"

    @FUZZ
    @given(mutated(TNTP))
    def run(data: bytes) -> None:
        path.write_bytes(data)
        loads_or_data_error(load_tntp_network, path)

    run()


def _pickle() -> bytes:
    return pickle.dumps([["773869", "767541"], {"773869": 0}, np.arange(6, dtype=np.float32).reshape(2, 3)], protocol=2)


def _npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, sensor_ids=np.array(["773869", "767541"]), adj=np.eye(2, dtype=np.float32))
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["pickle", "npz"])
def test_array_files(kind: str, tmp_path: Path) -> None:
    original = _pickle() if kind == "pickle" else _npz()
    path = tmp_path / f"adj_mx.{'pkl' if kind == 'pickle' else 'npz'}"

    @FUZZ
    @given(mutated(original))
    def run(data: bytes) -> None:
        path.write_bytes(data)
        if kind == "pickle":
            loads_or_data_error(read_restricted_pickle, path)
        else:
            loads_or_data_error(read_npz, path, ("sensor_ids", "adj"))

    run()
