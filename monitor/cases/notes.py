"""A case's notes: appended with an audit row, never edited."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, CaseNote
from monitor import audit
from monitor.cases.fields import NOTE_MAX, text_field


def add_note(session: Session, case: Case, actor: str, text: str,
             audited: bool = True) -> CaseNote:
    """Append a note (1 to NOTE_MAX characters) and its audit row; `audited` False when the
    caller's own audit row carries the note (an approval's, a rejection's)."""
    note = CaseNote(case_id=case.id, actor=actor, text=text_field("note", text, NOTE_MAX, 1))
    session.add(note)
    session.flush()
    case.updated_at = datetime.now(UTC)
    if audited:
        audit.record(session, actor, "case.note", "case", case.id, after={"note_id": note.id},
                     note=note.text)
    return note


def notes(session: Session, case_id: int) -> list[CaseNote]:
    """Oldest first."""
    return list(session.scalars(select(CaseNote).where(CaseNote.case_id == case_id)
                                .order_by(CaseNote.id)))
