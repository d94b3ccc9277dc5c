"""`amlmon alerts list|update`: triage from the command line (actor: --actor, else $USER,
else "cli")."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from models import Token
from monitor.addresses import checksum
from monitor.cli.actor import default_actor
from monitor.cli.context import AppContext
from monitor.cli.output import ListFormat, print_rows
from monitor.db import transaction

app = typer.Typer(help="Alerts: list and triage.", no_args_is_help=True)


class Status(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    escalated = "escalated"
    dismissed = "dismissed"
    reported = "reported"
    retracted = "retracted"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Outcome(StrEnum):
    reported = "reported"
    false_positive = "false_positive"
    inconclusive = "inconclusive"


class Target(StrEnum):
    acknowledged = "acknowledged"
    escalated = "escalated"
    dismissed = "dismissed"
    reported = "reported"


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[Status | None, typer.Option(help="Only this status")] = None,
    severity: Annotated[Severity | None, typer.Option(help="Only this severity")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Alerts, newest first."""
    # Imported here, not at the top: every `amlmon` command loads this module, and the
    # scoring stack behind it (networkx, scipy) would slow them all down.
    from monitor.alerts import lifecycle

    context: AppContext = ctx.obj
    with context.sessions() as session:
        alerts = lifecycle.list_alerts(
            session, status=status.value if status else None,
            severity=severity.value if severity else None, rule=rule, limit=limit)
        tokens = {t.id: t for t in session.query(Token)}
        rows = [{
            "id": a.id, "status": a.status, "severity": a.severity, "rule": a.rule,
            "risk_score": a.risk_score, "score": a.score,
            "token": checksum(tokens[a.token_id].address), "address": checksum(a.address),
            "detail": a.detail, "evidence": a.evidence, "assignee": a.assignee,
            "first_seen_at": a.first_seen_at.isoformat(), "last_seen_at": a.last_seen_at.isoformat(),
        } for a in alerts]
    print_rows(rows, ("id", "status", "severity", "rule", "risk_score", "address", "detail"),
               fmt, width=160)


@app.command("update")
def update(
    ctx: typer.Context,
    alert_id: Annotated[int, typer.Argument(metavar="ID", min=1)],
    status: Annotated[Target | None, typer.Option(help="New status")] = None,
    note: Annotated[str | None, typer.Option(help="Note for the audit trail")] = None,
    assignee: Annotated[str | None, typer.Option(help="Who works on it")] = None,
    outcome: Annotated[Outcome | None, typer.Option(
        help="Closing outcome: reported with --status reported; false_positive (the "
             "default) or inconclusive with --status dismissed")] = None,
    actor: Annotated[str | None, typer.Option(help='Who you are (default: $USER, else "cli")')] = None,
) -> None:
    """Change an alert's status (forward only), add a note, or assign it. Audited."""
    from monitor.alerts import lifecycle

    context: AppContext = ctx.obj
    who = actor or default_actor()
    with transaction(context.sessions) as session:
        alert = lifecycle.update_alert(session, alert_id, actor=who,
                                     status=status.value if status else None, note=note,
                                     assignee=assignee,
                                     outcome=outcome.value if outcome else None)
        typer.echo(f"alert {alert.id}: {alert.status}"
                   + (f" ({alert.outcome})" if alert.outcome else "")
                   + (f", assigned to {alert.assignee}" if alert.assignee else ""))

