"""Reading a labels file: CSV `address,label[,chain_id,confidence,note]`, one label a row.

The whole file is checked before anything is written: the first bad row (an unknown
label, a malformed address, a chain id or confidence out of range, an address twice)
is refused with its line number, and nothing of the file is imported.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from models.labels import LABELS
from monitor.addresses import parse_address
from monitor.errors import UserError

COLUMNS = ("address", "label", "chain_id", "confidence", "note")
REQUIRED = ("address", "label")
CHAIN_ID_MAX = 9223372036854775771  # EIP-2294's bound, as tokens have it
NOTE_MAX = 2000


@dataclass(frozen=True)
class LabelRow:
    address: str  # lower-case
    label: str
    chain_id: int | None = None  # None: the address on every chain
    confidence: float = 1.0
    note: str | None = None


def read_file(path: Path) -> list[LabelRow]:
    """The rows of a labels file; UserError naming the line of the first bad one."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UserError(f"{path}: not UTF-8 at byte {exc.start} (line {line})") from None
    return parse(text, str(path))


def parse(text: str, name: str = "labels") -> list[LabelRow]:
    """Rows of CSV text with a header naming at least `address` and `label`."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UserError(f"{name} line 1: {exc}") from None
    if header is None:
        raise UserError(f"{name}: empty file; expected a header address,label[,chain_id,"
                        "confidence,note]")
    columns = [column.strip().lower() for column in header]
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise UserError(f"{name} line 1: unknown column {unknown[0]!r}; the columns are "
                        f"{', '.join(COLUMNS)}")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise UserError(f"{name} line 1: no {missing[0]!r} column; the header must name "
                        "address and label")
    if len(set(columns)) != len(columns):
        raise UserError(f"{name} line 1: a column is named twice")
    rows: list[LabelRow] = []
    seen: dict[tuple[str, int | None], int] = {}
    try:
        for fields in reader:
            line = reader.line_num
            if not any(field.strip() for field in fields):
                continue
            if len(fields) != len(columns):
                raise UserError(f"{name} line {line}: {len(fields)} fields, the header has "
                                f"{len(columns)}")
            row = _row(dict(zip(columns, fields, strict=True)), f"{name} line {line}")
            key = (row.address, row.chain_id)
            if key in seen:
                raise UserError(f"{name} line {line}: {row.address} is already labelled on "
                                f"line {seen[key]}")
            seen[key] = line
            rows.append(row)
    except csv.Error as exc:
        raise UserError(f"{name} line {reader.line_num}: {exc}") from None
    if not rows:
        raise UserError(f"{name}: no labels; a source is removed with `labels remove`, "
                        "not by importing an empty file")
    return rows


def check(address: str, label: str, chain_id: int | None, confidence: float | None,
          note: str | None, where: str) -> LabelRow:
    """One label's fields checked; UserError prefixed with `where`."""
    try:
        parsed = parse_address(address)
    except ValueError as exc:
        raise UserError(f"{where}: {exc}") from None
    value = label.strip().lower()
    if value not in LABELS:
        raise UserError(f"{where}: unknown label {label!r}; one of {', '.join(LABELS)}")
    if chain_id is not None and not 1 <= chain_id <= CHAIN_ID_MAX:
        raise UserError(f"{where}: chain_id {chain_id} is outside 1 to {CHAIN_ID_MAX}")
    weight = 1.0 if confidence is None else confidence
    if not (math.isfinite(weight) and 0 <= weight <= 1):
        raise UserError(f"{where}: confidence {confidence} is outside 0 to 1")
    text = (note or "").strip() or None
    if text is not None and len(text) > NOTE_MAX:
        raise UserError(f"{where}: the note is {len(text)} characters long; the limit is "
                        f"{NOTE_MAX}")
    return LabelRow(parsed, value, chain_id, weight, text)


def _row(fields: dict[str, str], where: str) -> LabelRow:
    chain = fields.get("chain_id", "").strip()
    if chain and not chain.isdigit():
        raise UserError(f"{where}: chain_id {chain!r} is not a whole number")
    confidence = fields.get("confidence", "").strip()
    try:
        weight = float(confidence) if confidence else None
    except ValueError:
        raise UserError(f"{where}: confidence {confidence!r} is not a number") from None
    return check(fields["address"], fields["label"], int(chain) if chain else None, weight,
                 fields.get("note"), where)
