"""The HTTP API over a real server and a real Postgres: health, auth matrix, alerts,
triage with its audit trail, reports in every format, and bad input."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from models import Alert, Pattern
from monitor import db
from monitor.api.app import create_app
from monitor.reports.flagged import CSV_FIELDS
from monitor.settings import Settings
from support.amlmon_api import amlmon_api, stop
from support.anvil import free_port
from support.api import client, serve_app
from support.cli import run_cli
from support.history import TOKEN
from support.routes import api_routes

RANK = {"viewer": 0, "investigator": 1, "admin": 3}  # the roles the api fixture has keys of
LEAST_RANK = {**RANK, "supervisor": 2}  # the least role of some routes


def _json_error(response: httpx.Response, status: int, fragment: str = "") -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert fragment.lower() in body["error"].lower(), body
    assert "Traceback" not in body["error"]
    return str(body["error"])


def _flagged_address(api: Any) -> str:
    with client(api.base, api.keys["viewer"]) as http:
        return str(http.get("/api/v1/reports/flagged").json()["items"][0]["address"])


def test_health_readiness_metrics_and_openapi_are_open(api: Any) -> None:
    with client(api.base) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        metrics = http.get("/metrics")
        assert metrics.status_code == 200
        assert "amlmon_alerts_open" in metrics.text
        schema = http.get("/openapi.json").json()
        assert "/api/v1/alerts" in schema["paths"]
        assert {"HTTPBearer", "APIKeyHeader", "HTTPBasic"} <= set(
            schema["components"]["securitySchemes"])


def test_readyz_is_503_when_the_schema_is_behind_or_the_database_is_down(
    pg_url: str, make_sessions: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Anyone may ask /readyz: it answers a short category, never the database's own
    words (which can name hosts and users); those go to the log."""
    db.downgrade(pg_url, "base")
    behind = create_app(Settings(database_url=pg_url, rules_file=None), make_sessions(pg_url))
    down_url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    down = create_app(Settings(database_url=down_url, rules_file=None),
                      make_sessions(down_url))
    with serve_app(behind) as base, client(base) as http:
        answer = http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "unavailable", "reason": "database schema not at head"}
        assert http.get("/healthz").status_code == 200
    assert "amlmon db upgrade" in caplog.text
    with serve_app(down) as base, client(base) as http:
        answer = http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "unavailable", "reason": "database unreachable"}
        # An API call during the outage is a 503 the client can retry, not a 500.
        _json_error(http.get("/api/v1/tokens", headers={"X-API-Key": "amk_a_b"}), 503,
                    "database unavailable")
    assert "127.0.0.1" in caplog.text  # the driver's words are logged, not answered


def test_investigator_reads_go_to_the_read_replica(api: Any, pg_url: str,
                                                   make_sessions: Any) -> None:
    """With read_database_url, reports, profiles and lists come from the replica; keys and
    writes stay on the primary. The "replica" here is a second real database, migrated but
    empty, so what an endpoint answers shows which database it read."""
    replica = create_app(api.settings, api.sessions, make_sessions(pg_url))
    address = _flagged_address(api)
    with serve_app(replica) as base:
        with client(base, api.keys["admin"]) as http:  # the key exists only on the primary
            assert http.get("/readyz").json()["status"] == "ready"
            for path in ("/api/v1/reports/flagged", "/api/v1/alerts", "/api/v1/tokens",
                         "/api/v1/watchlists"):
                assert http.get(path).json()["items"] == [], path
            assert http.get(f"/api/v1/addresses/{address}").json()["tokens"] == []
            assert "viewer-key" in {k["name"] for k in http.get("/api/v1/keys").json()["items"]}
        with client(api.base, api.keys["viewer"]) as http:  # the same reads on the primary
            assert http.get("/api/v1/reports/flagged").json()["items"]
            assert http.get(f"/api/v1/addresses/{address}").json()["tokens"]

        db.downgrade(pg_url, "base")
        with client(base) as http:
            answer = http.get("/readyz")
            assert answer.status_code == 503
            assert answer.json() == {"status": "unavailable",
                                     "reason": "replica schema not at head"}

    down_url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    with serve_app(create_app(api.settings, api.sessions, make_sessions(down_url))) as base, \
            client(base) as http:
        answer = http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "unavailable", "reason": "replica unreachable"}


