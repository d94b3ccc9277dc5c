"""Issue 22 end to end: one `amlmon run` process (a real process, from a config file with
two chains and their bridges) follows two anvil nodes carrying a token bridged between
them (monitor.sim.bridged: benign trading, holders who bridge once, a market maker that
rebalances on a schedule, two chain-hopping cases, and one send the relayer loses).

Checked: each chain's rows equal its node's logs; every delivered send is linked with its
amounts and both transaction hashes; the lost send becomes `unmatched` with an integrity
alert; chain_hopping is found with every member in its role while the look-alikes are left
alone; the address report shows one address's activity on both chains."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Alert, BridgeTransfer, Pattern, PatternMember
from monitor import db
from monitor.apikeys import create_key
from monitor.contracts.bridge import BridgeAgent, deploy_oft
from monitor.reports import flagged
from monitor.scoring.rules_file import load as load_rules
from monitor.settings import Settings
from monitor.sim.bridged import DAY, Step, generate
from monitor.sim.replay_bridged import Side, replay_bridged, start_time
from monitor.tokens import add_token
from support.anvil import Anvil, free_port, run_anvil
from support.cli import REPO
from support.rules import RULES_FILE
from support.token import node_transfer_logs
from support.wait import wait_for

CHAINS = {"a": 31337, "b": 31338}
EIDS = {"a": 40101, "b": 40102}


def stored(sessions: sessionmaker[Session], chain_id: int) -> set[tuple[Any, ...]]:
    from models import Transfer

    with sessions() as session:
        rows = session.execute(select(
            Transfer.tx_hash, Transfer.log_index, Transfer.from_address, Transfer.to_address,
            Transfer.amount).where(Transfer.chain_id == chain_id))
        return {(tx, index, frm, to, int(amount)) for tx, index, frm, to, amount in rows}


def test_one_run_process_follows_two_chains_links_the_bridge_and_finds_the_hops(
    pg_url: str, make_sessions: Any, tmp_path: Path,
) -> None:
    sessions = make_sessions(pg_url)
    port = free_port()
    with run_anvil(chain_id=CHAINS["a"]) as alpha, run_anvil(chain_id=CHAINS["b"]) as beta:
        nodes: dict[str, Anvil] = {"a": alpha, "b": beta}
        owner = str(alpha.rpc("eth_accounts")[0])  # type: ignore[index]
        sides: dict[str, Side] = {}
        for chain, node in nodes.items():
            address = deploy_oft(node.url, "Fund", "FND", 6, EIDS[chain], sender=owner)
            agent = BridgeAgent(node.url, address, owner)
            node.clients.append(agent)
            sides[chain] = Side(node.url, agent, EIDS[chain])
            with db.transaction(sessions) as session:
                add_token(session, chain_id=CHAINS[chain], address=address, name="Fund",
                          symbol="FND", decimals=6, standard="erc20", start_block=0)
        history = generate(7, start_time(sides))
        # A benign holder's send that the relayer loses, well before the history ends.
        once = next(a for a, kind in history.lookalikes.items() if kind == "bridge_once")
        mint = next(s for s in history.steps if s.recipient == once and s.kind == "mint")
        lost_sender = "0x" + "5e" * 20
        history.steps += [replace(mint, recipient=lost_sender),
                          Step(mint.timestamp + 20 * DAY, "a", "send", lost_sender,
                               lost_sender, mint.amount, relayed=False)]
        history.steps.sort(key=lambda s: (s.timestamp, s.chain))
        counts = replay_bridged(history, sides)
        sends = sum(1 for s in history.steps if s.kind == "send")
        assert counts["relays"] == sends - 1

        with db.transaction(sessions) as session:
            _, key = create_key(session, "e2e", "viewer")
        config = tmp_path / "monitor.yaml"
        config.write_text(json.dumps({  # JSON is YAML
            "database_url": pg_url, "rules_file": str(RULES_FILE), "api_port": port,
            "score_interval_seconds": 1, "log_format": "json",
            "bridge_unmatched_after_seconds": 3600,
            "chains": [{"chain_id": CHAINS[c], "name": name, "rpc_urls": [nodes[c].url],
                        "confirmations": 0, "poll_interval_seconds": 0.3}
                       for c, name in (("a", "alpha"), ("b", "beta"))],
            "bridges": [{"chain_id": CHAINS[c], "address": sides[c].agent.address,
                         "protocol": "layerzero-oft", "endpoint_id": EIDS[c]}
                        for c in ("a", "b")]}))
        log = tmp_path / "run.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "--config", str(config), "run"],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                env={k: v for k, v in os.environ.items() if not k.startswith("AMLMON_")})
            try:
                for chain, node in nodes.items():
                    wait_for(lambda n=node, c=chain: stored(sessions, CHAINS[c])
                             == node_transfer_logs(n, sides[c].agent.address),
                             timeout=120, what=f"chain {chain} rows equal the node's logs")
                wait_for(lambda: _statuses(sessions) == {"linked": sends - 1, "unmatched": 1},
                         timeout=120, what="every delivered send linked, the lost one unmatched")
                wanted = {(a, role) for case in history.cases for a, role in case.items()}
                try:
                    wait_for(lambda: wanted <= _hopping_roles(sessions), timeout=60,
                             what="every case member in its chain_hopping role")
                except AssertionError:
                    raise AssertionError((wanted, _hopping_roles(sessions))) from None
                report = _get_json(f"http://127.0.0.1:{port}/api/v1/reports/address/{once}",
                                   key)
                assert process.poll() is None
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=60) == 0
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    assert "stopped cleanly" in log.read_text()

    with sessions() as session:
        rows = session.scalars(select(BridgeTransfer)).all()
        for row in rows:
            if row.status == "linked":
                assert row.source_tx_hash and row.destination_tx_hash
                assert row.amount_sent == row.amount_received > 0
                assert {row.source_chain_id, row.destination_chain_id} == set(CHAINS.values())
        lost = next(r for r in rows if r.status == "unmatched")
        assert lost.sender == lost_sender and lost.destination_tx_hash is None
        alert = session.scalars(select(Alert).where(Alert.rule == "bridge_unmatched")).one()
        assert alert.address == lost_sender and lost.source_tx_hash in alert.detail

        threshold = load_rules(Settings(rules_file=RULES_FILE)).flag_min_risk
        report_items = flagged.flagged(session, None, threshold)["items"]
    hopping = {item["address"].lower() for item in report_items
               if any(r["rule"] == "chain_hopping" for r in item["reasons"])}
    members = {a for case in history.cases for a in case}
    assert members <= hopping
    flagged_addresses = {item["address"].lower() for item in report_items}
    assert not flagged_addresses & set(history.lookalikes), {
        a: k for a, k in history.lookalikes.items() if a in flagged_addresses}

    # One address, two chains: bought and sent on alpha, received on beta.
    assert {c["chain_id"] for c in report["chains"]} == set(CHAINS.values())
    assert [(b["sender"].lower(), b["recipient"].lower(), b["status"])
            for b in report["bridge_transfers"]] == [(once, once, "linked")]


def _statuses(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        found: dict[str, int] = {}
        for status in session.scalars(select(BridgeTransfer.status)):
            found[status] = found.get(status, 0) + 1
        return found


def _hopping_roles(sessions: sessionmaker[Session]) -> set[tuple[str, str]]:
    with sessions() as session:
        return {(address, role) for address, role in session.execute(
            select(PatternMember.address, PatternMember.role).join(Pattern)
            .where(Pattern.typology == "chain_hopping", Pattern.status == "active"))}


def _get_json(url: str, key: str) -> dict[str, Any]:
    reply = httpx.get(url, headers={"X-API-Key": key}, timeout=30)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result
