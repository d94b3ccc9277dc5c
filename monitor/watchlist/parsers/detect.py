"""Which format a list file is in, and parsing it with that format's module."""

from __future__ import annotations

import re
from pathlib import Path

from monitor.watchlist.parsers.base import ListFormat, ListFormatError, ParsedList, not_utf8
from monitor.watchlist.parsers.csv_file import parse_csv
from monitor.watchlist.parsers.json_file import parse_json
from monitor.watchlist.parsers.ofac_csv import looks_like_ofac_csv, ofac_csv_files, parse_ofac_csv
from monitor.watchlist.parsers.sdn_advanced_xml import parse_sdn_advanced_xml
from monitor.watchlist.parsers.sdn_xml import parse_sdn_xml
from monitor.watchlist.parsers.text import parse_text

SNIFF_BYTES = 64 * 1024
PARSERS = {
    ListFormat.sdn_xml: parse_sdn_xml,
    ListFormat.sdn_advanced_xml: parse_sdn_advanced_xml,
    ListFormat.ofac_csv: parse_ofac_csv,
    ListFormat.text: parse_text,
    ListFormat.csv: parse_csv,
    ListFormat.json: parse_json,
}


def detect_format(path: Path) -> ListFormat:
    """Guess a list's format from its name and first bytes."""
    if path.is_dir():
        if any(ofac_csv_files(path)):
            return ListFormat.ofac_csv
        raise ListFormatError(f"{path}: directory holds no sdn.csv or sdn_comments.csv")
    if path.name.lower() in ("sdn.csv", "sdn_comments.csv"):
        return ListFormat.ofac_csv
    head = _head(path)
    stripped = head.lstrip("\ufeff \t\r\n")
    suffix = path.suffix.lower()
    if suffix == ".xml" or stripped.startswith("<"):
        return _xml_kind(path, head)
    if suffix == ".json" or stripped.startswith(("[", "{")):
        return ListFormat.json
    first = next(
        (
            line
            for line in stripped.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ),
        "",
    )
    if looks_like_ofac_csv(first):
        return ListFormat.ofac_csv
    if suffix in (".csv", ".tsv") or ("," in first and "address" in first.lower()):
        return ListFormat.csv
    return ListFormat.text


def _head(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        raise ListFormatError(f"{path}: {exc.strerror or exc}") from None


def _xml_kind(path: Path, head: str) -> ListFormat:
    if re.search(r"<(\w+:)?(DistinctParties|ReferenceValueSets|FeatureTypeValues)\b", head):
        return ListFormat.sdn_advanced_xml
    if re.search(r"<(\w+:)?(sdnList|sdnEntry)\b", head):
        return ListFormat.sdn_xml
    if re.search(r"<(\w+:)?Sanctions\b", head):
        return ListFormat.sdn_advanced_xml
    raise ListFormatError(
        f"{path}: unrecognized XML (expected OFAC SDN.XML or "
        "SDN_ADVANCED.XML); pass --format to choose"
    )


def parse_list(path: Path | str, fmt: ListFormat | str | None = None) -> ParsedList:
    """Parse a whole list file (or an OFAC CSV directory); raises ListFormatError."""
    path = Path(path)
    if not path.exists():
        raise ListFormatError(f"{path}: no such file or directory")
    chosen = ListFormat(fmt) if fmt else ListFormat.auto
    if chosen is ListFormat.auto:
        chosen = detect_format(path)
    if path.is_dir() and chosen is not ListFormat.ofac_csv:
        raise ListFormatError(f"{path}: is a directory (only the ofac-csv format reads one)")
    try:
        return PARSERS[chosen](path)
    except UnicodeDecodeError:
        raise not_utf8(path) or ListFormatError(f"{path}: not UTF-8 text") from None
