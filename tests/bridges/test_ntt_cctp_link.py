"""Wormhole NTT and CCTP v1 transfers between two real anvil chains, linked by their keys:
the NTT digest (details and digest events paired in the send's transaction; sender and
mint read from the transactions), CCTP's (source domain, nonce)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import BridgeEvent, BridgeTransfer
from monitor import db, metrics
from monitor.bridges import protocols
from monitor.bridges.registry import add_bridge
from monitor.contracts.bridge import (
    BridgeAgent,
    deploy_cctp,
    deploy_cctp_v2,
    deploy_ntt,
    relay_cctp,
    relay_cctp_v2,
    relay_ntt,
)
from monitor.tokens import add_token
from support.bridges import CHAIN_A, CHAIN_B, Chain, ingest

WH_A, WH_B = 4001, 4002
DOMAIN_A, DOMAIN_B = 100, 101


def _register(sessions: sessionmaker[Session], chain: Chain, address: str, protocol: str,
              endpoint: int) -> None:
    with db.transaction(sessions) as session:
        add_token(session, chain_id=chain.chain_id, address=address, symbol="X", decimals=6)
        add_bridge(session, chain_id=chain.chain_id, address=address, protocol=protocol,
                   endpoint_id=endpoint, token=address)


def _agents(sessions: sessionmaker[Session], chains: tuple[Chain, Chain], deploy: object,
            protocol: str, ids: tuple[int, int]) -> tuple[BridgeAgent, BridgeAgent]:
    agents = []
    for chain, endpoint in zip(chains, ids, strict=True):
        owner = chain.accounts()[0]
        address = deploy(chain.url, "Bridged", "X", 6, endpoint, owner)  # type: ignore[operator]
        agent = BridgeAgent(chain.url, address, owner)
        chain.node.clients.append(agent)
        _register(sessions, chain, address, protocol, endpoint)
        agents.append(agent)
    return agents[0], agents[1]


def _rows(sessions: sessionmaker[Session]) -> dict[str, BridgeTransfer]:
    with sessions() as session:
        return {r.message_id: r for r in session.scalars(select(BridgeTransfer))}


def test_ntt_transfers_are_linked_by_digest(
    chains: tuple[Chain, Chain], sessions: sessionmaker[Session]
) -> None:
    a, b = chains
    ntt_a, ntt_b = _agents(sessions, chains, deploy_ntt, "wormhole-ntt", (WH_A, WH_B))
    senders, recipients = a.accounts()[1:4], b.accounts()[4:7]
    for s in senders:
        ntt_a.mint(s, 10**40)
    sends = [ntt_a.ntt_transfer(WH_B, recipients[n], amount, sender=senders[n], fee=n * 10**15)
             for n, amount in enumerate([10**6, 2**130 + 1, 5])]
    delivered = relay_ntt(a.url, b.url, ntt_a.address, ntt_b.address, WH_B)
    assert [d for d, _ in delivered] == [s.key for s in sends]
    ingest(sessions, a)
    ingest(sessions, b)
    rows = _rows(sessions)
    assert set(rows) == {s.key for s in sends}
    for n, (send, (_, dst_tx)) in enumerate(zip(sends, delivered, strict=True)):
        row = rows[send.key]
        amount = [10**6, 2**130 + 1, 5][n]
        assert (row.status, row.protocol) == ("linked", "wormhole-ntt")
        assert (row.source_chain_id, row.destination_chain_id) == (CHAIN_A, CHAIN_B)
        assert (row.source_tx_hash, row.destination_tx_hash) == (send.tx, dst_tx)
        # The sender from the burn in the send's transaction, the recipient and amount
        # from the mint in the redeem's: the events name neither.
        assert (row.sender, row.recipient) == (senders[n], recipients[n])
        assert (int(row.amount_sent), int(row.amount_received)) == (amount, amount)


def test_cctp_v1_transfers_are_linked_by_domain_and_nonce(
    chains: tuple[Chain, Chain], sessions: sessionmaker[Session]
) -> None:
    a, b = chains
    usdc_a, usdc_b = _agents(sessions, chains, deploy_cctp, "cctp-v1", (DOMAIN_A, DOMAIN_B))
    depositor, to = a.accounts()[2], b.accounts()[3]
    usdc_a.mint(depositor, 10**12)
    sends = [usdc_a.deposit_for_burn(DOMAIN_B, to, amount, sender=depositor)
             for amount in (500, 10**11)]
    lost = usdc_a.deposit_for_burn(DOMAIN_B, to, 1, sender=depositor)
    delivered = relay_cctp(a.url, b.url, usdc_a.address, usdc_b.address, DOMAIN_A, DOMAIN_B,
                           skip={lost.nonce or 0})
    ingest(sessions, b)
    ingest(sessions, a)
    rows = _rows(sessions)
    assert set(rows) == {f"{DOMAIN_A}:{n}" for n in (0, 1, 2)}
    for send, (nonce, dst_tx), amount in zip(sends, delivered, (500, 10**11), strict=True):
        row = rows[f"{DOMAIN_A}:{nonce}"]
        assert send.nonce == nonce
        assert (row.status, row.source_tx_hash, row.destination_tx_hash) == (
            "linked", send.tx, dst_tx)
        assert (row.sender, row.recipient) == (depositor, to)
        assert (int(row.amount_sent), int(row.amount_received)) == (amount, amount)
    pending = rows[f"{DOMAIN_A}:2"]
    # A lone burn already names its recipient and where it is headed.
    assert (pending.status, pending.recipient, pending.destination_chain_id) == (
        "pending", to, CHAIN_B)


def _sample(name: str, labels: dict[str, str]) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_malformed_bridge_logs_are_counted_and_skipped(
    chains: tuple[Chain, Chain], sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = chains
    ntt_a, _ = _agents(sessions, chains, deploy_ntt, "wormhole-ntt", (WH_A, WH_B))
    holder = a.accounts()[1]
    ntt_a.mint(holder, 10**9)
    good = ntt_a.ntt_transfer(WH_B, b.accounts()[1], 1000, sender=holder)
    bad = ntt_a.call("rawLog", [bytes.fromhex(protocols.NTT_TRANSFER_REDEEMED[2:])], b"")
    lone = ntt_a.call("rawLog", [bytes.fromhex(t[2:]) for t in (
        protocols.NTT_TRANSFER_SENT, "0x" + "00" * 32, "0x" + "00" * 32)], b"\0" * 128)
    after = ntt_a.ntt_transfer(WH_B, b.accounts()[1], 2000, sender=holder)
    label = {"chain": str(a.chain_id)}
    malformed = _sample("amlmon_logs_malformed_total", label)
    skipped = _sample("amlmon_logs_skipped_total", {**label, "reason": "ntt_without_digest"})
    with caplog.at_level(logging.WARNING):
        stats = ingest(sessions, a)
    assert stats.cursor == a.node.block_number()  # the ingest went on past them
    assert stats.malformed == 1 and stats.skipped["ntt_without_digest"] == 1
    assert _sample("amlmon_logs_malformed_total", label) == malformed + 1
    assert _sample("amlmon_logs_skipped_total",
                   {**label, "reason": "ntt_without_digest"}) == skipped + 1
    warnings = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warnings) == 1 and bad in warnings[0] and "TransferRedeemed" in warnings[0]
    assert lone not in " ".join(warnings)
    with sessions() as session:
        keys = set(session.scalars(select(BridgeEvent.message_id)))
    assert keys == {good.key, after.key}


def test_cctp_v2_transfers_are_matched_by_content_identical_ones_in_order(
    chains: tuple[Chain, Chain], sessions: sessionmaker[Session]
) -> None:
    a, b = chains
    usdc_a, usdc_b = _agents(sessions, chains, deploy_cctp_v2, "cctp-v2", (DOMAIN_A, DOMAIN_B))
    depositor, to = a.accounts()[2], b.accounts()[3]
    usdc_a.mint(depositor, 10**12)
    # Two identical burns (same depositor, recipient, amount, max fee) and a third one.
    twins = [usdc_a.deposit_for_burn_v2(DOMAIN_B, to, 10**6, max_fee=100, sender=depositor)
             for _ in range(2)]
    other = usdc_a.deposit_for_burn_v2(DOMAIN_B, to, 5 * 10**6, max_fee=0, sender=depositor)
    # Only the first twin and the other one are relayed (a fee of half the max fee).
    delivered = dict(relay_cctp_v2(a.url, b.url, usdc_a.address, usdc_b.address, DOMAIN_A,
                                   DOMAIN_B, skip={twins[1].tx}))
    ingest(sessions, a)
    ingest(sessions, b)
    by_source = {r.source_tx_hash: r for r in _rows(sessions).values()}
    first, second, third = (by_source[s.tx] for s in (*twins, other))
    assert first.message_id.startswith("v2:") and first.message_id.endswith("#1")
    assert second.message_id == first.message_id[:-1] + "2"
    assert (first.status, first.destination_tx_hash) == ("linked", delivered[twins[0].tx])
    assert (int(first.amount_sent), int(first.amount_received)) == (10**6, 10**6 - 50)
    assert (first.sender, first.recipient) == (depositor, to)
    assert (second.status, second.amount_received, second.recipient) == ("pending", None, to)
    assert (third.status, int(third.amount_received)) == ("linked", 5 * 10**6)
    # The second twin arrives later: it pairs with the second burn.
    later = dict(relay_cctp_v2(a.url, b.url, usdc_a.address, usdc_b.address, DOMAIN_A,
                               DOMAIN_B, skip={twins[0].tx, other.tx}))
    ingest(sessions, b)
    second = {r.source_tx_hash: r for r in _rows(sessions).values()}[twins[1].tx]
    assert (second.status, second.destination_tx_hash) == ("linked", later[twins[1].tx])
