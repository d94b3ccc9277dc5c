"""Persisting a token's patterns: one row per network, its members and its transfers.

A run writes only what changed: a pattern whose key is new is inserted, one whose
members, transfers, score or sentence changed is rewritten in place (it keeps its id,
so reasons, alerts and links that name it stay valid), one the run no longer finds is
retired. The total value is summed exactly from the stored transfers, never from the
floats scoring computes with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Text, any_, cast, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from models import Pattern as PatternRow
from models import PatternMember, PatternTransfer, Token, Transfer
from monitor.amounts import exact_sum, total
from monitor.db import insert_rows, next_ids
from monitor.scoring.evaluate import Scored
from monitor.scoring.patterns import Pattern

FEW = 1000  # patterns whose totals are summed transfer by transfer (and SQLite's IN chunk)


def sync(session: Session, token: Token, run_id: int, scored: Scored,
         role_weights: dict[str, float]) -> dict[str, int]:
    """Write the state's patterns for `token`; returns key -> id of every active one.

    A long-lived process syncs the same state block after block, where a block changes a
    handful of its 10^4-10^5 patterns (an incremental run replaces only the patterns it
    found again: new objects). So when the stored rows are as this state's last sync left
    them (the largest `last_run_id` of the token's patterns is the one it saw; every write
    sets it, a rolled-back write undoes it, another process's run raises it), only the
    patterns that are not the objects last synced, and the keys no longer held, are read
    and written. Otherwise every stored row is read as (key, id, status, signature) and
    compared. Either way a pattern the state held at the last sync is not signed again."""
    mark = session.scalar(select(func.max(PatternRow.last_run_id))
                          .where(PatternRow.token_id == token.id))
    signed = scored.signed
    synced = scored.synced
    query = select(PatternRow.key, PatternRow.id, PatternRow.status,
                   PatternRow.signature).where(PatternRow.token_id == token.id)
    if synced is not None and synced[0] == mark:
        ids = synced[1]
        # Signed, no longer held: of the keys put or dropped since, if they were tracked.
        dropped = (list(signed.keys() - scored.patterns.keys()) if scored.changed is None
                   else sorted(k for k in scored.changed
                               if k in signed and k not in scored.patterns))
        keys = scored.unsynced() + dropped
        if not keys:
            scored.changed = set()
            return ids
        query = query.where(PatternRow.key == any_(cast(keys, ARRAY(Text)))
                            if session.get_bind().dialect.name == "postgresql"
                            else PatternRow.key.in_(keys))
    else:
        dropped = list(signed.keys() - scored.patterns.keys())
        ids, keys = {}, list(scored.patterns) + dropped
    held = {key: (row_id, status, signature)
            for key, row_id, status, signature in session.execute(query)}
    addresses = scored.flows.addresses
    now = datetime.now(UTC)
    rewritten: list[tuple[int, Pattern]] = []
    fresh: list[tuple[Pattern, str]] = []  # new rows: (pattern, signature)
    gone: set[int] = set()  # ids of active rows to retire
    for key in keys:
        pattern = scored.patterns.get(key)
        found = held.get(key)
        if pattern is None:
            signed.pop(key, None)
            ids.pop(key, None)
            if found is not None and found[1] == "active":
                gone.add(found[0])
            continue
        known = signed.get(key)
        signature = (known[1] if known is not None and known[0] is pattern
                     else _signature(pattern, addresses))
        signed[key] = (pattern, signature)
        if found is not None and found[1] == "active" and found[2] == signature:
            ids[key] = found[0]
            continue
        row = None if found is None else session.get(PatternRow, found[0])
        if row is None:
            fresh.append((pattern, signature))
            continue
        fields = _fields(pattern, addresses, signature, run_id, now)
        for name, value in fields.items():
            setattr(row, name, value)
        session.execute(delete(PatternMember).where(PatternMember.pattern_id == row.id))
        session.execute(delete(PatternTransfer).where(PatternTransfer.pattern_id == row.id))
        ids[key] = row.id
        rewritten.append((row.id, pattern))
    if synced is None or synced[0] != mark:  # stored rows of keys the state never held
        gone.update(row_id for key, (row_id, status, _) in held.items()
                    if status == "active" and key not in scored.patterns)
    if fresh:  # in one go: a first run of a big token has 10^4-10^5 new rows
        def values(ids: list[int] | None = None) -> Iterator[dict[str, Any]]:
            for k, (pattern, signature) in enumerate(fresh):
                yield {**({} if ids is None else {"id": ids[k]}), "token_id": token.id,
                       "key": pattern.key, "first_run_id": run_id, "created_at": now,
                       "total_value": 0,
                       **_fields(pattern, addresses, signature, run_id, now)}

        if session.get_bind().dialect.name == "postgresql":
            made = next_ids(session, PatternRow, len(fresh))
            insert_rows(session, PatternRow, values(made))
        else:
            made = list(session.scalars(insert(PatternRow).returning(
                PatternRow.id, sort_by_parameter_order=True), list(values())))
        for (pattern, _), row_id in zip(fresh, made, strict=True):
            ids[pattern.key] = row_id
            rewritten.append((row_id, pattern))
    if gone:
        session.execute(update(PatternRow).where(PatternRow.id.in_(sorted(gone))).values(
            status="retired", last_run_id=run_id, updated_at=now))
    if rewritten:
        _write_parts(session, rewritten, addresses, role_weights)
        _exact_totals(session, token.id, [pattern_id for pattern_id, _ in rewritten])
    session.flush()
    scored.synced = (run_id if rewritten or gone else mark, ids)
    scored.changed = set()  # from here on, what an incremental run puts and drops
    return ids


def _signature(pattern: Pattern, addresses: Any) -> str:
    members = tuple((str(addresses[a]), role) for a, role in pattern.members.items())
    text = repr((round(pattern.score), pattern.title, members, pattern.positions)
                + ((pattern.foreign,) if pattern.foreign else ()))
    return hashlib.sha256(text.encode()).hexdigest()


def _fields(pattern: Pattern, addresses: Any, signature: str, run_id: int,
            now: datetime) -> dict[str, Any]:
    return {
        "typology": pattern.typology, "status": "active",
        "anchor": str(addresses[pattern.anchor]), "score": round(pattern.score),
        "title": pattern.title, "member_count": len(_members(pattern, addresses)),
        "transfer_count": len(pattern.positions),
        "first_time": datetime.fromtimestamp(pattern.start, UTC),
        "last_time": datetime.fromtimestamp(pattern.end, UTC),
        "first_block": pattern.positions[0][0], "last_block": pattern.positions[-1][0],
        "signature": signature, "last_run_id": run_id, "updated_at": now,
    }


def _write_parts(session: Session, rewritten: list[tuple[int, Pattern]], addresses: Any,
                 role_weights: dict[str, float]) -> None:
    """Each pattern's members and transfers, made as they are written: a first run's are
    10^5-10^6 rows."""
    insert_rows(session, PatternMember, (
        {"pattern_id": pattern_id, "address": address, "role": role, "position": position,
         "score": round(pattern.score * role_weights.get(role, 1.0))}
        for pattern_id, pattern in rewritten
        for position, (address, role) in enumerate(_members(pattern, addresses))))
    insert_rows(session, PatternTransfer, (
        {"pattern_id": pattern_id, "block_number": block, "log_index": log >> 16,
         "sub_index": log & 0xFFFF}
        for pattern_id, pattern in rewritten for block, log in pattern.positions))


def _members(pattern: Pattern, addresses: Any) -> list[tuple[str, str]]:
    """(address, role) of every member, those acting on other tokens included, in the
    order of the roles' first appearance (a chain_hopping origin, hops, destinations)."""
    found = [(str(addresses[a]), role) for a, role in pattern.members.items()]
    seen = {address for address, _ in found}
    found += [(a, role) for a, role, _ in pattern.foreign if a not in seen]
    if pattern.foreign:
        order = {role: k for k, role in enumerate(("origin", "hop", "destination"))}
        found.sort(key=lambda member: order.get(member[1], len(order)))
    return found


def _exact_totals(session: Session, token_id: int, pattern_ids: list[int]) -> None:
    """total_value = the exact sum of each pattern's transfers."""
    key = ((Transfer.token_id == token_id)
           & (Transfer.block_number == PatternTransfer.block_number)
           & (Transfer.log_index == PatternTransfer.log_index)
           & (Transfer.sub_index == PatternTransfer.sub_index))
    postgres = session.get_bind().dialect.name == "postgresql"
    if len(pattern_ids) <= FEW:
        # A block's few patterns: each transfer's amount by its primary key. As a join,
        # the planner (its statistics taken before a first run's bulk insert) may scan
        # every transfer of the token instead: half a second a block at a million.
        amount = select(Transfer.amount).where(key).scalar_subquery()
        statements = [select(PatternTransfer.pattern_id, exact_sum(session, amount))
                      .where(PatternTransfer.pattern_id.in_(pattern_ids))
                      .group_by(PatternTransfer.pattern_id)]
    elif postgres:
        # One statement for all of them, summed and written by Postgres (the ids as one
        # array parameter, so the planner may join by hash): a first run writes
        # 10^4-10^5 patterns at once. A pattern without transfers keeps 0.
        summed = (select(PatternTransfer.pattern_id, func.sum(Transfer.amount).label("total"))
                  .join(Transfer, key)
                  .where(PatternTransfer.pattern_id == any_(cast(pattern_ids,
                                                                 ARRAY(BigInteger))))
                  .group_by(PatternTransfer.pattern_id).subquery())
        session.execute(update(PatternRow).where(PatternRow.id == summed.c.pattern_id)
                        .values(total_value=summed.c.total)
                        .execution_options(synchronize_session=False))
        return
    else:
        statements = [
            select(PatternTransfer.pattern_id, exact_sum(session, Transfer.amount))
            .join(Transfer, key).where(PatternTransfer.pattern_id.in_(chunk))
            .group_by(PatternTransfer.pattern_id)
            for chunk in (pattern_ids[start:start + FEW]
                          for start in range(0, len(pattern_ids), FEW))]
    totals = dict.fromkeys(pattern_ids, 0)
    for statement in statements:
        for pattern_id, summed_value in session.execute(statement):
            totals[pattern_id] = total(summed_value)
    session.execute(update(PatternRow), [{"id": pattern_id, "total_value": value}
                                         for pattern_id, value in totals.items()])


def pattern_ids(session: Session, token_id: int, addresses: list[str]) -> dict[str, list[int]]:
    """Active pattern ids per address (lower-case), for reports that list an address."""
    found: dict[str, list[int]] = {}
    for start in range(0, len(addresses), 1000):
        rows = session.execute(
            select(PatternMember.address, PatternMember.pattern_id)
            .join(PatternRow, PatternRow.id == PatternMember.pattern_id)
            .where(PatternRow.token_id == token_id, PatternRow.status == "active",
                   PatternMember.address.in_(addresses[start:start + 1000]))
            .order_by(PatternMember.pattern_id))
        for address, pattern_id in rows:
            found.setdefault(address, []).append(pattern_id)
    return found


def address_patterns(session: Session, token_id: int, address: str) -> list[dict[str, Any]]:
    """The active patterns an address is a member of, strongest first, with its role."""
    rows = session.execute(
        select(PatternRow.id, PatternRow.typology, PatternRow.title, PatternRow.score,
               PatternMember.role)
        .join(PatternMember, PatternMember.pattern_id == PatternRow.id)
        .where(PatternRow.token_id == token_id, PatternRow.status == "active",
               PatternMember.address == address)
        .order_by(PatternRow.score.desc(), PatternRow.id))
    return [{"id": i, "typology": typology, "title": title, "score": score, "role": role}
            for i, typology, title, score, role in rows]
