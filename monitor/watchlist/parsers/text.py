"""``text``: one address per line, ``#`` comments and blank lines allowed."""

from __future__ import annotations

from pathlib import Path

from monitor.watchlist.parsers.base import Collector, ListEntry, ListFormat, ParsedList, open_text


def parse_text(path: Path) -> ParsedList:
    collector = Collector()
    with open_text(path) as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            collector.add(ListEntry(address=collector.address(line, f"{path}:{number}")))
    return ParsedList(path, ListFormat.text, collector.entries(), collector.warnings)
