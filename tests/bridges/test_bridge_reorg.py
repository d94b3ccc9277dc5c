"""A reorg on either side of a bridge transfer unlinks it (its side's events deleted with
the chain's other orphaned rows); the re-ingest of the new branch links it again."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import BridgeEvent, BridgeTransfer
from monitor.contracts.bridge import relay
from support.bridges import CHAIN_A, CHAIN_B, EID_B, Chain, deploy_pair, ingest


def _row(sessions: sessionmaker[Session], key: str) -> BridgeTransfer | None:
    with sessions() as session:
        return session.scalar(select(BridgeTransfer).where(BridgeTransfer.message_id == key))


def _events(sessions: sessionmaker[Session], chain_id: int) -> int:
    with sessions() as session:
        return len(session.scalars(select(BridgeEvent).where(
            BridgeEvent.chain_id == chain_id)).all())


def test_a_reorg_on_the_destination_unlinks_and_the_reingest_relinks(
    chains: tuple[Chain, Chain], sessions: sessionmaker[Session]
) -> None:
    a, b = chains
    oft_a, oft_b = deploy_pair(sessions, a, b)
    holder, to = a.accounts()[1], b.accounts()[4]
    oft_a.agent.mint(holder, 10**9)
    sent = oft_a.agent.send(EID_B, to, 4242, sender=holder)
    ingest(sessions, a)
    snapshot = b.node.rpc("evm_snapshot")
    [(_, first_tx)] = relay(a.url, b.url, oft_a.address, oft_b.address)
    b.node.mine(2)
    ingest(sessions, b)
    linked = _row(sessions, sent.key)
    assert linked is not None and linked.status == "linked"
    old_block = linked.destination_block

    # The branch with the delivery is dropped; a longer one without it replaces it.
    b.node.rpc("evm_revert", snapshot)
    b.node.mine(5)
    stats = ingest(sessions, b)
    assert stats.reorgs == 1
    assert _events(sessions, CHAIN_B) == 0
    row = _row(sessions, sent.key)
    assert row is not None and row.status == "pending"
    assert (row.destination_tx_hash, row.recipient, row.received_at) == (None, None, None)
    assert row.destination_chain_id == CHAIN_B  # still known as where it is headed
    assert int(row.amount_received) == 4242  # what the send says will arrive
    assert row.source_tx_hash == sent.tx

    # Delivered again on the new branch: linked again, at its new place.
    [(_, again_tx)] = relay(a.url, b.url, oft_a.address, oft_b.address)
    ingest(sessions, b)
    row = _row(sessions, sent.key)
    assert row is not None and row.status == "linked"
    assert row.destination_tx_hash == again_tx
    assert row.destination_block != old_block or again_tx != first_tx


def test_a_reorg_on_the_source_unlinks_and_the_reingest_relinks(
    chains: tuple[Chain, Chain], sessions: sessionmaker[Session]
) -> None:
    a, b = chains
    oft_a, oft_b = deploy_pair(sessions, a, b)
    holder, to = a.accounts()[1], b.accounts()[4]
    oft_a.agent.mint(holder, 10**9)
    snapshot = a.node.rpc("evm_snapshot")
    sent = oft_a.agent.send(EID_B, to, 99, sender=holder)
    unsent = oft_a.agent.send(EID_B, to, 11, sender=holder)  # never relayed
    relay(a.url, b.url, oft_a.address, oft_b.address, skip={unsent.key})
    ingest(sessions, a)
    ingest(sessions, b)
    assert _row(sessions, sent.key).status == "linked"  # type: ignore[union-attr]
    assert _row(sessions, unsent.key).status == "pending"  # type: ignore[union-attr]

    a.node.rpc("evm_revert", snapshot)
    a.node.mine(6)
    assert ingest(sessions, a).reorgs == 1
    assert _events(sessions, CHAIN_A) == 0
    # The delivered one keeps its destination side alone; the other had nothing else.
    row = _row(sessions, sent.key)
    assert row is not None and row.status == "pending"
    assert (row.source_tx_hash, row.sender, row.amount_sent, row.sent_at) == (None,) * 4
    assert row.source_chain_id == CHAIN_A  # named by the receipt's srcEid
    assert row.destination_tx_hash is not None and int(row.amount_received) == 99
    assert _row(sessions, unsent.key) is None

    # The same send again on the new branch (same nonce, so the same guid): relinked.
    again = oft_a.agent.send(EID_B, to, 99, sender=holder)
    assert again.key == sent.key
    ingest(sessions, a)
    row = _row(sessions, sent.key)
    assert row is not None and row.status == "linked" and row.source_tx_hash == again.tx
