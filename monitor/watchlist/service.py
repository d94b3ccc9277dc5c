"""Import address lists into named watchlists, and look listed addresses up for scoring.

Functions take a Session and never commit: an import replaces a list's entries inside the
caller's transaction, so a failure anywhere leaves the previous list in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from models import Token
from models.base import utcnow
from models.watchlist import WATCHLIST_CATEGORIES, Watchlist, WatchlistEntry, WatchlistImport
from monitor import audit
from monitor.errors import UserError
from monitor.scoring import queue
from monitor.watchlist.parsers import ListFormat, ListFormatError, ParsedList, parse_list

# Rows per executemany batch, and addresses per IN (...) (SQLite allows 32766 parameters).
BATCH = 5000
IN_CHUNK = 900
NAME_MAX = 128
# Entries are written with Core statements in batches: the mapped class's Table.
_ENTRIES = cast(Table, WatchlistEntry.__table__)


@dataclass
class ImportResult:
    list_name: str
    added: list[str]
    removed: list[str]
    total: int
    changed: int = 0
    format: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def screening_changes(self) -> bool:
        """Whether stored history must be screened again against the list."""
        return bool(self.added or self.removed or self.changed)


class Listing(NamedTuple):
    list_name: str
    category: str
    label: str | None


def validate_category(category: str) -> str:
    value = category.strip().lower()
    if value not in WATCHLIST_CATEGORIES:
        raise UserError(
            f"unknown category {category!r} (expected one of {', '.join(WATCHLIST_CATEGORIES)})"
        )
    return value


def validate_list_name(name: str) -> str:
    value = name.strip()
    if not value:
        raise UserError("list name must not be empty")
    if len(value) > NAME_MAX:
        raise UserError(f"list name is {len(value)} characters long; the limit is {NAME_MAX}")
    return value


def import_list(
    session: Session,
    path: Path | str,
    name: str,
    category: str = "sanctioned",
    fmt: ListFormat | str | None = None,
    source: str | None = None,
    actor: str = audit.SYSTEM,
) -> ImportResult:
    """Replace list ``name``'s entries with those read from ``path``: parse, diff against
    the stored entries, write the difference, audit; when anything changed, every token is
    queued for re-screening.

    The file is parsed completely before anything is written; a ListFormatError leaves the
    database untouched. An entry's own (valid) category wins over ``category``. A file with
    no addresses is refused rather than emptying the list: that is far more often the wrong
    file or format than a list that really became empty. Audited (`watchlist.import` for a
    new list, `watchlist.replace` for an existing one) with counts, not addresses.
    """
    name = validate_list_name(name)
    category = validate_category(category)
    parsed = _parse(path, fmt)
    watchlist, before = _locked(session, name, category)
    diff = _diff(_wanted(parsed, category), _stored(session, watchlist.id))
    _write(session, watchlist, diff, category, source if source is not None else str(path))
    _audit(session, actor, watchlist, before, parsed, diff)
    result = ImportResult(list_name=name, added=diff.added, removed=diff.removed,
                          total=len(diff.wanted), changed=len(diff.changed),
                          format=parsed.format.value, warnings=parsed.warnings)
    if result.screening_changes:
        # Every token's screening is stale: the next scoring run re-screens it even with no
        # new transfers (the re-screen that `import` and `PUT` start at once takes these;
        # with rescreen off, the daemon's next `score` tick does).
        queue.mark_tokens(session, session.scalars(select(Token.id)), "watchlist")
    return result


Fields = dict[str, Any]  # an entry's category, label, program and extra


@dataclass
class _Diff:
    """What an import changes in a list: addresses added and removed (sorted), and the
    entries kept with new fields."""

    wanted: dict[str, Fields]
    added: list[str]
    removed: list[str]
    changed: list[str]


def _parse(path: Path | str, fmt: ListFormat | str | None) -> ParsedList:
    parsed = parse_list(path, fmt)
    if not parsed.entries:
        raise ListFormatError(
            f"{parsed.path}: no EVM addresses found (format "
            f"{parsed.format.value}); the list was left unchanged"
        )
    return parsed


def _wanted(parsed: ParsedList, category: str) -> dict[str, Fields]:
    """The parsed entries as stored; an entry's own category wins over the list's."""
    return {e.address: {"category": e.category or category, "label": e.label,
                        "program": e.program, "extra": e.extra} for e in parsed.entries}


def _locked(session: Session, name: str,
            category: str) -> tuple[Watchlist, dict[str, Any] | None]:
    """The list, locked until the caller commits (created when new), and its recorded
    fields before the import (None for a new list)."""
    watchlist = session.scalar(select(Watchlist).where(Watchlist.name == name).with_for_update())
    if watchlist is not None:
        return watchlist, {"category": watchlist.category, "entries": watchlist.entry_count,
                           "source": watchlist.source}
    watchlist = Watchlist(name=name, category=category, entry_count=0)
    session.add(watchlist)
    session.flush()
    return watchlist, None


def _stored(session: Session, watchlist_id: int) -> dict[str, Fields]:
    table = _ENTRIES
    return {
        row.address: {"category": row.category, "label": row.label, "program": row.program,
                      "extra": row.extra or {}}
        for row in session.execute(
            select(table.c.address, table.c.category, table.c.label, table.c.program,
                   table.c.extra).where(table.c.watchlist_id == watchlist_id))
    }


def _diff(wanted: dict[str, Fields], current: dict[str, Fields]) -> _Diff:
    return _Diff(wanted, added=sorted(wanted.keys() - current.keys()),
                 removed=sorted(current.keys() - wanted.keys()),
                 changed=sorted(a for a in wanted.keys() & current.keys()
                                if wanted[a] != current[a]))


def _write(session: Session, watchlist: Watchlist, diff: _Diff, category: str,
           source: str) -> None:
    """Apply the difference to the list's entries (in batches), update the list and record
    the import's added and removed addresses."""
    table = _ENTRIES
    for chunk in _chunks(diff.removed, IN_CHUNK):
        session.execute(
            delete(table).where(table.c.watchlist_id == watchlist.id, table.c.address.in_(chunk))
        )
    for chunk in _chunks(diff.added, BATCH):
        session.execute(
            insert(table),
            [{"watchlist_id": watchlist.id, "address": a, **diff.wanted[a]} for a in chunk],
        )
    statement = (
        update(table)
        .where(table.c.watchlist_id == bindparam("w_id"),
               table.c.address == bindparam("w_address"))
        .values(category=bindparam("w_category"), label=bindparam("w_label"),
                program=bindparam("w_program"), extra=bindparam("w_extra"))
    )
    for chunk in _chunks(diff.changed, BATCH):
        session.connection().execute(statement, [
            {"w_id": watchlist.id, "w_address": a,
             **{f"w_{k}": v for k, v in diff.wanted[a].items()}}
            for a in chunk])
    watchlist.category, watchlist.source = category, source
    watchlist.entry_count = len(diff.wanted)
    watchlist.updated_at = utcnow()
    session.add(WatchlistImport(watchlist_id=watchlist.id, source=source, added=diff.added,
                                removed=diff.removed))
    session.flush()


