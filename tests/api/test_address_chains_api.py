"""The API's address views across chains (issue 22, part 4): GET
/api/v1/reports/address/{address} (JSON and HTML) and GET /api/v1/addresses/{address}
list every chain the address is active on and its bridge transfers, behind the same keys
as the other reports; the HTML page fits a 1400 px screen in a real browser under the
API's Content-Security-Policy."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import sync_playwright

from monitor import db
from monitor.api.app import create_app
from monitor.api.schemas import AddressProfile, AddressReport
from monitor.apikeys import create_key
from monitor.settings import Settings
from support.api import client, serve_app
from support.crosschain import (
    ALICE,
    ARBITRUM,
    ETHEREUM,
    LINKED_GUID,
    OP,
    PENDING_DIGEST,
    ROSE,
    write_cross_chain,
)


@dataclass
class Served:
    base: str
    key: str


@pytest.fixture(scope="module")
def served(pg_template: str) -> Iterator[Served]:
    from support.postgres import clone_database, drop_database

    url = clone_database(pg_template)
    engine = db.make_engine(url)
    try:
        sessions = db.session_factory(engine)
        write_cross_chain(sessions)
        with db.transaction(sessions) as session:
            key = create_key(session, "viewer-key", "viewer")[1]
        with serve_app(create_app(Settings(database_url=url, rules_file=None),
                                  sessions)) as base:
            yield Served(base, key)
    finally:
        engine.dispose()
        drop_database(url)


def test_the_address_report_has_its_chains_and_bridges(served: Served) -> None:
    with client(served.base, served.key) as http:
        answer = http.get(f"/api/v1/reports/address/{ALICE}")
        assert answer.status_code == 200
        report = answer.json()
        AddressReport.model_validate(report)  # what the OpenAPI document promises
        assert [c["chain_id"] for c in report["chains"]] == [ETHEREUM, ARBITRUM]
        assert [t["risk"] for c in report["chains"] for t in c["tokens"]] == [35, 82]
        assert [(b["message_id"], b["status"]) for b in report["bridge_transfers"]] == [
            (PENDING_DIGEST, "pending"), (LINKED_GUID, "linked")]
        assert report["bridge_transfers"][1]["amount_sent"] == (
            "123456789012.345678901234567891")

        rose = http.get(f"/api/v1/reports/address/{ROSE.upper().replace('0X', '0x')}").json()
        assert [(c["chain_id"], [t["risk"] for t in c["tokens"]]) for c in rose["chains"]] == [
            (OP, [None])]

        profile = http.get(f"/api/v1/addresses/{ALICE}").json()
        AddressProfile.model_validate(profile)
        assert [c["chain_id"] for c in profile["chains"]] == [ETHEREUM, ARBITRUM]
        assert profile["bridge_transfer_count"] == 2

        page = http.get(f"/api/v1/reports/address/{ALICE}", params={"format": "html"})
        assert page.headers["content-type"].startswith("text/html")
        assert page.text.count('class="edge bridge ') == 2
        assert "arbitrum (chain 42161)" in page.text and "ethereum (chain 1)" in page.text

    # As the other reports: a key is needed, and a viewer's is enough.
    for path in (f"/api/v1/reports/address/{ALICE}", f"/api/v1/addresses/{ALICE}"):
        assert httpx.get(served.base + path).status_code == 401
        assert httpx.get(served.base + path,
                         headers={"Authorization": "Bearer nope"}).status_code == 401


def test_the_page_fits_the_screen_and_paints_the_bridges(served: Served) -> None:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Debian's chromium is missing: run scripts/setup.sh"
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900},
                                          http_credentials={"username": "investigator",
                                                            "password": served.key})
            page = context.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            response = page.goto(f"{served.base}/api/v1/reports/address/{ALICE}?format=html",
                                 wait_until="load")
            assert response is not None and response.status == 200
            assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate(
                "document.documentElement.clientWidth")
            picture = page.locator("svg.chains")
            assert picture.locator("g.chain-group").count() == 3  # both chains, and OP
            bridges = picture.locator("path.edge.bridge")
            assert bridges.count() == 2
            for i in range(2):
                box = bridges.nth(i).bounding_box()
                assert box and box["width"] > 100  # it crosses from one chain to another
            assert page.locator("section.chain").count() == 2
        finally:
            browser.close()
    assert problems == []
