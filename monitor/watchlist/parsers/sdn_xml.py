"""``sdn-xml``: OFAC's classic ``SDN.XML`` (``sdnList/sdnEntry`` with ``idList/id``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from monitor.watchlist.parsers.base import (
    Collector,
    ListFormat,
    ListFormatError,
    ParsedList,
    currency_of,
    is_evm_claim,
)
from monitor.watchlist.parsers.xmltree import (
    child_named,
    children_named,
    finished,
    local_name,
    text_of,
)


def parse_sdn_xml(path: Path) -> ParsedList:
    collector = Collector()
    root: ET.Element | None = None
    for element, parent in finished(path):
        if parent is None:
            root = element
        elif local_name(element.tag) == "sdnEntry":
            _sdn_entry(path, element, collector)
            parent.clear()  # drop finished entries so memory stays flat
    if root is None or local_name(root.tag) != "sdnList":
        raise ListFormatError(
            f"{path}: not an OFAC SDN.XML file (root element "
            f"{local_name(root.tag) if root is not None else 'missing'!r})"
        )
    return ParsedList(path, ListFormat.sdn_xml, collector.entries(), collector.warnings)


def _sdn_entry(path: Path, element: ET.Element, collector: Collector) -> None:
    uid = text_of(child_named(element, "uid")) or "?"
    names = [text_of(child_named(element, "lastName")), text_of(child_named(element, "firstName"))]
    label = ", ".join(n for n in names if n) or None
    sdn_type = text_of(child_named(element, "sdnType"))
    program_list = child_named(element, "programList")
    programs = (
        [p for p in (text_of(e) for e in children_named(program_list, "program")) if p]
        if (program_list is not None)
        else []
    )
    id_list = child_named(element, "idList")
    for id_element in children_named(id_list, "id") if id_list is not None else []:
        currency = currency_of(text_of(child_named(id_element, "idType")))
        value = text_of(child_named(id_element, "idNumber"))
        if currency is None or value is None or not is_evm_claim(currency, value):
            continue
        collector.add_ofac(value, f"{path}: sdnEntry uid {uid}", uid, currency, sdn_type,
                           label, "; ".join(programs) or None)