def _audit(session: Session, actor: str, watchlist: Watchlist, before: dict[str, Any] | None,
           parsed: ParsedList, diff: _Diff) -> None:
    # Counts only: a list of a million addresses is one row here, and WatchlistImport
    # keeps what was added and removed.
    audit.record(session, actor, "watchlist.replace" if before else "watchlist.import",
                 "watchlist", watchlist.name, before=before, after={
                     "category": watchlist.category, "entries": watchlist.entry_count,
                     "source": watchlist.source, "format": parsed.format.value,
                     "added": len(diff.added), "removed": len(diff.removed),
                     "changed": len(diff.changed)})


def list_watchlists(session: Session) -> list[Watchlist]:
    return list(session.scalars(select(Watchlist).order_by(Watchlist.name)))


def summaries(session: Session, limit: int | None = None,
              after: str | None = None) -> list[dict[str, Any]]:
    """Each list (by name, after `after`, at most `limit`) with its size and how many
    addresses its latest import added and removed (`updated_at` is left a datetime for the
    caller to format). The database counts the imports' address arrays: a list of a
    million addresses costs a number here, not the array."""
    length = (func.jsonb_array_length if session.get_bind().dialect.name == "postgresql"
              else func.json_array_length)
    latest = (select(WatchlistImport.watchlist_id, func.max(WatchlistImport.id).label("id"))
              .group_by(WatchlistImport.watchlist_id).subquery())
    last = aliased(WatchlistImport)
    statement = (
        select(Watchlist.name, Watchlist.category, Watchlist.entry_count, Watchlist.source,
               Watchlist.updated_at, length(last.added), length(last.removed))
        .outerjoin(latest, latest.c.watchlist_id == Watchlist.id)
        .outerjoin(last, last.id == latest.c.id)
        .order_by(Watchlist.name).limit(limit)
    )
    if after is not None:
        statement = statement.where(Watchlist.name > after)
    return [{"name": name, "category": category, "entries": entries, "source": source,
             "updated_at": updated_at, "last_added": added or 0, "last_removed": removed or 0}
            for name, category, entries, source, updated_at, added, removed
            in session.execute(statement)]


def lists_version(session: Session) -> tuple[Any, ...]:
    """What changes whenever a list's entries do: each list's stamp and size (every write
    to a list goes through `_write`, which stamps it) and the entries' count and largest
    id. A long-lived process reads the entries again only when this moved."""
    lists = session.execute(select(Watchlist.id, Watchlist.updated_at, Watchlist.entry_count)
                            .order_by(Watchlist.id)).all()
    entries = session.execute(select(func.count(), func.max(WatchlistEntry.id))).one()
    return tuple(tuple(row) for row in lists), tuple(entries)


def listed_addresses(
    session: Session,
    categories: Iterable[str] | None = None,
    addresses: Iterable[str] | None = None,
) -> dict[str, list[Listing]]:
    """Every listed address (lower-case) → the lists naming it, optionally filtered.

    ``categories`` filters on the entry's category; ``addresses`` (lower-case) restricts the
    lookup to those accounts, for scoring a batch of transfers without loading every list.
    """
    statement = (
        select(
            WatchlistEntry.address, Watchlist.name, WatchlistEntry.category, WatchlistEntry.label
        )
        .join(Watchlist, Watchlist.id == WatchlistEntry.watchlist_id)
        .order_by(WatchlistEntry.address, Watchlist.name)
    )
    if categories is not None:
        wanted = sorted({validate_category(c) for c in categories})
        statement = statement.where(WatchlistEntry.category.in_(wanted))
    result: dict[str, list[Listing]] = {}
    if addresses is None:
        rows: Iterable[Any] = session.execute(statement)
    else:
        subset = sorted({a.lower() for a in addresses})
        rows = (
            row
            for chunk in _chunks(subset, IN_CHUNK)
            for row in session.execute(statement.where(WatchlistEntry.address.in_(chunk)))
        )
    for address, list_name, category, label in rows:
        result.setdefault(address, []).append(Listing(list_name, category, label))
    return result


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
