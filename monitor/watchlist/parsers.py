"""Parse published address lists into entries, streaming where files can be large.

Formats:

* ``sdn-xml`` — OFAC's classic ``SDN.XML`` (``sdnList/sdnEntry`` with ``idList/id``);
* ``sdn-advanced-xml`` — OFAC's ``SDN_ADVANCED.XML`` (``DistinctParty`` profiles whose
  ``Feature`` types are resolved through ``ReferenceValueSets``);
* ``ofac-csv`` — OFAC's legacy ``sdn.csv`` plus its remarks overflow ``sdn_comments.csv``,
  where addresses hide in free text as ``Digital Currency Address - ETH 0x…;``;
* ``text`` — one address per line, ``#`` comments and blank lines allowed;
* ``csv`` — a header with ``address`` and optional ``label``/``name``, ``category``,
  ``program`` columns (other columns are kept in ``extra``);
* ``json`` — an array of address strings, or of objects with ``address`` and optional
  ``label``/``name``, ``category``, ``program``.

From the OFAC formats only EVM addresses are taken: identifiers of a
``Digital Currency Address - …`` type whose value starts with ``0x`` (ETH, and the same
account on USDT, ETC, ARB, BSC, …). Other currencies (XBT, XMR, TRX, …) are ignored.

Checksums: published lists are EIP-55 mixed case, and matching is case-insensitive. A
mixed-case address whose checksum does not verify is still accepted (and reported as a
warning): the list's publisher is the authority on which 20 bytes are listed, a casing
slip on their side does not make it another account, and refusing it would block the
whole import and leave the previous, staler list in force. Anything that is not
``0x`` + 40 hex digits is an error naming the file and line (or entry).

Hostile files: XML goes through defusedxml, which refuses entity declarations (billion
laughs, external entities that would read local files or URLs) before anything expands;
text that is not UTF-8 is an error naming the file and the offset of the first bad byte.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import iterparse  # type: ignore[import-untyped]
from eth_utils import is_checksum_address

from models.watchlist import WATCHLIST_CATEGORIES
from monitor.addresses import parse_address
from monitor.errors import UserError

DIGITAL_CURRENCY_PREFIX = "Digital Currency Address - "
SNIFF_BYTES = 64 * 1024


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


# --------------------------------------------------------------------------- helpers


class _Collector:
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

    def entries(self) -> list[ListEntry]:
        return list(self.by_address.values())


def _split_programs(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(";") if p.strip()]


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _category(value: Any, where: str) -> str | None:
    text = _clean(value)
    if text is None:
        return None
    category = text.lower()
    if category not in WATCHLIST_CATEGORIES:
        raise ListFormatError(
            f"{where}: unknown category {text!r} "
            f"(expected one of {', '.join(WATCHLIST_CATEGORIES)})"
        )
    return category


def _local(tag: Any) -> str:
    """Element name without its namespace (``{ns}sdnEntry`` → ``sdnEntry``)."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _descendants(element: ET.Element, name: str) -> Iterator[ET.Element]:
    for node in element.iter():
        if _local(node.tag) == name:
            yield node


def _text(element: ET.Element | None) -> str | None:
    return _clean(element.text) if element is not None else None


def _currency(id_type: str | None) -> str | None:
    """``Digital Currency Address - ETH`` → ``ETH``; None for other identifier types."""
    if id_type and id_type.strip().startswith(DIGITAL_CURRENCY_PREFIX):
        return id_type.strip()[len(DIGITAL_CURRENCY_PREFIX) :].strip() or "?"
    return None


def _is_evm_claim(currency: str, value: str) -> bool:
    """Whether a digital-currency identifier claims to be an EVM account (and is checked)."""
    return value.startswith(("0x", "0X")) or currency in ("ETH", "ETC", "ARB", "BSC")


def _finished(path: Path) -> Iterator[tuple[ET.Element, ET.Element | None]]:
    """Each element as its end tag is read, with its parent (None for the root)."""
    stack: list[ET.Element] = []
    try:
        for event, element in iterparse(str(path), events=("start", "end")):
            if event == "start":
                stack.append(element)
                continue
            stack.pop()
            yield element, (stack[-1] if stack else None)
    except DefusedXmlException as exc:
        name = getattr(exc, "name", None)
        raise ListFormatError(
            f"{path}: refused XML: declares {f'entity {name!r}' if name else 'an entity'} "
            "(entity declarations are not allowed in a list file)"
        ) from None
    except ET.ParseError as exc:
        line, column = exc.position
        bad_byte = _not_utf8(path) if exc.code == _XML_INVALID_TOKEN else None
        if bad_byte is not None and bad_byte.line == line:
            raise bad_byte from None
        reason = str(exc).rsplit(": line", 1)[0]
        raise ListFormatError(
            f"{path}: malformed XML at line {line}, column {column + 1}: {reason}"
        ) from None


