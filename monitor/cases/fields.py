"""A case's own fields: their bounds, their checks (messages name the field) and their
snapshot as audit rows record it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from models import Case
from models.cases import CASE_PRIORITIES
from monitor.db import as_utc
from monitor.errors import UserError
from monitor.timefmt import iso

TITLE_MAX = 200
NARRATIVE_MAX = 32_000
NOTE_MAX = 4000
NAME_MAX = 128  # an assignee, as API key names
EDITABLE = ("title", "narrative", "priority", "due_at", "assignee")
CLEARABLE = ("due_at", "assignee")


def checked(fields: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` (any of EDITABLE), validated; None clears a CLEARABLE one."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in EDITABLE:
            raise UserError(f"{name}: not a field of a case that can be changed")
        if value is None:
            if name not in CLEARABLE:
                raise UserError(f"{name}: cannot be empty")
            out[name] = None
        elif name == "title":
            out[name] = text_field(name, value, TITLE_MAX, 1)
        elif name == "narrative":
            out[name] = text_field(name, value, NARRATIVE_MAX, 0)
        elif name == "assignee":
            out[name] = text_field(name, value, NAME_MAX, 1)
        elif name == "priority":
            if value not in CASE_PRIORITIES:
                raise UserError(f"priority: unknown priority {value!r}; one of "
                                f"{', '.join(CASE_PRIORITIES)}")
            out[name] = value
        else:  # due_at
            if not isinstance(value, datetime):
                raise UserError("due_at: must be a date or a time")
            out[name] = as_utc(value).astimezone(UTC)
    return out


def text_field(name: str, value: str, most: int, least: int) -> str:
    """`value` stripped, if it has `least` to `most` characters and no NUL (Postgres
    refuses those)."""
    value = value.strip()
    if "\x00" in value:
        raise UserError(f"{name}: must not contain NUL characters")
    if not least <= len(value) <= most:
        bounds = f"{least}-{most}" if least else f"at most {most}"
        raise UserError(f"{name}: must be {bounds} characters, got {len(value)}")
    return value


def snapshot(case: Case, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The case's fields (or `names` of them) as its audit rows record them (JSON)."""
    fields = {"title": case.title, "narrative": case.narrative, "priority": case.priority,
              "due_at": iso(case.due_at), "assignee": case.assignee, "status": case.status,
              "outcome": case.outcome, "proposed_outcome": case.proposed_outcome,
              "proposed_by": case.proposed_by, "approved_by": case.approved_by,
              "closed_at": iso(case.closed_at)}
    return fields if names is None else {name: fields[name] for name in names}
