"""`amlmon demo`: the whole pipeline on two local chains with an embedded database.

Starts two anvil nodes (chain ids 31337 and 31338). On the first it deploys the demo RWA
token and replays a simulated history with laundering cases (with the history's own
timestamps). On both it deploys a bridged fund token (a LayerZero-OFT-like contract) and
replays a history that crosses the bridge, with a chain-hopping case and benign bridgers
(monitor.sim.bridged), the relayer delivering each send. Then it ingests both chains
through the real poller, scores, raises alerts, prints the top flagged addresses and
writes the flagged report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import Alert, Pattern, PatternMember
from models.alerts import CLOSED_STATUSES
from monitor import db, jobs
from monitor.addresses import checksum
from monitor.bridges.registry import add_bridge
from monitor.chain.rpc import RpcClient
from monitor.contracts import TokenAgent, deploy_token
from monitor.contracts.bridge import BridgeAgent, deploy_oft
from monitor.devnode import Anvil, run_anvil
from monitor.ingest.poller import IngestOptions, Poller
from monitor.reports import flagged as reports
from monitor.settings import Settings
from monitor.sim import History, generate
from monitor.sim.bridged import BridgedHistory
from monitor.sim.bridged import generate as generate_bridged
from monitor.sim.replay import replay
from monitor.sim.replay_bridged import Side, replay_bridged, start_time
from monitor.tokens import add_token, ensure_chain

CHAIN_ID = 31337
BRIDGE_CHAIN_ID = 31338
SEED = 2026
# The bridged token's LayerZero endpoint ids on the two local chains: development ids,
# registered with --endpoint-id as any chain missing from the mainnet table is.
EIDS = {"a": 40101, "b": 40102}
CHAINS = {"a": CHAIN_ID, "b": BRIDGE_CHAIN_ID}
CHAIN_NAMES = {CHAIN_ID: "alpha", BRIDGE_CHAIN_ID: "beta"}

Stage = Callable[[str, int, int, int], None]  # (stage, done, total, items)


@dataclass
class DemoResult:
    node: Anvil
    token: str
    history: History
    bridge_node: Anvil
    bridged: dict[str, str]  # chain ("a", "b") -> the bridged token's address there
    bridged_history: BridgedHistory
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
    with run_anvil(chain_id=CHAIN_ID) as node, run_anvil(chain_id=BRIDGE_CHAIN_ID) as peer:
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
        bridged, bridged_history = _bridged_token(
            sessions, {"a": node, "b": peer}, agent_address, progress)
        for chain_id, url in ((CHAIN_ID, node.url), (BRIDGE_CHAIN_ID, peer.url)):
            with RpcClient([url], chain=str(chain_id)) as client:
                poller = Poller(client, sessions, chain_id, IngestOptions(confirmations=0),
                                progress=partial(_stage, progress,
                                                 f"ingest {CHAIN_NAMES[chain_id]}"))
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
        yield DemoResult(node, address, history, peer, bridged, bridged_history, report,
                         html_path, json_path, summary.alerts_created, pattern)


def _bridged_token(sessions: sessionmaker[Session], nodes: dict[str, Anvil], owner: str,
                   progress: Stage) -> tuple[dict[str, str], BridgedHistory]:
    """The bridged fund token on both chains, registered with its bridges, and its history
    replayed with the relayer delivering every send."""
    sides: dict[str, Side] = {}
    for chain, node in nodes.items():
        address = deploy_oft(node.url, "Demo Money Market Fund", "DMMF", 6, EIDS[chain],
                             sender=owner)
        agent = BridgeAgent(node.url, address, owner)
        node.clients.append(agent)
        sides[chain] = Side(node.url, agent, EIDS[chain])
        with db.transaction(sessions) as session:
            add_token(session, chain_id=CHAINS[chain], address=address,
                      name="Demo Money Market Fund", symbol="DMMF", decimals=6,
                      standard="erc20", start_block=0)
            add_bridge(session, chain_id=CHAINS[chain], address=address,
                       protocol="layerzero-oft", endpoint_id=EIDS[chain])
            ensure_chain(session, CHAINS[chain]).name = CHAIN_NAMES[CHAINS[chain]]
    bridged_history = generate_bridged(SEED, start_time(sides))
    replay_bridged(bridged_history, sides, lambda done, total: progress(
        "replay bridged", done, total, done))
    return {chain: side.agent.address for chain, side in sides.items()}, bridged_history


def _stage(progress: Stage, name: str, _: str, done: int, total: int, items: int) -> None:
    """A poller's progress under the demo's own stage name (one per chain)."""
    progress(name, done, total, items)


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
