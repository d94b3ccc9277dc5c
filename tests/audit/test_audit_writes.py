"""Every change of keys, tokens, watchlists and the rules file is an audit row with actor,
object and before/after, from the CLI (actor: the login name), the API (actor: the key's
name) and the daemon (config.reload); never a key or its hash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import ApiKey, AuditEvent
from monitor import audit, db
from monitor.api.app import create_app
from monitor.apikeys import create_key
from monitor.cli.actor import default_actor
from monitor.daemon import Daemon
from monitor.settings import Settings
from support.anvil import free_port
from support.api import client, serve_app
from support.cli import run_cli
from support.history import write_history
from support.rules import RULES_FILE

TOKEN = "0x" + "5a" * 20
LISTED = ["0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20]


def _rows(sessions: sessionmaker[Session], **filters: Any) -> list[AuditEvent]:
    with sessions() as session:
        return list(reversed(audit.events(session, **filters)))


def _secrets(sessions: sessionmaker[Session]) -> list[str]:
    """Everything secret about the stored keys: their hashes and salts."""
    with sessions() as session:
        return [part for key in session.scalars(select(ApiKey))
                for part in (key.key_hash, key.salt)]


def _assert_no_secret(rows: list[AuditEvent], secrets: list[str]) -> None:
    text = json.dumps([audit.as_json(row) for row in rows])
    assert "amk_" not in text
    for secret in secrets:
        assert secret not in text


@pytest.fixture
def cli_db(pg_url: str, monkeypatch: pytest.MonkeyPatch, make_sessions: Any,
           ) -> sessionmaker[Session]:
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)
    monkeypatch.delenv("AMLMON_RPC_URLS", raising=False)
    return make_sessions(pg_url)  # type: ignore[no-any-return]


def test_cli_changes_are_audited_as_the_login_name(cli_db: sessionmaker[Session], capsys: Any,
                                                   tmp_path: Path) -> None:
    me = default_actor()
    created = run_cli(capsys, "apikey", "create", "--name", "alice", "--role", "investigator")
    assert created.code == 0, created.err
    secret = created.out.strip()
    assert run_cli(capsys, "apikey", "revoke", "--name", "alice").code == 0
    assert run_cli(capsys, "apikey", "revoke", "--name", "alice").code == 0  # nothing changes
    assert run_cli(capsys, "token", "add", "--chain-id", "1", "--address", TOKEN,
                   "--symbol", "RWA", "--decimals", "6").code == 0
    listing = tmp_path / "mixers.txt"
    listing.write_text("\n".join(LISTED) + "\n")
    assert run_cli(capsys, "watchlist", "import", str(listing), "--list", "mixers",
                   "--category", "mixer", "--no-rescreen").code == 0
    listing.write_text(LISTED[0] + "\n")
    assert run_cli(capsys, "watchlist", "import", str(listing), "--list", "mixers",
                   "--category", "mixer", "--no-rescreen").code == 0

    rows = _rows(cli_db)
    assert [(r.action, r.object_type, r.object_id, r.actor) for r in rows] == [
        ("key.create", "key", "alice", me), ("key.revoke", "key", "alice", me),
        ("token.add", "token", str(rows[2].object_id), me),
        ("watchlist.import", "watchlist", "mixers", me),
        ("watchlist.replace", "watchlist", "mixers", me)]
    create, revoke, token, imported, replaced = rows
    assert create.before is None and create.after == {
        "name": "alice", "role": "investigator", "revoked_at": None}
    assert revoke.before == create.after and revoke.after["revoked_at"]
    assert token.after == {"chain_id": 1, "address": TOKEN, "name": None, "symbol": "RWA",
                           "decimals": 6, "standard": "erc20", "start_block": 0}
    assert imported.before is None
    assert imported.after == {"category": "mixer", "entries": 3, "source": str(listing),
                              "format": "text", "added": 3, "removed": 0, "changed": 0}
    assert replaced.before == {"category": "mixer", "entries": 3, "source": str(listing)}
    assert replaced.after["entries"] == 1 and replaced.after["removed"] == 2
    # Counts, never the list itself; never the key, its hash or its salt.
    assert not any(address[2:] in json.dumps(audit.as_json(r)) for r in rows
                   for address in LISTED)
    _assert_no_secret(rows, [secret, secret.split("_")[-1], *_secrets(cli_db)])


def test_api_changes_are_audited_as_the_key_name(pg_url: str, make_sessions: Any) -> None:
    sessions = make_sessions(pg_url)
    with db.transaction(sessions) as session:
        admin = create_key(session, "root-admin", "admin")[1]
    settings = Settings(database_url=pg_url, rules_file=None)
    with serve_app(create_app(settings, sessions)) as base, client(base, admin) as http:
        made = http.post("/api/v1/keys", json={"name": "bob", "role": "viewer"})
        assert made.status_code == 201, made.text
        assert http.delete("/api/v1/keys/bob").status_code == 200
        assert http.post("/api/v1/tokens", json={
            "chain_id": 5, "address": TOKEN, "decimals": 2}).status_code == 201
        for body in ("\n".join(LISTED), LISTED[1]):
            put = http.put("/api/v1/watchlists/scams", params={"category": "scam"},
                           content=body, headers={"content-type": "text/plain"})
            assert put.status_code in (200, 202), put.text
        # Refused changes leave no row.
        assert http.post("/api/v1/keys", json={"name": "bob", "role": "viewer"}
                         ).status_code == 409
    rows = _rows(sessions)
    assert [(r.action, r.object_id, r.actor) for r in rows] == [
        ("key.create", "root-admin", audit.SYSTEM), ("key.create", "bob", "root-admin"),
        ("key.revoke", "bob", "root-admin"), ("token.add", rows[3].object_id, "root-admin"),
        ("watchlist.import", "scams", "root-admin"),
        ("watchlist.replace", "scams", "root-admin")]
    assert rows[3].after["chain_id"] == 5 and rows[3].after["address"] == TOKEN
    assert rows[4].after["source"] == "api upload" and rows[4].after["entries"] == 3
    assert rows[5].after["entries"] == 1 and rows[5].after["removed"] == 2
    _assert_no_secret(rows, [admin, made.json()["key"], *_secrets(sessions)])


def test_a_rules_file_changed_between_score_ticks_is_one_config_reload(
    pg_url: str, make_sessions: Any, tmp_path: Path,
) -> None:
    sessions = make_sessions(pg_url)
    write_history(sessions)  # on chain 31337
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_FILE.read_text())
    settings = Settings(database_url=pg_url, rules_file=rules, chain_id=31337,
                        rpc_urls=[f"http://127.0.0.1:{free_port()}"])  # scoring never calls it
    engine = db.make_engine(pg_url)
    daemon = Daemon(settings, engine, sessions, settings.chain_list())
    try:
        assert daemon.lease.acquire()
        daemon.score()
        assert _rows(sessions, object_type="config") == []  # the first tick: no change
        first = daemon.rules_seen
        rules.write_text(RULES_FILE.read_text() + "\nalerts:\n  min_risk: 60\n")
        daemon.score()
        daemon.score()  # unchanged since the last tick
        reloads = _rows(sessions, object_type="config")
        assert [(r.action, r.actor, r.object_id) for r in reloads] == [
            ("config.reload", audit.SYSTEM, "rules_file")]
        assert reloads[0].before == first == {"path": str(rules),
                                               "sha256": first["sha256"]}
        assert reloads[0].after == {"path": str(rules), "sha256": daemon.rules_seen["sha256"]}
        assert reloads[0].after["sha256"] != first["sha256"]

        # A file that does not load is not a reload: the tick fails and says why; once
        # fixed, one row records the change from the last file that was in force.
        rules.write_text("alerts:\n  min_risk: 500\n")
        with pytest.raises(Exception, match="alerts.min_risk"):
            daemon.score()
        assert len(_rows(sessions, object_type="config")) == 1
        rules.write_text(RULES_FILE.read_text())
        daemon.score()
        reloads = _rows(sessions, object_type="config")
        assert len(reloads) == 2 and reloads[1].before == reloads[0].after
        assert reloads[1].after == first
    finally:
        daemon.shutdown()
        engine.dispose()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "config.reload")) == 2
