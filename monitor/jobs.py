"""The units of work the CLI and the daemon run: score-and-alert, deliver notifications.

Each job opens its own transactions, so one job's failure never leaves another's work
half done, and the scheduler can run them on any cadence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import ScoreRun, Token
from monitor import audit
from monitor.alerts import notify
from monitor.alerts.raising import raise_from_run
from monitor.db import transaction
from monitor.scoring import queue, rules_file, service
from monitor.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class ScoreSummary:
    runs: list[ScoreRun] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    alerts_created: int = 0
    alerts_updated: int = 0
    alerts_retracted: int = 0


def score_and_alert(
    sessions: sessionmaker[Session], settings: Settings, kind: str = "full",
    token_ids: list[int] | None = None, cache: service.ScoringCache | None = None,
) -> ScoreSummary:
    """Score every (or the given) token, raise/update alerts, queue their notifications.

    `cache`: a long-lived process's ScoringCache, so incremental runs re-score only what
    the new blocks can change.
    """
    config = rules_file.load(settings)
    summary = ScoreSummary()
    with sessions() as session:
        ids = token_ids or list(session.scalars(select(Token.id).order_by(Token.id)))
    for token_id in ids:
        with transaction(sessions) as session:
            token = session.get(Token, token_id)
            if token is None:
                continue
            run = service.run(session, token, config, kind, cache, settings.snapshot_dir)
            if run is None:
                summary.skipped.append(token.symbol or token.address)
                continue
            raised = raise_from_run(session, token, run, config)
            notify.enqueue(session, raised.created, settings.webhook_url,
                           settings.webhook_format)
            notify.enqueue(session, raised.retracted, settings.webhook_url,
                           settings.webhook_format, event="alert.retracted")
            summary.runs.append(run)
            summary.alerts_created += len(raised.created)
            summary.alerts_updated += len(raised.updated)
            summary.alerts_retracted += len(raised.retracted)
    return summary


def retrain_rankers(sessions: sessionmaker[Session], settings: Settings,
                    token_ids: list[int] | None = None) -> list[str]:
    """Train the ranker of every (or the given) token whose labels changed since its
    newest version (new outcomes, imports, removals); a line per token trained. The
    daemon's `retrain` tick runs this before its full score run, which then fuses what is
    in force. A token with too few labels is skipped quietly (its line says why). The
    rules are evaluated afresh: a scoring cache's state may be changing under another
    job's incremental run meanwhile."""
    from monitor.ranker import store
    from monitor.ranker.training import service as training

    config = rules_file.load(settings)
    lines = []
    with sessions() as session:
        ids = token_ids or list(session.scalars(select(Token.id).order_by(Token.id)))
    for token_id in ids:
        with transaction(sessions) as session:
            token = session.get(Token, token_id)
            if token is None or not training.due(session, token):
                continue
            trained = training.train(session, token, config, audit.SYSTEM)
            lines.append(trained.line)
            (log.info if trained.row is not None else log.debug)("%s", trained.line)
    with sessions() as session:
        store.publish(session)
    return lines


def audit_rules_reload(sessions: sessionmaker[Session], settings: Settings,
                       seen: dict[str, Any] | None) -> dict[str, Any] | None:
    """Record a `config.reload` when the rules file changed since `seen` (the state the
    previous score tick used); the state to pass next time. A file that does not load is
    not a reload: the error propagates (the job fails and says why), `seen` stays, and
    the fixed file is recorded against it."""
    state = rules_file.state(settings)
    if state != seen:
        rules_file.load(settings)
        with transaction(sessions) as session:
            audit.record(session, audit.SYSTEM, "config.reload", "config", "rules_file",
                         before=seen, after=state,
                         note="the rules file changed between two score ticks")
    return state


def rescreen(sessions: sessionmaker[Session], settings: Settings) -> ScoreSummary:
    """Score the tokens marked for re-screening (a list changed, a reorg) and no other:
    `amlmon api`'s background work after a list upload, when no daemon scores."""
    with sessions() as session:
        pending = sorted(queue.pending_tokens(session))
    if not pending:
        return ScoreSummary()
    return score_and_alert(sessions, settings, "incremental", token_ids=pending)


def deliver_notifications(sessions: sessionmaker[Session], settings: Settings) -> dict[str, int]:
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return notify.deliver_due(sessions, secret)
