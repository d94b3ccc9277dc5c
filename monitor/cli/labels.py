"""`amlmon labels import|list|remove`: what investigators know about addresses, laundering
or legitimate, which rankers train on (actor: --actor, else the login name, else "cli")."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from models.labels import LABELS
from monitor.cli.actor import default_actor
from monitor.cli.context import AppContext
from monitor.cli.output import ListFormat, print_rows
from monitor.db import transaction

app = typer.Typer(help="Labels: addresses known to launder or to be legitimate, from files "
                       "and from closed alerts and cases; rankers train on them.",
                  no_args_is_help=True)
Actor = Annotated[str | None, typer.Option(help='Who you are (default: $USER, else "cli")')]
# mypy cannot enumerate members built from a list (the ignore).
LabelName = StrEnum("LabelName", {name: name for name in LABELS})  # type: ignore[misc]


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(
        help="CSV with a header: address,label[,chain_id,confidence,note]; label is "
             "laundering or legitimate, confidence 0 to 1 (default 1), chain_id empty for "
             "every chain", show_default=False)],
    source: Annotated[str, typer.Option(
        help="Name of the source; importing it again replaces its labels")],
    actor: Actor = None,
) -> None:
    """Import a labels file as one source, replacing that source's labels atomically. A bad
    row is refused naming its line, and nothing is imported. Audited."""
    from monitor.labels import csvfile, store

    context: AppContext = ctx.obj
    name = store.validate_source(source)
    rows = csvfile.read_file(file)
    with transaction(context.sessions) as session:
        result = store.replace_source(session, name, rows, actor or default_actor())
    typer.echo(f"source {result.source}: {result.total} label(s) ({result.laundering} "
               f"laundering, {result.legitimate} legitimate), +{result.added} added, "
               f"-{result.removed} removed, {result.changed} changed")


@app.command("list")
def list_(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="Only this source")] = None,
    address: Annotated[str | None, typer.Option(help="Only this address")] = None,
    label: Annotated[LabelName | None, typer.Option(help="Only this label")] = None,
    sources: Annotated[bool, typer.Option(
        "--sources", help="One row per source with its counts instead")] = False,
    before_id: Annotated[int | None, typer.Option(
        "--before-id", min=1, help="Only labels older than this id (the next page)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Labels newest first (page back with --before-id set to the last id shown), or the
    sources with --sources."""
    from monitor.cli.addresses import address_option
    from monitor.labels import store

    context: AppContext = ctx.obj
    subject = address_option(address, "--address") if address is not None else None
    with context.sessions() as session:
        if sources:
            print_rows(store.sources(session), ("source", "laundering", "legitimate"), fmt)
            return
        rows = [store.view(row) for row in store.list_labels(
            session, source=source, address=subject,
            label=label.value if label is not None else None, before_id=before_id,
            limit=limit)]
    print_rows(rows, ("id", "source", "address", "chain_id", "label", "confidence", "note",
                      "created_by", "created_at"), fmt, width=200)


@app.command("remove")
def remove(
    ctx: typer.Context,
    source: Annotated[str, typer.Option(help="The source whose labels to remove")],
    address: Annotated[str | None, typer.Option(
        help="Only this address's label (default: every label of the source)")] = None,
    actor: Actor = None,
) -> None:
    """Remove a source's labels, or its label of one address (outcome sources such as
    case:12 too). Rankers already trained keep what they learned until retrained. Audited."""
    from monitor.cli.addresses import address_option
    from monitor.labels import store

    context: AppContext = ctx.obj
    subject = address_option(address, "--address") if address is not None else None
    with transaction(context.sessions) as session:
        removed = store.remove(session, source, actor or default_actor(), subject)
    typer.echo(f"source {source.strip()}: {removed} label(s) removed")
