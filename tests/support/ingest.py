"""Shared steps of ingest tests: register a token, make on-chain activity, ingest, compare."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import Transfer
from monitor import db
from monitor.chain.rpc import RpcClient
from monitor.ingest.poller import IngestOptions, IngestStats, Poller
from monitor.sim import History
from monitor.sim.replay import replay
from monitor.tokens import add_token
from support.anvil import Anvil, run_anvil
from support.postgres import create_database, drop_database
from support.token import TokenOnChain, deploy

CHAIN = 31337


def register(sessions: sessionmaker[Session], token: TokenOnChain, start_block: int = 0) -> None:
    with db.transaction(sessions) as session:
        add_token(session, chain_id=CHAIN, address=token.address, name="Test Bond",
                  symbol="TBOND", decimals=6, standard="erc3643", start_block=start_block)


def ingest(
    sessions: sessionmaker[Session], urls: list[str], label: str = "t", timeout: float = 10.0,
    **options: Any,
) -> IngestStats:
    opts = {"confirmations": 0, "reorg_window": 64, **options}
    with RpcClient(urls, chain=label, timeout=timeout, backoff_initial=0.01, backoff_max=0.1,
                   max_retries=30) as client:
        poller = Poller(client, sessions, CHAIN, IngestOptions(**opts))
        return poller.catch_up()


def stored(sessions: sessionmaker[Session]) -> set[tuple[str, int, str, str, int]]:
    with sessions() as session:
        rows = session.execute(select(
            Transfer.tx_hash, Transfer.log_index, Transfer.from_address, Transfer.to_address,
            Transfer.amount,
        ))
        return {tuple(row) for row in rows}  # type: ignore[misc]


def count(sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def activity(token: TokenOnChain, rng: random.Random, holders: list[str], rounds: int) -> None:
    """Mints, transfers, batch transfers and burns between `holders`."""
    token.batch_mint(holders, [rng.randrange(10**6, 10**12) for _ in holders])
    for _ in range(rounds):
        froms = [rng.choice(holders) for _ in range(rng.randrange(1, 30))]
        tos = [rng.choice(holders) for _ in froms]
        token.batch_forced_transfer(froms, tos, [rng.randrange(1, 1000) for _ in froms])
        token.transfer(holders[0], rng.choice(holders), rng.randrange(1, 1000))
        if rng.random() < 0.3:
            token.burn(rng.choice(holders), rng.randrange(1, 100))
        if rng.random() < 0.3:
            token.mint(rng.choice(holders), 2**200 + rng.randrange(1, 1000))


def holders_of(node: Anvil, n: int = 8) -> list[str]:
    return [str(a).lower() for a in node.rpc("eth_accounts")][:n]  # type: ignore[union-attr]


@contextmanager
def replayed_database(
    pg_server: str, prefix: str, history: History,
) -> Iterator[tuple[Anvil, TokenOnChain, str, sessionmaker[Session]]]:
    """A database of its own holding `history` as the real pipeline stores it: replayed
    onto a fresh anvil node, registered and ingested. Yields (node, token, url, sessions)
    while the node runs; the database is dropped afterwards."""
    url = create_database(pg_server, prefix=prefix)
    engine = db.make_engine(url)
    try:
        db.upgrade(url)
        sessions = db.session_factory(engine)
        with run_anvil() as node:
            token = deploy(node)
            replay(history, token)
            register(sessions, token)
            ingest(sessions, [node.url])
            yield node, token, url, sessions
    finally:
        engine.dispose()
        drop_database(url)
