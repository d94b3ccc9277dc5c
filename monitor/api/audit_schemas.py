"""Responses of /api/v1/audit (the shared types are monitor.api.schemas')."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from monitor.api.schemas import Out


class AuditOut(Out):
    id: int
    at: str | None
    actor: str = Field(description="The API key's name, the CLI user, or amlmon itself")
    action: str = Field(description="e.g. key.create, token.add, watchlist.replace, "
                                    "config.reload, case.update, suppression.add")
    object_type: str
    object_id: str
    before: dict[str, Any] | None = Field(description="The object's recorded fields before "
                                                      "the change; null for a create")
    after: dict[str, Any] | None = Field(description="… and after; null for a delete")
    note: str | None


class AuditPage(Out):
    items: list[AuditOut]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next page; null at "
                                                "the end")