_XML_INVALID_TOKEN = 4  # expat's code for bytes that are not text in the file's encoding


# --------------------------------------------------------------------------- OFAC SDN.XML


def parse_sdn_xml(path: Path) -> ParsedList:
    collector = _Collector()
    root: ET.Element | None = None
    for element, parent in _finished(path):
        if parent is None:
            root = element
        elif _local(element.tag) == "sdnEntry":
            _sdn_entry(path, element, collector)
            parent.clear()  # drop finished entries so memory stays flat
    if root is None or _local(root.tag) != "sdnList":
        raise ListFormatError(
            f"{path}: not an OFAC SDN.XML file (root element "
            f"{_local(root.tag) if root is not None else 'missing'!r})"
        )
    return ParsedList(path, ListFormat.sdn_xml, collector.entries(), collector.warnings)


def _sdn_entry(path: Path, element: ET.Element, collector: _Collector) -> None:
    uid = _text(_child(element, "uid")) or "?"
    names = [_text(_child(element, "lastName")), _text(_child(element, "firstName"))]
    label = ", ".join(n for n in names if n) or None
    sdn_type = _text(_child(element, "sdnType"))
    program_list = _child(element, "programList")
    programs = (
        [p for p in (_text(e) for e in _children(program_list, "program")) if p]
        if (program_list is not None)
        else []
    )
    id_list = _child(element, "idList")
    for id_element in _children(id_list, "id") if id_list is not None else []:
        currency = _currency(_text(_child(id_element, "idType")))
        value = _text(_child(id_element, "idNumber"))
        if currency is None or value is None or not _is_evm_claim(currency, value):
            continue
        where = f"{path}: sdnEntry uid {uid}"
        extra: dict[str, Any] = {"uid": uid, "currencies": [currency]}
        if sdn_type:
            extra["sdn_type"] = sdn_type
        collector.add(
            ListEntry(
                address=collector.address(value, where),
                label=label,
                program="; ".join(programs) or None,
                extra=extra,
            )
        )


# --------------------------------------------------------------------------- SDN_ADVANCED.XML


@dataclass
class _Party:
    ref: str
    profile_id: str | None
    name_parts: list[tuple[str, str]]  # (NamePartTypeID, value), primary alias, in order
    party_type_id: str | None
    features: list[tuple[str, str]]  # (FeatureTypeID, VersionDetail text)


