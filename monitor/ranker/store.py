"""Stored rankers: one row per trained version (`ranker_models`), at most one `current`
per token. Reading the one in force, listing, showing, rolling back.

Functions take the caller's session and never commit. A rollback is audited
(`model.rollback`) in the caller's transaction.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import RankerModel, Token
from monitor import audit, metrics
from monitor.db import as_utc
from monitor.errors import Conflict, NotFound
from monitor.ranker.model import Ranker, loads
from monitor.timefmt import iso

# Unpickled models by version: a version never changes, and a score tick should not pay
# for unpickling the same artifact again.
_LOADED: dict[int, Ranker] = {}
_LOCK = threading.Lock()


def current_row(session: Session, token_id: int) -> RankerModel | None:
    return session.scalar(select(RankerModel).where(RankerModel.token_id == token_id,
                                                    RankerModel.status == "current"))


def current(session: Session, token_id: int) -> Ranker | None:
    """The token's ranker in force, loaded (None: none trained, or all rolled back)."""
    row = session.execute(select(RankerModel.id).where(
        RankerModel.token_id == token_id, RankerModel.status == "current")).scalar()
    if row is None:
        return None
    with _LOCK:
        held = _LOADED.get(row)
    if held is None:
        model = session.get_one(RankerModel, row)
        held = loads(model.artifact, list(model.features), model.threshold, model.id,
                     frozenset(str(entry[0]) for entry in model.training_set))
        with _LOCK:
            _LOADED[row] = held
    return held


def latest(session: Session, token_id: int) -> RankerModel | None:
    """The token's newest version, whatever its status."""
    return session.scalar(select(RankerModel).where(RankerModel.token_id == token_id)
                          .order_by(RankerModel.id.desc()).limit(1))


def list_models(session: Session, token_id: int | None = None,
                limit: int = 100) -> list[RankerModel]:
    """Versions newest first."""
    statement = select(RankerModel).order_by(RankerModel.id.desc()).limit(limit)
    if token_id is not None:
        statement = statement.where(RankerModel.token_id == token_id)
    return list(session.scalars(statement))


def get(session: Session, version: int) -> RankerModel:
    row = session.get(RankerModel, version)
    if row is None:
        raise NotFound(f"model {version} not found")
    return row


def summary(row: RankerModel, token: Token | None = None) -> dict[str, Any]:
    """A version as `model list` and `model show` print it (without its training set)."""
    from monitor.addresses import checksum

    metric = row.metrics or {}
    return {"version": row.id, "token": checksum(token.address) if token else row.token_id,
            "status": row.status, "pr_auc": round(row.pr_auc, 4),
            "f1": metric.get("f1"), "threshold": round(row.threshold, 4),
            "laundering": metric.get("laundering"), "legitimate": metric.get("legitimate"),
            "features": len(row.features), "created_by": row.created_by,
            "created_at": iso(row.created_at),
            "retired_at": iso(row.retired_at) if row.retired_at else None, "note": row.note}


def detail(row: RankerModel, token: Token | None = None) -> dict[str, Any]:
    """Everything stored about a version but its artifact."""
    return {**summary(row, token), "metrics": row.metrics, "params": row.params,
            "feature_list": row.features, "labels_digest": row.labels_digest,
            "artifact_format": row.artifact_format, "artifact_bytes": len(row.artifact),
            "training_set": [{"address": checksum_of(a), "label": label, "weight": weight}
                             for a, label, weight in row.training_set]}


def checksum_of(address: str) -> str:
    from monitor.addresses import checksum

    return checksum(address)


def rollback(session: Session, token: Token, actor: str) -> tuple[RankerModel, RankerModel | None]:
    """Retire the token's current ranker and put back the one it replaced (the newest
    retired version before it), if any: (retired, now current or None). Audited."""
    row = session.scalar(select(RankerModel).where(
        RankerModel.token_id == token.id, RankerModel.status == "current").with_for_update())
    if row is None:
        raise Conflict(f"token {token.address} has no model in force to roll back")
    previous = session.scalar(select(RankerModel).where(
        RankerModel.token_id == token.id, RankerModel.status == "retired",
        RankerModel.id < row.id).order_by(RankerModel.id.desc()).limit(1).with_for_update())
    now = datetime.now(UTC)
    row.status, row.retired_at = "retired", now
    row.note = _append(row.note, f"rolled back by {actor}")
    session.flush()
    if previous is not None:
        previous.status, previous.retired_at = "current", None
        previous.note = _append(previous.note, f"back in force after v{row.id} was rolled back")
    session.flush()
    audit.record(session, actor, "model.rollback", "model", row.id,
                 before={"current": row.id},
                 after={"current": previous.id if previous is not None else None})
    return row, previous


def publish(session: Session) -> None:
    """Set amlmon_model_pr_auc and amlmon_model_trained_timestamp_seconds from the models in
    force (a token without one drops its series)."""
    rows = session.execute(select(Token.address, RankerModel.pr_auc, RankerModel.created_at)
                           .join(RankerModel, RankerModel.token_id == Token.id)
                           .where(RankerModel.status == "current")).all()
    for gauge in (metrics.model_pr_auc, metrics.model_trained_timestamp_seconds):
        gauge.clear()  # a token whose model was rolled back to none has no series
    for address, pr_auc, created_at in rows:
        metrics.model_pr_auc.labels(address).set(pr_auc)
        metrics.model_trained_timestamp_seconds.labels(address).set(as_utc(created_at).timestamp())


def _append(note: str | None, more: str) -> str:
    return f"{note}; {more}" if note else more
