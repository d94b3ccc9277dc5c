"""Labels in the database: replace a source's labels, list, remove, and read them back
as one verdict per address for training.

Functions take the caller's session and never commit: a source is replaced inside the
caller's transaction, with its audit row, so a failure leaves the previous labels in
force. Writers of one source take turns (an advisory lock on Postgres).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from models import Label
from monitor import audit
from monitor.db import LABEL_LOCKS, lock_for_transaction
from monitor.errors import NotFound, UserError
from monitor.labels.csvfile import LabelRow
from monitor.timefmt import iso

SOURCE_MAX = 128
# Sources written by outcomes (monitor.labels.outcomes); an import may not take them.
OUTCOME_PREFIXES = ("alert:", "case:")
BATCH = 5000


@dataclass(frozen=True)
class Replaced:
    """What importing a source changed."""

    source: str
    total: int
    added: int
    removed: int
    changed: int
    laundering: int
    legitimate: int


@dataclass(frozen=True)
class Verdict:
    """One address's labels read as one: laundering when any source says so (a report
    outweighs another source's dismissal), with the highest confidence of that side."""

    laundering: bool
    weight: float
    sources: tuple[str, ...]


def validate_source(source: str, *, importing: bool = True) -> str:
    value = source.strip()
    if not value:
        raise UserError("source: must not be empty")
    if len(value) > SOURCE_MAX:
        raise UserError(f"source: {len(value)} characters long; the limit is {SOURCE_MAX}")
    if not value.isprintable():
        raise UserError("source: must not contain control characters")
    if importing and value.startswith(OUTCOME_PREFIXES):
        raise UserError(f"source: {value!r} is reserved for the labels closed alerts and "
                        "cases write (alert:ID, case:ID)")
    return value


def replace_source(session: Session, source: str, rows: Sequence[LabelRow],
                   actor: str) -> Replaced:
    """Make `rows` the labels of `source`, whatever it held before; audited
    (`label.import` for a new source, `label.replace` otherwise) with counts."""
    source = validate_source(source)
    if not rows:
        raise UserError(f"source {source}: no labels to import")
    lock_source(session, source)
    held = _held(session, source)
    wanted = {(row.address, row.chain_id): row for row in rows}
    if len(wanted) != len(rows):
        raise UserError(f"source {source}: an address is labelled twice on one chain")
    # In the order given, so that ids follow the file.
    gone = [entry[0] for key, entry in held.items() if key not in wanted]
    changed = [key for key in wanted if key in held and held[key][1] != _fields(wanted[key])]
    fresh = [row for key, row in wanted.items() if key not in held]
    drop = gone + [held[key][0] for key in changed]
    for start in range(0, len(drop), BATCH):
        session.execute(delete(Label).where(Label.id.in_(drop[start:start + BATCH])))
    write(session, source, [*fresh, *(wanted[key] for key in changed)], actor)
    before = _count(held.values())
    result = Replaced(source, len(wanted), len(fresh), len(gone), len(changed),
                      sum(row.label == "laundering" for row in rows),
                      sum(row.label == "legitimate" for row in rows))
    audit.record(session, actor, "label.replace" if held else "label.import", "label", source,
                 before=before if held else None,
                 after={"labels": result.total, "laundering": result.laundering,
                        "legitimate": result.legitimate, "added": result.added,
                        "removed": result.removed, "changed": result.changed})
    return result


def write(session: Session, source: str, rows: Iterable[LabelRow], actor: str) -> None:
    """Insert labels of `source` (the caller has checked they are new)."""
    values = [{"source": source, "address": row.address, "chain_id": row.chain_id,
               "label": row.label, "confidence": row.confidence, "note": row.note,
               "created_by": actor} for row in rows]
    for start in range(0, len(values), BATCH):
        session.execute(insert(Label), values[start:start + BATCH])


