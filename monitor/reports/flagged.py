"""The flagged-address report (JSON and CSV) and the single-address report (JSON).

Schema: DESIGN.md "Flagged-address report". Values are exact decimal strings scaled by
the token's decimals, computed from uint256 integers (never floats).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AddressScore, Token
from monitor.addresses import checksum
from monitor.scoring.service import current_score, current_scores
from monitor.timefmt import iso, now_iso

CSV_FIELDS = (
    "chain_id", "token", "address", "risk_score", "severity", "anomaly_score", "rules",
    "reasons", "evidence", "first_seen", "last_seen", "in_count", "out_count", "in_value",
    "out_value",
)


def scaled(value: int, decimals: int) -> str:
    """Exact decimal string of base units: 1234500 with 6 decimals -> '1.2345'.

    Integer arithmetic: Decimal would round a uint256 to its 28-digit context precision."""
    sign, value = ("-", -value) if value < 0 else ("", value)
    whole, fraction = divmod(value, 10**decimals)
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{decimals}d}".rstrip("0")


def item(token: Token, score: AddressScore) -> dict[str, Any]:
    return {
        "chain_id": token.chain_id,
        "token": checksum(token.address),
        "address": checksum(score.address),
        "risk_score": score.risk_score,
        "severity": score.severity,
        "anomaly_score": None if score.anomaly_score is None else round(score.anomaly_score, 4),
        "reasons": score.reasons,
        "first_seen": iso(score.first_seen),
        "last_seen": iso(score.last_seen),
        "in_count": score.in_count,
        "out_count": score.out_count,
        "in_value": scaled(int(score.in_value), token.decimals),
        "out_value": scaled(int(score.out_value), token.decimals),
    }


def flagged(session: Session, token_ids: list[int] | None, min_risk: int) -> dict[str, Any]:
    tokens = session.scalars(select(Token).order_by(Token.id))
    items = []
    for token in tokens:
        if token_ids is not None and token.id not in token_ids:
            continue
        for score in current_scores(session, token.id).values():
            if score.risk_score >= min_risk:
                items.append(item(token, score))
    items.sort(key=lambda i: (-i["risk_score"], i["token"], i["address"]))
    return {"generated_at": now_iso(), "min_risk": min_risk, "items": items}


def address_report(session: Session, address: str) -> dict[str, Any]:
    """Every token's current score of one address (risk 0 when never flagged)."""
    entries = []
    for token in session.scalars(select(Token).order_by(Token.id)):
        score = current_score(session, token.id, address)
        if score is not None:
            entries.append(item(token, score))
    return {"generated_at": now_iso(), "address": checksum(address),
            "tokens": entries}


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for entry in report["items"]:
        reasons = entry["reasons"]
        writer.writerow({
            **{k: entry[k] for k in CSV_FIELDS if k in entry and k != "reasons"},
            "rules": "; ".join(r["rule"] for r in reasons),
            "reasons": " | ".join(f"{r['rule']} ({r['score']}): {r['detail']}" for r in reasons),
            "evidence": " ".join(tx for r in reasons for tx in r["evidence"]),
        })
    return out.getvalue()
