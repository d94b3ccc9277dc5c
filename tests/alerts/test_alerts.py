"""Alerts: dedup, lifecycle and audit trail, retraction after a reorg, signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import pwd
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from models import Alert, AlertEvent, Notification
from monitor import db, jobs, metrics
from monitor.alerts import lifecycle
from monitor.errors import Conflict
from monitor.ingest import store
from monitor.scoring import queue
from monitor.settings import Settings
from monitor.watchlist.service import import_list
from support.anvil import free_port
from support.cli import assert_one_line_error, run_cli
from support.history import write_history
from support.rules import RULES_FILE

SECRET = "s3cret-for-tests"


@pytest.fixture
def sessions(pg_url: str, make_sessions: Any) -> sessionmaker[Session]:
    return make_sessions(pg_url)


def settings(pg_url: str, **extra: Any) -> Settings:
    return Settings(database_url=pg_url, rules_file=None, **extra)


def test_alerts_are_raised_once_and_updated_not_duplicated(
    pg_url: str, sessions: sessionmaker[Session]
) -> None:
    write_history(sessions)
    first = jobs.score_and_alert(sessions, settings(pg_url))
    assert first.alerts_created > 10
    again = jobs.score_and_alert(sessions, settings(pg_url))
    assert (again.alerts_created, again.alerts_updated) == (0, 0)
    with sessions() as session:
        alerts = list(session.scalars(select(Alert)))
        keys = [(a.token_id, a.address, a.rule) for a in alerts]
        assert len(keys) == len(set(keys)) == first.alerts_created
        created = session.scalars(select(AlertEvent).where(AlertEvent.kind == "created")).all()
        assert len(created) == len(alerts)
        assert all(a.evidence and a.score_history for a in alerts if a.rule != "anomaly")
    assert (metrics.REGISTRY.get_sample_value("amlmon_alerts_raised_total",
                                              {"rule": alerts[0].rule,
                                               "severity": alerts[0].severity}) or 0) >= 1


def test_lifecycle_moves_forward_only_and_every_change_is_audited(
    pg_url: str, sessions: sessionmaker[Session]
) -> None:
    write_history(sessions)
    jobs.score_and_alert(sessions, settings(pg_url))
    with db.transaction(sessions) as session:
        alert_id = lifecycle.list_alerts(session, status="open", limit=1)[0].id
        lifecycle.update_alert(session, alert_id, actor="ana", status="acknowledged",
                             note="looking")
        lifecycle.update_alert(session, alert_id, actor="ana", assignee="ben")
        lifecycle.update_alert(session, alert_id, actor="ben", status="escalated", note="MLRO")
        lifecycle.update_alert(session, alert_id, actor="ben", note="SAR drafted")
        lifecycle.update_alert(session, alert_id, actor="mlro", status="reported")
    with db.transaction(sessions) as session, pytest.raises(Conflict, match="is reported"):
        lifecycle.update_alert(session, alert_id, actor="x", status="acknowledged")
    with sessions() as session:
        events = lifecycle.alert_events(session, alert_id)
        trail = [(e.actor, e.kind, e.from_status, e.to_status, e.note) for e in events]
    assert trail[1:] == [
        ("ana", "status", "open", "acknowledged", "looking"),
        ("ana", "assignee", None, None, None),
        ("ben", "status", "acknowledged", "escalated", "MLRO"),
        ("ben", "note", None, None, "SAR drafted"),
        ("mlro", "status", "escalated", "reported", None),
    ]
    # A closed alert stays closed; the same finding later opens a new one.
    jobs.score_and_alert(sessions, settings(pg_url))
    with sessions() as session:
        reported = session.get(Alert, alert_id)
        assert reported is not None
        reopened = session.scalars(select(Alert).where(
            Alert.address == reported.address, Alert.rule == reported.rule,
            Alert.status == "open")).all()
        assert len(reopened) == 1 and reopened[0].id != alert_id


def test_alert_is_retracted_when_a_reorg_orphans_its_evidence(
    pg_url: str, sessions: sessionmaker[Session]
) -> None:
    token_id = write_history(sessions)
    jobs.score_and_alert(sessions, settings(pg_url))
    with sessions() as session:
        newest = max(lifecycle.list_alerts(session, status="open", limit=500),
                     key=lambda a: a.first_seen_at)
        blocks = session.scalars(select(store.Transfer.block_number).where(
            store.Transfer.tx_hash.in_(newest.evidence))).all()
    fork = min(blocks)
    with db.transaction(sessions) as session:
        touched = store.delete_from(session, 31337, fork)
        queue.mark(session, touched, "reorg")
    summary = jobs.score_and_alert(sessions, settings(pg_url), "incremental")
    assert summary.alerts_retracted >= 1
    with sessions() as session:
        alert = session.get(Alert, newest.id)
        assert alert is not None and alert.status == "retracted"
        [event] = [e for e in lifecycle.alert_events(session, alert.id) if e.kind == "retracted"]
        assert "orphaned by a chain reorganisation" in (event.note or "")
    assert token_id


class Receiver:
    """A real local webhook receiver that verifies the signature; can be 'down'."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.down = True
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if receiver.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                stamp = self.headers["x-amlmon-timestamp"]
                expected = "sha256=" + hmac.new(SECRET.encode(), f"{stamp}.".encode() + body,
                                                hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(expected, self.headers["x-amlmon-signature"])
                receiver.received.append({"ok": ok, "body": json.loads(body)})
                self.send_response(200 if ok else 401)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.mark.parametrize("sink", ["json", "slack"])
def test_webhooks_are_signed_and_retried_until_delivered(
    pg_url: str, sessions: sessionmaker[Session], receiver: Receiver, sink: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMLMON_WEBHOOK_SECRET", SECRET)
    config = Settings(database_url=pg_url, rules_file=None, webhook_url=receiver.url,
                      webhook_format=sink)
    write_history(sessions)
    summary = jobs.score_and_alert(sessions, config)
    down = jobs.deliver_notifications(sessions, config)
    # The first failure defers the rest of that receiver's round (of at most 100) to later.
    assert down == {"sent": 0, "retry": 1, "failed": 0,
                    "deferred": min(summary.alerts_created, 100) - 1}
    with sessions() as session:
        pending = session.scalars(select(Notification).order_by(Notification.id)).all()
        assert (pending[0].attempts, pending[0].last_error) == (1, "HTTP 503")
        assert pending[0].next_attempt_at >= pending[0].created_at + timedelta(seconds=20)
        assert {n.status for n in pending} == {"pending"}
    receiver.down = False
    sent = 0  # rounds of at most 100 until the queue is empty; the failed one is not due yet
    while (round_ := jobs.deliver_notifications(sessions, config))["sent"]:
        sent += round_["sent"]
    assert sent == summary.alerts_created - 1
    with db.transaction(sessions) as session:  # time passes
        session.execute(update(Notification).values(
            next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert jobs.deliver_notifications(sessions, config)["sent"] == 1
    assert len(receiver.received) == summary.alerts_created
    assert all(r["ok"] for r in receiver.received)
    body = receiver.received[0]["body"]
    if sink == "slack":
        assert body["text"].startswith("[") and body["blocks"]
    else:
        assert {"alert_id", "rule", "severity", "address", "detail", "evidence"} <= set(body)
    with sessions() as session:
        assert {n.status for n in session.scalars(select(Notification))} == {"sent"}


def test_cli_lists_and_triages(pg_url: str, sessions: sessionmaker[Session], capsys: Any,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    write_history(sessions)
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)
    monkeypatch.setenv("AMLMON_RULES_FILE", str(RULES_FILE))
    assert run_cli(capsys, "score").code == 0
    listed = run_cli(capsys, "alerts", "list", "--status", "open", "--format", "json")
    assert listed.code == 0, listed.err
    rows = json.loads(listed.out)
    assert rows and all(r["status"] == "open" for r in rows)
    alert_id = str(rows[0]["id"])
    done = run_cli(capsys, "alerts", "update", alert_id, "--status", "dismissed", "--note",
                   "known OTC desk", "--actor", "ana")
    assert done.code == 0 and "dismissed" in done.out
    assert_one_line_error(run_cli(capsys, "alerts", "update", alert_id, "--status",
                                  "escalated"), "is dismissed")
    assert_one_line_error(run_cli(capsys, "alerts", "update", "999999", "--note", "x"),
                          "alert 999999 not found")
    assert_one_line_error(run_cli(capsys, "alerts", "update", alert_id, "--status", "open"),
                          "--status")
    table = run_cli(capsys, "alerts", "list")
    assert table.code == 0 and "dismissed" in table.out


def test_cli_actor_without_a_login_name_is_cli(pg_url: str, sessions: sessionmaker[Session],
                                               capsys: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A container running as an arbitrary uid: no USER or LOGNAME, and no passwd entry (a
    real unknown uid cannot be made in-process, so the lookup is made to fail as it does)."""
    write_history(sessions)
    jobs.score_and_alert(sessions, settings(pg_url))
    with sessions() as session:
        alert_id = lifecycle.list_alerts(session, status="open", limit=1)[0].id
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)

    def no_entry(uid: int) -> Any:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    done = run_cli(capsys, "alerts", "update", str(alert_id), "--status", "acknowledged")
    assert done.code == 0, done.err
    with sessions() as session:
        assert lifecycle.alert_events(session, alert_id)[-1].actor == "cli"


def test_slack_messages_escape_data(pg_url: str, sessions: sessionmaker[Session],
                                    receiver: Receiver, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A list label reaches alert details: in Slack's mrkdwn it must not mention everyone
    or disguise a link."""
    monkeypatch.setenv("AMLMON_WEBHOOK_SECRET", SECRET)
    receiver.down = False
    write_history(sessions)
    with sessions() as session:
        holder = session.scalars(select(store.Transfer.to_address).where(
            store.Transfer.to_address != "0x" + "00" * 20).limit(1)).one()
    hostile = "<!channel> <http://evil|click> & co"
    listed = tmp_path / "hostile.csv"
    listed.write_text(f"address,label\n{holder},{hostile}\n")
    with db.transaction(sessions) as session:
        import_list(session, listed, "hostile")
    config = settings(pg_url, webhook_url=receiver.url, webhook_format="slack")
    jobs.score_and_alert(sessions, config)
    assert jobs.deliver_notifications(sessions, config)["sent"] == len(receiver.received)
    texts = [text for message in receiver.received for text in (
        message["body"]["text"], message["body"]["blocks"][0]["text"]["text"],
        message["body"]["blocks"][1]["elements"][0]["text"])]
    assert any("&lt;!channel&gt; &lt;http://evil|click&gt; &amp; co" in t for t in texts)
    # No data can open a Slack tag: the messages' own text has no < or > either.
    assert not [t for t in texts if "<" in t or ">" in t]