# The least role of every operation under /api/v1, written down here rather than read from
# the code: the matrix is built from the app's own routes, so a route added without an
# entry here, or served to a lower role than written here, fails the test.
LEAST_ROLE = {
    ("GET", "/api/v1/tokens"): "viewer",
    ("POST", "/api/v1/tokens"): "admin",
    ("GET", "/api/v1/alerts"): "viewer",
    ("GET", "/api/v1/alerts/{alert_id}"): "viewer",
    ("PATCH", "/api/v1/alerts/{alert_id}"): "investigator",
    ("GET", "/api/v1/addresses/{address}"): "viewer",
    ("GET", "/api/v1/reports/flagged"): "viewer",
    ("GET", "/api/v1/reports/address/{address}"): "viewer",
    ("GET", "/api/v1/keys"): "admin",
    ("POST", "/api/v1/keys"): "admin",
    ("DELETE", "/api/v1/keys/{name}"): "admin",
    ("GET", "/api/v1/watchlists"): "viewer",
    ("PUT", "/api/v1/watchlists/{name}"): "admin",
    ("GET", "/api/v1/patterns"): "viewer",
    ("GET", "/api/v1/patterns/{pattern_id}"): "viewer",
    ("GET", "/api/v1/cases"): "viewer",
    ("POST", "/api/v1/cases"): "investigator",
    ("GET", "/api/v1/cases/{case_id}"): "viewer",
    ("PATCH", "/api/v1/cases/{case_id}"): "investigator",
    ("POST", "/api/v1/cases/{case_id}/approve"): "supervisor",
    ("GET", "/api/v1/cases/{case_id}/report"): "viewer",
    ("GET", "/api/v1/rules/stats"): "viewer",
    ("GET", "/api/v1/audit"): "admin",
    ("GET", "/api/v1/suppressions"): "viewer",
    ("POST", "/api/v1/suppressions"): "investigator",
    ("DELETE", "/api/v1/suppressions/{suppression_id}"): "investigator",
    ("GET", "/api/v1/labels"): "viewer",
    ("GET", "/api/v1/bridge-transfers"): "viewer",
    ("POST", "/api/v1/labels"): "investigator",
}


def _requests(api: Any) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """For each operation, a request that gets past auth: (path, request kwargs)."""
    address = _flagged_address(api)
    with api.sessions() as session:
        alert_id = session.scalar(select(func.min(Alert.id)))
        pattern_id = session.scalar(select(func.min(Pattern.id)))
    return {
        ("GET", "/api/v1/tokens"): ("/api/v1/tokens", {}),
        ("POST", "/api/v1/tokens"): ("/api/v1/tokens", {"json": {
            "chain_id": 5, "address": "0x" + uuid.uuid4().hex[:20] * 2, "decimals": 2}}),
        ("GET", "/api/v1/alerts"): ("/api/v1/alerts", {}),
        ("GET", "/api/v1/alerts/{alert_id}"): (f"/api/v1/alerts/{alert_id}", {}),
        ("PATCH", "/api/v1/alerts/{alert_id}"): (f"/api/v1/alerts/{alert_id}",
                                                 {"json": {"note": "seen"}}),
        ("GET", "/api/v1/addresses/{address}"): (f"/api/v1/addresses/{address}", {}),
        ("GET", "/api/v1/reports/flagged"): ("/api/v1/reports/flagged", {}),
        ("GET", "/api/v1/reports/address/{address}"): (
            f"/api/v1/reports/address/{address}", {"params": {"format": "html"}}),
        ("GET", "/api/v1/keys"): ("/api/v1/keys", {}),
        ("POST", "/api/v1/keys"): ("/api/v1/keys", {"json": {
            "name": f"k-{uuid.uuid4().hex[:8]}", "role": "viewer"}}),
        ("DELETE", "/api/v1/keys/{name}"): ("/api/v1/keys/no-such-key", {}),
        ("GET", "/api/v1/watchlists"): ("/api/v1/watchlists", {}),
        ("PUT", "/api/v1/watchlists/{name}"): ("/api/v1/watchlists/matrix", {
            "content": "0x" + "99" * 20 + "\n", "headers": {"content-type": "text/plain"}}),
        ("GET", "/api/v1/patterns"): ("/api/v1/patterns", {}),
        ("GET", "/api/v1/patterns/{pattern_id}"): (f"/api/v1/patterns/{pattern_id}",
                                                   {"params": {"format": "html"}}),
        ("GET", "/api/v1/cases"): ("/api/v1/cases", {}),
        ("POST", "/api/v1/cases"): ("/api/v1/cases", {"json": {
            "title": "matrix", "addresses": ["0x" + "ab" * 20]}}),
        ("GET", "/api/v1/cases/{case_id}"): ("/api/v1/cases/999999", {}),
        ("PATCH", "/api/v1/cases/{case_id}"): ("/api/v1/cases/999999", {"json": {"note": "x"}}),
        ("POST", "/api/v1/cases/{case_id}/approve"): ("/api/v1/cases/999999/approve",
                                                      {"json": {"approve": True}}),
        ("GET", "/api/v1/cases/{case_id}/report"): ("/api/v1/cases/999999/report", {}),
        ("GET", "/api/v1/rules/stats"): ("/api/v1/rules/stats", {}),
        ("GET", "/api/v1/audit"): ("/api/v1/audit", {"params": {"object_type": "key"}}),
        ("GET", "/api/v1/suppressions"): ("/api/v1/suppressions", {}),
        # An address with no score rows: the other tests' flagged set stays as it is.
        ("POST", "/api/v1/suppressions"): ("/api/v1/suppressions", {"json": {
            "address": "0x" + "77" * 20, "rule": "fan_out", "until": "2999-01-01",
            "reason": "matrix"}}),
        ("DELETE", "/api/v1/suppressions/{suppression_id}"): ("/api/v1/suppressions/999999",
                                                              {}),
        ("GET", "/api/v1/labels"): ("/api/v1/labels", {}),
        ("GET", "/api/v1/bridge-transfers"): ("/api/v1/bridge-transfers", {}),
        # An address no other test reads: labels never change a score.
        ("POST", "/api/v1/labels"): ("/api/v1/labels", {"json": {
            "source": "matrix", "labels": [{"address": "0x" + "76" * 20,
                                            "label": "legitimate"}]}}),
    }


