"""Training a token's ranker: read the labels, evaluate the rules, fit, and keep the new
version only if it is not worse than the one in force.

Guard rails: nothing is trained with fewer than `rules.learned_ranker.min_labels`
labelled addresses of either label among the token's addresses (the result says why,
and nothing changes); a new version replaces the current one only if its
cross-validated PR-AUC is not worse, else it is stored as `rejected` and the current one
stays; `model rollback` (monitor.ranker.store.rollback) puts the previous one back.
Every version is audited (`model.train`). Training runs of one token take turns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import RankerModel, Token, Transfer
from monitor import audit
from monitor.db import RANKER_LOCKS, lock_for_transaction
from monitor.labels import store as labels
from monitor.ranker import store
from monitor.ranker.model import FORMAT
from monitor.ranker.training.fit import fit
from monitor.scoring import learned
from monitor.scoring.config import RulesConfig
from monitor.scoring.evaluate import Scored, evaluate
from monitor.scoring.service import load
from monitor.watchlist.service import listed_addresses


@dataclass
class Trained:
    """What a training run of one token did: `row` is the version it stored (None when it
    trained nothing), `accepted` whether that version is now in force; `line` says so."""

    token: Token
    row: RankerModel | None
    accepted: bool
    replaced: RankerModel | None
    line: str


def labels_digest(session: Session, token: Token) -> str:
    """The digest of every label that bears on the token's chain: a model records it, so a
    retrain can tell whether there is anything new to learn from."""
    return labels.digest(labels.verdicts(session, token.chain_id))


def due(session: Session, token: Token) -> bool:
    """Whether labels changed since the token's newest version was trained (or none was)."""
    newest = store.latest(session, token.id)
    return newest is None or newest.labels_digest != labels_digest(session, token)


def train(session: Session, token: Token, config: RulesConfig, actor: str,
          scored: Scored | None = None) -> Trained:
    """Train the token's ranker on its labelled addresses (`scored`: the token's scored
    state when the caller has one, else the rules are evaluated here)."""
    lock_for_transaction(session, RANKER_LOCKS, token.id)
    params = config.rules.learned_ranker
    verdicts = labels.verdicts(session, token.chain_id)
    # Counted in the database first: a token without enough labels is not evaluated.
    present = _present(session, token, [a for a, v in verdicts.items() if v.weight > 0])
    positives = sum(1 for a in present if verdicts[a].laundering)
    negatives = len(present) - positives
    name = token.symbol or token.address
    if positives < params.min_labels or negatives < params.min_labels:
        return Trained(token, None, False, None, (
            f"{name}: not trained: {positives} laundering and {negatives} legitimate "
            f"labelled addresses take part in its transfers; it takes at least "
            f"{params.min_labels} of each (rules.learned_ranker.min_labels); nothing changed"))
    if scored is None:
        scored = evaluate(load(session, token, config), config, listed_addresses(session),
                          permissioned=token.standard == "erc3643")
    index = {str(a): i for i, a in enumerate(scored.flows.addresses)}
    used = sorted((index[a], a, verdicts[a]) for a in present if index.get(a, 0) > 0)
    positives = sum(1 for _, _, v in used if v.laundering)
    negatives = len(used) - positives
    rows = np.array([i for i, _, _ in used], dtype=np.int64)
    laundering = np.array([v.laundering for _, _, v in used], dtype=bool)
    weights = np.array([v.weight for _, _, v in used], dtype=float)
    fitted = fit(learned.inputs(scored), rows, laundering, weights, params)
    metrics = fitted.metrics
    current = store.current_row(session, token.id)
    accepted = current is None or metrics["pr_auc"] >= current.pr_auc
    now = datetime.now(UTC)
    if accepted and current is not None:
        current.status, current.retired_at = "retired", now
        session.flush()  # one current per token (a partial unique index)
    row = RankerModel(
        token_id=token.id, status="current" if accepted else "rejected",
        pr_auc=float(metrics["pr_auc"]), threshold=float(fitted.ranker.threshold),
        metrics=metrics, features=fitted.ranker.features, params=fitted.params,
        training_set=[[a, "laundering" if v.laundering else "legitimate", v.weight]
                      for _, a, v in used],
        labels_digest=labels.digest(verdicts), artifact=fitted.ranker.dumps(),
        artifact_format=FORMAT, created_by=actor, created_at=now,
        note=None if accepted else (f"cross-validated PR-AUC {metrics['pr_auc']:.4f} is worse "
                                    f"than v{current.id}'s {current.pr_auc:.4f}"
                                    if current is not None else None))
    session.add(row)
    session.flush()
    if accepted and current is not None:
        current.note = _append(current.note, f"replaced by v{row.id}")
    audit.record(session, actor, "model.train", "model", row.id,
                 before={"current": current.id if current is not None else None},
                 after={"version": row.id, "status": row.status, "pr_auc": row.pr_auc,
                        "f1": metrics["f1"], "laundering": positives,
                        "legitimate": negatives})
    summary = (f"PR-AUC {metrics['pr_auc']:.3f}, F1 {metrics['f1']:.3f} at "
               f"{fitted.ranker.threshold:.2f} ({metrics['folds']}-fold, grouped by pattern) "
               f"on {positives} laundering and {negatives} legitimate addresses")
    if accepted:
        line = (f"{name}: model v{row.id} trained and in force ({summary})"
                + (f"; replaces v{current.id}" if current is not None else ""))
    else:
        assert current is not None  # a version is only rejected against one in force
        line = f"{name}: model v{row.id} trained but rejected: {row.note}; v{current.id} stays"
    return Trained(token, row, accepted, current if accepted else None, line)


def _present(session: Session, token: Token, addresses: list[str]) -> set[str]:
    """Those of `addresses` (lower-case) that sent or received a transfer of the token."""
    found: set[str] = set()
    ordered = sorted(addresses)
    for start in range(0, len(ordered), 900):
        chunk = ordered[start:start + 900]
        for column in (Transfer.from_address, Transfer.to_address):
            found.update(session.scalars(select(column).where(
                Transfer.token_id == token.id, column.in_(chunk)).distinct()))
    return found


def _append(note: str | None, more: str) -> str:
    return f"{note}; {more}" if note else more
