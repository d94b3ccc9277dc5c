"""`amlmon case open|list|show|update|approve|export`: investigations from the command line
(actor: --actor, else the login name, else "cli")."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from models.cases import CASE_OUTCOMES, CASE_PRIORITIES, CASE_STATUSES
from monitor.cli.actor import default_actor
from monitor.cli.context import AppContext
from monitor.cli.dates import utc_time
from monitor.cli.output import ListFormat, print_rows
from monitor.db import transaction
from monitor.errors import UserError

app = typer.Typer(help="Cases: open, work on, approve and export investigations.",
                  no_args_is_help=True)


# Choices as the schema states them (models.cases); mypy cannot enumerate members built
# from a list, hence the ignores.
Status = StrEnum("Status", [(name, name) for name in CASE_STATUSES])  # type: ignore[misc]
Priority = StrEnum("Priority", [(name, name) for name in CASE_PRIORITIES])  # type: ignore[misc]
Outcome = StrEnum("Outcome", [(name, name) for name in CASE_OUTCOMES])  # type: ignore[misc]
Moveable = StrEnum("Moveable", [("investigating", "investigating")])
DEFAULT_PRIORITY = Priority("medium")


class ExportFormat(StrEnum):
    html = "html"
    goaml = "goaml"


Actor = Annotated[str | None, typer.Option(help='Who you are (default: $USER, else "cli")')]
Narrative = Annotated[str | None, typer.Option(help="The case's narrative")]
NarrativeFile = Annotated[Path | None, typer.Option(
    help="Read the narrative from this UTF-8 file", dir_okay=False)]
Due = Annotated[datetime | None, typer.Option(
    parser=utc_time, metavar="DATE", help="Due date or date-time, ISO-8601 (UTC when no "
    "offset), e.g. 2026-06-30")]


@app.command("open")
def open_(
    ctx: typer.Context,
    title: Annotated[str, typer.Option(help="What the case is about")],
    alert: Annotated[list[int] | None, typer.Option(
        "--alert", min=1, help="An alert id (repeatable)")] = None,
    pattern: Annotated[list[int] | None, typer.Option(
        "--pattern", min=1, help="A pattern id: links its members and their active alerts of "
        "its token (repeatable)")] = None,
    address: Annotated[list[str] | None, typer.Option(
        "--address", help="A 0x… address: links it and its active alerts (repeatable)")] = None,
    narrative: Narrative = None,
    narrative_file: NarrativeFile = None,
    priority: Annotated[Priority, typer.Option()] = DEFAULT_PRIORITY,
    due: Due = None,
    assignee: Annotated[str | None, typer.Option(help="Who works on it")] = None,
    actor: Actor = None,
) -> None:
    """Open a case from alerts, patterns and/or addresses. An alert belongs to at most one
    open case."""
    from monitor.cases import service

    context: AppContext = ctx.obj
    text = _narrative(narrative, narrative_file) or ""
    with transaction(context.sessions) as session:
        case = service.open_case(
            session, actor=actor or default_actor(), title=title, alert_ids=alert or (),
            pattern_ids=pattern or (), addresses=address or (), narrative=text,
            priority=priority.value, due_at=due, assignee=assignee)
        case_id = case.id
        counts = _counts(session, case)
    typer.echo(f"case {case_id} opened: {counts}")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[Status | None, typer.Option(help="Only this status")] = None,
    assignee: Annotated[str | None, typer.Option(help="Only cases assigned to this name")] = None,
    priority: Annotated[Priority | None, typer.Option(help="Only this priority")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """Cases, newest first."""
    from monitor.cases import service, views

    context: AppContext = ctx.obj
    with context.sessions() as session:
        rows = views.summaries(session, service.list_cases(
            session, status=status and status.value, assignee=assignee,
            priority=priority and priority.value, limit=limit))
    print_rows(rows, ("id", "status", "priority", "assignee", "due_at", "alert_count",
                      "pattern_count", "title"), fmt, width=160)


@app.command("show")
def show(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(metavar="ID", min=1)],
    fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """A case with its links, notes and audit trail."""
    from monitor.cases import service, views

    context: AppContext = ctx.obj
    with context.sessions() as session:
        case = views.detail(session, service.get_case(session, case_id))
    if fmt is ListFormat.json:
        typer.echo(json.dumps(case, indent=2))
        return
    _show(case)


@app.command("update")
def update(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(metavar="ID", min=1)],
    title: Annotated[str | None, typer.Option(help="New title")] = None,
    narrative: Narrative = None,
    narrative_file: NarrativeFile = None,
    priority: Annotated[Priority | None, typer.Option()] = None,
    due: Due = None,
    clear_due: Annotated[bool, typer.Option("--clear-due", help="Remove the due date")] = False,
    assignee: Annotated[str | None, typer.Option(help="Who works on it")] = None,
    unassign: Annotated[bool, typer.Option("--unassign", help="Remove the assignee")] = False,
    status: Annotated[Moveable | None, typer.Option(help="Start the investigation")] = None,
    note: Annotated[str | None, typer.Option(help="Append a note")] = None,
    propose: Annotated[Outcome | None, typer.Option(
        help="Propose closing with this outcome; a second person approves it")] = None,
    actor: Actor = None,
) -> None:
    """Change a case, add a note, or propose its close. Audited."""
    from monitor.cases import service

    if due is not None and clear_due:
        raise UserError("--due and --clear-due: give one of them")
    if assignee is not None and unassign:
        raise UserError("--assignee and --unassign: give one of them")
    changes: dict[str, Any] = {}
    text = _narrative(narrative, narrative_file)
    for name, value in (("title", title), ("narrative", text),
                        ("priority", priority and priority.value), ("due_at", due),
                        ("assignee", assignee)):
        if value is not None:
            changes[name] = value
    if clear_due:
        changes["due_at"] = None
    if unassign:
        changes["assignee"] = None
    context: AppContext = ctx.obj
    with transaction(context.sessions) as session:
        case = service.update_case(session, case_id, actor=actor or default_actor(),
                                   changes=changes, status=status and status.value, note=note,
                                   propose=propose and propose.value)
        typer.echo(f"case {case.id}: {case.status}"
                   + (f" (close proposed as {case.proposed_outcome} by {case.proposed_by})"
                      if case.status == "pending_approval" else ""))


@app.command("approve")
def approve(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(metavar="ID", min=1)],
    reject: Annotated[bool, typer.Option("--reject", help="Send the close back to "
                                                          "investigating (needs --note)")] = False,
    note: Annotated[str | None, typer.Option(help="Why (needed with --reject)")] = None,
    actor: Actor = None,
) -> None:
    """Approve a proposed close (the case and its alerts close with the outcome), or send it
    back. The person who proposed the close cannot."""
    from monitor.cases import lifecycle

    context: AppContext = ctx.obj
    with transaction(context.sessions) as session:
        case = lifecycle.decide(session, case_id, actor=actor or default_actor(),
                                approve=not reject, note=note)
        typer.echo(f"case {case.id}: closed as {case.outcome}" if case.status == "closed"
                   else f"case {case.id}: sent back to {case.status}")


@app.command("export")
def export(
    ctx: typer.Context,
    case_id: Annotated[int, typer.Argument(metavar="ID", min=1)],
    output: Annotated[Path, typer.Option(help="File to write", dir_okay=False)],
    fmt: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.html,
    price: Annotated[list[str] | None, typer.Option(
        "--price", help="goaml: TOKEN=PRICE, one whole token's price in the local currency "
        "(repeatable; else the configured reporting_entity.prices)")] = None,
) -> None:
    """The case report as one HTML page, or the goAML suspicious-transaction report
    (validated against the schema; an invalid one is not written)."""
    context: AppContext = ctx.obj
    if price and fmt is not ExportFormat.goaml:
        raise UserError("--price: only for --format goaml")
    with context.sessions() as session:
        if fmt is ExportFormat.html:
            from monitor.reports.cases import case_page

            data = case_page(session, case_id).encode()
        else:
            from monitor.cases.goaml import build_str, price_pairs

            settings = context.settings
            data = build_str(session, case_id, settings.reporting_entity,
                             price_pairs(price or [], "--price"), schema=settings.goaml_schema)
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise UserError(f"--output: cannot write {output}: {exc.strerror}") from None
    typer.echo(f"case {case_id}: {fmt.value} report written to {output}")


def _narrative(text: str | None, path: Path | None) -> str | None:
    if text is not None and path is not None:
        raise UserError("--narrative and --narrative-file: give one of them")
    if path is None:
        return text
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise UserError(f"--narrative-file: cannot read {path}: {reason}") from None


def _counts(session: Any, case: Any) -> str:
    from monitor.cases import views

    row = views.summaries(session, [case])[0]
    return (f"{row['alert_count']} alert(s), {row['pattern_count']} pattern(s), "
            f"{row['address_count']} address(es)")


def _show(case: dict[str, Any]) -> None:
    """The case as text: fields, narrative, then tables of links, notes and the trail.
    typer.echo prints data as written (no markup)."""
    typer.echo(f"case {case['id']}: {case['title']}")
    for name in ("status", "outcome", "priority", "assignee", "due_at", "proposed_outcome",
                 "proposed_by", "approved_by", "created_by", "created_at", "closed_at"):
        if case[name] is not None:
            typer.echo(f"  {name}: {case[name]}")
    if case["narrative"]:
        typer.echo("\nnarrative:\n" + "\n".join(f"  {line}" for line in
                                               case["narrative"].splitlines()))
    for title, rows, columns in (
        ("Alerts", case["alerts"], ("id", "rule", "status", "severity", "risk_score",
                                    "address", "active")),
        ("Patterns", case["patterns"], ("id", "typology", "score", "member_count", "title")),
        ("Addresses", [{"address": a} for a in case["addresses"]], ("address",)),
        ("Notes", case["notes"], ("at", "actor", "text")),
        ("Trail", [{**e, "change": _change(e)} for e in case["trail"]],
         ("at", "actor", "action", "change", "note")),
    ):
        if rows:
            print_rows(rows, columns, ListFormat.table, title=title, width=160)


def _change(event: dict[str, Any]) -> str:
    before, after = event["before"] or {}, event["after"] or {}
    return "; ".join(f"{k}: {before.get(k)} → {v}" for k, v in after.items()
                     if k not in ("narrative", "alerts", "patterns", "addresses")
                     and before.get(k) != v)