def test_auth_matrix_every_role_against_every_route(api: Any) -> None:
    routes = [(method, path) for method, path, _ in
              api_routes(create_app(api.settings, api.sessions))]
    assert sorted(routes) == sorted(LEAST_ROLE), "state each new route's least role above"
    requests = _requests(api)
    checked = 0
    for method, template in routes:
        least = LEAST_ROLE[(method, template)]
        path, kwargs = requests[(method, template)]
        extra = kwargs.pop("headers", {})
        with client(api.base) as http:
            for headers, why in (
                ({}, "missing API key"),
                ({"Authorization": "Bearer amk_0123456789ab_wrong"}, "invalid"),
                ({"X-API-Key": "not-a-key"}, "invalid"),
                ({"Authorization": f"Bearer {api.keys['revoked']}"}, "revoked"),
                ({"Authorization": f"Basic {api.keys['admin']}"}, "malformed Basic"),
                ({"Authorization": _basic("admin", "amk_0123456789ab_wrong")}, "invalid"),
                ({"Authorization": _basic("admin", api.keys["revoked"])}, "revoked"),
            ):
                answer = http.request(method, path, headers={**extra, **headers}, **kwargs)
                _json_error(answer, 401, why)
                assert answer.headers.get_list("www-authenticate") == [
                    'Bearer realm="amlmon"', 'Basic realm="amlmon"']
            for role, rank in RANK.items():
                for header in ({"Authorization": f"Bearer {api.keys[role]}"},
                               {"X-API-Key": api.keys[role]},
                               {"Authorization": _basic("anyone", api.keys[role])}):
                    answer = http.request(method, path, headers={**extra, **header}, **kwargs)
                    if rank < LEAST_RANK[least]:
                        _json_error(answer, 403, f"needs the {least} role")
                    else:
                        # Past auth: done, or refused for what it asks (a repeated create).
                        assert answer.status_code in (200, 201, 202, 404, 409), (
                            method, path, answer.text)
                    checked += 1
    assert checked == len(LEAST_ROLE) * 3 * 3


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_alert_pages_follow_the_cursor_and_filters_hold(api: Any) -> None:
    with api.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Alert))
        rules = set(session.scalars(select(Alert.rule).distinct()))
    assert total and total > 15
    seen: list[int] = []
    with client(api.base, api.keys["viewer"]) as http:
        cursor = None
        while True:
            page = http.get("/api/v1/alerts", params={"limit": 7, **(
                {"cursor": cursor} if cursor else {})}).json()
            assert len(page["items"]) <= 7
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == total == len(set(seen)) and seen == sorted(seen, reverse=True)

        rule = sorted(rules)[0]
        items = http.get("/api/v1/alerts", params={"rule": rule, "limit": 500}).json()["items"]
        assert items and {i["rule"] for i in items} == {rule}
        high = http.get("/api/v1/alerts", params={"severity": "high", "limit": 500}).json()
        assert all(i["severity"] == "high" for i in high["items"])
        by_token = http.get("/api/v1/alerts", params={"token": TOKEN, "limit": 500}).json()
        assert len(by_token["items"]) == total
        future = http.get("/api/v1/alerts", params={"since": "2999-01-01T00:00:00Z"}).json()
        assert future == {"items": [], "next_cursor": None}
        _json_error(http.get("/api/v1/alerts", params={"status": "closed"}), 422, "status")
        _json_error(http.get("/api/v1/alerts", params={"cursor": "-3"}), 422, "cursor")
        _json_error(http.get("/api/v1/alerts", params={"limit": 0}), 422, "limit")
        _json_error(http.get("/api/v1/alerts", params={"token": "0x" + "12" * 20}), 400,
                    "not registered")