def parse_sdn_advanced_xml(path: Path) -> ParsedList:
    feature_types: dict[str, str] = {}  # FeatureType ID → text
    sanctions_types: dict[str, str] = {}  # SanctionsType ID → text
    party_subtypes: dict[str, tuple[str, str]] = {}  # PartySubType ID → (text, PartyTypeID)
    party_types: dict[str, str] = {}  # PartyType ID → text ("Individual", "Entity", …)
    name_part_types: dict[str, str] = {}  # NamePartType ID → text ("Last Name", …)
    parties: list[_Party] = []
    measures: dict[str, list[tuple[str, str]]] = {}  # ProfileID → [(SanctionsTypeID, text)]
    seen_parties = False
    for element, parent in _finished(path):
        name = _local(element.tag)
        if name == "FeatureType":
            feature_types[element.get("ID", "")] = (element.text or "").strip()
        elif name == "SanctionsType":
            sanctions_types[element.get("ID", "")] = (element.text or "").strip()
        elif name == "PartySubType":
            party_subtypes[element.get("ID", "")] = (
                (element.text or "").strip(),
                element.get("PartyTypeID", ""),
            )
        elif name == "PartyType":
            party_types[element.get("ID", "")] = (element.text or "").strip()
        elif name == "NamePartType":
            name_part_types[element.get("ID", "")] = (element.text or "").strip()
        elif name == "DistinctParty" and parent is not None:
            seen_parties = True
            party = _distinct_party(element, feature_types)
            if party.features:
                parties.append(party)
            parent.clear()
        elif name == "SanctionsEntry" and parent is not None:
            profile = element.get("ProfileID")
            if profile:
                for measure in _children(element, "SanctionsMeasure"):
                    comment = _text(_child(measure, "Comment"))
                    if comment:
                        measures.setdefault(profile, []).append(
                            (measure.get("SanctionsTypeID", ""), comment)
                        )
            parent.clear()
        elif name in ("Locations", "IDRegDocuments", "ProfileRelationships") and (
            parent is not None
        ):
            parent.remove(element)
    if not seen_parties:
        raise ListFormatError(
            f"{path}: not an OFAC SDN_ADVANCED.XML file (no DistinctParty elements)"
        )
    collector = _Collector()
    for party in parties:
        programs = [
            text
            for type_id, text in measures.get(party.profile_id or "", [])
            if sanctions_types.get(type_id, "").lower() == "program"
        ]
        for type_id, value in party.features:
            currency = _currency(feature_types.get(type_id))
            if currency is None or not _is_evm_claim(currency, value):
                continue
            where = f"{path}: DistinctParty FixedRef {party.ref}"
            extra: dict[str, Any] = {"uid": party.ref, "currencies": [currency]}
            subtype, kind = party_subtypes.get(party.party_type_id or "", ("", ""))
            party_type = party_types.get(kind) if subtype in ("", "Unknown") else subtype
            if party_type:
                extra["sdn_type"] = party_type
            collector.add(
                ListEntry(
                    address=collector.address(value, where),
                    label=_party_name(party.name_parts, name_part_types),
                    program="; ".join(dict.fromkeys(programs)) or None,
                    extra=extra,
                )
            )
    return ParsedList(path, ListFormat.sdn_advanced_xml, collector.entries(), collector.warnings)


def _distinct_party(element: ET.Element, feature_types: dict[str, str]) -> _Party:
    ref = element.get("FixedRef") or "?"
    profile = _child(element, "Profile")
    if profile is None:
        return _Party(ref, None, [], None, [])
    features: list[tuple[str, str]] = []
    for feature in _descendants(profile, "Feature"):
        type_id = feature.get("FeatureTypeID", "")
        # With the reference values already read (the published order), keep only
        # digital-currency features; otherwise keep all and resolve at the end.
        if feature_types and _currency(feature_types.get(type_id)) is None:
            continue
        for detail in _descendants(feature, "VersionDetail"):
            value = _text(detail)
            if value:
                features.append((type_id, value))
    return _Party(
        ref,
        profile.get("ID"),
        _primary_name_parts(profile),
        profile.get("PartySubTypeID"),
        features,
    )


def _primary_name_parts(profile: ET.Element) -> list[tuple[str, str]]:
    """The primary alias's first documented name, as (NamePartTypeID, value) pairs."""
    group_types = {
        group.get("ID", ""): group.get("NamePartTypeID", "")
        for group in _descendants(profile, "NamePartGroup")
    }
    aliases = list(_descendants(profile, "Alias"))
    aliases.sort(key=lambda a: a.get("Primary", "").lower() != "true")
    for alias in aliases:
        for documented in _descendants(alias, "DocumentedName"):
            parts = [
                (group_types.get(v.get("NamePartGroupID", ""), ""), _text(v))
                for v in _descendants(documented, "NamePartValue")
            ]
            found = [(type_id, value) for type_id, value in parts if value]
            if found:
                return found
    return []


def _party_name(parts: list[tuple[str, str]], part_types: dict[str, str]) -> str | None:
    """``LAST, First Middle`` for people (as sdn.csv writes it), the name as-is otherwise."""
    last = [v for t, v in parts if part_types.get(t, "").lower() == "last name"]
    rest = [v for t, v in parts if part_types.get(t, "").lower() != "last name"]
    if last and rest:
        return f"{' '.join(last)}, {' '.join(rest)}"
    return " ".join(v for _t, v in parts) or None


# --------------------------------------------------------------------------- OFAC legacy CSV

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
    collector = _Collector()
    for ent in order:
        name, program, sdn_type, remarks, (file, line) = records[ent]
        for match in _CSV_ADDRESS.finditer(remarks):
            currency, value = match.group(1).upper(), match.group(2).rstrip(".")
            if not _is_evm_claim(currency, value):
                continue
            where = f"{file}:{line}: ent_num {ent}"
            extra: dict[str, Any] = {"uid": ent, "currencies": [currency]}
            if sdn_type:
                extra["sdn_type"] = sdn_type
            collector.add(
                ListEntry(
                    address=collector.address(value, where),
                    label=name,
                    program=program,
                    extra=extra,
                )
            )
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


