"""Linked bridge transfers as edges of a token's graph, and what chain_hopping reads of them.

A bridged asset is one token per chain: a send burns on the source chain (a Transfer to
the zero address beside the protocol's send event), the receipt mints on the destination
chain (a Transfer from the zero address). Once the two sides are linked
(`bridge_transfers.status = 'linked'`), scoring rewrites the burn row as an edge from the
sender to the recipient, and the mint row as an edge from the sender to the recipient: a
peel chain, a pass-through or a fan-in that carries on across the bridge keeps its edge,
and a bridge receipt is not an issuer's mint (mint_then_dispersal, share_from_mints).

Each rewritten row carries its `Leg`: both sides' chains, tokens, tx hashes, amounts and
times, and the facts chain_hopping needs from the *other* token, read here from the
database so that each token's run judges a pattern by the same facts: the legs the
recipient bridged on within the window (`onward`), the legs that brought the sender its
funds within the window (`previous`), and what a recipient other than the sender paid out
on its chain within the window (`spread`).

A self-bridge (the same address on both sides: an owner moving its balance between
chains) hands nothing over: its rows stay a burn and a mint, so that no self-loop looks
like a receipt passed straight on, and carry their leg all the same (chain_hopping reads
it; mint_then_dispersal skips bridge receipts).

A burn or mint row is matched to its bridge transfer by block and tx hash, the sender as
the burner (the recipient as the minted-to address), preferring the row whose amount is
the bridged amount, then the nearest log index at or before the protocol event's. Sends
that lock in an adapter or pass through a messenger contract (OFT adapters, CCTP's
TokenMessenger) have no such row and stay as stored.

Amounts stay exact integers here; only the rewritten rows' float amounts (already in
Flows) enter the numpy arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models import BridgeTransfer, Token, Transfer
from monitor.addresses import ZERO
from monitor.db import as_utc
from monitor.scoring.config import ChainHopping
from monitor.scoring.flows import Flows
from monitor.scoring.legs import Leg, Spread, match

_CHUNK = 1000


@dataclass
class Plan:
    """Changes to rows a cached Flows holds: (row, new sender, new receiver, leg or None),
    the addresses whose findings they can change, and (token, address) pairs of other
    tokens whose view of a leg is now stale."""

    rows: list[tuple[int, str, str, Leg | None]] = field(default_factory=list)
    legs: list[tuple[int, Leg]] = field(default_factory=list)  # leg index -> refreshed facts
    seeds: set[str] = field(default_factory=set)
    stale: set[tuple[int, str]] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.rows or self.legs)


def _linked() -> Any:
    return select(BridgeTransfer).where(BridgeTransfer.status == "linked")


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


def _seconds(when: Any) -> int:
    return int(as_utc(when).timestamp())


def _complete(row: BridgeTransfer) -> bool:
    return None not in (row.sender, row.recipient, row.source_chain_id,
                        row.destination_chain_id, row.source_token_id,
                        row.destination_token_id, row.source_block, row.source_tx_hash,
                        row.destination_block, row.destination_tx_hash, row.amount_sent,
                        row.amount_received, row.sent_at, row.received_at)


class _Reader:
    """Reads legs and their cross-token facts, with the tokens' decimals."""

    def __init__(self, session: Session, params: ChainHopping) -> None:
        self.session, self.window, self.fresh = session, params.window_seconds, params.fresh_seconds
        self._decimals: dict[int, int] = {}

    def decimals(self, token_ids: Iterable[int]) -> dict[int, int]:
        missing = set(token_ids) - set(self._decimals)
        if missing:
            self._decimals.update((int(i), int(d)) for i, d in self.session.execute(
                select(Token.id, Token.decimals).where(Token.id.in_(missing))))
        return self._decimals

    def legs(self, rows: Sequence[BridgeTransfer]) -> list[Leg]:
        rows = [r for r in rows if _complete(r)]
        decimals = self.decimals({int(t) for r in rows
                                  for t in (r.source_token_id, r.destination_token_id)
                                  if t is not None})
        return [Leg(
            id=r.id, protocol=r.protocol, message_id=r.message_id, sender=str(r.sender).lower(),
            recipient=str(r.recipient).lower(), source_chain=int(r.source_chain_id or 0),
            destination_chain=int(r.destination_chain_id or 0),
            source_token=int(r.source_token_id or 0),
            destination_token=int(r.destination_token_id or 0),
            source_block=int(r.source_block or 0), source_log=int(r.source_log_index or 0),
            source_tx=str(r.source_tx_hash), destination_block=int(r.destination_block or 0),
            destination_log=int(r.destination_log_index or 0),
            destination_tx=str(r.destination_tx_hash), amount_sent=int(r.amount_sent or 0),
            amount_received=int(r.amount_received or 0), sent_at=_seconds(r.sent_at),
            received_at=_seconds(r.received_at),
            source_decimals=decimals.get(int(r.source_token_id or 0), 0),
            destination_decimals=decimals.get(int(r.destination_token_id or 0), 0),
        ) for r in rows]

    def _out_of(self, addresses: Iterable[str], after: int, until: int) -> dict[str, list[Leg]]:
        """Linked legs sent by `addresses` between the two times, by sender (bounded by
        time, so that a busy bridger's whole history is not read for each of its legs)."""
        found: dict[str, list[Leg]] = {}
        for chunk in _chunks(addresses):
            for other in self.legs(self.session.scalars(_linked().where(
                    BridgeTransfer.sender.in_(chunk),
                    BridgeTransfer.sent_at >= as_datetime(after),
                    BridgeTransfer.sent_at <= as_datetime(until))).all()):
                found.setdefault(other.sender, []).append(other)
        return found

    def _into(self, addresses: Iterable[str], after: int, until: int) -> dict[str, list[Leg]]:
        """Linked legs received by `addresses` between the two times, by recipient."""
        found: dict[str, list[Leg]] = {}
        for chunk in _chunks(addresses):
            for other in self.legs(self.session.scalars(_linked().where(
                    BridgeTransfer.recipient.in_(chunk),
                    BridgeTransfer.received_at >= as_datetime(after),
                    BridgeTransfer.received_at <= as_datetime(until))).all()):
                found.setdefault(other.recipient, []).append(other)
        return found

    def with_facts(self, legs: list[Leg]) -> list[Leg]:
        """`legs` with their onward and previous legs and their recipients' spread. The
        onward legs carry how many legs brought their sender funds within the window, the
        previous legs how many their recipient bridged on: every token judges a pair of
        legs by the same counts."""
        if not legs:
            return legs
        w = self.window
        got = [leg.received_at for leg in legs]
        sent = [leg.sent_at for leg in legs]
        by_sender = self._out_of({leg.recipient for leg in legs}, min(got), max(got) + w)
        by_recipient = self._into({leg.sender for leg in legs}, min(sent) - w, max(sent))
        # For the counts of the onward legs (received by these recipients before sending)
        # and of the previous legs (sent on by these senders after receiving).
        into_recipients = self._into({leg.recipient for leg in legs}, min(got) - w,
                                     max(got) + w)
        out_of_senders = self._out_of({leg.sender for leg in legs}, min(sent) - w,
                                      max(sent) + w)
        spreads = self._spreads([leg for leg in legs if leg.recipient != leg.sender])
        out = []
        for leg in legs:
            onward = [o for o in by_sender.get(leg.recipient, ()) if _follows(leg, o, w)]
            previous = [o for o in by_recipient.get(leg.sender, ()) if _follows(o, leg, w)]
            onward_legs = tuple(sorted(
                (replace(o.bare(), n_previous=sum(
                    _follows(i, o, w) for i in into_recipients.get(o.sender, ())))
                 for o in onward), key=lambda o: (o.sent_at, o.id)))
            previous_legs = tuple(sorted(
                (replace(o.bare(), n_onward=sum(
                    _follows(o, n, w) for n in out_of_senders.get(o.recipient, ())))
                 for o in previous), key=lambda o: (o.sent_at, o.id)))
            out.append(replace(leg, onward=onward_legs, previous=previous_legs,
                               n_onward=len(onward), n_previous=len(previous),
                               spread=spreads.get(leg.id)))
        return out

    def _spreads(self, legs: list[Leg]) -> dict[int, Spread]:
        """Per leg: what its recipient paid on the destination token within the window
        after the receipt (burns excluded: bridging on is an onward leg)."""
        found: dict[int, Spread] = {}
        by_token: dict[int, list[Leg]] = {}
        for leg in legs:
            by_token.setdefault(leg.destination_token, []).append(leg)
        for token_id, group in by_token.items():
            start = min(leg.received_at for leg in group)
            end = max(leg.received_at for leg in group) + self.window
            paid: dict[str, list[tuple[int, int, int, str, int]]] = {}
            for chunk in _chunks(leg.recipient for leg in group):
                result = self.session.execute(
                    select(Transfer.from_address, Transfer.block_time, Transfer.block_number,
                           Transfer.log_index, Transfer.sub_index, Transfer.to_address,
                           Transfer.amount)
                    .where(Transfer.token_id == token_id, Transfer.from_address.in_(chunk),
                           Transfer.to_address != ZERO,
                           Transfer.block_time >= as_datetime(start),
                           Transfer.block_time <= as_datetime(end)))
                for sender, when, block, log, sub, to, amount in result:
                    paid.setdefault(sender, []).append(
                        (_seconds(when), int(block), (int(log) << 16) | int(sub), to,
                         int(amount)))
            for leg in group:
                after = (leg.destination_block, leg.destination_log << 16)
                made = sorted(r for r in paid.get(leg.recipient, ())
                              if (r[1], r[2]) > after
                              and leg.received_at <= r[0] <= leg.received_at + self.window)
                if not made:
                    continue
                found[leg.id] = Spread(
                    settled=self._settled(token_id, leg.recipient,
                                          leg.received_at - self.fresh),
                    recipients=tuple(sorted({r[3] for r in made})),
                    amount=sum(r[4] for r in made), last=max(r[0] for r in made),
                    positions=tuple(sorted((r[1], r[2]) for r in made)))
        return found


    def _settled(self, token_id: int, address: str, before: int) -> bool:
        """Whether `address` moved the token before `before` (one row is enough: an
        exchange's history is not read)."""
        cutoff = as_datetime(before)
        return any(self.session.scalar(
            select(Transfer.block_number).where(Transfer.token_id == token_id, column == address,
                                                Transfer.block_time < cutoff).limit(1))
                   is not None for column in (Transfer.to_address, Transfer.from_address))