def test_flagged_pages_follow_the_cursor_and_add_up_to_the_streamed_report(api: Any) -> None:
    with client(api.base, api.keys["viewer"]) as http:
        pages, cursor = [], None
        while True:
            page = http.get("/api/v1/reports/flagged", params={
                "limit": 7, **({"cursor": cursor} if cursor else {})}).json()
            assert len(page["items"]) <= 7
            pages += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        whole = list(csv.DictReader(io.StringIO(http.get(
            "/api/v1/reports/flagged", params={"format": "csv"}).text)))
        _json_error(http.get("/api/v1/reports/flagged", params={"cursor": "x"}), 422, "cursor")
    assert len(pages) > 7 and [(i["address"], i["risk_score"]) for i in pages] == [
        (row["address"], int(row["risk_score"])) for row in whole]
    assert [i["risk_score"] for i in pages] == sorted((i["risk_score"] for i in pages),
                                                      reverse=True)


def test_triage_lifecycle_is_audited_with_the_key_name_as_actor(api: Any) -> None:
    with api.sessions() as session:
        alert_id = session.scalar(select(func.max(Alert.id)).where(Alert.status == "open"))
    path = f"/api/v1/alerts/{alert_id}"
    with client(api.base, api.keys["investigator"]) as http:
        for status in ("acknowledged", "escalated"):
            answer = http.patch(path, json={"status": status, "note": f"moving to {status}"})
            assert answer.status_code == 200 and answer.json()["status"] == status
        assigned = http.patch(path, json={"assignee": "alice"}).json()
        assert assigned["assignee"] == "alice"
        _json_error(http.patch(path, json={"status": "acknowledged"}), 409, "can become")
        _json_error(http.patch(path, json={}), 400, "nothing to change")
        _json_error(http.patch(path, json={"status": "reported", "extra": 1}), 422, "extra")
        final = http.patch(path, json={"status": "reported", "note": "filed SAR 2026-114"})
        assert final.json()["status"] == "reported"
        _json_error(http.patch(path, json={"status": "dismissed"}), 409, "none (closed)")
        events = http.get(path).json()["events"]
    changes = [(e["kind"], e["from_status"], e["to_status"], e["actor"], e["note"])
               for e in events if e["kind"] != "created"]
    assert changes == [
        ("status", "open", "acknowledged", "investigator-key", "moving to acknowledged"),
        ("status", "acknowledged", "escalated", "investigator-key", "moving to escalated"),
        ("assignee", None, None, "investigator-key", None),
        ("status", "escalated", "reported", "investigator-key", "filed SAR 2026-114"),
    ]
    with client(api.base, api.keys["viewer"]) as http:
        _json_error(http.get("/api/v1/alerts/999999999"), 404, "not found")


