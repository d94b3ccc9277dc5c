"""Reading labels files: every bad row is refused naming its line, nothing half read."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import UserError
from monitor.labels.csvfile import LabelRow, parse, read_file

A = "0x" + "11" * 20
B = "0x" + "22" * 20


def test_rows_with_optional_columns_in_any_order() -> None:
    text = (f"label,address,confidence,chain_id,note\nlaundering,{A},0.7,1,seen in case 9\n"
            f"Legitimate,{B.upper().replace('0X', '0x')},,,\n\n")
    assert parse(text) == [LabelRow(A, "laundering", 1, 0.7, "seen in case 9"),
                           LabelRow(B, "legitimate", None, 1.0, None)]


def test_a_checksummed_address_is_checked() -> None:
    checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert parse(f"address,label\n{checksummed},laundering\n")[0].address == checksummed.lower()
    broken = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"
    with pytest.raises(UserError, match="line 2: .*EIP-55"):
        parse(f"address,label\n{broken},laundering\n")


@pytest.mark.parametrize(("row", "fragment"), [
    (f"{A},dirty,,", "line 3: unknown label 'dirty'"),
    ("0x1234,laundering,,", "line 3: address '0x1234' must be 40 hex digits"),
    (f"{A},laundering,1,1.5", "line 3: confidence 1.5 is outside 0 to 1"),
    (f"{A},laundering,1,-0.1", "line 3: confidence -0.1 is outside 0 to 1"),
    (f"{A},laundering,1,nan", "line 3: confidence nan is outside 0 to 1"),
    (f"{A},laundering,1,high", "line 3: confidence 'high' is not a number"),
    (f"{A},laundering,zero,1", "line 3: chain_id 'zero' is not a whole number"),
    (f"{A},laundering,0,1", "line 3: chain_id 0 is outside 1"),
    (f"{A},laundering,1", "line 3: 3 fields, the header has 4"),
    (f"{B},legitimate,1,1", "line 3: 0x2222222222222222222222222222222222222222 is already "
                            "labelled on line 2"),
])
def test_a_bad_row_names_its_line(row: str, fragment: str) -> None:
    text = f"address,label,chain_id,confidence\n{B},legitimate,1,1\n{row}\n"
    with pytest.raises(UserError) as caught:
        parse(text, "labels.csv")
    assert str(caught.value).startswith("labels.csv line 3: ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "empty file"),
    ("address\n", "line 1: no 'label' column"),
    ("address,label,colour\n", "line 1: unknown column 'colour'"),
    ("address,label,label\n", "line 1: a column is named twice"),
    ("address,label\n", "no labels"),
])
def test_a_bad_header_or_an_empty_file(text: str, fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        parse(text)


def test_the_same_address_on_two_chains_is_two_labels() -> None:
    rows = parse(f"address,label,chain_id\n{A},laundering,1\n{A},legitimate,137\n")
    assert [(r.chain_id, r.label) for r in rows] == [(1, "laundering"), (137, "legitimate")]


def test_a_file_that_is_not_utf8_names_the_byte_and_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(f"address,label\n{A},laundering\n".encode() + b"\xff\n")
    with pytest.raises(UserError, match=r"not UTF-8 at byte 68 \(line 3\)"):
        read_file(path)
    with pytest.raises(UserError, match="no such file"):
        read_file(tmp_path / "missing.csv")
