"""Reading the audit log: GET /api/v1/audit (admin; filters, cursor pages) and `amlmon
audit list`, newest first, with one-line errors for bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from models import AuditEvent
from monitor import audit, db
from monitor.api.app import create_app
from monitor.apikeys import create_key, revoke_key
from monitor.settings import Settings
from monitor.tokens import add_token
from support.api import client, serve_app
from support.cli import assert_one_line_error, run_cli

OLD = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def logged(pg_url: str, make_sessions: Any, monkeypatch: pytest.MonkeyPatch,
           ) -> sessionmaker[Session]:
    """An admin and a viewer key, 12 tokens added by "ana", a key revoked by "bob"; the
    first token's row is dated 2020."""
    sessions: sessionmaker[Session] = make_sessions(pg_url)
    with db.transaction(sessions) as session:
        create_key(session, "admin-key", "admin")
        create_key(session, "viewer-key", "viewer")
        for i in range(12):
            add_token(session, chain_id=1, address="0x" + f"{i + 1:040x}", actor="ana")
        revoke_key(session, "viewer-key", actor="bob")
        first = min(e.id for e in audit.events(session, object_type="token", limit=100))
        session.execute(update(AuditEvent).where(AuditEvent.id == first).values(at=OLD))
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)
    return sessions


def test_the_api_pages_and_filters_the_audit_log(logged: sessionmaker[Session],
                                                 pg_url: str) -> None:
    with db.transaction(logged) as session:
        admin = create_key(session, "reader", "admin")[1]
    settings = Settings(database_url=pg_url, rules_file=None)
    with serve_app(create_app(settings, logged)) as base, client(base, admin) as http:
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = http.get("/api/v1/audit", params={"limit": 5, **(
                {"cursor": cursor} if cursor else {})})
            assert page.status_code == 200, page.text
            body = page.json()
            assert len(body["items"]) <= 5
            seen += body["items"]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        ids = [row["id"] for row in seen]
        assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids)) == 16
        assert seen[0]["action"] == "key.create" and seen[0]["object_id"] == "reader"
        assert set(seen[-1]) == {"id", "at", "actor", "action", "object_type", "object_id",
                                 "before", "after", "note"}

        tokens = http.get("/api/v1/audit", params={"object_type": "token", "limit": 500})
        assert [r["actor"] for r in tokens.json()["items"]] == ["ana"] * 12
        by_actor = http.get("/api/v1/audit", params={"actor": "bob"}).json()["items"]
        assert [(r["action"], r["object_id"]) for r in by_actor] == [
            ("key.revoke", "viewer-key")]
        one = http.get("/api/v1/audit", params={"object_type": "key",
                                                "object_id": "viewer-key"}).json()["items"]
        assert [r["action"] for r in one] == ["key.revoke", "key.create"]
        recent = http.get("/api/v1/audit", params={"object_type": "token",
                                                   "since": "2021-01-01"}).json()["items"]
        assert len(recent) == 11
        assert http.get("/api/v1/audit", params={"actor": "nobody"}).json() == {
            "items": [], "next_cursor": None}

        for params, field in (({"since": "yesterday"}, "since"), ({"limit": 0}, "limit"),
                              ({"cursor": "-1"}, "cursor"), ({"object_type": ""}, "object_type"),
                              ({"actor": "x" * 129}, "actor")):
            bad = http.get("/api/v1/audit", params=params)
            assert bad.status_code == 422 and field in bad.json()["error"], (params, bad.text)
            assert set(bad.json()) == {"error"}


def test_the_cli_lists_the_audit_log(logged: sessionmaker[Session], capsys: Any) -> None:
    listed = run_cli(capsys, "audit", "list", "--format", "json", "--limit", "3")
    assert listed.code == 0, listed.err
    rows = json.loads(listed.out)
    assert [r["action"] for r in rows] == ["key.revoke", "token.add", "token.add"]
    older = json.loads(run_cli(capsys, "audit", "list", "--format", "json", "--before-id",
                               str(rows[-1]["id"]), "--limit", "1000").out)
    assert len(older) == 15 - 3 and all(r["id"] < rows[-1]["id"] for r in older)
    assert [r["object_id"] for r in json.loads(run_cli(
        capsys, "audit", "list", "--object-type", "key", "--object-id", "viewer-key",
        "--format", "json").out)] == ["viewer-key", "viewer-key"]
    since = json.loads(run_cli(capsys, "audit", "list", "--actor", "ana", "--since",
                               "2021-01-01T00:00:00Z", "--format", "json").out)
    assert len(since) == 11
    table = run_cli(capsys, "audit", "list", "--actor", "bob")
    assert table.code == 0 and "key.revoke" in table.out and "revoked_at" in table.out
    assert_one_line_error(run_cli(capsys, "audit", "list", "--since", "last week"),
                          "--since")
    assert_one_line_error(run_cli(capsys, "audit", "list", "--limit", "0"), "--limit")
    assert_one_line_error(run_cli(capsys, "audit", "list", "--format", "xml"), "--format")
