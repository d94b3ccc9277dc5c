"""Request bodies and parameter types. Every string is bounded and free of NUL characters
(Postgres refuses them), every integer fits the column it lands in, so bad input is a
422 with a message instead of a database error."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from monitor.addresses import parse_address
from monitor.settings import MAX_CHAIN_ID
from monitor.tokens import DECIMALS_MAX, NAME_MAX, SYMBOL_MAX

BIGINT = 2**63 - 1


def _printable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _address(value: str) -> str:
    return parse_address(value)  # ValueError -> 422 with the reason


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """A text field's constraints: `Annotated[str, Text(128, 1)]` is 1 to 128 characters,
    none of them NUL (Postgres refuses NUL in text)."""

    max_length: int
    min_length: int = 0

    def __iter__(self) -> Iterator[object]:
        yield StringConstraints(min_length=self.min_length, max_length=self.max_length)
        yield AfterValidator(_printable)


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
Role = Literal["viewer", "investigator", "supervisor", "admin"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertPatch(Strict):
    """Triage: at least one of status, note, assignee."""

    status: Literal["acknowledged", "escalated", "dismissed", "reported"] | None = None
    note: Annotated[str, Text(4000, 1)] | None = None
    assignee: Annotated[str, Text(128, 1)] | None = None
    outcome: Literal["reported", "false_positive", "inconclusive"] | None = Field(
        None, description="When closing: reported (status reported); false_positive "
                          "(the default) or inconclusive (status dismissed)")


class TokenCreate(Strict):
    chain_id: int = Field(ge=1, le=MAX_CHAIN_ID)
    address: Address
    name: Annotated[str, Text(NAME_MAX)] | None = None
    symbol: Annotated[str, Text(SYMBOL_MAX)] | None = None
    decimals: int | None = Field(None, ge=0, le=DECIMALS_MAX)
    standard: Literal["erc20", "erc1155", "erc3643"] = "erc20"
    start_block: int = Field(0, ge=0, le=BIGINT)


class KeyCreate(Strict):
    name: Annotated[str, Text(128, 1)]
    role: Role


# -- responses: what the OpenAPI document promises, and what the handlers are held to ----


class Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ErrorOut(Out):
    error: str = Field(description="One line saying what is wrong")


ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut, "description": why} for status, why in (
        (400, "Bad input the schema cannot express"), (401, "No, a wrong or a revoked key"),
        (403, "The key's role is too low"), (404, "Not found"),
        (409, "Conflicts with the current state"),
        (413, "The request body is larger than the endpoint's limit"),
        (422, "Invalid parameters or body"),
        (503, "Database unavailable; retry"),
    )
}


class ChainStateOut(Out):
    chain_id: int | None
    name: str
    cursor_block: int | None = Field(description="Last block ingested (null: none yet)")
    head_block: int | None = Field(description="The node's head as last seen (null: unknown)")
    lag_blocks: int | None = Field(description="head_block - cursor_block")
    status: Literal["ok", "lagging", "down"] = Field(
        description="down: the chain's last poll failed (nodes unreachable); lagging: more "
        "than 100 blocks behind the safe head")


class ReadyOut(Out):
    status: Literal["ready", "unavailable"]
    schema_: str | None = Field(None, alias="schema", description="Migration revision")
    reason: Literal["database unreachable", "database schema not at head",
                    "replica unreachable", "replica schema not at head"] | None = Field(
        None, description="Why not ready (the details are in the server's log)")
    chains: list[ChainStateOut] = Field(
        default_factory=list,
        description="The chains this process follows (`amlmon run`; none for `amlmon api`). "
        "A chain that is down or lagging does not make the API unready")


class TokenOut(Out):
    id: int
    chain_id: int
    address: str = Field(description="EIP-55 checksummed")
    name: str | None
    symbol: str | None
    decimals: int
    standard: str
    start_block: int
    synced_block: int | None
    created_at: str | None
    rescreen_pending: bool = Field(description="A watchlist change (or a reorg) waits for "
                                               "the token's next scoring run to screen it "
                                               "again")


class TokenList(Out):
    items: list[TokenOut]


class AlertOut(Out):
    id: int
    status: str
    severity: str
    rule: str
    score: int
    risk_score: int
    chain_id: int
    token: str
    address: str
    detail: str
    evidence: list[str]
    assignee: str | None
    first_seen_at: str | None
    last_seen_at: str | None
    updated_at: str | None


class AlertPage(Out):
    items: list[AlertOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at "
                                                "the end")


class AlertEventOut(Out):
    at: str | None
    actor: str
    kind: str
    from_status: str | None
    to_status: str | None
    note: str | None
    data: dict[str, object]


class AlertDetail(AlertOut):
    score_history: list[dict[str, object]]
    events: list[AlertEventOut] = Field(description="The audit trail, oldest first")


class ReasonOut(Out):
    rule: str
    score: int
    detail: str
    evidence: list[str]
    pattern_id: int | None = Field(None, description="The pattern (network) this finding "
                                   "is a member's view of; see /api/v1/patterns/{id}")
    role: str | None = Field(None, description="The address's role in that pattern")
    list_: str | None = Field(None, alias="list", description="A watchlist finding's list")
    category: str | None = Field(None, description="That list's category when the reason "
                                 "was written (sanctioned, mixer, …)")
    listed: str | None = Field(None, description="The listed address the finding leads to")
    cap: int | None = Field(None, description="The highest risk the address has while this "
                            "reason holds: the trained ranker holding the rules' findings "
                            "below the flag (rule learned_ranker)")
    suppressed: dict[str, Any] | None = Field(
        None, description="{id, until} of the suppression that keeps this reason out of the "
        "risk until then (see /api/v1/suppressions)")


class ScoreItem(Out):
    """One row of the flagged-address report (docs/reports.md)."""

    chain_id: int
    token: str
    symbol: str | None = Field(description="The token's symbol")
    address: str
    risk_score: int
    severity: str
    anomaly_score: float | None
    reasons: list[ReasonOut]
    first_seen: str | None
    last_seen: str | None
    in_count: int
    out_count: int
    in_value: str = Field(description="Exact, scaled by the token's decimals")
    out_value: str
    patterns: list[int] = Field(description="Ids of the active patterns it is a member of")


class FlaggedShare(Out):
    chain_id: int
    token: str
    active_addresses: int = Field(description="As the token's latest score run counted them")
    flagged: int
    flagged_share: float = Field(description="flagged / active_addresses: a sudden rise "
                                 "means a calibration floods")


class FlaggedReport(Out):
    generated_at: str
    min_risk: int
    flagged_share: list[FlaggedShare]
    items: list[ScoreItem]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; "
                                                      "null at the end")


class LabelOut(Out):
    """One source's label of an address (monitor.labels)."""

    id: int
    source: str = Field(description="An import's name, or alert:ID / case:ID for an outcome")
    address: str = Field(description="EIP-55 checksummed")
    chain_id: int | None = Field(description="null: on every chain")
    label: Literal["laundering", "legitimate"]
    confidence: float
    note: str | None
    created_by: str
    created_at: str | None


