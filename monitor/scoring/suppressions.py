"""Suppressions: teach the monitor what is noise, for a while, with a trail.

A suppression names an address, a rule (None: every rule) and a token (None: every
token) until a moment. While it holds, the address's reasons of that rule are still
computed and stored, marked `"suppressed": {"id", "until"}`, but the address's risk (the
score row's `risk_score`, which the flagged set, alerts and reports read) is fused
without them, and no new alert is raised for them. Sanctions are never suppressible: a
`watchlist_exposure` reason that comes from a sanctioned list is never marked, and a
suppression that would cover one is refused when that is known at creation.

Creating or removing one writes, in the caller's transaction, an audit row and amends the
score row of each (token, address) whose marks change (monitor.scoring.scores.amend), so
the flagged set follows at once.
Scoring runs apply the suppressions in force (`Active`) to every row they write, and
queue for re-scoring the addresses whose rows still carry the mark of an expired one
(`queue_expired`), so expiry needs nobody. Functions never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Suppression, Token, Transfer
from monitor import audit
from monitor.addresses import checksum, parse_address
from monitor.db import SCORING_LOCKS, as_utc, lock_for_transaction
from monitor.errors import Conflict, NotFound, UserError
from monitor.scoring import queue, scores
from monitor.scoring.config import RULE_IDS
from monitor.scoring.evaluate import Scored
from monitor.scoring.risk import Reason, fuse
from monitor.timefmt import iso
from monitor.tokens import find_token
from monitor.watchlist.service import listed_addresses

EXPOSURE = "watchlist_exposure"
SANCTIONED = "sanctioned"
MARK = "suppressed"  # the key of a suppressed reason's mark
REASON_MAX = 4000
ACTOR_MAX = 128
CAUSE = "suppression"  # the stand-in run of a re-marking, and the re-score queue's reason


def add(session: Session, *, address: str, until: datetime, reason: str, actor: str,
        weights: dict[str, float], rule: str | None = None, token: str | None = None,
        now: datetime | None = None) -> tuple[Suppression, int]:
    """Suppress (address, rule) on `token` (None: every token) until `until`; the
    suppression and how many score rows it re-marked. Every input is checked here, and a
    message names its field."""
    now = now or datetime.now(UTC)
    try:
        address = parse_address(address)
    except ValueError as exc:
        raise UserError(f"address: {exc}") from None
    if rule is not None and rule not in RULE_IDS:
        raise UserError(f"rule: unknown rule id {rule!r} (one of {', '.join(RULE_IDS)})")
    token_id = None
    if token is not None:
        try:
            token_id = find_token(session, parse_address(token)).id
        except ValueError as exc:
            raise UserError(f"token: {exc}") from None
    suppression = Suppression(address=address, rule=rule, token_id=token_id,
                              until=_future(until, now), reason=_text("reason", reason, REASON_MAX),
                              created_by=_text("actor", actor, ACTOR_MAX), created_at=now)
    _refuse_sanctions(session, suppression)
    session.add(suppression)
    session.flush()
    audit.record(session, suppression.created_by, "suppression.add", "suppression",
                 suppression.id, after=_snapshot(suppression))
    return suppression, len(_remark(session, suppression, weights, now))


def remove(session: Session, suppression_id: int, *, actor: str, weights: dict[str, float],
           now: datetime | None = None) -> tuple[Suppression, int]:
    """End a suppression now; it and how many score rows it re-marked. The addresses it
    hid are queued for re-scoring, whose run raises their alerts again."""
    now = now or datetime.now(UTC)
    actor = _text("actor", actor, ACTOR_MAX)
    suppression = session.get(Suppression, suppression_id, with_for_update=True)
    if suppression is None:
        raise NotFound(f"suppression {suppression_id} not found")
    if suppression.removed_at is not None:
        raise Conflict(f"suppression {suppression_id} was already removed by "
                       f"{suppression.removed_by} at {iso(suppression.removed_at)}")
    before = _snapshot(suppression)
    suppression.removed_at, suppression.removed_by = now, actor
    session.flush()
    audit.record(session, actor, "suppression.remove", "suppression", suppression.id,
                 before=before, after=_snapshot(suppression))
    touched = _remark(session, suppression, weights, now)
    queue.mark(session, {(token_id, suppression.address) for token_id in touched},
               CAUSE)
    return suppression, len(touched)


def list_suppressions(session: Session, *, include_all: bool = False,
                      address: str | None = None, before_id: int | None = None,
                      limit: int = 100, now: datetime | None = None) -> list[Suppression]:
    """Newest first: those in force, or with `include_all` the expired and removed ones
    too; page with `before_id` = the last id of the previous page."""
    query = select(Suppression).order_by(Suppression.id.desc()).limit(max(1, limit))
    if not include_all:
        query = query.where(*_in_force(now or datetime.now(UTC)))
    if address is not None:
        query = query.where(Suppression.address == address)
    if before_id is not None:
        query = query.where(Suppression.id < before_id)
    return list(session.scalars(query))


def views(session: Session, suppressions: Iterable[Suppression],
          now: datetime | None = None) -> list[dict[str, Any]]:
    """As the CLI and the API show them: checksummed addresses, ISO times, a status."""
    now = now or datetime.now(UTC)
    tokens = {t.id: t for t in session.scalars(select(Token))}
    out = []
    for s in suppressions:
        token = tokens.get(s.token_id) if s.token_id is not None else None
        status = ("removed" if s.removed_at is not None
                  else "active" if as_utc(s.until) > now else "expired")
        out.append({
            "id": s.id, "status": status, "address": checksum(s.address), "rule": s.rule,
            "token": checksum(token.address) if token else None,
            "chain_id": token.chain_id if token else None, "until": iso(s.until),
            "reason": s.reason, "created_by": s.created_by, "created_at": iso(s.created_at),
            "removed_by": s.removed_by, "removed_at": iso(s.removed_at)})
    return out


class Active:
    """The suppressions in force for one token at `now` (of `addresses` only, when given),
    applied to score rows as they are written."""

    def __init__(self, session: Session, token_id: int, weights: dict[str, float],
                 now: datetime | None = None, addresses: list[str] | None = None) -> None:
        query = select(Suppression).where(
            or_(Suppression.token_id == token_id, Suppression.token_id.is_(None)),
            *_in_force(now or datetime.now(UTC))).order_by(Suppression.id)
        if addresses is not None:
            query = query.where(Suppression.address.in_(addresses))
        self._held: dict[str, list[Suppression]] = {}
        for suppression in session.scalars(query):
            self._held.setdefault(suppression.address, []).append(suppression)
        self._session, self._token_id, self._weights = session, token_id, weights

    def apply(self, address: str, risk: int,
              reasons: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
        """`reasons` (as stored) marked by the suppressions in force, and the risk fused
        without the marked ones; `risk` as given when no reason is or was marked."""
        held = self._held.get(address, [])
        if not held and not any(MARK in r for r in reasons):
            return risk, reasons
        marked, kept = [], []
        for reason in reasons:
            reason = {k: v for k, v in reason.items() if k != MARK}
            cover = self._cover(held, address, reason)
            if cover is None:
                kept.append(reason)
            else:
                reason[MARK] = {"id": cover.id, "until": iso(cover.until)}
            marked.append(reason)
        fused, _ = fuse([Reason(r["rule"], r["score"], r["detail"], r["evidence"],
                                cap=r.get("cap")) for r in kept], self._weights)
        return fused, marked

    def unflagged(self, scored: Scored, min_risk: float) -> int:
        """How many of a run's flagged addresses are flagged only by suppressed reasons."""
        if not self._held:
            return 0
        count = 0
        for index, name in enumerate(scored.flows.addresses):
            risk = scored.risk.get(index) if name in self._held else None
            if risk is not None and risk >= min_risk:
                after, _ = self.apply(name, risk, [r.as_dict() for r in scored.reasons[index]])
                count += after < min_risk
        return count

    def _cover(self, held: list[Suppression], address: str,
               reason: dict[str, Any]) -> Suppression | None:
        """The suppression hiding `reason` (the one that holds longest), if any may."""
        covering = [s for s in held if s.rule in (None, reason["rule"])]
        if not covering or sanctioned_source(self._session, self._token_id, address, reason):
            return None
        return max(covering, key=lambda s: (as_utc(s.until), s.id))


