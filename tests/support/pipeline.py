"""A labelled history through amlmon as a new user runs it, with a stopwatch per stage.

Start anvil, deploy the repo's RWA token, replay the history onto it, then run `amlmon`
as its own process, with default settings and the default rules file: `db upgrade`,
`token add`, `ingest --once`, `score`, `report flagged --format json`. The caller creates
the (empty) database and drops it. Shared by tests/scoring/test_amlsim_pipeline.py and
bench/detection.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import select

from models import Token, Transfer
from monitor import db
from monitor.contracts import TokenAgent, deploy_token
from monitor.devnode import run_anvil
from monitor.settings import Settings
from monitor.sim.history import History
from monitor.sim.replay import replay
from support.detection import Finding, Flow, findings_from_report

REPO = Path(__file__).resolve().parents[2]
RULES_FILE = REPO / "config" / "rules.yaml"  # the default `rules_file`, wherever we run from
CHAIN_ID = 31337
# An AMLSim day is up to 1,424 transfers and its issuance 20,000 mints in one block: more
# than anvil's default 30M block gas and 2 MB request body allow.
ANVIL_ARGS = ("--disable-block-gas-limit", "--no-request-size-limit")


@dataclass
class PipelineResult:
    findings: dict[str, Finding]  # every address with a score row (report --min-risk 0)
    flagged: set[str]  # the items of `report flagged` at the default flag_min_risk
    transfers: list[Flow]  # as ingested, in token units, mints included
    seconds: dict[str, float] = field(default_factory=dict)  # replay, ingest, score


def run_pipeline(history: History, database_url: str, workdir: Path) -> PipelineResult:
    """Replay `history` on a fresh anvil and run amlmon on it against `database_url`."""
    seconds: dict[str, float] = {}
    config = workdir / "monitor.yaml"
    with run_anvil(*ANVIL_ARGS, chain_id=CHAIN_ID) as node:
        config.write_text(yaml.safe_dump({"database_url": database_url, "rpc_urls": [node.url],
                                          "rules_file": str(RULES_FILE)}), encoding="utf-8")
        agent_address = str(node.rpc("eth_accounts")[0])  # type: ignore[index]
        token = deploy_token(node.url, "AMLSim Bond", "AMLB", history.decimals,
                             sender=agent_address)
        agent = TokenAgent(node.url, token, agent_address)
        node.clients.append(agent)
        started = time.perf_counter()
        replay(history, agent)
        seconds["replay"] = time.perf_counter() - started
        # A live chain keeps producing blocks: bury the last replayed one under the
        # default confirmations, as time would.
        node.mine(Settings.model_fields["confirmations"].default)
        amlmon(config, "db", "upgrade")
        amlmon(config, "token", "add", "--chain-id", str(CHAIN_ID), "--address", token,
               "--standard", "erc3643", "--start-block", "0")
        seconds["ingest"] = amlmon(config, "ingest", "--once")
        seconds["score"] = amlmon(config, "score")
    amlmon(config, "report", "flagged", "--format", "json", "--output",
           str(workdir / "flagged.json"))
    amlmon(config, "report", "flagged", "--min-risk", "0", "--format", "json", "--output",
           str(workdir / "scored.json"))
    flagged = findings_from_report(json.loads((workdir / "flagged.json").read_text()))
    scored = findings_from_report(json.loads((workdir / "scored.json").read_text()))
    transfers = ingested(database_url)
    if len(transfers) != len(history.transfers):
        raise RuntimeError(f"ingested {len(transfers)} transfers, the history has "
                           f"{len(history.transfers)}")
    return PipelineResult(scored, set(flagged), transfers, seconds)


def amlmon(config: Path, *args: str) -> float:
    """Run `amlmon --config config ARGS` as its own process from the repository, with no
    AMLMON_* variables (defaults only); the seconds it took. Raises on failure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMLMON_")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "monitor.cli", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, cwd=REPO)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"amlmon {' '.join(args)} exited {done.returncode}:\n"
                           f"{done.stdout}{done.stderr}")
    return took


def ingested(database_url: str) -> list[Flow]:
    """Every stored transfer as (from, to, amount in token units), in chain order."""
    engine = db.make_engine(database_url)
    try:
        with db.session_factory(engine)() as session:
            token = session.scalars(select(Token)).one()
            unit = 10.0 ** token.decimals
            rows = session.execute(
                select(Transfer.from_address, Transfer.to_address, Transfer.amount)
                .where(Transfer.token_id == token.id)
                .order_by(Transfer.block_number, Transfer.log_index, Transfer.sub_index))
            return [(sender, receiver, float(amount) / unit) for sender, receiver, amount in rows]
    finally:
        engine.dispose()