class ChainToken(Out):
    """A token of the address on one chain: the report item, with `risk`; the score fields
    are null while the token's scoring has not seen the address (active only since the last
    run, or only through a bridge)."""

    chain_id: int
    token: str
    symbol: str | None = Field(description="The token's symbol")
    address: str
    risk: int | None = Field(description="Its risk_score: 0-100, null when not scored yet")
    scored: bool = Field(description="Whether a score row exists for it")
    risk_score: int | None
    severity: str | None
    anomaly_score: float | None
    reasons: list[ReasonOut]
    first_seen: str | None
    last_seen: str | None
    in_count: int | None
    out_count: int | None
    in_value: str | None = Field(description="Exact, scaled by the token's decimals")
    out_value: str | None
    patterns: list[int] = Field(description="Ids of the active patterns it is a member of")


class ChainOut(Out):
    """One chain the address is active on: a score row, a transfer or a bridge transfer
    sent or received there."""

    chain_id: int
    name: str | None = Field(description="As configured; null for a chain not followed")
    tokens: list[ChainToken] = Field(description="Its tokens there, by token id (empty "
                                                 "when only a bridge of an unregistered "
                                                 "token touched it)")


class BridgeTransferOut(Out):
    """One bridge message, linked end to end (monitor.reports.bridges.bridge_item)."""

    protocol: Literal["layerzero-oft", "wormhole-ntt", "cctp-v1", "cctp-v2"]
    message_id: str = Field(description="The protocol's key: OFT guid, NTT digest (0x-hex), "
                                        "CCTP v1 \"<source domain>:<nonce>\", CCTP v2 "
                                        "\"v2:<content hash>#<n>\"")
    status: Literal["pending", "linked", "unmatched"]
    source_chain_id: int | None = Field(description="For a lone receipt: the chain it names "
                                                    "as its source, when registered")
    source_token: str | None = Field(description="The registered token sent; null when "
                                                 "not registered (amounts in base units)")
    source_tx_hash: str | None
    sender: str | None
    destination_chain_id: int | None = Field(description="For a lone send: the chain it is "
                                                         "headed to, when registered")
    destination_token: str | None = Field(description="The registered token received; null "
                                                      "when not registered or not known yet")
    destination_tx_hash: str | None
    recipient: str | None = Field(description="For a lone send, the recipient it names when "
                                              "the protocol's event does (NTT, CCTP)")
    amount_sent: str | None = Field(description="Exact, scaled by the source token's "
                                                "decimals (base units when it is null)")
    amount_received: str | None = Field(description="Exact: the receipt's amount scaled by "
                                        "the destination token's decimals, or while it is "
                                        "not stored what the send says will arrive, scaled "
                                        "by the source token's (base units when that token "
                                        "is null)")
    symbol: str | None = Field(description="The token's symbol (the source's, else the "
                                           "destination's)")
    sent_at: str | None
    received_at: str | None


