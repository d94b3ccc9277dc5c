"""The HTML reports in a real headless Chromium (Debian's package), under the API's
Content-Security-Policy: they load without console errors (a blocked script or asset is
one), the fund-flow picture is drawn, and the flagged table sorts. Screenshots
are kept in build/test-artifacts/ (or $AMLMON_TEST_ARTIFACTS) for a human to look at."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import update

from models import Token
from monitor import db
from monitor.amounts import grouped
from support.api import client
from support.cli import REPO

ARTIFACTS = Path(os.environ.get("AMLMON_TEST_ARTIFACTS", REPO / "build" / "test-artifacts"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Debian's chromium is missing: run scripts/setup.sh"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


def _open(browser: Browser, api: Any, path: str,
          width: int = 1280) -> tuple[Page, list[str]]:
    # As an investigator's browser: no headers of its own; it answers the API's Basic
    # challenge (a login prompt, for a person) with the key as password, then keeps
    # sending it, so links between reports work.
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  http_credentials={"username": "investigator",
                                                    "password": api.keys["viewer"]})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    response = page.goto(api.base + path, wait_until="load")
    assert response is not None and response.status == 200
    # Under the policy the API sends: a report that needed more (an external asset, an
    # inline script other than the sort script) logs a console error here.
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    return page, problems


def test_address_report_renders_with_its_flow_picture(browser: Browser, api: Any) -> None:
    with client(api.base, api.keys["viewer"]) as http:
        top = http.get("/api/v1/reports/flagged").json()["items"][0]
    page, problems = _open(browser, api, f"/api/v1/reports/address/{top['address']}?format=html")
    try:
        picture = page.locator("svg.flow").first
        box = picture.bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 200
        edges = picture.locator("path.edge")
        assert edges.count() >= 2
        assert picture.locator("path.edge.on-path").count() >= 1  # the evidence path
        assert picture.locator("g.node.subject").count() == 1
        assert picture.locator("g.node").count() >= 3
        # Edges are really painted: a non-empty bounding box each, wider strokes for more value.
        widths = [float(edges.nth(i).get_attribute("stroke-width") or 0)
                  for i in range(edges.count())]
        assert max(widths) > min(widths) >= 1.0
        for i in range(min(edges.count(), 10)):
            edge_box = edges.nth(i).bounding_box()
            assert edge_box and edge_box["width"] + edge_box["height"] > 5
        assert page.get_by_text(top["reasons"][0]["detail"][:40]).count() >= 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "address-report.png"), full_page=True)
        picture.screenshot(path=str(ARTIFACTS / "address-flows.png"))
        assert (ARTIFACTS / "address-flows.png").stat().st_size > 5000
    finally:
        page.context.close()
    assert problems == []


def test_flagged_report_sorts_and_links(browser: Browser, api: Any) -> None:
    page, problems = _open(browser, api, "/api/v1/reports/flagged?format=html")
    try:
        risks = page.locator("#flagged tbody tr td:first-child")
        first = [int(t) for t in risks.all_inner_texts()]
        assert first == sorted(first, reverse=True) and len(first) > 3
        page.locator("#flagged th", has_text="Risk").click()  # now descending
        page.locator("#flagged th", has_text="Risk").click()  # and ascending
        assert [int(t) for t in risks.all_inner_texts()] == sorted(first)
        assert page.locator("#flagged th", has_text="Risk").get_attribute(
            "aria-sort") == "ascending"  # the script ran: the policy admits it
        link = page.locator("#flagged tbody a").first
        href = link.get_attribute("href")
        assert href and href.startswith("/api/v1/reports/address/0x")
        link.click()
        page.wait_for_load_state("load")
        assert page.locator("svg.flow").count() >= 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "flagged-then-address.png"))
    finally:
        page.context.close()
    assert problems == []


def test_pattern_page_fits_the_screen_with_grouped_amounts(browser: Browser, api: Any) -> None:
    """The largest pattern's page at 1400 px: no sideways scrolling, every amount grouped
    by thousands as its sentence's are, the token's symbol beside its address."""
    with db.transaction(api.sessions) as session:
        session.execute(update(Token).values(symbol="TBOND"))
    with client(api.base, api.keys["viewer"]) as http:
        patterns = http.get("/api/v1/patterns", params={"limit": 500}).json()["items"]
    largest = max(patterns, key=lambda p: (p["transfer_count"], p["id"]))
    page, problems = _open(browser, api, f"/api/v1/patterns/{largest['id']}?format=html",
                           width=1400)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate(
            "document.documentElement.clientWidth")
        summary = page.locator("section.card p.muted").first.inner_text()
        assert f"Token {largest['symbol']} {largest['token']}" in summary
        assert f"moving {grouped(largest['total_value'])} {largest['symbol']}" in summary
        amounts = page.locator("table").last.locator("td.num:nth-child(5)").all_inner_texts()
        assert amounts and all(re.fullmatch(r"\d{1,3}(,\d{3})*(\.\d+)?", a) for a in amounts)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "pattern-report.png"), full_page=True)
    finally:
        page.context.close()
    assert problems == []
