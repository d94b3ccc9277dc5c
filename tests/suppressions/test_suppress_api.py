"""/api/v1/suppressions over a real server on a real scored database: viewers list,
investigators create and remove (the key's name is the actor), the flagged report follows
at once, a sanctions exposure is a 409, and bad input is a 4xx naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor import audit, db
from monitor.api.app import create_app
from monitor.apikeys import create_key
from support.api import client, serve_app
from support.history import TOKEN
from support.suppressing import Scored, flagging_pairs, later

ROLES = ("viewer", "investigator", "admin")


@pytest.fixture
def served(scored: Scored) -> Iterator[tuple[str, dict[str, str]]]:
    with db.transaction(scored.sessions) as session:
        keys = {role: create_key(session, f"{role}-key", role)[1] for role in ROLES}
    with serve_app(create_app(scored.settings, scored.sessions)) as base:
        yield base, keys


def _error(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert fragment in response.json()["error"], response.json()


def _flagged(http: httpx.Client) -> set[str]:
    return {i["address"].lower() for i in http.get("/api/v1/reports/flagged",
                                                   params={"limit": 1000}).json()["items"]}


def test_create_list_and_remove_with_the_flagged_report_following(
    scored: Scored, served: tuple[str, dict[str, str]]
) -> None:
    base, keys = served
    with scored.sessions() as session:
        address, rule = flagging_pairs(session, scored.token_id)[0]
    body = {"address": address, "rule": rule, "token": TOKEN, "until": later(),
            "reason": "market maker rebalancing"}
    with client(base, keys["viewer"]) as viewer, client(base, keys["investigator"]) as alice:
        assert address in _flagged(viewer)
        _error(viewer.post("/api/v1/suppressions", json=body), 403, "investigator")
        created = alice.post("/api/v1/suppressions", json=body)
        assert created.status_code == 201, created.text
        made = created.json()
        assert (made["status"], made["rule"], made["created_by"], made["rescored"]) == (
            "active", rule, "investigator-key", 1)
        assert made["token"].lower() == TOKEN and made["until"] == later() + "T00:00:00Z"
        assert address not in _flagged(viewer)
        profile = viewer.get(f"/api/v1/reports/address/{address}").json()
        assert profile["tokens"][0]["risk_score"] < 50
        [shown] = [r for r in profile["tokens"][0]["reasons"] if r["rule"] == rule]
        assert shown["suppressed"] == {"id": made["id"], "until": made["until"]}

        listed = viewer.get("/api/v1/suppressions").json()
        assert [s["id"] for s in listed["items"]] == [made["id"]]
        assert listed["next_cursor"] is None
        assert viewer.get("/api/v1/suppressions", params={"address": "0x" + "12" * 20}
                          ).json()["items"] == []

        _error(viewer.delete(f"/api/v1/suppressions/{made['id']}"), 403, "investigator")
        removed = alice.delete(f"/api/v1/suppressions/{made['id']}")
        assert removed.status_code == 200, removed.text
        assert (removed.json()["status"], removed.json()["removed_by"],
                removed.json()["rescored"]) == ("removed", "investigator-key", 1)
        assert address in _flagged(viewer)
        _error(alice.delete(f"/api/v1/suppressions/{made['id']}"), 409, "already removed")
        _error(alice.delete("/api/v1/suppressions/999"), 404, "suppression 999 not found")
        assert viewer.get("/api/v1/suppressions").json()["items"] == []
        everything = viewer.get("/api/v1/suppressions", params={"all": "true"}).json()
        assert [s["status"] for s in everything["items"]] == ["removed"]
    with scored.sessions() as session:
        trail = audit.events(session, object_type="suppression")
    assert [(e.action, e.actor, e.object_id) for e in trail] == [
        ("suppression.remove", "investigator-key", str(made["id"])),
        ("suppression.add", "investigator-key", str(made["id"]))]


def test_pages_follow_the_cursor(scored: Scored, served: tuple[str, dict[str, str]]) -> None:
    base, keys = served
    with client(base, keys["admin"]) as http:
        ids = [http.post("/api/v1/suppressions", json={
            "address": "0x" + f"{i:02x}" * 20, "until": later(), "reason": "quiet"}).json()["id"]
            for i in range(1, 6)]
        seen, cursor = [], None
        while True:
            page = http.get("/api/v1/suppressions", params={
                "limit": 2, **({"cursor": cursor} if cursor else {})}).json()
            seen += [s["id"] for s in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == sorted(ids, reverse=True)


@pytest.mark.parametrize(("change", "status", "fragment"), [
    ({"address": "0x12"}, 422, "address"),
    ({"rule": "no_such_rule"}, 422, "rule"),
    ({"token": "0x" + "cd" * 20}, 400, "not registered"),
    ({"until": "2001-01-01"}, 400, "until: 2001-01-01T00:00:00Z is not in the future"),
    ({"until": "next week"}, 422, "until"),
    ({"reason": ""}, 422, "reason"),
    ({"reason": "   "}, 400, "reason: required"),
    ({"reason": None}, 422, "reason"),
    ({"color": "red"}, 422, "color"),
])
def test_bad_input_is_a_4xx_naming_the_field(
    scored: Scored, served: tuple[str, dict[str, str]], change: dict[str, Any], status: int,
    fragment: str,
) -> None:
    base, keys = served
    body = {"address": "0x" + "ab" * 20, "until": later(), "reason": "why", **change}
    with client(base, keys["investigator"]) as http:
        _error(http.post("/api/v1/suppressions", json=body), status, fragment)
        _error(http.delete("/api/v1/suppressions/0"), 422, "suppression_id")
        _error(http.get("/api/v1/suppressions", params={"cursor": "x"}), 422, "cursor")
    with scored.sessions() as session:
        assert not audit.events(session, object_type="suppression")


def test_a_sanctions_exposure_is_a_409(scored: Scored, served: tuple[str, dict[str, str]],
                                      tmp_path: Path) -> None:
    base, keys = served
    with scored.sessions() as session:
        address, _ = flagging_pairs(session, scored.token_id)[0]
    with client(base, keys["admin"]) as admin:
        put = admin.put("/api/v1/watchlists/ofac", params={"category": "sanctioned"},
                        content=address + "\n", headers={"content-type": "text/plain"})
        assert put.status_code in (200, 202), put.text
        for rule in ("watchlist_exposure", None):
            _error(admin.post("/api/v1/suppressions", json={
                "address": address, "rule": rule, "until": later(), "reason": "noise"}),
                409, "sanctions cannot be suppressed")
