"""TNTP network files: malformed rows and impossible values end in a DataError naming file and line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dff_core.data import DataError, load_tntp_network

HEADER = """<NUMBER OF NODES> 3
<NUMBER OF LINKS> {links}
<END OF METADATA>


~ init_node term_node capacity length free_flow_time b power speed toll link_type ;
"""
ROWS = [
    "1 2 9000 5280 1.09 0.15 4 4842 0 1 ;",
    "2 3 9000 5280 1.09 0.15 4 4842 0 1 ;",
    "3 1 800 10.5 2 0.15 4 60 0 1 ;",
]


def net(tmp_path: Path, rows: list[str], links: int | None = None) -> Path:
    p = tmp_path / "Tiny_net.tntp"
    p.write_text(HEADER.format(links=len(rows) if links is None else links) + "\n".join(f"\t{r}" for r in rows) + "\n")
    return p


def test_valid_file_keeps_integer_and_float_columns(tmp_path: Path) -> None:
    frame = load_tntp_network(net(tmp_path, ROWS))
    assert len(frame) == 3 and frame.attrs["metadata"]["NUMBER OF NODES"] == "3"
    assert str(frame["init_node"].dtype) == "int64" and str(frame["capacity"].dtype) == "int64"
    assert frame["length"].tolist() == [5280.0, 5280.0, 10.5]


def test_row_with_extra_fields_names_file_and_line(tmp_path: Path) -> None:
    rows = [ROWS[0], ROWS[1].replace(" ;", " 7 8 ;"), ROWS[2]]
    with pytest.raises(DataError) as exc:
        load_tntp_network(net(tmp_path, rows))
    assert str(exc.value).startswith("Tiny_net.tntp, line 8: 12 fields but the '~' header (line 6) names 10")


def test_many_bad_rows_are_summarised(tmp_path: Path) -> None:
    with pytest.raises(DataError) as exc:
        load_tntp_network(net(tmp_path, ["1 2 3"] * 50))
    assert len(exc.value.problems) == 21 and "30 more" in exc.value.problems[-1]


def test_negative_capacity_is_refused(tmp_path: Path) -> None:
    rows = [ROWS[0], ROWS[1].replace("9000", "-9000"), ROWS[2]]
    with pytest.raises(DataError, match=r"Tiny_net\.tntp, line 8, column 'capacity': -9000 is negative"):
        load_tntp_network(net(tmp_path, rows))


@pytest.mark.parametrize("value", ["fast", "nan", "inf"])
def test_value_that_is_not_a_number(tmp_path: Path, value: str) -> None:
    rows = [ROWS[0], ROWS[1], ROWS[2].replace("10.5", value)]
    with pytest.raises(DataError, match=rf"line 9, column 'length': '{value}' is not a number"):
        load_tntp_network(net(tmp_path, rows))


def test_link_count_and_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="metadata says 5 links but 3"):
        load_tntp_network(net(tmp_path, ROWS, links=5))
    p = tmp_path / "x_net.tntp"
    p.write_text("<END OF METADATA>\n~ a b ;\n1 2 ;\n")
    with pytest.raises(DataError, match="column 'init_node' is missing"):
        load_tntp_network(p)


def test_quotes_are_plain_characters(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a number"):
        load_tntp_network(net(tmp_path, [ROWS[0], ROWS[1].replace("0.15", '"0.15'), ROWS[2]]))


@pytest.mark.timeout(30)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_named_pipe_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "Pipe_net.tntp"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"Pipe_net\.tntp: .*named pipe"):
        load_tntp_network(fifo)
