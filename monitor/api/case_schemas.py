"""Request bodies and responses of /api/v1/cases (the shared types are monitor.api.schemas')."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from monitor.api.schemas import BIGINT, Address, Out, Strict, Text, Timestamp
from monitor.cases.fields import NAME_MAX, NARRATIVE_MAX, NOTE_MAX, TITLE_MAX
from monitor.cases.links import MAX_LINKS

Priority = Literal["low", "medium", "high", "critical"]
CaseStatus = Literal["open", "investigating", "pending_approval", "closed"]
Outcome = Literal["reported", "false_positive", "inconclusive"]
Id = Annotated[int, Field(ge=1, le=BIGINT)]


class CaseCreate(Strict):
    """Open a case from alerts, patterns (their members and the members' active alerts of
    the pattern's token) and/or addresses (their active alerts): at least one of them."""

    title: Annotated[str, Text(TITLE_MAX, 1)]
    narrative: Annotated[str, Text(NARRATIVE_MAX)] = ""
    priority: Priority = "medium"
    due_at: Timestamp | None = Field(None, description="ISO-8601; UTC when no offset")
    assignee: Annotated[str, Text(NAME_MAX, 1)] | None = None
    alerts: list[Id] = Field([], max_length=MAX_LINKS, description="Alert ids")
    patterns: list[Id] = Field([], max_length=MAX_LINKS, description="Pattern ids")
    addresses: list[Address] = Field([], max_length=MAX_LINKS)


class CasePatch(Strict):
    """Any of: fields (null clears `due_at` or `assignee`), `status` investigating (from
    open), a note, a close to propose with its outcome."""

    title: Annotated[str, Text(TITLE_MAX, 1)] | None = None
    narrative: Annotated[str, Text(NARRATIVE_MAX)] | None = None
    priority: Priority | None = None
    due_at: Timestamp | None = None
    assignee: Annotated[str, Text(NAME_MAX, 1)] | None = None
    status: Literal["investigating"] | None = None
    note: Annotated[str, Text(NOTE_MAX, 1)] | None = None
    propose: Outcome | None = Field(None, description="Propose closing with this outcome; "
                                                      "another key approves it")

    def changes(self) -> dict[str, Any]:
        """The fields given, None where a clearable one was sent as null."""
        return {name: getattr(self, name) for name in
                ("title", "narrative", "priority", "due_at", "assignee")
                if name in self.model_fields_set}


class CaseDecision(Strict):
    approve: bool = Field(description="true: close with the proposed outcome; false: send "
                                      "back to investigating (a note saying why is needed)")
    note: Annotated[str, Text(NOTE_MAX, 1)] | None = None


class CaseSummary(Out):
    id: int
    title: str
    priority: Priority
    status: CaseStatus
    outcome: Outcome | None
    assignee: str | None
    due_at: str | None
    proposed_outcome: Outcome | None
    proposed_by: str | None
    approved_by: str | None
    created_by: str
    created_at: str | None
    updated_at: str | None
    closed_at: str | None


class CaseListItem(CaseSummary):
    alert_count: int
    pattern_count: int
    address_count: int


class CasePage(Out):
    items: list[CaseListItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null "
                                                "at the end")


class CaseAlertOut(Out):
    id: int
    rule: str
    status: str
    severity: str
    risk_score: int
    outcome: Outcome | None
    chain_id: int
    token: str
    address: str
    detail: str
    active: bool = Field(description="Linked while the case is not closed")


class CasePatternOut(Out):
    id: int
    typology: str
    status: str
    score: int
    title: str
    chain_id: int
    token: str
    member_count: int


class CaseNoteOut(Out):
    id: int
    at: str | None
    actor: str
    text: str


class CaseEventOut(Out):
    id: int
    at: str | None
    actor: str
    action: str = Field(description="case.open, case.update, case.note, case.propose, "
                                    "case.approve or case.reject")
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None


class CaseDetail(CaseSummary):
    narrative: str
    alerts: list[CaseAlertOut]
    patterns: list[CasePatternOut]
    addresses: list[str]
    notes: list[CaseNoteOut]
    trail: list[CaseEventOut]
