"""Printing lists of rows: a rich table on the terminal, or JSON for scripts (`--format`).

The one table helper of the CLI. Cells hold data from outside (watchlist labels from
imported files, symbols from contracts, alert details): each is a `rich.text.Text`, which
never parses markup, so `Evil [/Corp]` prints as written instead of raising MarkupError,
and `[link=…]` cannot plant a terminal hyperlink.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text


class ListFormat(StrEnum):
    table = "table"
    json = "json"


def print_rows(rows: list[dict[str, Any]], columns: Sequence[str], fmt: ListFormat,
               title: str | None = None, width: int | None = None) -> None:
    """JSON: every field of every row. Table: `columns`, empty cells for None, long values
    folded onto further lines rather than cut."""
    if fmt is ListFormat.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=Text(title) if title else None)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if row[c] is None else str(row[c])) for c in columns))
    Console(width=width).print(table)
