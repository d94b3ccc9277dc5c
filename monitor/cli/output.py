"""Printing lists of rows: a rich table on the terminal, or JSON for scripts (`--format`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table


class ListFormat(StrEnum):
    table = "table"
    json = "json"


def print_rows(rows: list[dict[str, Any]], columns: Sequence[str], fmt: ListFormat,
               title: str | None = None, width: int | None = None) -> None:
    """JSON: every field of every row. Table: `columns`, empty cells for None."""
    if fmt is ListFormat.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    Console(width=width).print(table)
