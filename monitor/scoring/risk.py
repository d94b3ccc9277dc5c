"""Fusion of rule hits into one risk score 0-100 and a severity, with ordered reasons.

risk = 100 × (1 − Π (1 − weight_r × score_r / 100)) over the address's hits: one strong
reason is enough to be high, several moderate ones add up, and no sum exceeds 100.
Weights are per rule in config; `anomaly` alone is weighted below the flag threshold, so
being unusual is a reason to look, not an accusation.

A reason may carry a cap: the trained ranker's verdict that an address ranks like the
legitimate ones its investigators closed (monitor.scoring.learned) holds the risk the
other reasons give at the cap. Findings of compliance controls (UNCAPPED: a watchlist
exposure, a transfer to a non-KYC address) are never held by a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEVERITIES = (("critical", 85), ("high", 65), ("medium", 40), ("low", 0))
UNCAPPED = ("watchlist_exposure", "non_kyc_recipient")


@dataclass(frozen=True)
class Reason:
    rule: str
    score: int
    detail: str
    evidence: list[str]
    pattern: str | None = None  # key of the pattern (monitor.scoring.patterns) it comes from
    role: str | None = None  # the address's role in that pattern
    list_name: str | None = None  # a watchlist finding's list, its category, and the
    category: str | None = None  # listed address it leads to
    listed: str | None = None
    cap: int | None = None  # the highest risk the address may have while this reason holds

    def as_dict(self, pattern_ids: dict[str, int] | None = None) -> dict[str, Any]:
        """As stored and reported: a pattern finding names its pattern's id and the role; a
        watchlist finding its list, category and listed address, so that what reads a
        reason never parses its sentence. Rows written before a field existed lack it."""
        out: dict[str, Any] = {"rule": self.rule, "score": self.score, "detail": self.detail,
                               "evidence": self.evidence}
        if self.pattern is not None:
            out["pattern_id"] = (pattern_ids or {}).get(self.pattern)
            out["role"] = self.role
        if self.list_name is not None:
            out["list"] = self.list_name
            out["category"] = self.category
            out["listed"] = self.listed
        if self.cap is not None:
            out["cap"] = self.cap
        return out


def severity(risk: float) -> str:
    for name, floor in SEVERITIES:
        if risk >= floor:
            return name
    return "low"


def fuse(reasons: list[Reason], weights: dict[str, float]) -> tuple[int, list[Reason]]:
    risk = combined(reasons, weights)
    caps = [reason.cap for reason in reasons if reason.cap is not None]
    if caps:
        risk = max(min(risk, min(caps)), uncapped(reasons, weights))
    ordered = sorted(reasons, key=lambda r: (-weights.get(r.rule, 1.0) * r.score, r.rule))
    return int(risk), ordered


def uncapped(reasons: list[Reason], weights: dict[str, float]) -> int:
    """The risk the findings no model holds give on their own."""
    return combined([r for r in reasons if r.rule in UNCAPPED], weights)


def combined(reasons: list[Reason], weights: dict[str, float]) -> int:
    """The reasons' risk before any cap."""
    remaining = 1.0
    for reason in reasons:
        remaining *= 1.0 - min(max(weights.get(reason.rule, 1.0) * reason.score / 100, 0.0), 1.0)
    return round(100 * (1 - remaining))
