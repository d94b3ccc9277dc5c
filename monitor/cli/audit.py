"""`amlmon audit list`: the audit log of keys, tokens, watchlists, suppressions, cases and
configuration reloads, newest first."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from monitor.cli.context import AppContext
from monitor.cli.dates import utc_time
from monitor.cli.output import ListFormat, print_rows

app = typer.Typer(help="The audit log: who changed what, when.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    object_type: Annotated[str | None, typer.Option(
        "--object-type", help="key, token, watchlist, suppression, case, label, model, config …")] = None,
    object_id: Annotated[str | None, typer.Option(
        "--object-id", help="The object's id or name (with --object-type)")] = None,
    actor: Annotated[str | None, typer.Option(help="Who made the change")] = None,
    since: Annotated[datetime | None, typer.Option(
        parser=utc_time, metavar="DATE",
        help="At or after (ISO-8601 date or date-time; UTC when no offset)")] = None,
    before_id: Annotated[int | None, typer.Option(
        "--before-id", min=1, help="Only rows older than this id (the next page)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Audit rows, newest first. Page back with --before-id set to the last id shown."""
    from monitor import audit

    context: AppContext = ctx.obj
    with context.sessions() as session:
        rows = [audit.as_json(event) for event in audit.events(
            session, object_type=object_type, object_id=object_id, actor=actor, since=since,
            before_id=before_id, limit=limit)]
    if fmt is ListFormat.table:
        rows = [{**row, "before": _compact(row["before"]), "after": _compact(row["after"])}
                for row in rows]
    print_rows(rows, ("id", "at", "actor", "action", "object_type", "object_id", "before",
                      "after", "note"), fmt, width=200)


def _compact(value: object) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))
