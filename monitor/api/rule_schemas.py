"""Responses of /api/v1/rules (the shared types are monitor.api.schemas')."""

from __future__ import annotations

from pydantic import Field

from monitor.api.schemas import Out


class StateShares(Out):
    open: float
    reported: float
    false_positive: float
    inconclusive: float
    retracted: float
    no_outcome: float


class RuleStatsOut(Out):
    rule: str = Field(description="Rule id; `all` for the total")
    raised: int = Field(description="Alerts raised in the period")
    open: int = Field(description="Still active: open, acknowledged or escalated")
    reported: int
    false_positive: int
    inconclusive: int
    retracted: int = Field(description="Withdrawn after a reorg orphaned their evidence")
    no_outcome: int = Field(description="Dismissed before outcomes were recorded")
    shares: StateShares = Field(description="Each count's share of `raised`")


class RuleStatsReport(Out):
    since: str | None
    until: str | None
    rules: list[RuleStatsOut] = Field(description="By rule id")
    total: RuleStatsOut
