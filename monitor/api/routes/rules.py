"""/api/v1/rules/stats: what became of each rule's alerts over a period."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from monitor.alerts.stats import rule_stats
from monitor.api.auth import Caller, viewer
from monitor.api.guard import GuardedRoute
from monitor.api.rule_schemas import RuleStatsReport
from monitor.api.schemas import ERRORS, Timestamp
from monitor.timefmt import iso

router = APIRouter(prefix="/api/v1/rules", tags=["rules"], responses=ERRORS,
                   route_class=GuardedRoute)


@router.get("/stats", response_model=RuleStatsReport)
def get_rule_stats(
    request: Request,
    _: Annotated[Caller, Depends(viewer)],
    since: Annotated[Timestamp | None, Query(description="Alerts raised at or after "
                                                        "(ISO-8601; UTC when no offset)")] = None,
    until: Annotated[Timestamp | None, Query(description="Alerts raised before")] = None,
) -> dict[str, Any]:
    """Per rule: the alerts raised in the period, and how many (and what share) were
    closed as reported, false_positive or inconclusive (by triage or by their case), are
    still open, or were retracted."""
    with request.app.state.read_sessions() as session:
        rows, total = rule_stats(session, since, until)
    return {"since": iso(since), "until": iso(until), "rules": [r.as_json() for r in rows],
            "total": total.as_json()}
