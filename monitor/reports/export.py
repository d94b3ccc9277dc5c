"""The whole flagged report as text in any format, a page of rows at a time, for the
CLI's files and the API's CSV and HTML downloads: memory holds one page, however many
addresses are flagged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from monitor.reports import html
from monitor.reports.flagged import (
    csv_chunks,
    flagged_count,
    flagged_items,
    flagged_shares,
    json_chunks,
    share_line,
)
from monitor.timefmt import now_iso

MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
               "html": "text/html; charset=utf-8"}


def flagged_report(session: Session, token_ids: list[int] | None, min_risk: int, fmt: str,
                   link: Callable[[dict[str, Any]], str] = html.default_link) -> Iterator[str]:
    """The report as text chunks in `fmt` (json, csv or html)."""
    items = flagged_items(session, token_ids, min_risk)
    if fmt == "csv":
        return csv_chunks(items)
    shares = flagged_shares(session, token_ids, min_risk)
    if fmt == "html":
        return html.flagged_chunks(items, flagged_count(session, token_ids, min_risk),
                                   min_risk, now_iso(), link, share_line(shares))
    return json_chunks(min_risk, items, shares)
