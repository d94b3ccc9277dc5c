"""`amlmon suppress add|list|remove`: what is noise for a while, with an expiry and a trail
(actor: --actor, else the login name, else "cli")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from monitor.cli.actor import default_actor
from monitor.cli.context import AppContext
from monitor.cli.dates import utc_time
from monitor.cli.output import ListFormat, print_rows
from monitor.db import transaction
from monitor.scoring import rules_file

app = typer.Typer(help="Suppressions: (address, rule) pairs that raise no new alert and do "
                       "not count toward the flagged set until they expire.",
                  no_args_is_help=True)
Actor = Annotated[str | None, typer.Option(help='Who you are (default: $USER, else "cli")')]


@app.command("add")
def add(
    ctx: typer.Context,
    address: Annotated[str, typer.Option(help="0x… address to suppress")],
    until: Annotated[datetime, typer.Option(
        parser=utc_time, metavar="DATE",
        help="ISO-8601 date (midnight UTC) or date-time, in the future")],
    reason: Annotated[str, typer.Option(help="Why this is noise (for the audit trail)")],
    rule: Annotated[str | None, typer.Option(
        help="Rule id (default: every rule; never a watchlist_exposure from a sanctioned "
             "list)")] = None,
    token: Annotated[str | None, typer.Option(help="Token contract (default: every token)")]
    = None,
    actor: Actor = None,
) -> None:
    """Suppress an address for one rule (or all) until a date: its reasons are still
    computed and shown, marked suppressed, but leave its risk and raise no new alert. Its
    score rows change at once. Audited."""
    from monitor.scoring import suppressions

    context: AppContext = ctx.obj
    weights = rules_file.load(context.settings).weights
    with transaction(context.sessions) as session:
        suppression, rescored = suppressions.add(
            session, address=address, rule=rule, token=token, until=until, reason=reason,
            actor=actor or default_actor(), weights=weights)
        view = suppressions.views(session, [suppression])[0]
    typer.echo(f"suppression {view['id']}: {view['address']}, {view['rule'] or 'every rule'}, "
               f"{view['token'] or 'every token'}, until {view['until']}; "
               f"{rescored} score row(s) re-marked")


@app.command("list")
def list_(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Expired and removed ones too")]
    = False,
    address: Annotated[str | None, typer.Option(help="Only this address")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 500,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Suppressions in force (with --all, every one ever made), newest first."""
    from monitor.cli.addresses import address_option
    from monitor.scoring import suppressions

    context: AppContext = ctx.obj
    subject = address_option(address, "--address") if address is not None else None
    with context.sessions() as session:
        rows = suppressions.views(session, suppressions.list_suppressions(
            session, include_all=show_all, address=subject, limit=limit))
    print_rows(rows, ("id", "status", "address", "rule", "token", "until", "reason",
                      "created_by"), fmt, width=200)


@app.command("remove")
def remove(
    ctx: typer.Context,
    suppression_id: Annotated[int, typer.Argument(metavar="ID", min=1, max=2**63 - 1,
                                                  help="Suppression id (suppress list)")],
    actor: Actor = None,
) -> None:
    """End a suppression now: the address's reasons count again at once, and its next
    scoring run raises their alerts. Audited."""
    from monitor.scoring import suppressions

    context: AppContext = ctx.obj
    weights = rules_file.load(context.settings).weights
    with transaction(context.sessions) as session:
        _, rescored = suppressions.remove(session, suppression_id,
                                          actor=actor or default_actor(), weights=weights)
    typer.echo(f"suppression {suppression_id} removed; {rescored} score row(s) re-marked; "
               "the next scoring run raises their alerts again")