def test_reports_in_every_format(api: Any) -> None:
    with client(api.base, api.keys["viewer"]) as http:
        report = http.get("/api/v1/reports/flagged").json()
        items = report["items"]
        assert items and report["generated_at"].endswith("Z")
        assert [i["risk_score"] for i in items] == sorted((i["risk_score"] for i in items),
                                                          reverse=True)
        for field in ("chain_id", "token", "address", "risk_score", "severity", "anomaly_score",
                      "reasons", "first_seen", "last_seen", "in_count", "out_count",
                      "in_value", "out_value"):
            assert field in items[0]
        assert isinstance(items[0]["in_value"], str)

        answer = http.get("/api/v1/reports/flagged", params={"format": "csv"})
        assert answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert tuple(rows[0]) == CSV_FIELDS and len(rows) == len(items)
        assert rows[0]["address"] == items[0]["address"]

        page = http.get("/api/v1/reports/flagged", params={"format": "html"}).text
        assert page.count("<tr>") == len(items) + 1
        assert f"/api/v1/reports/address/{items[0]['address']}?format=html" in page

        subject = items[0]["address"]
        single = http.get(f"/api/v1/reports/address/{subject}").json()
        assert single["tokens"][0]["risk_score"] == items[0]["risk_score"]
        page = http.get(f"/api/v1/reports/address/{subject}", params={"format": "html"}).text
        assert '<svg class="flow"' in page and 'class="edge on-path"' in page
        for reason in items[0]["reasons"]:
            assert reason["rule"] in page and reason["evidence"][0] in page

        profile = http.get(f"/api/v1/addresses/{subject.lower()}").json()
        entry = profile["tokens"][0]
        assert entry["score"]["address"] == subject and entry["counterparties"]
        assert entry["transfer_count"] == items[0]["in_count"] + items[0]["out_count"]
        assert len(entry["transfers"]) == min(100, entry["transfer_count"])

        unknown = "0x" + "5" * 40
        assert http.get(f"/api/v1/addresses/{unknown}").json()["tokens"] == []
        assert "No transfer of a registered token" in http.get(
            f"/api/v1/reports/address/{unknown}", params={"format": "html"}).text
        _json_error(http.get("/api/v1/reports/flagged", params={"format": "pdf"}), 422, "format")


def test_every_response_is_nosniff_and_html_runs_only_its_own_script(api: Any) -> None:
    """Reports carry watchlist labels and contract metadata from outside: their policy lets
    nothing load and no script run but the sort script, by its hash."""
    address = _flagged_address(api)
    with client(api.base, api.keys["viewer"]) as http:
        answers = {path: http.get(path) for path in (
            "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/api/v1/alerts",
            "/api/v1/nothing-here", "/api/v1/reports/flagged?format=csv",
            "/api/v1/reports/flagged?format=html",
            f"/api/v1/reports/address/{address}?format=html")}
        answers["unauthenticated"] = httpx.get(api.base + "/api/v1/alerts")
    for path, answer in answers.items():
        assert answer.headers["x-content-type-options"] == "nosniff", path
        is_html = answer.headers["content-type"].startswith("text/html")
        assert ("content-security-policy" in answer.headers) is is_html, path
    for path in ("/api/v1/reports/flagged?format=html",
                 f"/api/v1/reports/address/{address}?format=html"):
        policy = answers[path].headers["content-security-policy"]
        assert policy.startswith("default-src 'none'; style-src 'unsafe-inline'; img-src data:")
        assert "frame-ancestors 'none'" in policy and "unsafe-inline'" not in policy.split(
            "script-src")[1]
    page = answers["/api/v1/reports/flagged?format=html"]
    [script] = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page.headers["content-security-policy"]
    docs = answers["/docs"]
    for inline in re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in docs.headers["content-security-policy"]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "fragment"), [
    ("GET", "/api/v1/addresses/0x123", {}, 422, "address"),
    ("GET", "/api/v1/addresses/0xAbCdEf0123456789aBcDeF0123456789AbCdEf01", {}, 422,
     "checksum"),
    ("GET", "/api/v1/alerts/abc", {}, 422, "alert_id"),
    ("GET", "/api/v1/alerts", {"params": {"since": "0001-01-01T00:00:00+05:00"}}, 422, "range"),
    ("GET", "/api/v1/alerts", {"params": {"since": "yesterday"}}, 422, "since"),
    ("GET", "/api/v1/alerts/99999999999999999999", {}, 422, "alert_id"),
    ("PATCH", "/api/v1/alerts/1", {"content": b"{not json",
                                   "headers": {"content-type": "application/json"}}, 422,
     "not valid JSON"),
    ("PATCH", "/api/v1/alerts/1", {"json": {"note": "a\x00b"}}, 422, "NUL"),
    ("PATCH", "/api/v1/alerts/1", {"json": {"assignee": "x" * 500}}, 422, "assignee"),
    ("POST", "/api/v1/tokens", {"json": {"chain_id": 1, "address": "0xnothex"}}, 422,
     "address"),
    ("POST", "/api/v1/tokens", {"json": {"chain_id": 0, "address": "0x" + "1" * 40}}, 422,
     "chain_id"),
    ("POST", "/api/v1/tokens", {"json": {"chain_id": 1, "address": "0x" + "1" * 40,
                                         "decimals": 78}}, 422, "decimals"),
    ("POST", "/api/v1/tokens", {"json": [1, 2]}, 422, "body: Input should be a valid dict"),
    ("POST", "/api/v1/keys", {"json": {"name": "x", "role": "root"}}, 422, "role"),
    ("POST", "/api/v1/keys", {"json": {"name": "", "role": "viewer"}}, 422, "name"),
    ("PUT", "/api/v1/watchlists/bad", {"content": "<sdnList><broken",
                                       "headers": {"content-type": "text/plain"}}, 400,
     "body: malformed XML at line 1, column 10"),
    ("PUT", "/api/v1/watchlists/bad", {"content": "a\x00b",
                                       "headers": {"content-type": "text/plain"}}, 400,
     "body: contains NUL characters"),
    ("PUT", "/api/v1/watchlists/bad", {"content": "0x" + "1" * 40,
                                       "params": {"category": "friends"},
                                       "headers": {"content-type": "text/plain"}}, 400,
     "unknown category 'friends'"),
    ("DELETE", "/api/v1/keys/nobody", {}, 404, "no API key"),
    ("GET", "/api/v1/nothing-here", {}, 404, "not found"),
    ("POST", "/healthz", {}, 405, "method not allowed"),
])
def test_bad_requests_get_a_4xx_json_error(api: Any, method: str, path: str,
                                           kwargs: dict[str, Any], status: int,
                                           fragment: str) -> None:
    with client(api.base, api.keys["admin"]) as http:
        _json_error(http.request(method, path, **kwargs), status, fragment)


