"""Closing a case takes two people: one proposes the close with an outcome, a second one
(a supervisor or an admin, in the API) approves it or sends it back with a note. Approval
closes the case's alerts with the same outcome. Callers own the transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Alert, Case, CaseAlert
from models.alerts import CLOSED_STATUSES
from models.cases import CASE_OUTCOMES
from monitor import audit
from monitor.alerts.lifecycle import close_alert
from monitor.cases.fields import NOTE_MAX, snapshot, text_field
from monitor.cases.notes import add_note
from monitor.errors import Conflict, NotFound, UserError
from monitor.labels import outcomes


class SelfApproval(UserError):
    """The approver proposed the close: the second person is missing (HTTP 403)."""


def check_outcome(outcome: str) -> None:
    if outcome not in CASE_OUTCOMES:
        raise UserError(f"propose: unknown outcome {outcome!r}; one of "
                        f"{', '.join(CASE_OUTCOMES)}")


def propose(session: Session, case: Case, actor: str, outcome: str) -> None:
    """Put an open or investigating case up for approval of its close as `outcome`."""
    check_outcome(outcome)
    if case.status not in ("open", "investigating"):
        raise Conflict(f"case {case.id} is {case.status}; only an open or investigating case "
                       "can be proposed for closing")
    before = _state(case)
    case.status, case.proposed_outcome, case.proposed_by = "pending_approval", outcome, actor
    case.updated_at = datetime.now(UTC)
    audit.record(session, actor, "case.propose", "case", case.id, before=before,
                 after=_state(case))


def decide(session: Session, case_id: int, *, actor: str, approve: bool,
           note: str | None = None) -> Case:
    """Approve the proposed close (the case and its alerts close with the outcome) or send
    it back to investigating, which needs a note saying why. The proposer cannot decide."""
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    if case.status != "pending_approval":
        raise Conflict(f"case {case_id} is {case.status}; only a case pending approval can "
                       "be approved or sent back")
    if actor == case.proposed_by:
        raise SelfApproval(f"case {case_id}: {actor} proposed this close and cannot approve "
                           "or reject it; a second person must")
    if note is not None:
        note = text_field("note", note, NOTE_MAX, 1)
    if not approve and note is None:
        raise UserError("note: say why the close is sent back")
    before = _state(case)
    now = datetime.now(UTC)
    # The decision's audit row carries its note; the note joins the case's notes too.
    written = {} if note is None else {
        "note_id": add_note(session, case, actor, note, audited=False).id}
    if approve:
        case.status, case.outcome = "closed", case.proposed_outcome
        case.approved_by, case.closed_at = actor, now
        closed = _close_alerts(session, case, actor)
        labelled = outcomes.from_case(session, case, actor)
        audit.record(session, actor, "case.approve", "case", case.id, before=before,
                     after={**_state(case), "alerts_closed": closed, "labelled": labelled,
                            **written}, note=note)
    else:
        case.status, case.proposed_outcome, case.proposed_by = "investigating", None, None
        audit.record(session, actor, "case.reject", "case", case.id, before=before,
                     after={**_state(case), **written}, note=note)
    case.updated_at = now
    session.flush()
    return case


def _close_alerts(session: Session, case: Case, actor: str) -> list[int]:
    """Close the case's active alerts with its outcome and free every link (the alerts may
    join another case later); the ids of the alerts closed."""
    assert case.outcome is not None
    rows = session.execute(select(CaseAlert, Alert).join(Alert, Alert.id == CaseAlert.alert_id)
                           .where(CaseAlert.case_id == case.id, CaseAlert.active)
                           .order_by(Alert.id).with_for_update()).all()
    closed = []
    for link, alert in rows:
        link.active = False
        if alert.status in CLOSED_STATUSES:  # closed on its own meanwhile (triage, a reorg)
            continue
        close_alert(session, alert, case.outcome, actor,
                    f"closed with case {case.id} as {case.outcome}", label=False)
        closed.append(alert.id)
    session.flush()
    return closed


def _state(case: Case) -> dict[str, str | None]:
    return snapshot(case, ("status", "outcome", "proposed_outcome", "proposed_by",
                           "approved_by", "closed_at"))
