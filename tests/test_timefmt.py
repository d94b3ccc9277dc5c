"""Timestamps as every report, API answer and alert writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from monitor.timefmt import iso, now_iso


def test_iso_is_utc_with_a_z_and_reads_naive_values_as_utc() -> None:
    assert iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert iso(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"  # SQLite's naive UTC
    assert iso(datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))) == \
        "2026-01-02T03:04:05Z"
    assert iso(None) is None
    assert now_iso().endswith("Z")