def test_keys_created_on_the_cli_work_and_revocation_is_immediate(
    api: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", api.url)
    created = run_cli(capsys, "apikey", "create", "--name", "cli-analyst", "--role",
                      "investigator")
    assert created.code == 0, created
    key = created.out.strip()
    assert key.startswith("amk_") and "not shown again" in created.err
    with client(api.base, key) as http:
        assert http.get("/api/v1/alerts", params={"limit": 1}).status_code == 200
        _json_error(http.get("/api/v1/keys"), 403, "admin")
        listed = run_cli(capsys, "apikey", "list", "--format", "json")
        assert key not in listed.out and "cli-analyst" in listed.out
        assert run_cli(capsys, "apikey", "revoke", "--name", "cli-analyst").code == 0
        _json_error(http.get("/api/v1/alerts"), 401, "revoked")
    duplicate = run_cli(capsys, "apikey", "create", "--name", "cli-analyst", "--role", "viewer")
    assert duplicate.code != 0 and "already exists" in duplicate.err

    # Keys made over the API work the same way and are shown only in the creation answer.
    with client(api.base, api.keys["admin"]) as http:
        made = http.post("/api/v1/keys", json={"name": "api-viewer", "role": "viewer"}).json()
        assert made["key"].startswith("amk_")
        assert all("key" not in k for k in http.get("/api/v1/keys").json()["items"])
        _json_error(http.post("/api/v1/keys", json={"name": "api-viewer", "role": "viewer"}),
                    409, "already exists")
    with client(api.base, made["key"]) as http:
        assert http.get("/api/v1/tokens").status_code == 200
    with client(api.base, api.keys["admin"]) as http:
        assert http.delete("/api/v1/keys/api-viewer").json()["revoked_at"]
    with client(api.base, made["key"]) as http:
        _json_error(http.get("/api/v1/tokens"), 401, "revoked")


@pytest.mark.parametrize("replica", [False, True], ids=["primary", "with-read-replica"])
def test_amlmon_api_serves_alone_and_stops_cleanly(api: Any, replica: bool,
                                                   request: pytest.FixtureRequest) -> None:
    env = {"AMLMON_DATABASE_URL": api.url}
    if replica:  # migrated and empty: token reads come back empty when it serves them
        env["AMLMON_READ_DATABASE_URL"] = request.getfixturevalue("pg_url")
    with amlmon_api(env) as (base, process):
        with client(base, api.keys["viewer"]) as http:
            assert http.get("/readyz").json()["status"] == "ready"
            tokens = http.get("/api/v1/tokens").json()["items"]
            assert (TOKEN in {t["address"].lower() for t in tokens}) is not replica
        stop(process)
