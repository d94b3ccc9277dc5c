"""Two-chain bridge test helpers: ingest a chain, deploy a registered OFT pair (the
fixtures are in tests/bridges/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from monitor import db
from monitor.bridges.registry import add_bridge
from monitor.chain.rpc import RpcClient
from monitor.contracts.bridge import BridgeAgent, deploy_oft
from monitor.ingest.poller import IngestOptions, IngestStats, Poller
from monitor.tokens import add_token
from support.anvil import Anvil

CHAIN_A, CHAIN_B = 71001, 71002
EID_A, EID_B = 40001, 40002  # test chains: not in the mainnet table


@dataclass
class Chain:
    node: Anvil
    chain_id: int

    @property
    def url(self) -> str:
        return self.node.url

    def accounts(self) -> list[str]:
        return [str(a).lower() for a in self.node.rpc("eth_accounts")]  # type: ignore[union-attr]


def ingest(sessions: sessionmaker[Session], chain: Chain, **options: object) -> IngestStats:
    opts = {"confirmations": 0, "reorg_window": 64, **options}
    with RpcClient([chain.url], chain=str(chain.chain_id), timeout=10, backoff_initial=0.01,
                   backoff_max=0.1, max_retries=5) as client:
        return Poller(client, sessions, chain.chain_id,
                      IngestOptions(**opts)).catch_up()  # type: ignore[arg-type]


@dataclass
class Oft:
    chain: Chain
    agent: BridgeAgent
    eid: int

    @property
    def address(self) -> str:
        return self.agent.address


def register_bridge(sessions: sessionmaker[Session], oft: Oft, start_block: int = 0) -> None:
    with db.transaction(sessions) as session:
        add_bridge(session, chain_id=oft.chain.chain_id, address=oft.address,
                   protocol="layerzero-oft", endpoint_id=oft.eid, start_block=start_block)


def deploy_pair(sessions: sessionmaker[Session], a: Chain, b: Chain, *, fee_bps: int = 0,
                register: bool = True, bridges: bool = True) -> tuple[Oft, Oft]:
    """An OFT on each chain, registered as token and (with `bridges`) as bridge: the OFT
    is both."""
    pair = []
    for chain, eid in ((a, EID_A), (b, EID_B)):
        owner = chain.accounts()[0]
        address = deploy_oft(chain.url, "Bridged Bond", "BBOND", 6, eid, owner, fee_bps)
        agent = BridgeAgent(chain.url, address, owner)
        chain.node.clients.append(agent)
        pair.append(Oft(chain, agent, eid))
        if register:
            with db.transaction(sessions) as session:
                add_token(session, chain_id=chain.chain_id, address=address, name="Bridged Bond",
                          symbol="BBOND", decimals=6)
            if bridges:
                register_bridge(sessions, pair[-1])
    return pair[0], pair[1]
