"""Request bodies and responses of /api/v1/suppressions (the shared types are
monitor.api.schemas')."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from monitor.api.schemas import Address, Out, Strict, Text, Timestamp
from monitor.scoring.config import RULE_IDS
from monitor.scoring.suppressions import REASON_MAX

# Validated (and listed in the OpenAPI document) as a Literal of the rule ids, built at
# import time from the one list; a type checker sees the string it is.
if TYPE_CHECKING:
    RuleName = str
else:
    RuleName = Literal[RULE_IDS]


class SuppressionCreate(Strict):
    """Suppress an address for one rule (or every rule but sanctions exposure), on one
    token (or every token), until a moment in the future."""

    address: Address
    rule: RuleName | None = Field(None, description="A rule id; null: every rule (never a "
                                                    "watchlist_exposure from a sanctioned list)")
    token: Address | None = Field(None, description="Token contract; null: every token")
    until: Timestamp = Field(description="ISO-8601 date (midnight UTC) or date-time, in the "
                                         "future; UTC when no offset")
    reason: Annotated[str, Text(REASON_MAX, 1)] = Field(
        description="Why this is noise, for the audit trail")


class SuppressionOut(Out):
    id: int
    status: Literal["active", "expired", "removed"]
    address: str = Field(description="EIP-55 checksummed")
    rule: str | None = Field(description="null: every rule")
    token: str | None = Field(description="null: every token")
    chain_id: int | None
    until: str | None
    reason: str
    created_by: str
    created_at: str | None
    removed_by: str | None
    removed_at: str | None


class SuppressionChanged(SuppressionOut):
    rescored: int = Field(description="Score rows written at once (one per token whose "
                                      "current row it re-marked)")


class SuppressionPage(Out):
    items: list[SuppressionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at "
                                                "the end")
