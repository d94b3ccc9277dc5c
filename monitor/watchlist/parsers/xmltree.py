"""Reading a list's XML: element by element as each one ends (memory stays flat), names
without their namespace, and every refusal (entity declarations, malformed XML, bytes
that are not UTF-8) as a ListFormatError naming the place."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from monitor.watchlist.parsers.base import ListFormatError, clean, not_utf8


def local_name(tag: Any) -> str:
    """Element name without its namespace (``{ns}sdnEntry`` → ``sdnEntry``)."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def child_named(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if local_name(child.tag) == name:
            return child
    return None


def children_named(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if local_name(child.tag) == name]


def descendants_named(element: ET.Element, name: str) -> Iterator[ET.Element]:
    for node in element.iter():
        if local_name(node.tag) == name:
            yield node


def text_of(element: ET.Element | None) -> str | None:
    return clean(element.text) if element is not None else None


def finished(path: Path) -> Iterator[tuple[ET.Element, ET.Element | None]]:
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
        bad_byte = not_utf8(path) if exc.code == _XML_INVALID_TOKEN else None
        if bad_byte is not None and bad_byte.line == line:
            raise bad_byte from None
        reason = str(exc).rsplit(": line", 1)[0]
        raise ListFormatError(
            f"{path}: malformed XML at line {line}, column {column + 1}: {reason}"
        ) from None


_XML_INVALID_TOKEN = 4  # expat's code for bytes that are not text in the file's encoding
