"""How timestamps are written for people and clients: ISO-8601 in UTC with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.db import as_utc


def iso(when: datetime | None) -> str | None:
    """`2026-01-02T03:04:05Z` (None stays None); naive values, as SQLite returns them, are
    UTC."""
    if when is None:
        return None
    return as_utc(when).astimezone(UTC).isoformat().replace("+00:00", "Z")


def now_iso() -> str:
    """The current time, as iso() writes it (reports' `generated_at`)."""
    return iso(datetime.now(UTC)) or ""
