"""Outcomes become labels by themselves: an alert or a case closed as `reported` labels its
addresses laundering, one closed as `false_positive` legitimate; `inconclusive` says
nothing. The source names what decided (`alert:ID` for triage, `case:ID` for a case's
approval), and the labels are written, with an audit row (`label.outcome`), in the
transaction of the close.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Alert, Case, CaseAddress, CaseAlert, Label, Token
from monitor import audit
from monitor.labels.csvfile import LabelRow
from monitor.labels.store import lock_source, write

LABEL_OF = {"reported": "laundering", "false_positive": "legitimate"}


def from_alert(session: Session, alert: Alert, actor: str) -> int:
    """Label the alert's address as its outcome says, on its token's chain; how many
    labels were written (0 or 1)."""
    label = LABEL_OF.get(alert.outcome or "")
    if label is None:
        return 0
    chain_id = session.scalar(select(Token.chain_id).where(Token.id == alert.token_id))
    return _write(session, f"alert:{alert.id}", label, {alert.address: chain_id},
                  actor, alert.outcome or "")


def from_case(session: Session, case: Case, actor: str) -> int:
    """Label every address of a closed case (its linked addresses, pattern members
    included, and its alerts' addresses) as the case's outcome says; how many. An address
    whose case alerts are all of one chain is labelled on that chain, any other on every
    chain."""
    label = LABEL_OF.get(case.outcome or "")
    if label is None:
        return 0
    chains: dict[str, set[int]] = {}
    for address in session.scalars(select(CaseAddress.address)
                                   .where(CaseAddress.case_id == case.id)):
        chains.setdefault(address, set())
    for address, chain_id in session.execute(
            select(Alert.address, Token.chain_id)
            .join(CaseAlert, CaseAlert.alert_id == Alert.id)
            .join(Token, Token.id == Alert.token_id)
            .where(CaseAlert.case_id == case.id)):
        chains.setdefault(address, set()).add(chain_id)
    return _write(session, f"case:{case.id}", label,
                  {a: next(iter(c)) if len(c) == 1 else None for a, c in chains.items()},
                  actor, case.outcome or "")


def _write(session: Session, source: str, label: str, addresses: dict[str, int | None],
           actor: str, outcome: str) -> int:
    if not addresses:
        return 0
    lock_source(session, source)
    held = set(session.scalars(select(Label.address).where(Label.source == source)))
    fresh = {a: c for a, c in sorted(addresses.items()) if a not in held}
    if not fresh:  # written already: a close is recorded once
        return 0
    write(session, source, [LabelRow(a, label, c, 1.0, None) for a, c in fresh.items()], actor)
    audit.record(session, actor, "label.outcome", "label", source,
                 after={"label": label, "outcome": outcome, "labels": len(fresh)})
    return len(fresh)
