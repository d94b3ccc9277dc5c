"""``ofac-csv``: OFAC's legacy ``sdn.csv`` plus its remarks overflow ``sdn_comments.csv``,
where addresses hide in free text as ``Digital Currency Address - ETH 0x…;``."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from monitor.watchlist.parsers.base import (
    Collector,
    ListFormat,
    ListFormatError,
    ParsedList,
    is_evm_claim,
)

_CSV_ADDRESS = re.compile(
    r"Digital Currency Address - ([A-Za-z0-9]+)\s+([^\s;,'\"]+)", re.IGNORECASE
)


_NULL = "-0-"


def ofac_csv_files(path: Path) -> tuple[Path | None, Path | None]:
    """``(sdn.csv, sdn_comments.csv)`` for a directory, an sdn.csv or a comments file.

    A file other than ``sdn_comments.csv`` is read as the main file, whatever its name;
    the remarks overflow is looked for next to it.
    """

    def sibling(directory: Path, name: str) -> Path | None:
        for candidate in directory.iterdir():
            if candidate.name.lower() == name and candidate.is_file():
                return candidate
        return None

    if path.is_dir():
        return sibling(path, "sdn.csv"), sibling(path, "sdn_comments.csv")
    if path.name.lower() == "sdn_comments.csv":
        return sibling(path.parent, "sdn.csv"), path
    return path, sibling(path.parent, "sdn_comments.csv")


def parse_ofac_csv(path: Path) -> ParsedList:
    sdn_file, comments_file = ofac_csv_files(path)
    if sdn_file is None and comments_file is None:
        raise ListFormatError(f"{path}: no sdn.csv or sdn_comments.csv found")
    # ent_num → (name, program, sdn_type, remarks, (file, line))
    records: dict[str, list[Any]] = {}
    order: list[str] = []
    if sdn_file is not None:
        for line, row in _ofac_rows(sdn_file):
            if len(row) < 12:
                raise ListFormatError(f"{sdn_file}:{line}: expected 12 columns, got {len(row)}")
            ent = row[0].strip()
            program = "; ".join(p.strip() for p in _nullable(row[3]).split("] [") if p.strip())
            if ent not in records:
                order.append(ent)
                records[ent] = [
                    _nullable(row[1]) or None,
                    program or None,
                    _nullable(row[2]) or None,
                    "",
                    (sdn_file, line),
                ]
            records[ent][3] += _nullable(row[11])
    if comments_file is not None:
        for line, row in _ofac_rows(comments_file):
            if len(row) < 2:
                raise ListFormatError(f"{comments_file}:{line}: expected 2 columns, got {len(row)}")
            ent = row[0].strip()
            if ent not in records:
                order.append(ent)
                records[ent] = [None, None, None, "", (comments_file, line)]
            records[ent][3] += _nullable(row[1])
    collector = Collector()
    for ent in order:
        name, program, sdn_type, remarks, (file, line) = records[ent]
        for match in _CSV_ADDRESS.finditer(remarks):
            currency, value = match.group(1).upper(), match.group(2).rstrip(".")
            if not is_evm_claim(currency, value):
                continue
            collector.add_ofac(value, f"{file}:{line}: ent_num {ent}", ent, currency, sdn_type,
                               name, program)
    return ParsedList(path, ListFormat.ofac_csv, collector.entries(), collector.warnings)


def _nullable(value: str) -> str:
    return "" if value.strip() == _NULL else value


def _ofac_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Rows of an OFAC legacy CSV (CRLF, cp1252-ish, a trailing Ctrl-Z) with line numbers."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for row in reader:
                if not row or row == ["\x1a"] or not "".join(row).strip("\x1a \r\n"):
                    continue
                yield reader.line_num, row
        except csv.Error as exc:
            raise ListFormatError(f"{path}:{reader.line_num}: {exc}") from None


def looks_like_ofac_csv(first_line: str) -> bool:
    try:
        row = next(csv.reader(io.StringIO(first_line)))
    except (csv.Error, StopIteration):
        return False
    return len(row) == 12 and row[0].strip().isdigit()
