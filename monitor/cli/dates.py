"""Dates and times given on the command line: ISO-8601, UTC when no offset is given."""

from __future__ import annotations

from datetime import UTC, datetime

import typer


def utc_time(value: str) -> datetime:
    """A typer `parser=`: `2026-01-31` (midnight UTC) or `2026-01-31T12:00[:00][+01:00|Z]`;
    anything else is a usage error naming the option."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO-8601 date or date-time "
                                 "(e.g. 2026-01-31 or 2026-01-31T12:00:00Z)") from None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00
        raise typer.BadParameter(f"{value!r} is out of range in UTC") from None