# --------------------------------------------------------------------------- text, CSV, JSON


def parse_text(path: Path) -> ParsedList:
    collector = _Collector()
    with _open_text(path) as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            collector.add(ListEntry(address=collector.address(line, f"{path}:{number}")))
    return ParsedList(path, ListFormat.text, collector.entries(), collector.warnings)


_LABEL_COLUMNS = ("label", "name")


def parse_csv(path: Path) -> ParsedList:
    collector = _Collector()
    with _open_text(path, newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise ListFormatError(f"{path}: empty CSV file")
            columns = [h.strip().lower() for h in header]
            if "address" not in columns:
                raise ListFormatError(
                    f"{path}:{reader.line_num}: CSV header has no 'address' "
                    f"column (got {', '.join(columns) or 'nothing'})"
                )
            label_column = next((c for c in _LABEL_COLUMNS if c in columns), None)
            known = {"address", "category", "program", label_column}
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                where = f"{path}:{reader.line_num}"
                if len(row) > len(columns):
                    raise ListFormatError(
                        f"{where}: {len(row)} fields but the header has {len(columns)}"
                    )
                values = dict(zip(columns, row, strict=False))
                extra = {k: v for k, v in values.items() if k not in known and v.strip()}
                collector.add(
                    ListEntry(
                        address=collector.address(values.get("address", ""), where),
                        label=_clean(values.get(label_column)) if label_column else None,
                        category=_category(values.get("category"), where),
                        program=_clean(values.get("program")),
                        extra=extra,
                    )
                )
        except csv.Error as exc:
            raise ListFormatError(f"{path}:{reader.line_num}: {exc}") from None
    return ParsedList(path, ListFormat.csv, collector.entries(), collector.warnings)


def parse_json(path: Path) -> ParsedList:
    with _open_text(path) as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as exc:
            raise ListFormatError(
                f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
    if isinstance(data, dict):
        items = next(
            (data[k] for k in ("addresses", "entries", "data") if isinstance(data.get(k), list)),
            None,
        )
        if items is None:
            raise ListFormatError(
                f"{path}: expected a JSON array of addresses or objects, or "
                "an object with an 'addresses' array"
            )
        data = items
    if not isinstance(data, list):
        raise ListFormatError(f"{path}: expected a JSON array, got {type(data).__name__}")
    collector = _Collector()
    for index, item in enumerate(data):
        where = f"{path}: entry {index}"
        if isinstance(item, str):
            collector.add(ListEntry(address=collector.address(item, where)))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("address"), str):
            raise ListFormatError(
                f"{where}: expected an address string or an object with an 'address' string"
            )
        label = next((item[k] for k in _LABEL_COLUMNS if _clean(item.get(k))), None)
        known = {"address", "category", "program", *_LABEL_COLUMNS}
        collector.add(
            ListEntry(
                address=collector.address(item["address"], where),
                label=_clean(label),
                category=_category(item.get("category"), where),
                program=_clean(item.get("program")),
                extra={k: v for k, v in item.items() if k not in known},
            )
        )
    return ParsedList(path, ListFormat.json, collector.entries(), collector.warnings)


def _open_text(path: Path, newline: str | None = None) -> IO[str]:
    try:
        return path.open(encoding="utf-8-sig", newline=newline)
    except OSError as exc:
        raise ListFormatError(f"{path}: {exc.strerror or exc}") from None


class NotUtf8Error(ListFormatError):
    """A list file with bytes that are not UTF-8; `line` is where the first one is."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _not_utf8(path: Path) -> NotUtf8Error | None:
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


# --------------------------------------------------------------------------- detection

_PARSERS = {
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
    if _looks_like_ofac_csv(first):
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


def _looks_like_ofac_csv(first_line: str) -> bool:
    try:
        row = next(csv.reader(io.StringIO(first_line)))
    except (csv.Error, StopIteration):
        return False
    return len(row) == 12 and row[0].strip().isdigit()


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
        return _PARSERS[chosen](path)
    except UnicodeDecodeError:
        raise _not_utf8(path) or ListFormatError(f"{path}: not UTF-8 text") from None


def addresses(entries: Iterable[ListEntry]) -> set[str]:
    return {entry.address for entry in entries}
