"""Cases: open one from alerts, patterns or addresses, list, read, and change it.

Status: open → investigating → pending_approval → closed. Every close is proposed by one
person (update with `propose`) and approved by another (monitor.cases.lifecycle.decide),
whatever the outcome: one rule is easier to explain and to audit than a rule per outcome.
Every change appends an audit_events row (object_type "case") in the caller's transaction;
notes are append-only. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case
from models.cases import CASE_PRIORITIES, CASE_STATUSES
from monitor import audit
from monitor.cases import lifecycle, links
from monitor.cases.fields import NOTE_MAX, checked, snapshot, text_field
from monitor.cases.notes import add_note
from monitor.errors import Conflict, NotFound, UserError


def open_case(session: Session, *, actor: str, title: str, alert_ids: Iterable[int] = (),
              pattern_ids: Iterable[int] = (), addresses: Iterable[str] = (),
              narrative: str = "", priority: str = "medium", due_at: datetime | None = None,
              assignee: str | None = None) -> Case:
    """A new open case linking the alerts, the patterns with their members and the members'
    active alerts (of the pattern's token), and the addresses with their active alerts."""
    fields = checked({"title": title, "narrative": narrative, "priority": priority,
                      "due_at": due_at, "assignee": assignee})
    found = links.resolve(session, alert_ids, pattern_ids, addresses)
    links.check_free(session, found.alerts)
    case = Case(**fields, status="open", created_by=actor)
    session.add(case)
    session.flush()
    links.attach(session, case, found)
    audit.record(session, actor, "case.open", "case", case.id,
                 after={**snapshot(case), **found.as_json()})
    return case


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


def list_cases(session: Session, *, status: str | None = None, assignee: str | None = None,
               priority: str | None = None, before_id: int | None = None,
               limit: int = 50) -> list[Case]:
    """Newest first; page with `before_id` = the last id of the previous page."""
    if status is not None and status not in CASE_STATUSES:
        raise UserError(f"status: unknown status {status!r}; one of {', '.join(CASE_STATUSES)}")
    if priority is not None and priority not in CASE_PRIORITIES:
        raise UserError(f"priority: unknown priority {priority!r}; one of "
                        f"{', '.join(CASE_PRIORITIES)}")
    statement = select(Case).order_by(Case.id.desc()).limit(max(1, min(limit, 1000)))
    if status is not None:
        statement = statement.where(Case.status == status)
    if assignee is not None:
        statement = statement.where(Case.assignee == assignee)
    if priority is not None:
        statement = statement.where(Case.priority == priority)
    if before_id is not None:
        statement = statement.where(Case.id < before_id)
    return list(session.scalars(statement))


def update_case(session: Session, case_id: int, *, actor: str,
                changes: Mapping[str, Any] | None = None, status: str | None = None,
                note: str | None = None, propose: str | None = None) -> Case:
    """Change fields (`changes`: any of EDITABLE; None clears due_at or assignee), move an
    open case to investigating, append a note, and/or propose the close with an outcome
    (status pending_approval). A closed case does not change; a case pending approval
    takes notes only, until it is approved or sent back."""
    changes = dict(changes or {})
    if not changes and status is None and note is None and propose is None:
        raise UserError("nothing to change: give a field, a status, a note or a close to "
                        "propose")
    case = session.get(Case, case_id, with_for_update=True)  # changes of a case take turns
    if case is None:
        raise NotFound(f"case {case_id} not found")
    if case.status == "closed":
        raise Conflict(f"case {case_id} is closed ({case.outcome}); a closed case does not "
                       "change")
    if case.status == "pending_approval" and (changes or status is not None
                                              or propose is not None):
        raise Conflict(f"case {case_id} is pending approval of its close as "
                       f"{case.proposed_outcome} (proposed by {case.proposed_by}): a "
                       "supervisor approves it or sends it back first; notes may be added")
    fields = checked(changes)
    if status is not None:
        _check_status(case, status)
    if propose is not None:
        lifecycle.check_outcome(propose)
    if note is not None:
        note = text_field("note", note, NOTE_MAX, 1)

    before = snapshot(case)
    for name, value in fields.items():
        setattr(case, name, value)
    if status is not None:
        case.status = status
    after = snapshot(case)
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        case.updated_at = datetime.now(UTC)
        audit.record(session, actor, "case.update", "case", case.id,
                     before={k: before[k] for k in sorted(changed)},
                     after={k: after[k] for k in sorted(changed)})
    if note is not None:
        add_note(session, case, actor, note)
    if propose is not None:
        lifecycle.propose(session, case, actor, propose)
    session.flush()
    return case


def _check_status(case: Case, status: str) -> None:
    if status == case.status:
        return
    if status != "investigating":
        raise UserError(f"status: only investigating can be set (got {status!r}); propose "
                        "a close with an outcome, and a supervisor approves it")
    if case.status != "open":
        raise Conflict(f"case {case.id} is {case.status}; only an open case becomes "
                       "investigating")