class AddressReport(Out):
    generated_at: str
    address: str
    labels: list[LabelOut] = Field(description="Its labels, newest first; a label never "
                                               "flags an address")
    tokens: list[ScoreItem] = Field(description="Every scored token, by token id")
    chains: list[ChainOut] = Field(description="Every chain the address is active on, by "
                                               "chain id")
    bridge_transfers: list[BridgeTransferOut] = Field(
        description="Bridge transfers it sent or received, newest first (at most 1,000)")
    bridge_transfer_count: int = Field(description="How many bridge transfers in all")


class CounterpartyOut(Out):
    address: str
    label: str | None
    received_from: str
    sent_to: str
    transfers: int
    weight: float = Field(description="Approximate value, only to size pictures")


class TimelineTransfer(Out):
    tx_hash: str
    block_number: int
    block_time: str | None
    from_: str = Field(alias="from")
    to: str
    direction: Literal["in", "out"]
    amount: str


class MemberOf(Out):
    id: int = Field(description="Pattern id: /api/v1/patterns/{id}")
    typology: str
    title: str
    score: int
    role: str = Field(description="The address's role in it")


class ProfileToken(Out):
    token: str
    symbol: str | None
    chain_id: int
    score: ScoreItem | None
    patterns: list[MemberOf] = Field(description="Active patterns it is a member of")
    counterparties: list[CounterpartyOut]
    counterparty_count: int
    transfers: list[TimelineTransfer]
    transfer_count: int


class AddressProfile(Out):
    generated_at: str
    address: str
    labels: list[LabelOut] = Field(description="Its labels, newest first; a label never "
                                               "flags an address")
    tokens: list[ProfileToken]
    chains: list[ChainOut] = Field(description="Every chain the address is active on, by "
                                               "chain id")
    bridge_transfers: list[BridgeTransferOut] = Field(
        description="Bridge transfers it sent or received, newest first (at most 1,000)")
    bridge_transfer_count: int = Field(description="How many bridge transfers in all")


class KeyOut(Out):
    name: str
    role: str
    prefix: str
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class KeyCreated(KeyOut):
    key: str = Field(description="Shown once; only a salted hash is stored")


class KeyList(Out):
    items: list[KeyOut]


class WatchlistOut(Out):
    name: str
    category: str
    entries: int
    source: str | None
    updated_at: str | None
    last_added: int
    last_removed: int


class WatchlistList(Out):
    items: list[WatchlistOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at "
                                                "the end")


class RescreenQueued(Out):
    tokens: int = Field(description="Tokens marked for re-screening")
    status: str = Field(description="Where to watch it: each token's `rescreen_pending`")


class WatchlistImported(Out):
    name: str
    format: str
    entries: int
    added: int
    removed: int
    changed: int
    warnings: list[str]
    rescreen: RescreenQueued | None = Field(None, description="Present when the change queued "
                                                              "a re-screen (status 202)")


class PatternSummary(Out):
    """A laundering network as lists show it."""

    id: int
    chain_id: int
    token: str
    symbol: str | None = Field(description="The token's symbol")
    typology: str = Field(description="The rule id of the graph typology that found it")
    status: Literal["active", "retired"]
    score: int
    title: str = Field(description="The pattern in one sentence, with its numbers")
    anchor: str = Field(description="Its hub, source, first hop or lowest member")
    member_count: int
    transfer_count: int
    total_value: str = Field(description="Exact sum of its transfers, scaled by decimals")
    first_seen: str | None
    last_seen: str | None
    first_block: int
    last_block: int


class PatternList(Out):
    items: list[PatternSummary]
    next_cursor: int | None = Field(None, description="Pass as `cursor` for the next page")


class PatternMemberOut(Out):
    address: str
    role: str
    role_score: int = Field(description="What the role earns it: the pattern's score times "
                            "the role's weight")
    risk_score: int = Field(description="Its current fused risk on the token")
    severity: str


class PatternTransferOut(Out):
    block_number: int
    log_index: int
    sub_index: int
    block_time: str | None
    tx_hash: str
    from_: str = Field(alias="from")
    to: str
    amount: str = Field(description="Exact, scaled by the token's decimals")


class PatternReport(PatternSummary):
    generated_at: str
    members: list[PatternMemberOut]
    transfers: list[PatternTransferOut]
    transfers_truncated: bool