def remove(session: Session, source: str, actor: str, address: str | None = None) -> int:
    """Remove a source's labels (or its label of one address); how many. Audited
    (`label.remove`). NotFound when there is nothing to remove."""
    source = validate_source(source, importing=False)
    lock_source(session, source)
    where = [Label.source == source]
    if address is not None:
        where.append(Label.address == address)
    held = list(session.scalars(select(Label).where(*where)))
    if not held:
        what = f"no label of {address}" if address is not None else "no labels"
        raise NotFound(f"source {source} has {what}")
    session.execute(delete(Label).where(Label.id.in_([label.id for label in held])))
    audit.record(session, actor, "label.remove", "label", source, before=_count(
        (label.id, (label.label,)) for label in held),
        after={"address": address} if address is not None else None)
    return len(held)


def lock_source(session: Session, source: str) -> None:
    lock_for_transaction(session, LABEL_LOCKS, zlib.crc32(source.encode()) & 0x7FFFFFFF)


def list_labels(session: Session, *, source: str | None = None, address: str | None = None,
                label: str | None = None, before_id: int | None = None,
                limit: int = 100) -> list[Label]:
    """Labels newest first; `before_id` pages (the last id of the page before)."""
    statement = select(Label).order_by(Label.id.desc()).limit(max(1, min(limit, 10_000)))
    if source is not None:
        statement = statement.where(Label.source == source)
    if address is not None:
        statement = statement.where(Label.address == address)
    if label is not None:
        statement = statement.where(Label.label == label)
    if before_id is not None:
        statement = statement.where(Label.id < before_id)
    return list(session.scalars(statement))


def view(label: Label) -> dict[str, Any]:
    """A label as the CLI, the API and the address page show it."""
    from monitor.addresses import checksum

    return {"id": label.id, "source": label.source, "address": checksum(label.address),
            "chain_id": label.chain_id, "label": label.label, "confidence": label.confidence,
            "note": label.note, "created_by": label.created_by,
            "created_at": iso(label.created_at)}


def address_labels(session: Session, address: str) -> list[dict[str, Any]]:
    """Every label of one address (lower-case), newest first."""
    return [view(label) for label in session.scalars(
        select(Label).where(Label.address == address).order_by(Label.id.desc()))]


def verdicts(session: Session, chain_id: int) -> dict[str, Verdict]:
    """Lower-case address -> its verdict on `chain_id` (labels of that chain or of every
    chain), from every source."""
    rows = session.execute(
        select(Label.address, Label.label, Label.confidence, Label.source)
        .where(or_(Label.chain_id.is_(None), Label.chain_id == chain_id))
        .order_by(Label.address, Label.source))
    sides: dict[str, dict[bool, list[tuple[float, str]]]] = {}
    for address, label, confidence, source in rows:
        sides.setdefault(address, {}).setdefault(label == "laundering", []).append(
            (float(confidence), source))
    out = {}
    for address, held in sides.items():
        side = True in held
        chosen = held[side]
        out[address] = Verdict(side, max(c for c, _ in chosen), tuple(s for _, s in chosen))
    return out


def digest(known: dict[str, Verdict]) -> str:
    """SHA-256 of verdicts: what a trained model records, so that a retrain can tell
    whether anything it would learn from changed."""
    text = "\n".join(f"{a},{int(v.laundering)},{v.weight:.6f}" for a, v in sorted(known.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def sources(session: Session) -> list[dict[str, Any]]:
    """Each source with its label counts."""
    rows = session.execute(select(Label.source, Label.label, func.count())
                           .group_by(Label.source, Label.label).order_by(Label.source))
    out: dict[str, dict[str, Any]] = {}
    for source, label, count in rows:
        out.setdefault(source, {"source": source, "laundering": 0, "legitimate": 0})[label] = count
    return list(out.values())


Held = dict[tuple[str, int | None], tuple[int, tuple[Any, ...]]]  # (address, chain) -> id, fields


def _held(session: Session, source: str) -> Held:
    return {(label.address, label.chain_id): (label.id, (label.label, label.confidence,
                                                         label.note))
            for label in session.scalars(select(Label).where(Label.source == source))}


def _fields(row: LabelRow) -> tuple[Any, ...]:
    return (row.label, row.confidence, row.note)


def _count(held: Iterable[tuple[int, tuple[Any, ...]]]) -> dict[str, int]:
    labels = [fields[0] for _, fields in held]
    return {"labels": len(labels), "laundering": labels.count("laundering"),
            "legitimate": labels.count("legitimate")}