def _follows(first: Leg, second: Leg, window: int) -> bool:
    """Whether `second` bridges on what `first` brought: sent by its recipient on the token
    it arrived on, within `window` seconds after the receipt."""
    return (second.id != first.id and second.sender == first.recipient
            and second.source_token == first.destination_token
            and first.received_at <= second.sent_at <= first.received_at + window)


def as_datetime(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def token_legs(session: Session, token_id: int, params: ChainHopping) -> list[Leg]:
    """Every linked bridge transfer with a side on `token_id`, with its facts (a full run:
    the whole history is read anyway)."""
    reader = _Reader(session, params)
    rows = session.scalars(_linked().where(or_(BridgeTransfer.source_token_id == token_id,
                                               BridgeTransfer.destination_token_id == token_id))
                           .order_by(BridgeTransfer.id)).all()
    return reader.with_facts(reader.legs(rows))


def refresh(session: Session, flows: Flows, marked: Iterable[str], old_n: int,
            params: ChainHopping, changed_since: datetime | None = None) -> Plan:
    """What the cached `flows` (grown from `old_n` rows) must change for the links of the
    `marked` addresses (queued by monitor.scoring.queue.mark_bridge_link at or after
    `changed_since`) and of the addresses in the new rows: rows linked or unlinked since
    they were read, legs whose facts changed, and other tokens whose view is stale.

    Reads only those addresses' bridge transfers, and of those only the ones changed
    since the marks (`updated_at`) or received within two windows of the newest row (the
    legs whose facts a neighbouring link can change; a link older than that reaches them
    at the next full run); the new rows' addresses' within two windows of those rows.
    Never the token's bridge history, nor a busy bridger's."""
    token_id = flows.token_id
    window = params.window_seconds
    marked = {a for a in marked if a != ZERO}
    new_ends = np.concatenate((flows.src[old_n:], flows.dst[old_n:]))
    fresh = {str(a) for a in flows.addresses[np.unique(new_ends)]} - {ZERO}
    since = int(flows.t[old_n:].min()) - 2 * window if flows.n > old_n else None
    recent = int(flows.t.max()) - 2 * window if flows.n else 0
    plan = Plan()
    if not marked and not fresh:
        return plan
    reader = _Reader(session, params)
    returned: dict[int, BridgeTransfer] = {}  # any status: a row no longer linked unlinks
    for addresses, bound in ((marked, None), (fresh - marked, since)):
        for chunk in _chunks(addresses):
            query = select(BridgeTransfer).where(or_(
                and_(BridgeTransfer.sender.in_(chunk),
                     BridgeTransfer.source_token_id == token_id),
                and_(BridgeTransfer.recipient.in_(chunk),
                     BridgeTransfer.destination_token_id == token_id)))
            if bound is not None:
                query = query.where(BridgeTransfer.status == "linked",
                                    BridgeTransfer.received_at >= as_datetime(bound))
            elif changed_since is not None:
                query = query.where(or_(BridgeTransfer.updated_at >= changed_since,
                                        BridgeTransfer.received_at >= as_datetime(recent)))
            returned.update((r.id, r) for r in session.scalars(query))
    if not returned and not flows.legs:
        return plan  # a token nothing was ever bridged to or from: no row to look at
    # The legs the cached flows hold on the side these addresses play on this token, as
    # far as the reads cover them: what was read and is no longer linked unlinks. A
    # marked address's held legs are also looked up by id when changed since the marks:
    # a reorg may have cleared the side that named this token.
    scope = marked | fresh
    if marked:
        pick = np.fromiter((a in scope for a in flows.addresses), dtype=bool,
                           count=flows.n_addresses)
        touched = np.flatnonzero(pick)
    else:
        touched = np.unique(new_ends)
    held_rows = flows.rows_touching(touched[touched != 0])
    candidates: dict[int, tuple[int, str]] = {}
    for r in held_rows[flows.bridge[held_rows] >= 0].tolist():
        leg = flows.legs[int(flows.bridge[r])]
        candidates[leg.id] = (int(r), leg.sender if leg.source_token == token_id
                              else leg.recipient)
    if changed_since is not None:
        ids = sorted(i for i, (_, local) in candidates.items()
                     if local in marked and i not in returned)
        for start in range(0, len(ids), _CHUNK):
            returned.update((r.id, r) for r in session.scalars(select(BridgeTransfer).where(
                BridgeTransfer.id.in_(ids[start:start + _CHUNK]),
                BridgeTransfer.updated_at >= changed_since)))
    held: dict[int, int] = {}
    for leg_id, (r, local) in candidates.items():
        received = flows.legs[int(flows.bridge[r])].received_at
        if leg_id in returned or (local in marked and (
                changed_since is None or received >= recent)) or (
                local in fresh and since is not None and received >= since):
            held[leg_id] = r
    rows = {i: r for i, r in returned.items() if r.status == "linked"}
    wanted = reader.with_facts(reader.legs(list(rows.values())))
    names = flows.addresses
    by_leg: dict[int, tuple[int, Leg, bool]] = {}
    kept = {leg.id: leg for leg in wanted if leg.id in held}
    unheld = [leg for leg in wanted if leg.id not in held]
    blocks = ([leg.source_block for leg in unheld if leg.source_token == token_id]
              + [leg.destination_block for leg in unheld if leg.destination_token == token_id])
    for row, k, outbound in match(unheld, token_id, flows.block, flows.hash_of(blocks),
                                  lambda r: str(names[flows.src[r]]),
                                  lambda r: str(names[flows.dst[r]]),
                                  lambda r: float(flows.amount[r]) * 10.0 ** flows.decimals,
                                  flows.log, flows.bridge >= 0):
        by_leg[unheld[k].id] = (row, unheld[k], outbound)
    for leg_id, row in held.items():
        leg = flows.legs[int(flows.bridge[row])]
        if leg_id in kept:
            if kept[leg_id] != leg:  # its facts changed (a next leg, a spread)
                plan.legs.append((int(flows.bridge[row]), kept[leg_id]))
                plan.seeds.update(_ends(leg))
            continue
        # Unlinked (a reorg on the other chain): the row is a burn or a mint again.
        outbound = leg.source_token == token_id
        plan.rows.append((row, str(names[flows.src[row]]) if outbound else ZERO,
                          ZERO if outbound else str(names[flows.dst[row]]), None))
        plan.seeds.update(_ends(leg))
    for row, leg, _ in by_leg.values():
        ends = ((leg.sender, leg.recipient) if leg.sender != leg.recipient
                else (str(names[flows.src[row]]), str(names[flows.dst[row]])))
        plan.rows.append((row, *ends, leg))
        plan.seeds.update(_ends(leg))
    # A recipient that acted again may have spread or bridged on: the origin's token sees
    # that through its leg's facts, which it reads again when queued.
    for leg in wanted:
        if leg.destination_token == token_id and leg.recipient in fresh:
            plan.stale.add((leg.source_token, leg.sender))
    return plan


def _ends(leg: Leg) -> tuple[str, str]:
    return leg.sender, leg.recipient


def apply(flows: Flows, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Carry out `plan` on `flows` in place; (seeds, addresses whose own rows changed) as
    address indices. New addresses get the next indices."""
    index: dict[str, int] = {}

    def at(address: str) -> int:
        if address not in index:
            found = np.flatnonzero(flows.addresses == address)
            if found.size:
                index[address] = int(found[0])
            else:
                flows.addresses = np.r_[flows.addresses, np.array([address], dtype=object)]
                index[address] = flows.n_addresses - 1
        return index[address]

    changed: set[int] = set()
    for row, sender, receiver, leg in plan.rows:
        src, dst = at(sender), at(receiver)
        for before, after in ((int(flows.src[row]), src), (int(flows.dst[row]), dst)):
            if before != after:
                changed.update((before, after))
        flows.src[row], flows.dst[row] = src, dst
        if leg is None:
            flows.bridge[row] = -1
        else:
            flows.legs.append(leg)
            flows.bridge[row] = len(flows.legs) - 1
    for k, leg in plan.legs:
        flows.legs[k] = leg
    flows.reindex()
    seeds = {at(a) for a in plan.seeds} | changed
    seeds.discard(0)
    changed.discard(0)
    return (np.array(sorted(seeds), dtype=np.int64), np.array(sorted(changed), dtype=np.int64))
