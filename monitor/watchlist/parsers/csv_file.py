"""``csv``: a header with ``address`` and optional ``label``/``name``, ``category``,
``program`` columns (other columns are kept in ``extra``)."""

from __future__ import annotations

import csv
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


def parse_csv(path: Path) -> ParsedList:
    collector = Collector()
    with open_text(path, newline="") as handle:
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
            label_column = next((c for c in LABEL_COLUMNS if c in columns), None)
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
                        label=clean(values.get(label_column)) if label_column else None,
                        category=checked_category(values.get("category"), where),
                        program=clean(values.get("program")),
                        extra=extra,
                    )
                )
        except csv.Error as exc:
            raise ListFormatError(f"{path}:{reader.line_num}: {exc}") from None
    return ParsedList(path, ListFormat.csv, collector.entries(), collector.warnings)
