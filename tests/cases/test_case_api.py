"""/api/v1/cases over a real server on a scored Postgres copy: the lifecycle with two keys,
self-approval refused with 403, a rejection sending the case back, the one-open-case 409,
list filters and cursor pages, the reports, and bad input as 4xx naming the field."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import httpx
import pytest

from monitor.api.app import create_app
from support.api import client, serve_app
from support.cases import pattern_with_alerts
from support.history import TOKEN


def _as(served: tuple[Any, str], name: str) -> httpx.Client:
    scored, base = served
    return client(base, scored.keys[name])


def _error(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.json().keys() == {"error"}, response.text
    assert fragment in response.json()["error"], response.text


def test_the_lifecycle_with_two_keys(served: tuple[Any, str]) -> None:
    scored, _ = served
    pattern_id, _, alert_ids = pattern_with_alerts(scored.sessions)
    with _as(served, "alice") as alice, _as(served, "carol") as carol, \
            _as(served, "dave") as dave, _as(served, "viewer") as viewer:
        opened = alice.post("/api/v1/cases", json={
            "title": "Collector ring", "patterns": [pattern_id], "priority": "critical",
            "due_at": "2026-07-01T12:00:00+02:00"})
        assert opened.status_code == 201, opened.text
        case = opened.json()
        case_id = case["id"]
        assert (case["status"], case["created_by"], case["due_at"]) == (
            "open", "alice", "2026-07-01T10:00:00Z")
        assert [a["id"] for a in case["alerts"]] == alert_ids
        assert [p["id"] for p in case["patterns"]] == [pattern_id]
        assert case["trail"][0]["action"] == "case.open"

        _error(viewer.patch(f"/api/v1/cases/{case_id}", json={"note": "x"}), 403,
               "needs the investigator role")
        patched = alice.patch(f"/api/v1/cases/{case_id}", json={
            "status": "investigating", "narrative": "Five mules, one collector.",
            "assignee": "alice", "note": "Looks like layering."})
        assert patched.status_code == 200, patched.text
        assert patched.json()["status"] == "investigating"
        assert patched.json()["notes"][0]["text"] == "Looks like layering."
        # null clears the due date; an absent field is left alone
        cleared = alice.patch(f"/api/v1/cases/{case_id}", json={"due_at": None})
        assert cleared.json()["due_at"] is None and cleared.json()["assignee"] == "alice"

        # carol (a supervisor) proposes; she cannot approve her own proposal
        proposed = carol.patch(f"/api/v1/cases/{case_id}", json={"propose": "false_positive"})
        assert proposed.json()["status"] == "pending_approval"
        assert proposed.json()["proposed_by"] == "carol"
        _error(alice.post(f"/api/v1/cases/{case_id}/approve", json={"approve": True}), 403,
               "needs the supervisor role")
        _error(carol.post(f"/api/v1/cases/{case_id}/approve", json={"approve": True}), 403,
               "carol proposed this close and cannot approve")
        _error(alice.patch(f"/api/v1/cases/{case_id}", json={"title": "Renamed"}), 409,
               "pending approval")
        _error(dave.post(f"/api/v1/cases/{case_id}/approve", json={"approve": False}), 400,
               "note: say why")
        back = dave.post(f"/api/v1/cases/{case_id}/approve",
                         json={"approve": False, "note": "The collector pays an exchange."})
        assert back.status_code == 200 and back.json()["status"] == "investigating"
        assert back.json()["proposed_by"] is None

        alice.patch(f"/api/v1/cases/{case_id}", json={"propose": "reported"})
        _error(alice.post(f"/api/v1/cases/{case_id}/approve", json={"approve": True}), 403,
               "supervisor role")
        done = carol.post(f"/api/v1/cases/{case_id}/approve", json={"approve": True})
        assert done.status_code == 200, done.text
        closed = done.json()
        assert (closed["status"], closed["outcome"], closed["approved_by"]) == (
            "closed", "reported", "carol")
        assert {(a["status"], a["outcome"], a["active"]) for a in closed["alerts"]} == {
            ("reported", "reported", False)}
        assert [e["action"] for e in closed["trail"]] == [
            "case.open", "case.update", "case.note", "case.update", "case.propose",
            "case.reject", "case.propose", "case.approve"]
        assert [(e["actor"], e["action"]) for e in closed["trail"]][-2:] == [
            ("alice", "case.propose"), ("carol", "case.approve")]
        _error(alice.patch(f"/api/v1/cases/{case_id}", json={"note": "late"}), 409,
               "is closed")
        _error(dave.post(f"/api/v1/cases/{case_id}/approve", json={"approve": True}), 409,
               "only a case pending approval")

        # Each alert's own trail names the case.
        for alert_id in alert_ids:
            events = viewer.get(f"/api/v1/alerts/{alert_id}").json()["events"]
            assert events[-1]["to_status"] == "reported" and events[-1]["actor"] == "carol"
            assert f"case {case_id}" in events[-1]["note"]

        page = viewer.get(f"/api/v1/cases/{case_id}/report", params={"format": "html"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert "Five mules, one collector." in page.text and '<svg class="flow"' in page.text
        assert viewer.get(f"/api/v1/cases/{case_id}").json()["status"] == "closed"


def test_one_open_case_per_alert_and_bad_bodies(served: tuple[Any, str]) -> None:
    scored, _ = served
    pattern_id, _, alert_ids = pattern_with_alerts(scored.sessions)
    with _as(served, "alice") as alice, _as(served, "root") as root:
        first = alice.post("/api/v1/cases", json={"title": "A", "alerts": alert_ids[:1]})
        assert first.status_code == 201
        _error(alice.post("/api/v1/cases", json={"title": "B", "patterns": [pattern_id]}),
               409, f"alert {alert_ids[0]} is already in open case {first.json()['id']}")
        for body, status, fragment in (
            ({"title": "T", "alerts": [10**12]}, 400, "alerts: alert 1000000000000 does not"),
            ({"title": "T", "patterns": [10**12]}, 400, "patterns: pattern 1000000000000"),
            ({"title": "T", "alerts": [0]}, 422, "alerts.0"),
            ({"title": "T"}, 400, "give at least one alert, pattern or address"),
            ({"title": "", "alerts": alert_ids[1:2]}, 422, "title"),
            ({"title": "T", "addresses": ["0x12"]}, 422, "addresses.0"),
            ({"title": "T", "alerts": alert_ids[1:2], "priority": "urgent"}, 422, "priority"),
            ({"title": "T", "alerts": alert_ids[1:2], "status": "closed"}, 422, "status"),
            ({"title": "T", "alerts": alert_ids[1:2], "due_at": "soon"}, 422, "due_at"),
        ):
            _error(alice.post("/api/v1/cases", json=body), status, fragment)
        case_id = first.json()["id"]
        for body, status, fragment in (
            ({"propose": "guilty"}, 422, "propose"),
            ({"status": "closed"}, 422, "status"),
            ({"title": None}, 400, "title: cannot be empty"),
            ({}, 400, "nothing to change"),
            ({"outcome": "reported"}, 422, "outcome"),
            ({"note": "a\u0000b"}, 422, "note"),
        ):
            _error(alice.patch(f"/api/v1/cases/{case_id}", json=body), status, fragment)
        _error(alice.patch("/api/v1/cases/999999", json={"note": "x"}), 404, "case 999999")
        _error(root.post(f"/api/v1/cases/{case_id}/approve", json={}), 422, "approve")
        _error(alice.get("/api/v1/cases/999999"), 404, "case 999999 not found")
        _error(alice.get(f"/api/v1/cases/{case_id}/report", params={"format": "pdf"}), 422,
               "format")
        _error(alice.get("/api/v1/cases/999999/report"), 404, "case 999999")


def test_the_list_filters_and_pages(served: tuple[Any, str]) -> None:
    scored, _ = served
    with _as(served, "alice") as alice, _as(served, "viewer") as viewer:
        ids = []
        for i in range(5):
            made = alice.post("/api/v1/cases", json={
                "title": f"case {i}", "addresses": [f"0x{i + 1:040x}"],
                "priority": "high" if i % 2 else "low", "assignee": "bob" if i < 2 else None})
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
        alice.patch(f"/api/v1/cases/{ids[0]}", json={"status": "investigating"})
        seen, cursor = [], None
        while True:
            page = viewer.get("/api/v1/cases", params={"limit": 2, **(
                {"cursor": cursor} if cursor else {})}).json()
            assert len(page["items"]) <= 2
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == sorted(ids, reverse=True)
        items = viewer.get("/api/v1/cases").json()["items"]
        assert {c["address_count"] for c in items} == {1}
        assert {c["alert_count"] for c in items} == {0}

        def listed(**params: Any) -> list[int]:
            return [c["id"] for c in viewer.get("/api/v1/cases", params=params).json()["items"]]

        assert listed(status="investigating") == [ids[0]]
        assert listed(status="open") == sorted(ids[1:], reverse=True)
        assert listed(assignee="bob") == [ids[1], ids[0]]
        assert listed(priority="high") == [ids[3], ids[1]]
        _error(viewer.get("/api/v1/cases", params={"status": "shut"}), 422, "status")
        _error(viewer.get("/api/v1/cases", params={"cursor": "-1"}), 422, "cursor")
        _error(viewer.get("/api/v1/cases", params={"limit": 0}), 422, "limit")
        _error(viewer.post("/api/v1/cases", json={"title": "T", "addresses": ["0x" + "1" * 40]}),
               403, "needs the investigator role")


def test_the_goaml_report_is_xml_or_a_400_naming_the_setting(served: tuple[Any, str]) -> None:
    pytest.importorskip("monitor.cases.goaml", reason="the goAML writer is another part's")
    from monitor.settings import ReportingEntity, ReportLocation

    scored, _ = served
    pattern_id = pattern_with_alerts(scored.sessions)[0]
    with _as(served, "alice") as alice:
        case_id = alice.post("/api/v1/cases", json={"title": "STR", "patterns": [pattern_id]}
                             ).json()["id"]
        _error(alice.get(f"/api/v1/cases/{case_id}/report", params={"format": "goaml"}), 400,
               "rentity_id")
    entity = ReportingEntity(
        rentity_id=4711, rentity_branch="Head office", reporting_user_code="AMLMON01",
        currency_code_local="EUR",
        location=ReportLocation(address="Bahnhofstrasse 1", city="Zug", country_code="CH"))
    settings = scored.settings.model_copy(update={"reporting_entity": entity})
    with serve_app(create_app(settings, scored.sessions)) as base, \
            client(base, scored.keys["viewer"]) as viewer:
        url = f"/api/v1/cases/{case_id}/report"
        _error(viewer.get(url, params={"format": "goaml"}), 400, "no price in EUR for token")
        _error(viewer.get(url, params={"format": "goaml", "price": f"{TOKEN}=-1"}), 400,
               "the price must be a positive decimal")
        _error(viewer.get(url, params={"price": f"{TOKEN}=1"}), 400, "only for format=goaml")
        given = viewer.get(url, params={"format": "goaml", "price": f"{TOKEN}=1.25"})
        assert given.status_code == 200, given.text
        assert b"<report_code>STR</report_code>" in given.content
    settings = scored.settings.model_copy(update={"reporting_entity": entity.model_copy(
        update={"prices": {TOKEN: Decimal("1.25")}})})
    with serve_app(create_app(settings, scored.sessions)) as base, \
            client(base, scored.keys["viewer"]) as viewer:
        report = viewer.get(f"/api/v1/cases/{case_id}/report", params={"format": "goaml"})
        assert report.status_code == 200, report.text
        assert report.headers["content-type"] == "application/xml"
        assert b"<report_code>STR</report_code>" in report.content
        # The configured price and the same price given at export make the same report
        # but for its submission time.
        stamp = re.compile(rb"<submission_date>[^<]*</submission_date>")
        assert stamp.sub(b"", report.content) == stamp.sub(b"", given.content)
