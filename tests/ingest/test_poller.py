"""Ingest against a real anvil node and a real Postgres: exactness, reorgs, faults, failover."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import Block, ComplianceEvent, DirtyAddress, Token, Transfer
from monitor import metrics
from support.anvil import Anvil, free_port
from support.faultproxy import fault_proxy
from support.ingest import activity, count, holders_of, ingest, register, stored
from support.token import deploy, node_transfer_logs


def test_stored_rows_equal_the_nodes_logs(node: Anvil, sessions: sessionmaker[Session]) -> None:
    token = deploy(node)
    register(sessions, token)
    holders = holders_of(node)
    activity(token, random.Random(1), holders, rounds=25)
    token.freeze(holders[3])
    token.freeze_partial(holders[4], 5)
    token.unfreeze_partial(holders[4], 5)
    token.pause()
    token.unpause()
    token.recover(holders[5], holders[6], holders[7])

    stats = ingest(sessions, [node.url], initial_range=3, max_range=7)

    expected = node_transfer_logs(node, token.address)
    assert len(expected) > 300
    assert stored(sessions) == expected
    assert stats.transfers == len(expected)
    assert stats.cursor == node.block_number()
    assert count(sessions, ComplianceEvent) == 6
    with sessions() as session:
        query = select(ComplianceEvent.event, ComplianceEvent.subject)
        events = {e: s for e, s in session.execute(query)}
        assert events["AddressFrozen"] == holders[3]
        assert events["RecoverySuccess"] == holders[5]
        assert events["Paused"] is None
        # Block times are the node's.
        number, when = session.execute(
            select(Transfer.block_number, Transfer.block_time).limit(1)
        ).one()
    block = node.rpc("eth_getBlockByNumber", hex(number), False)
    assert int(when.timestamp()) == int(block["timestamp"], 16)  # type: ignore[index]

    again = ingest(sessions, [node.url])
    assert again.transfers == 0 and stored(sessions) == expected


def test_confirmations_hold_back_the_last_blocks(
    node: Anvil, sessions: sessionmaker[Session]
) -> None:
    token = deploy(node)
    register(sessions, token)
    holders = holders_of(node)
    activity(token, random.Random(2), holders, rounds=10)
    head = node.block_number()
    stats = ingest(sessions, [node.url], confirmations=5)
    assert stats.cursor == head - 5
    safe = node_transfer_logs(node, token.address, to_block=head - 5)
    assert stored(sessions) == safe


@pytest.mark.parametrize("depth", [1, 3, 12])
def test_reorg_with_replacement_transactions(
    node: Anvil, sessions: sessionmaker[Session], depth: int
) -> None:
    token = deploy(node)
    register(sessions, token)
    holders = holders_of(node)
    rng = random.Random(depth)
    activity(token, rng, holders, rounds=20)
    ingest(sessions, [node.url])
    before = stored(sessions)
    reorgs = _sample("amlmon_reorgs_total", {"chain": "31337"})

    # Replace the last `depth` blocks; new transactions land in some of them.
    replacement = [
        [{"from": token.agent, "to": token.address,
          "data": _calldata("mint(address,uint256)", ["address", "uint256"],
                            [holders[i % len(holders)], 777 + i])}, i % depth]
        for i in range(depth + 1)
    ]
    node.rpc("anvil_reorg", depth, replacement)
    stats = ingest(sessions, [node.url])

    after = node_transfer_logs(node, token.address)
    assert after != before
    assert stored(sessions) == after
    assert stats.reorgs == 1
    assert _sample("amlmon_reorgs_total", {"chain": "31337"}) == reorgs + 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DirtyAddress))
        hashes = {n: h for n, h in session.execute(select(Block.number, Block.hash))}
    head = node.block_number()
    node_hash = node.rpc("eth_getBlockByNumber", hex(head), False)["hash"]  # type: ignore[index]
    assert hashes[head] == node_hash


@pytest.mark.parametrize("depth", [1, 5])
def test_rollback_to_a_shorter_chain(
    node: Anvil, sessions: sessionmaker[Session], depth: int
) -> None:
    token = deploy(node)
    register(sessions, token)
    activity(token, random.Random(10 + depth), holders_of(node), rounds=15)
    ingest(sessions, [node.url])
    node.rpc("anvil_rollback", depth)
    stats = ingest(sessions, [node.url])
    assert stats.reorgs == 1
    assert stats.cursor == node.block_number()
    assert stored(sessions) == node_transfer_logs(node, token.address)
    # The chain grows again past where it was: ingest follows.
    activity(token, random.Random(20 + depth), holders_of(node), rounds=5)
    ingest(sessions, [node.url])
    assert stored(sessions) == node_transfer_logs(node, token.address)


def test_reorg_deeper_than_the_window_is_repaired_from_the_window_start(
    node: Anvil, sessions: sessionmaker[Session]
) -> None:
    token = deploy(node)
    register(sessions, token)
    activity(token, random.Random(3), holders_of(node), rounds=20)
    ingest(sessions, [node.url], reorg_window=4)
    node.rpc("anvil_reorg", 8, [])
    stats = ingest(sessions, [node.url], reorg_window=4)
    assert stats.reorgs == 1
    # Deeper than the 4 hashes kept: exactness is not guaranteed below the window, but
    # nothing crashes and everything inside it is re-ingested from the node.
    assert stats.cursor == node.block_number()
    with sessions() as session:
        hashes = {n: h for n, h in session.execute(select(Block.number, Block.hash))}
    for number, block_hash in hashes.items():
        assert node.rpc("eth_getBlockByNumber", hex(number), False)["hash"] == block_hash  # type: ignore[index]


def test_faults_between_client_and_node_lose_nothing(
    node: Anvil, sessions: sessionmaker[Session]
) -> None:
    token = deploy(node)
    register(sessions, token)
    activity(token, random.Random(4), holders_of(node), rounds=40)
    faults = ["http_500", "http_429", "timeout", "truncated", "invalid_json", "rpc_error",
              "drop", "too_many_results"]
    with fault_proxy(node.url, faults=faults, rate=0.3, seed=11, delay=0.6) as proxy:
        ingest(sessions, [proxy.url], label="poller-faults", timeout=0.3,
               initial_range=2, max_range=4)
    assert stored(sessions) == node_transfer_logs(node, token.address)
    assert set(proxy.counts) == set(faults), proxy.counts
    counted = sum(
        value for labels, value in _samples("amlmon_rpc_requests_total")
        if labels["chain"] == "poller-faults" and labels["outcome"] != "ok"
    )
    assert counted >= sum(proxy.counts.values())


def test_failover_when_the_first_url_is_dead(
    node: Anvil, sessions: sessionmaker[Session]
) -> None:
    token = deploy(node)
    register(sessions, token)
    activity(token, random.Random(5), holders_of(node), rounds=5)
    dead = f"http://127.0.0.1:{free_port()}"
    ingest(sessions, [dead, node.url], label="poller-failover")
    assert stored(sessions) == node_transfer_logs(node, token.address)
    assert _sample("amlmon_rpc_requests_total",
                   {"chain": "poller-failover", "method": "eth_blockNumber",
                    "outcome": "connection_error"}) == 1


def test_a_token_registered_later_is_backfilled_alone(
    node: Anvil, sessions: sessionmaker[Session]
) -> None:
    first = deploy(node)
    second = deploy(node, name="Green Bond", symbol="GRN")
    holders = holders_of(node)
    activity(first, random.Random(6), holders, rounds=5)
    activity(second, random.Random(7), holders, rounds=5)
    register(sessions, first)
    ingest(sessions, [node.url])
    activity(first, random.Random(8), holders, rounds=3)

    register(sessions, second)
    with fault_proxy(node.url, faults=[]) as proxy:
        ingest(sessions, [proxy.url])
    assert stored(sessions) == (
        node_transfer_logs(node, first.address) | node_transfer_logs(node, second.address)
    )
    # The backfill of the new token asked for its logs only; the old one was fetched only
    # for the blocks it had not seen.
    with sessions() as session:
        synced = set(session.scalars(select(Token.synced_block)))
    assert synced == {node.block_number()}
    backfill = [p for p in proxy.getlogs if p["address"] == [second.address]]
    assert backfill and int(backfill[0]["fromBlock"], 16) <= 1


def _calldata(signature: str, types: list[str], values: list[Any]) -> str:
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, values)).hex()


def _samples(name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for family in metrics.REGISTRY.collect():
        for sample in family.samples:
            if sample.name == name:
                out.append((sample.labels, sample.value))
    return out


def _sample(name: str, labels: dict[str, str]) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0