def marks_changed(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> bool:
    """Whether two reason lists differ in what is suppressed: always a new score row,
    however little the scores moved."""
    return _marks(before) != _marks(after)


def queue_expired(session: Session, token_id: int, now: datetime) -> None:
    """Queue for re-scoring the token's addresses whose current score row still carries
    the mark of a suppression no longer in force (it expired), so the run starting now
    writes their rows unmarked and raises their alerts again. Suppressions are made by
    hand: their addresses are few, and only those rows are read."""
    ended = {suppression_id: address for suppression_id, address in session.execute(
        select(Suppression.id, Suppression.address).where(
            or_(Suppression.token_id == token_id, Suppression.token_id.is_(None)),
            or_(Suppression.until <= now, Suppression.removed_at.is_not(None))))}
    if not ended:
        return
    rows = scores.current_scores(session, token_id, sorted(set(ended.values())))
    stale = {address for address, row in rows.items()
             if any(mark["id"] in ended for mark in _marks(row.reasons).values())}
    queue.mark(session, {(token_id, address) for address in stale}, CAUSE)


def sanctioned_source(session: Session, token_id: int, address: str,
                      reason: dict[str, Any]) -> str | None:
    """The sanctioned list a `watchlist_exposure` reason comes from, else None.

    Sanctioned when the address itself, the listed address the reason leads to (`listed`)
    or a party to one of its evidence transfers is on a sanctioned list now, or when the
    reason's list was in the sanctioned category when it was written (`category`; the list
    may have changed since). A reason written before reasons carried their category counts
    as sanctioned until a run writes it again: every doubt falls on the side of never
    hiding a sanction."""
    if reason.get("rule") != EXPOSURE:
        return None
    parties = {address}
    if reason.get("listed"):
        parties.add(str(reason["listed"]).lower())
    evidence = [str(tx) for tx in reason.get("evidence") or []]
    if evidence:
        # The hash index on tx_hash serves the lookup.
        for sender, receiver in session.execute(
                select(Transfer.from_address, Transfer.to_address).where(
                    Transfer.tx_hash.in_(evidence), Transfer.token_id == token_id)):
            parties.update((sender, receiver))
    listed = listed_addresses(session, [SANCTIONED], parties)
    if listed:
        return min(entry.list_name for entries in listed.values() for entry in entries)
    if reason.get("category", SANCTIONED) == SANCTIONED:
        return str(reason.get("list") or "a sanctioned list")
    return None


def _refuse_sanctions(session: Session, suppression: Suppression) -> None:
    """Refuse a suppression of watchlist_exposure (or of every rule) for an address whose
    exposure comes from a sanctioned list, as far as its current score rows tell."""
    if suppression.rule not in (None, EXPOSURE):
        return
    address = suppression.address
    listed = listed_addresses(session, [SANCTIONED], [address])
    source = min((e.list_name for e in listed.get(address, [])), default=None)
    for token_id, row in scores.rows_of(session, address, suppression.token_id):
        for reason in row.reasons:
            source = source or sanctioned_source(session, token_id, address, reason)
    if source is not None:
        hint = "" if suppression.rule else "; name the rules to suppress instead"
        raise Conflict(f"rule: {checksum(address)}'s watchlist_exposure comes from the "
                       f"sanctioned list {source}, and sanctions cannot be suppressed{hint}")


def _remark(session: Session, suppression: Suppression, weights: dict[str, float],
            now: datetime) -> list[int]:
    """Amend the score row of each token of the suppression where the address's current
    row is marked otherwise than the suppressions in force now make it; the tokens
    amended. Holds each token's scoring lock, as runs do, so a run never writes over a
    re-marking it did not see."""
    written = []
    for token_id, _ in scores.rows_of(session, suppression.address, suppression.token_id):
        lock_for_transaction(session, SCORING_LOCKS, token_id)
        # Read again under the lock: a run that held it may have written a newer row.
        [(_, row)] = scores.rows_of(session, suppression.address, token_id)
        risk, reasons = Active(session, token_id, weights, now,
                               [suppression.address]).apply(row.address, row.risk_score,
                                                            row.reasons)
        if risk == row.risk_score and reasons == row.reasons:
            continue
        scores.amend(session, row, risk, reasons, CAUSE, {"suppression_id": suppression.id},
                     now)
        written.append(token_id)
    return written


def _in_force(now: datetime) -> tuple[Any, ...]:
    return Suppression.removed_at.is_(None), Suppression.until > now


def _marks(reasons: list[dict[str, Any]]) -> dict[str, Any]:
    return {r["rule"]: r[MARK] for r in reasons if MARK in r}


def _future(until: datetime, now: datetime) -> datetime:
    until = as_utc(until)  # naive means UTC
    if until <= now:
        raise UserError(f"until: {iso(until)} is not in the future")
    return until


def _text(field: str, value: str, most: int) -> str:
    value = value.strip()
    if not value:
        raise UserError(f"{field}: required" + ("; say why this is noise"
                                                if field == "reason" else ""))
    if len(value) > most or "\x00" in value:
        raise UserError(f"{field}: at most {most} characters, and no NUL characters")
    return value


def _snapshot(suppression: Suppression) -> dict[str, Any]:
    """The suppression's fields as its audit rows record them."""
    return {"address": suppression.address, "rule": suppression.rule,
            "token_id": suppression.token_id, "until": iso(suppression.until),
            "reason": suppression.reason, "created_by": suppression.created_by,
            "removed_at": iso(suppression.removed_at), "removed_by": suppression.removed_by}
