"""`amlmon watchlist …`: import sanctions and other address lists; show what is loaded."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from models.watchlist import WATCHLIST_CATEGORIES
from monitor.cli import output
from monitor.cli.actor import default_actor
from monitor.cli.context import AppContext
from monitor.db import transaction
from monitor.watchlist.parsers import ListFormat
from monitor.watchlist.service import import_list, summaries

app = typer.Typer(
    help="Watchlists: sanctioned, mixer, exchange and other listed addresses.", no_args_is_help=True
)

# The models' categories; mypy cannot enumerate members built from a list (the ignore).
Category = StrEnum("Category", {c: c for c in WATCHLIST_CATEGORIES})  # type: ignore[misc]
SANCTIONED = Category("sanctioned")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="List file (OFAC SDN.XML / SDN_ADVANCED.XML, sdn.csv or its directory, "
            "text, CSV with an 'address' column, JSON)",
            show_default=False,
        ),
    ],
    list_name: Annotated[
        str | None,
        typer.Option("--list", help="Watchlist name (default: the file's name without extension)"),
    ] = None,
    category: Annotated[
        Category,
        typer.Option(
            "--category", help="Category of the list's entries (an entry's own category wins)"
        ),
    ] = SANCTIONED,
    fmt: Annotated[
        ListFormat,
        typer.Option("--format", help="File format (default: detected from the name and content)"),
    ] = ListFormat.auto,
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="Where the list came from, for the audit trail (default: FILE)"
        ),
    ] = None,
    rescreen: Annotated[
        bool, typer.Option(help="Re-score stored history against the changed list")
    ] = True,
) -> None:
    """Import a list, replacing the named watchlist's entries atomically."""
    context: AppContext = ctx.obj
    name = list_name if list_name is not None else (file.name if file.is_dir() else file.stem)
    with transaction(context.sessions) as session:
        result = import_list(session, file, name, category.value, fmt=fmt, source=source,
                             actor=default_actor())
    for warning in result.warnings[:20]:
        typer.echo(f"warning: {warning}", err=True)
    if len(result.warnings) > 20:
        typer.echo(f"warning: … and {len(result.warnings) - 20} more", err=True)
    changed = f", {result.changed} updated" if result.changed else ""
    typer.echo(
        f"list {result.list_name}: {result.total} address(es), +{len(result.added)} "
        f"added, -{len(result.removed)} removed{changed} "
        f"({result.format})"
    )
    if not rescreen or not result.screening_changes:
        return
    # Retroactive screening: stored history is scored again against the new list, so an
    # address listed today raises alerts for its past counterparties now.
    from monitor import jobs  # the scoring stack: only when something is re-screened

    summary = jobs.score_and_alert(context.sessions, context.settings)
    typer.echo(f"re-screened {len(summary.runs)} token(s): {summary.alerts_created} new "
               f"alert(s), {summary.alerts_updated} updated")


@app.command("list")
def list_(
    ctx: typer.Context,
    fmt: Annotated[output.ListFormat, typer.Option("--format")] = output.ListFormat.table,
) -> None:
    """Show the imported watchlists."""
    context: AppContext = ctx.obj
    with transaction(context.sessions) as session:
        rows = [{**row, "updated_at": row["updated_at"].isoformat()}
                for row in summaries(session)]
    output.print_rows(rows, ("name", "category", "entries", "last_added", "last_removed", "updated_at",
                             "source"), fmt, f"{len(rows)} watchlist(s)")
