"""``json``: an array of address strings, or of objects with ``address`` and optional
``label``/``name``, ``category``, ``program`` (or an object holding such an array)."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.watchlist.parsers.base import (
    LABEL_COLUMNS,
    Collector,
    ListEntry,
    ListFormat,
    ListFormatError,
    ParsedList,
    checked_category,
    clean,
    open_text,
)


def parse_json(path: Path) -> ParsedList:
    with open_text(path) as handle:
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
    collector = Collector()
    for index, item in enumerate(data):
        where = f"{path}: entry {index}"
        if isinstance(item, str):
            collector.add(ListEntry(address=collector.address(item, where)))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("address"), str):
            raise ListFormatError(
                f"{where}: expected an address string or an object with an 'address' string"
            )
        label = next((item[k] for k in LABEL_COLUMNS if clean(item.get(k))), None)
        known = {"address", "category", "program", *LABEL_COLUMNS}
        collector.add(
            ListEntry(
                address=collector.address(item["address"], where),
                label=clean(label),
                category=checked_category(item.get("category"), where),
                program=clean(item.get("program")),
                extra={k: v for k, v in item.items() if k not in known},
            )
        )
    return ParsedList(path, ListFormat.json, collector.entries(), collector.warnings)
