"""/api/v1/patterns and the pattern fields of the reports, on the module's scored history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models import Pattern, PatternMember
from monitor.addresses import checksum
from support.api import client


def _viewer(api: Any) -> Any:
    return client(api.base, api.keys["viewer"])


def test_patterns_list_filters_and_pages(api: Any) -> None:
    with _viewer(api) as http:
        everything = http.get("/api/v1/patterns", params={"limit": 500}).json()
        assert everything["items"] and everything["next_cursor"] is None
        ids = [p["id"] for p in everything["items"]]
        assert ids == sorted(ids, reverse=True)  # newest first
        assert {p["status"] for p in everything["items"]} == {"active"}
        first = everything["items"][0]
        assert set(first) >= {"typology", "score", "title", "member_count", "transfer_count",
                              "total_value", "anchor", "first_seen", "last_seen"}
        # Pages of two add up to the whole list, in order.
        seen, cursor = [], None
        while True:
            page = http.get("/api/v1/patterns", params={"limit": 2, **(
                {"cursor": cursor} if cursor else {})}).json()
            seen += [p["id"] for p in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ids
        typology = first["typology"]
        only = http.get("/api/v1/patterns", params={"typology": typology}).json()["items"]
        assert only and {p["typology"] for p in only} == {typology}
        bad = http.get("/api/v1/patterns", params={"typology": "laundering"})
        assert bad.status_code == 422 and "typology" in bad.json()["error"]


def test_a_pattern_whole_in_json_and_html(api: Any) -> None:
    with api.sessions() as session:
        pattern = session.scalars(select(Pattern).order_by(Pattern.member_count.desc())
                                  .limit(1)).one()
        members = session.scalars(select(PatternMember)
                                  .where(PatternMember.pattern_id == pattern.id)).all()
    with _viewer(api) as http:
        report = http.get(f"/api/v1/patterns/{pattern.id}").json()
        assert report["id"] == pattern.id and report["typology"] == pattern.typology
        assert {(m["address"], m["role"]) for m in report["members"]} == {
            (checksum(m.address), m.role) for m in members}
        assert len(report["transfers"]) == pattern.transfer_count
        assert all(t["amount"] and t["tx_hash"].startswith("0x") for t in report["transfers"])
        page = http.get(f"/api/v1/patterns/{pattern.id}", params={"format": "html"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<svg class="flow"' in page.text and pattern.title.split(" (")[0][:20] in page.text
        for member in members:
            assert checksum(member.address) in page.text
        missing = http.get("/api/v1/patterns/999999999")
        assert missing.status_code == 404 and "no pattern 999999999" in missing.json()["error"]


def test_flagged_report_names_each_address_patterns_and_the_flagged_share(api: Any) -> None:
    with _viewer(api) as http:
        report = http.get("/api/v1/reports/flagged", params={"limit": 1000}).json()
    shares = report["flagged_share"]
    assert len(shares) == 1 and shares[0]["active_addresses"] > 0
    assert shares[0]["flagged"] == len(report["items"])
    active = shares[0]["active_addresses"]
    assert shares[0]["flagged_share"] == round(len(report["items"]) / active, 4)
    with api.sessions() as session:
        memberships: dict[str, set[int]] = {}
        for address, pattern_id in session.execute(
                select(PatternMember.address, PatternMember.pattern_id)):
            memberships.setdefault(checksum(address), set()).add(pattern_id)
    members = [i for i in report["items"] if i["patterns"]]
    assert members, "no flagged address is a member of a pattern"
    for entry in report["items"]:
        assert set(entry["patterns"]) == memberships.get(entry["address"], set())
        for reason in entry["reasons"]:
            if reason.get("pattern_id") is not None:
                assert reason["pattern_id"] in entry["patterns"] and reason["role"]


def test_the_address_page_links_its_patterns(api: Any) -> None:
    with api.sessions() as session:
        member = session.scalars(select(PatternMember).limit(1)).one()
    with _viewer(api) as http:
        profile = http.get(f"/api/v1/addresses/{member.address}").json()
        listed = {p["id"]: p["role"] for t in profile["tokens"] for p in t["patterns"]}
        assert listed[member.pattern_id] == member.role
        page = http.get(f"/api/v1/reports/address/{member.address}",
                        params={"format": "html"}).text
        assert f'href="/api/v1/patterns/{member.pattern_id}?format=html"' in page
