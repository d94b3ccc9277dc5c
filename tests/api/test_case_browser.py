"""The case report in a real headless Chromium under the API's Content-Security-Policy, as
the other reports are tested (test_browser.py: the browser and the way a page is opened):
no console errors, one flow picture per linked pattern with its own arrow markers, the
decision trail, the reasons and the evidence transfers. A screenshot lands in
build/test-artifacts/."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser
from sqlalchemy import select
from test_browser import ARTIFACTS, _open, browser  # noqa: F401 (browser: the fixture)

from models import Pattern
from support.api import client


def test_case_report_renders_with_every_pattern_picture(browser: Browser,  # noqa: F811
                                                        api: Any) -> None:
    with api.sessions() as session:
        patterns = list(session.scalars(select(Pattern.id).order_by(
            Pattern.member_count.desc()).limit(2)))
    assert len(patterns) == 2
    with client(api.base, api.keys["investigator"]) as alice, \
            client(api.base, api.keys["admin"]) as boss:
        opened = alice.post("/api/v1/cases", json={
            "title": "Two networks, one collector <script>alert(1)</script>",
            "patterns": patterns,
            "narrative": "Mules feed the collector.\nThe collector pays out within a day."})
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["id"]
        alice.patch(f"/api/v1/cases/{case_id}", json={"status": "investigating",
                                                      "note": "KYC files requested."})
        alice.patch(f"/api/v1/cases/{case_id}", json={"propose": "reported"})
        approved = boss.post(f"/api/v1/cases/{case_id}/approve",
                             json={"approve": True, "note": "Agreed; file the STR."})
        assert approved.status_code == 200, approved.text
        case = approved.json()

    page, problems = _open(browser, api, f"/api/v1/cases/{case_id}/report?format=html")
    try:
        assert page.locator("h1").inner_text().endswith("<script>alert(1)</script>")
        pictures = page.locator("svg.flow")
        assert pictures.count() == 2
        for i in range(2):
            box = pictures.nth(i).bounding_box()
            assert box is not None and box["width"] > 400 and box["height"] > 200
            assert pictures.nth(i).locator("path.edge").count() >= 2
            assert pictures.nth(i).locator(f"marker#arrow-{i + 1}").count() == 1
        assert "The collector pays out within a day." in page.locator("#narrative").inner_text()
        trail = page.locator("#decisions tbody tr")
        assert trail.count() == len(case["trail"])
        assert "approved the close as reported" in trail.last.inner_text()
        assert page.locator("#addresses .reason").count() >= 2
        transfers = page.locator("#transfers tbody tr")
        assert transfers.count() >= 2
        times = [row.split("\t")[0] for row in transfers.all_inner_texts()]
        assert times == sorted(times)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "case-report.png"), full_page=True)
        page.screenshot(path=str(ARTIFACTS / "case-report-top.png"))
        pictures.first.screenshot(path=str(ARTIFACTS / "case-pattern-flows.png"))
    finally:
        page.context.close()
    assert problems == []
