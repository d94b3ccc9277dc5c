"""The case report: one self-contained page with the narrative, the decision trail, every
linked pattern's flow picture, every linked address's reasons with their evidence, and the
case's evidence transfers in time order with exact amounts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Token
from monitor.addresses import checksum, parse_address
from monitor.amounts import scaled
from monitor.cases import service, views
from monitor.cases.evidence import evidence_transfers
from monitor.reports import html
from monitor.reports.patterns import pattern_picture
from monitor.scoring.scores import current_scores
from monitor.timefmt import iso, now_iso

_ACTIONS = {"case.open": "opened the case", "case.update": "changed",
            "case.note": "added a note", "case.propose": "proposed closing as",
            "case.approve": "approved the close as", "case.reject": "sent the close back"}


def case_report(session: Session, case_id: int) -> dict[str, Any]:
    """What the page shows, as data."""
    case = service.get_case(session, case_id)
    detail = views.detail(session, case)
    return {
        **detail,
        **{name: _seconds(detail[name]) for name in ("created_at", "closed_at", "due_at")},
        "decisions": [_decision(event) for event in detail["trail"]],
        "pictures": [{**pattern, "graph": pattern_picture(session, pattern["id"])}
                     for pattern in detail["patterns"]],
        "reasons": _reasons(session, [parse_address(a) for a in detail["addresses"]]),
        "transfers": _transfers(session, case_id),
    }


def case_page(session: Session, case_id: int) -> str:
    return html._env.get_template("case.html.j2").render(  # the reports' one environment
        c=case_report(session, case_id), generated_at=now_iso(),
        address_link=html.default_address_link, pattern_link=html.default_pattern_link)


def _decision(event: dict[str, Any]) -> dict[str, Any]:
    """An audit row in words: who did what, and what changed."""
    before, after = event["before"] or {}, event["after"] or {}
    action = _ACTIONS.get(event["action"], event["action"])
    if event["action"] == "case.propose":
        action += f" {after.get('proposed_outcome')}"
    elif event["action"] == "case.approve":
        action += f" {after.get('outcome')}"
    changes = []
    if event["action"] == "case.update":
        for name in after:
            if name == "narrative":
                changes.append("narrative rewritten")
            else:
                changes.append(f"{name.replace('_', ' ')}: {before.get(name) or '—'} → "
                               f"{after[name] or '—'}")
    elif event["action"] == "case.open":
        changes.append(f"{len(after.get('alerts', []))} alert(s), "
                       f"{len(after.get('patterns', []))} pattern(s), "
                       f"{len(after.get('addresses', []))} address(es)")
    elif event["action"] == "case.approve" and after.get("alerts_closed"):
        changes.append(f"alerts closed: {', '.join(map(str, after['alerts_closed']))}")
    return {"at": _seconds(event["at"]), "actor": event["actor"], "action": action,
            "changes": changes, "note": event["note"]}


def _seconds(when: str | None) -> str | None:
    """An iso() time to the second, as people read a trail (the API keeps the rest)."""
    return when and when[:19] + "Z"


def _reasons(session: Session, addresses: list[str]) -> list[dict[str, Any]]:
    """Each linked address's current reasons with their evidence, per token it was scored
    on (addresses in the order linked, tokens by id)."""
    found: dict[str, list[dict[str, Any]]] = {address: [] for address in addresses}
    for token in session.scalars(select(Token).order_by(Token.id)):
        for address, score in current_scores(session, token.id, addresses).items():
            found[address].append({
                "token": checksum(token.address), "symbol": token.symbol,
                "chain_id": token.chain_id, "risk_score": score.risk_score,
                "severity": score.severity, "reasons": score.reasons})
    return [{"address": checksum(address), "scores": scores}
            for address, scores in found.items()]


def _transfers(session: Session, case_id: int) -> list[dict[str, Any]]:
    """The case's evidence transfers in time order (chain order within a token; tokens of
    different chains interleave by block time)."""
    transfers = sorted(evidence_transfers(session, case_id),
                       key=lambda t: (t.block_time, t.token.chain_id, t.block_number,
                                      t.log_index, t.sub_index))
    return [{
        "block_time": iso(t.block_time), "chain_id": t.token.chain_id,
        "token": checksum(t.token.address), "symbol": t.token.symbol,
        "block_number": t.block_number, "log_index": t.log_index, "tx_hash": t.tx_hash,
        "from": checksum(t.from_address), "to": checksum(t.to_address),
        "amount": scaled(int(t.amount), t.token.decimals),
    } for t in transfers]
