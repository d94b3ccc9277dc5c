"""`amlmon demo`: the whole pipeline on a local chain with an embedded database.

Starts anvil, deploys the demo RWA token, replays a simulated history with laundering
cases (with the history's own timestamps), ingests it through the real poller, scores,
raises alerts, prints the top flagged addresses and writes the flagged report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import Alert, Pattern, PatternMember
from models.alerts import CLOSED_STATUSES
from monitor import db, jobs
from monitor.addresses import checksum
from monitor.chain.rpc import RpcClient
from monitor.contracts import TokenAgent, deploy_token
from monitor.devnode import Anvil, run_anvil
from monitor.ingest.poller import IngestOptions, Poller
from monitor.reports import flagged as reports
from monitor.settings import Settings
from monitor.sim import History, generate
from monitor.sim.replay import replay
from monitor.tokens import add_token

CHAIN_ID = 31337
SEED = 2026

Stage = Callable[[str, int, int, int], None]  # (stage, done, total, items)


@dataclass
class DemoResult:
    node: Anvil
    token: str
    history: History
    report: dict[str, Any]
    html_path: Path
    json_path: Path
    alerts: int
    pattern: dict[str, Any] | None  # one to open a case from: id, typology, title, members


@contextmanager
def demo(settings: Settings, sessions: sessionmaker[Session], out_dir: Path,
         progress: Stage) -> Iterator[DemoResult]:
    """Run the pipeline; the node keeps running while the caller holds the context."""
    history = generate(SEED, investors=150, days=60, cases_per_rule=1)
    with run_anvil(chain_id=CHAIN_ID) as node:
        accounts = node.rpc("eth_accounts")
        assert isinstance(accounts, list)
        agent_address = str(accounts[0])
        address = deploy_token(node.url, "Demo Green Bond 2030", "GRN30", 6,
                               sender=agent_address)
        agent = TokenAgent(node.url, address, agent_address)
        node.clients.append(agent)
        replay(history, agent, lambda done, total: progress(
            "replay onto anvil", done, total, done))
        with db.transaction(sessions) as session:
            add_token(session, chain_id=CHAIN_ID, address=address, name="Demo Green Bond 2030",
                      symbol="GRN30", decimals=6, standard="erc3643", start_block=0)
        with RpcClient([node.url], chain=str(CHAIN_ID)) as client:
            poller = Poller(client, sessions, CHAIN_ID, IngestOptions(confirmations=0),
                            progress=lambda stage, done, total, items: progress(
                                "ingest", done, total, items))
            poller.catch_up()
        progress("score and alert", 0, 1, 0)
        summary = jobs.score_and_alert(sessions, settings)
        progress("score and alert", 1, 1, summary.alerts_created)
        with sessions() as session:
            report = reports.flagged(session, None, 50)
        out_dir.mkdir(parents=True, exist_ok=True)
        json_path = out_dir / "flagged.json"
        json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        html_path = _write_html(sessions, report, out_dir)
        with sessions() as session:
            pattern = showcase_pattern(session)
        yield DemoResult(node, address, history, report, html_path, json_path,
                         summary.alerts_created, pattern)


def showcase_pattern(session: Session) -> dict[str, Any] | None:
    """The active pattern whose members have the most active alerts (then the highest
    score): the one a newcomer opens a case from."""
    alerts = (select(func.count()).select_from(Alert)
              .join(PatternMember, PatternMember.address == Alert.address)
              .where(PatternMember.pattern_id == Pattern.id, Alert.token_id == Pattern.token_id,
                     Alert.status.not_in(CLOSED_STATUSES))
              .scalar_subquery())
    pattern = session.scalars(select(Pattern).where(Pattern.status == "active")
                              .order_by(alerts.desc(), Pattern.score.desc(), Pattern.id)
                              .limit(1)).first()
    if pattern is None:
        return None
    members = session.execute(select(PatternMember.address, PatternMember.role)
                              .where(PatternMember.pattern_id == pattern.id)
                              .order_by(PatternMember.position)).all()
    return {"id": pattern.id, "typology": pattern.typology, "title": pattern.title,
            "members": [(checksum(address), role) for address, role in members]}


def _write_html(sessions: sessionmaker[Session], report: dict[str, Any],
                out_dir: Path, pages: int = 50) -> Path:
    """flagged.html, and a page per address for the top `pages` flagged addresses, linked
    relatively so the folder can be opened (or zipped and sent) as it is."""
    from monitor.reports import html

    folder = out_dir / "addresses"
    folder.mkdir(exist_ok=True)
    written: set[str] = set()
    with sessions() as session:
        for entry in report["items"]:
            if len(written) >= pages:
                break
            if entry["address"] in written:
                continue
            page = html.address_page(session, entry["address"].lower())
            (folder / f"{entry['address']}.html").write_text(page, encoding="utf-8")
            written.add(entry["address"])
    path = out_dir / "flagged.html"
    path.write_text(html.flagged_page(report, link=lambda item: (
        f"addresses/{item['address']}.html" if item["address"] in written
        else html.default_link(item))), encoding="utf-8")
    return path
