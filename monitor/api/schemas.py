"""Request bodies and parameter types. Every string is bounded and free of NUL characters
(Postgres refuses them), every integer fits the column it lands in, so bad input is a
422 with a message instead of a database error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from monitor.addresses import parse_address

BIGINT = 2**63 - 1


def _printable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _address(value: str) -> str:
    return parse_address(value)  # ValueError -> 422 with the reason


def text(max_length: int, min_length: int = 0) -> object:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length),
                     AfterValidator(_printable)]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00
        raise ValueError("date is out of range in UTC") from None


Timestamp = Annotated[datetime, AfterValidator(_utc)]  # naive means UTC
Address = Annotated[
    str,
    StringConstraints(pattern=r"^0[xX][0-9a-fA-F]{40}$"),
    AfterValidator(_address),
]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Severity = Literal["low", "medium", "high", "critical"]
Status = Literal["open", "acknowledged", "escalated", "dismissed", "reported", "retracted"]
Role = Literal["viewer", "investigator", "admin"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertPatch(Strict):
    """Triage: at least one of status, note, assignee."""

    status: Literal["acknowledged", "escalated", "dismissed", "reported"] | None = None
    note: text(4000, 1) | None = None  # type: ignore[valid-type]
    assignee: text(128, 1) | None = None  # type: ignore[valid-type]


class TokenCreate(Strict):
    chain_id: int = Field(ge=1, le=BIGINT)
    address: Address
    name: text(128) | None = None  # type: ignore[valid-type]
    symbol: text(32) | None = None  # type: ignore[valid-type]
    decimals: int | None = Field(None, ge=0, le=77)
    standard: Literal["erc20", "erc1155", "erc3643"] = "erc20"
    start_block: int = Field(0, ge=0, le=BIGINT)


class KeyCreate(Strict):
    name: text(128, 1)  # type: ignore[valid-type]
    role: Role
