"""What every list parser shares: the entry and list types, the format names, the error,
and how an address, a category or a line of text is read and checked."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from eth_utils import is_checksum_address

from models.watchlist import WATCHLIST_CATEGORIES
from monitor.addresses import parse_address
from monitor.errors import UserError

DIGITAL_CURRENCY_PREFIX = "Digital Currency Address - "


class ListFormat(StrEnum):
    auto = "auto"
    sdn_xml = "sdn-xml"
    sdn_advanced_xml = "sdn-advanced-xml"
    ofac_csv = "ofac-csv"
    text = "text"
    csv = "csv"
    json = "json"


class ListFormatError(UserError):
    """A list file that cannot be read; the message names the file and the place."""


@dataclass
class ListEntry:
    address: str  # lower-case 0x + 40 hex
    label: str | None = None
    category: str | None = None
    program: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedList:
    path: Path
    format: ListFormat
    entries: list[ListEntry]
    warnings: list[str] = field(default_factory=list)


class Collector:
    """Dedupes by address (first occurrence wins; currencies and programs are merged)."""

    def __init__(self) -> None:
        self.by_address: dict[str, ListEntry] = {}
        self.warnings: list[str] = []

    def address(self, raw: str, where: str) -> str:
        value = raw.strip()
        if len(value) > 100:  # a binary file's "line": name it, do not print it
            raise ListFormatError(f"{where}: expected an address, got {len(value)} characters "
                                  f"starting {value[:20]!r}")
        try:
            address = parse_address(value.lower())
        except ValueError as exc:
            raise ListFormatError(f"{where}: {exc}") from None
        digits = value[2:]
        if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(value):
            self.warnings.append(
                f"{where}: address {value} has an invalid EIP-55 checksum; "
                "accepted case-insensitively"
            )
        return address

    def add(self, entry: ListEntry) -> None:
        seen = self.by_address.get(entry.address)
        if seen is None:
            self.by_address[entry.address] = entry
            return
        if seen.label is None:
            seen.label = entry.label
        if seen.category is None:
            seen.category = entry.category
        if entry.program and entry.program != seen.program:
            programs = _split_programs(seen.program) + _split_programs(entry.program)
            seen.program = "; ".join(dict.fromkeys(programs))
        for key in ("currencies",):
            if key in entry.extra:
                merged = list(dict.fromkeys([*seen.extra.get(key, []), *entry.extra[key]]))
                seen.extra[key] = merged

    def add_ofac(self, value: str, where: str, uid: str, currency: str,
                 sdn_type: str | None, label: str | None, program: str | None) -> None:
        """An address from an OFAC record (any of its three formats): the record's id,
        currency and SDN type go into `extra`."""
        extra: dict[str, Any] = {"uid": uid, "currencies": [currency]}
        if sdn_type:
            extra["sdn_type"] = sdn_type
        self.add(ListEntry(address=self.address(value, where), label=label, program=program,
                           extra=extra))

    def entries(self) -> list[ListEntry]:
        return list(self.by_address.values())


def _split_programs(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(";") if p.strip()]


def clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def checked_category(value: Any, where: str) -> str | None:
    text = clean(value)
    if text is None:
        return None
    category = text.lower()
    if category not in WATCHLIST_CATEGORIES:
        raise ListFormatError(
            f"{where}: unknown category {text!r} "
            f"(expected one of {', '.join(WATCHLIST_CATEGORIES)})"
        )
    return category


def currency_of(id_type: str | None) -> str | None:
    """``Digital Currency Address - ETH`` → ``ETH``; None for other identifier types."""
    if id_type and id_type.strip().startswith(DIGITAL_CURRENCY_PREFIX):
        return id_type.strip()[len(DIGITAL_CURRENCY_PREFIX) :].strip() or "?"
    return None


def is_evm_claim(currency: str, value: str) -> bool:
    """Whether a digital-currency identifier claims to be an EVM account (and is checked)."""
    return value.startswith(("0x", "0X")) or currency in ("ETH", "ETC", "ARB", "BSC")


LABEL_COLUMNS = ("label", "name")


def open_text(path: Path, newline: str | None = None) -> IO[str]:
    try:
        return path.open(encoding="utf-8-sig", newline=newline)
    except OSError as exc:
        raise ListFormatError(f"{path}: {exc.strerror or exc}") from None


class NotUtf8Error(ListFormatError):
    """A list file with bytes that are not UTF-8; `line` is where the first one is."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def not_utf8(path: Path) -> NotUtf8Error | None:
    """The error naming the first byte of the file that is not UTF-8, or None.

    Read again on its own: the UnicodeDecodeError of a text stream only knows its offset
    in the chunk being decoded, not in the file.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0  # bytes and line breaks before the chunk
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(1 << 16)
            pending = decoder.getstate()[0]  # an unfinished sequence from the last chunk
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                line = lines + data[: exc.start].count(b"\n") + 1
                return NotUtf8Error(
                    f"{path}: not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset "
                    f"{offset - len(pending) + exc.start} (line {line}); save the list as UTF-8",
                    line,
                )
            if not chunk:
                return None
            offset += len(chunk)
            lines += chunk.count(b"\n")
