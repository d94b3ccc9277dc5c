"""/api/v1/labels over a real server and Postgres: an investigator imports a source (it
replaces what the source held, audited with the key's name), anyone reads them page by
page, a bad label is a 4xx naming it, and the address page shows an address's labels."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models import AuditEvent
from support.api import client

A, B, C = ("0x" + c * 40 for c in "def")


def test_import_list_and_show_on_the_address_page(api: Any) -> None:
    body = {"source": "api-list", "labels": [
        {"address": A, "label": "laundering", "chain_id": 31337, "confidence": 0.9,
         "note": "reported to the FIU"},
        {"address": B, "label": "legitimate"}]}
    with client(api.base, api.keys["investigator"]) as http:
        first = http.post("/api/v1/labels", json=body)
        assert first.status_code == 200, first.text
        assert first.json() == {"source": "api-list", "total": 2, "added": 2, "removed": 0,
                                "changed": 0, "laundering": 1, "legitimate": 1}
        again = http.post("/api/v1/labels", json={"source": "api-list", "labels": [
            {"address": C, "label": "legitimate"}]})
        assert again.json()["removed"] == 2 and again.json()["added"] == 1
        http.post("/api/v1/labels", json=body)
    with client(api.base, api.keys["viewer"]) as http:
        page = http.get("/api/v1/labels", params={"source": "api-list", "limit": 1})
        assert page.status_code == 200
        first_page = page.json()
        assert len(first_page["items"]) == 1 and first_page["next_cursor"]
        rest = http.get("/api/v1/labels", params={"source": "api-list",
                                                  "cursor": first_page["next_cursor"]}).json()
        seen = first_page["items"] + rest["items"]
        assert rest["next_cursor"] is None
        assert {(i["address"].lower(), i["label"], i["chain_id"], i["confidence"])
                for i in seen} == {(A, "laundering", 31337, 0.9), (B, "legitimate", None, 1.0)}
        assert {i["created_by"] for i in seen} == {"investigator-key"}
        only = http.get("/api/v1/labels", params={"label": "laundering", "address": A}).json()
        assert [i["note"] for i in only["items"]] == ["reported to the FIU"]
        profile = http.get(f"/api/v1/addresses/{A}").json()
        assert [(i["source"], i["label"]) for i in profile["labels"]] == [
            ("api-list", "laundering")]
        report = http.get(f"/api/v1/reports/address/{A}", params={"format": "html"})
        assert "reported to the FIU" in report.text and "Labels" in report.text
    with api.sessions() as session:
        trail = session.scalars(select(AuditEvent).where(
            AuditEvent.object_type == "label", AuditEvent.object_id == "api-list")
            .order_by(AuditEvent.id)).all()
        assert [(e.action, e.actor) for e in trail] == [
            ("label.import", "investigator-key"), ("label.replace", "investigator-key"),
            ("label.replace", "investigator-key")]


def test_bad_labels_are_refused_naming_them(api: Any) -> None:
    def post(body: dict[str, Any], key: str = "investigator") -> tuple[int, str]:
        with client(api.base, api.keys[key]) as http:
            response = http.post("/api/v1/labels", json=body)
        return response.status_code, response.json()["error"]

    one = {"address": A, "label": "laundering"}
    assert post({"source": "x", "labels": [{**one, "label": "dirty"}]})[0] == 422
    status, error = post({"source": "x", "labels": [{**one, "confidence": 2}]})
    assert status == 422 and "labels.0.confidence" in error
    status, error = post({"source": "x", "labels": [one, {**one, "label": "legitimate"}]})
    assert status == 400 and "labels[1]" in error and "labels[0]" in error
    status, error = post({"source": "case:4", "labels": [one]})
    assert status == 400 and "reserved" in error
    assert post({"source": "x", "labels": []})[0] == 422
    assert post({"source": "x", "labels": [one]}, key="viewer")[0] == 403
    with client(api.base, api.keys["viewer"]) as http:
        assert http.get("/api/v1/labels", params={"label": "dirty"}).status_code == 422
        assert http.get("/api/v1/labels", params={"source": "x"}).json()["items"] == []
