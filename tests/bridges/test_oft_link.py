"""LayerZero OFT transfers between two real anvil chains, ingested into one Postgres
database by two Pollers and linked end to end; sides left alone become `unmatched` with an
integrity alert, and link (retracting it) when the other side arrives late."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import (
    Alert,
    AlertEvent,
    Bridge,
    BridgeEvent,
    BridgeTransfer,
    Notification,
    Transfer,
)
from monitor.bridges import protocols
from monitor.bridges.integrity import expire_unmatched
from monitor.contracts.bridge import relay
from monitor.settings import Settings
from support.bridges import (
    CHAIN_A,
    CHAIN_B,
    EID_A,
    EID_B,
    Chain,
    deploy_pair,
    ingest,
    register_bridge,
)

ZERO = "0x" + "0" * 40


def node_bridge_logs(chain: Chain, address: str) -> set[tuple[str, int, str, str, str, int]]:
    """(tx, log index, side, guid, address, amount) of every OFT event the node holds."""
    logs: Any = chain.node.rpc("eth_getLogs", {
        "address": address, "topics": [[protocols.OFT_SENT, protocols.OFT_RECEIVED]],
        "fromBlock": "0x0", "toBlock": "latest"})
    out = set()
    for lg in logs:
        sent = lg["topics"][0] == protocols.OFT_SENT
        data = lg["data"][2:]
        out.add((lg["transactionHash"], int(lg["logIndex"], 16),
                 "source" if sent else "destination", lg["topics"][1],
                 "0x" + lg["topics"][2][-40:], int(data[64:128], 16)))
    return out


def stored_bridge_events(sessions: sessionmaker[Session],
                         chain_id: int) -> set[tuple[str, int, str, str, str, int]]:
    with sessions() as session:
        return {(e.tx_hash, e.log_index, e.side, e.message_id, e.address, int(e.amount))
                for e in session.scalars(select(BridgeEvent).where(
                    BridgeEvent.chain_id == chain_id))}


def rows(sessions: sessionmaker[Session]) -> dict[str, BridgeTransfer]:
    with sessions() as session:
        return {r.message_id: r for r in session.scalars(select(BridgeTransfer))}


def test_every_send_is_linked_with_amounts_and_both_hashes(
    chains: tuple[Chain, Chain], sessions: sessionmaker[Session]
) -> None:
    a, b = chains
    oft_a, oft_b = deploy_pair(sessions, a, b, fee_bps=25)
    holders_a, holders_b = a.accounts()[1:5], b.accounts()[5:9]
    for n, holder in enumerate(holders_a):
        oft_a.agent.mint(holder, 10**30 + n)
    sends = [oft_a.agent.send(EID_B, holders_b[n % 4], amount, sender=holders_a[n % 4])
             for n, amount in enumerate([1_000_000, 7, 2**90 + 3, 123_456_789, 10**29])]
    sends += [oft_a.agent.send(EID_B, holders_b[0], 5_000, sender=holders_a[3])]
    # Chain B ingested first, before anything arrived; then the relayer delivers.
    ingest(sessions, b)
    delivered = relay(a.url, b.url, oft_a.address, oft_b.address)
    assert [g for g, _ in delivered] == [s.key for s in sends]
    # Back the other way: a recipient on B sends some home.
    back = oft_b.agent.send(EID_A, holders_a[0], 4_000, sender=holders_b[0])
    home = relay(b.url, a.url, oft_b.address, oft_a.address)
    ingest(sessions, a)
    ingest(sessions, b)

    # Exact rows per chain: every OFT event the nodes hold, nothing else.
    for chain, oft in ((a, oft_a), (b, oft_b)):
        assert stored_bridge_events(sessions, chain.chain_id) == node_bridge_logs(
            chain, oft.address)
    linked = rows(sessions)
    assert set(linked) == {s.key for s in sends} | {back.key}
    for send, (_, dst_tx) in zip(sends, delivered, strict=True):
        row = linked[send.key]
        receipt: Any = a.node.rpc("eth_getTransactionReceipt", send.tx)
        sent_log = next(lg for lg in receipt["logs"] if lg["topics"][0] == protocols.OFT_SENT)
        amount_sent = int(sent_log["data"][66:130], 16)
        assert (row.status, row.protocol) == ("linked", "layerzero-oft")
        assert (row.source_chain_id, row.destination_chain_id) == (CHAIN_A, CHAIN_B)
        assert (row.source_tx_hash, row.destination_tx_hash) == (send.tx, dst_tx)
        assert row.sender == "0x" + sent_log["topics"][2][-40:]
        assert int(row.amount_sent) == amount_sent
        assert int(row.amount_received) == amount_sent - amount_sent * 25 // 10000
        assert row.sent_at is not None and row.received_at is not None
    assert int(linked[sends[2].key].amount_sent) == 2**90 + 3  # exact beyond float range
    row = linked[back.key]
    assert (row.status, row.source_chain_id, row.destination_chain_id) == ("linked", CHAIN_B,
                                                                          CHAIN_A)
    assert (row.source_tx_hash, row.destination_tx_hash) == (back.tx, home[0][1])
    assert (row.sender, row.recipient) == (holders_b[0], holders_a[0])
    # The burns and mints are ordinary transfers of each chain's token too.
    with sessions() as session:
        burns = session.scalars(select(Transfer.tx_hash).where(
            Transfer.chain_id == CHAIN_A, Transfer.to_address == ZERO)).all()
    assert set(burns) == {s.tx for s in sends}
    # Re-ingesting from scratch changes nothing (idempotent writes).
    before = {k: (r.status, r.destination_tx_hash) for k, r in linked.items()}
    ingest(sessions, a)
    ingest(sessions, b)
    assert {k: (r.status, r.destination_tx_hash) for k, r in rows(sessions).items()} == before


def _advance(chain: Chain, seconds: int) -> None:
    chain.node.rpc("evm_increaseTime", hex(seconds))
    chain.node.mine()


def test_a_send_never_relayed_and_a_mint_without_source_become_unmatched(
    chains: tuple[Chain, Chain], sessions: sessionmaker[Session]
) -> None:
    a, b = chains
    oft_a, oft_b = deploy_pair(sessions, a, b)
    holder = a.accounts()[1]
    oft_a.agent.mint(holder, 10**12)
    lost = oft_a.agent.send(EID_B, b.accounts()[2], 777_000, sender=holder)
    # A mint on B naming a source nobody sent (the relayer is the owner: it can).
    forged = "0x" + "ab" * 32
    fake_tx = oft_b.agent.call("lzReceive", bytes.fromhex(forged[2:]), EID_A, b.accounts()[3],
                               555)
    ingest(sessions, a)
    ingest(sessions, b)
    settings = Settings(database_url="sqlite://", rules_file=None,
                        bridge_unmatched_after_seconds=3600,
                        webhook_url="http://127.0.0.1:9/hook")
    far = datetime(2100, 1, 1, tzinfo=UTC)  # the wall clock: unused while chains tick
    assert expire_unmatched(sessions, settings, now=far) == 0
    assert {r.status for r in rows(sessions).values()} == {"pending"}

    # Each other chain moves two hours on and is ingested: both sides are now overdue.
    _advance(a, 7200)
    _advance(b, 7200)
    ingest(sessions, a)
    ingest(sessions, b)
    assert expire_unmatched(sessions, settings, now=far) == 2
    assert expire_unmatched(sessions, settings, now=far) == 0  # idempotent
    found = rows(sessions)
    assert found[lost.key].status == "unmatched" and found[lost.key].unmatched_at == far
    assert found[lost.key].destination_chain_id == CHAIN_B  # where it was headed
    assert found[forged].status == "unmatched"
    assert found[forged].source_chain_id == CHAIN_A  # where it claims to come from
    with sessions() as session:
        alerts = {x.evidence[0]: x for x in session.scalars(select(Alert))}
    assert set(alerts) == {lost.tx, fake_tx}
    burn, mint = alerts[lost.tx], alerts[fake_tx]
    assert (burn.rule, burn.severity, burn.status, burn.address) == (
        "bridge_unmatched", "high", "open", holder)
    assert lost.key in burn.detail and lost.tx in burn.detail and "layerzero-oft" in burn.detail
    assert f"chain {CHAIN_A}" in burn.detail
    assert mint.address == b.accounts()[3] and "without a known source" in mint.detail
    with sessions() as session:  # one webhook each, through the outbox
        queued = session.scalars(select(Notification)).all()
    assert sorted(n.alert_id for n in queued) == sorted([burn.id, mint.id])
    assert {n.payload["rule"] for n in queued} == {"bridge_unmatched"}

    # The relayer delivers the lost send late: linked, and its alert retracted with a note.
    relay(a.url, b.url, oft_a.address, oft_b.address)
    ingest(sessions, b)
    assert rows(sessions)[lost.key].status == "linked"
    assert rows(sessions)[lost.key].unmatched_at is None
    with sessions() as session:
        burn = session.get_one(Alert, burn.id)
        assert burn.status == "retracted"
        notes = session.scalars(select(AlertEvent.note).where(
            AlertEvent.alert_id == burn.id, AlertEvent.kind == "retracted")).all()
        assert notes and "linked" in notes[0]
        assert session.get_one(Alert, mint.id).status == "open"


def test_bridges_registered_after_the_cursor_moved_on_are_backfilled_alone(
    chains: tuple[Chain, Chain], sessions: sessionmaker[Session]
) -> None:
    a, b = chains
    oft_a, oft_b = deploy_pair(sessions, a, b, bridges=False)
    holder = a.accounts()[1]
    oft_a.agent.mint(holder, 10**9)
    sent = oft_a.agent.send(EID_B, b.accounts()[1], 1234, sender=holder)
    relay(a.url, b.url, oft_a.address, oft_b.address)
    ingest(sessions, a)
    ingest(sessions, b)
    assert rows(sessions) == {}  # tokens only: the bridges' events were not asked for
    with sessions() as session:
        transfers_before = len(session.scalars(select(Transfer)).all())
    for oft in (oft_a, oft_b):
        register_bridge(sessions, oft)
    a.node.mine(2)
    stats = ingest(sessions, a)
    ingest(sessions, b)
    assert stats.bridge_events == 1
    row = rows(sessions)[sent.key]
    assert row.status == "linked" and int(row.amount_sent) == 1234
    with sessions() as session:
        # The tokens' transfers were not fetched again (nor duplicated).
        assert len(session.scalars(select(Transfer)).all()) == transfers_before
        synced = {b.chain_id: b.synced_block for b in session.scalars(select(Bridge))}
    assert synced == {CHAIN_A: a.node.block_number(), CHAIN_B: b.node.block_number()}
