"""One address on two chains, written as rows (no node, no scoring run): what the address
report's chain view and bridge transfers are tested on.

ALICE received a fan-in on Arbitrum (flagged there), bridged 123,456,789,012.345678901234567891
tokens (18 decimals) to herself on Ethereum over LayerZero (linked; 6 decimals there), paid
PAUL on Ethereum, and burned USDY on Ethereum by CCTP v2 for BOB on OP, not minted yet
(pending). ROSE's only activity is a receipt on OP from SAM on Ethereum (no transfer, no
score row); RUTH's a receipt on Base, a chain we neither follow nor register a token on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from models import AddressScore, BridgeTransfer, Chain, ScoreRun
from monitor import db
from monitor.chain.decode import TransferRecord
from monitor.ingest import store
from monitor.tokens import add_token

ETHEREUM, ARBITRUM, OP, BASE = 1, 42161, 10, 8453
ETH_TOKEN, ARB_TOKEN, OP_TOKEN = "0x" + "e1" * 20, "0x" + "a1" * 20, "0x" + "0a" * 20
ALICE, BOB, PAUL = "0x" + "a0" * 20, "0x" + "b0" * 20, "0x" + "c0" * 20
FEEDERS = ["0x" + f"{k:02x}" * 20 for k in (0x11, 0x12, 0x13)]
ROSE, SAM, RUTH = "0x" + "d0" * 20, "0x" + "d1" * 20, "0x" + "d2" * 20
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)

# Exact amounts no float could carry: 30 significant digits.
BRIDGED_SENT = 123_456_789_012_345_678_901_234_567_891  # 18 decimals, on Arbitrum
BRIDGED_RECEIVED = 123_456_789_012_345_678  # 6 decimals, on Ethereum
# 6 decimals, from Ethereum; CCTP v2 mints the amount less the fee the relayer keeps.
PENDING_SENT, PENDING_FEE = 5_000_000_123_456, 1_000
FAN_IN_REASON = {"rule": "fan_in", "score": 82, "detail": "collector of a fan-in of 3 feeders",
                 "evidence": ["0x" + "f1" * 32]}
PAID_REASON = {"rule": "pass_through", "score": 35, "detail": "paid on within 2 h",
               "evidence": ["0x" + "f2" * 32]}
LINKED_GUID, PENDING_DIGEST = "0x" + "9a" * 32, "0x" + "9b" * 32


@dataclass
class CrossChain:
    tokens: dict[int, int]  # chain id -> token id


def _tx(n: int) -> str:
    return f"0x{n:064x}"


def write_cross_chain(sessions: sessionmaker[Session], op_name: str = "op") -> CrossChain:
    with db.transaction(sessions) as session:
        eth = add_token(session, chain_id=ETHEREUM, address=ETH_TOKEN, symbol="USDY",
                        decimals=6)
        arb = add_token(session, chain_id=ARBITRUM, address=ARB_TOKEN, symbol="USDY",
                        decimals=18)
        op = add_token(session, chain_id=OP, address=OP_TOKEN, symbol="USDY", decimals=18)
        for chain_id, name in ((ETHEREUM, "ethereum"), (ARBITRUM, "arbitrum"), (OP, op_name)):
            session.get_one(Chain, chain_id).name = name
        # Arbitrum: three feeders pay ALICE. Ethereum: ALICE pays PAUL.
        arb_moves = [TransferRecord(100 + k, _tx(100 + k), "0x" + "f1" * 32 if k == 0
                                    else _tx(200 + k), 0, 0, ARB_TOKEN, feeder, ALICE,
                                    10**21 * (k + 1))
                     for k, feeder in enumerate(FEEDERS)]
        store.write_transfers(session, ARBITRUM, {ARB_TOKEN: arb.id}, arb_moves,
                              {100 + k: T0 + timedelta(minutes=k) for k in range(3)})
        eth_moves = [TransferRecord(500, _tx(500), "0x" + "f2" * 32, 0, 0, ETH_TOKEN, ALICE,
                                    PAUL, 7_000_000)]
        store.write_transfers(session, ETHEREUM, {ETH_TOKEN: eth.id}, eth_moves,
                              {500: T0 + timedelta(hours=2)})
        for token, risk, severity, reason, in_value, out_value in (
            (arb, 82, "high", FAN_IN_REASON, 6 * 10**21, 0),
            (eth, 35, "low", PAID_REASON, 0, 7_000_000),
        ):
            run = ScoreRun(kind="full", token_id=token.id, status="done", model={})
            session.add(run)
            session.flush()
            session.add(AddressScore(
                score_run_id=run.id, token_id=token.id, address=ALICE, risk_score=risk,
                severity=severity, anomaly_score=None, reasons=[reason], features={},
                first_seen=T0, last_seen=T0 + timedelta(hours=2), in_count=3 if in_value else 0,
                out_count=0 if in_value else 1, in_value=in_value, out_value=out_value))
        session.add_all([
            BridgeTransfer(
                protocol="layerzero-oft", message_id=LINKED_GUID, status="linked",
                source_chain_id=ARBITRUM, source_token_id=arb.id, source_block=110,
                source_log_index=3, source_tx_hash=_tx(0xA110), sender=ALICE,
                destination_chain_id=ETHEREUM, destination_token_id=eth.id,
                destination_block=490, destination_log_index=1,
                destination_tx_hash=_tx(0xE490), recipient=ALICE,
                amount_sent=BRIDGED_SENT, amount_received=BRIDGED_RECEIVED,
                sent_at=T0 + timedelta(minutes=30), received_at=T0 + timedelta(minutes=33)),
            BridgeTransfer(
                protocol="cctp-v2", message_id=PENDING_DIGEST, status="pending",
                source_chain_id=ETHEREUM, source_token_id=eth.id, source_block=510,
                source_log_index=0, source_tx_hash=_tx(0xE510), sender=ALICE,
                destination_chain_id=OP, recipient=BOB, amount_sent=PENDING_SENT,
                amount_received=PENDING_SENT - PENDING_FEE,
                sent_at=T0 + timedelta(hours=3)),
            BridgeTransfer(
                protocol="layerzero-oft", message_id="0x" + "9c" * 32, status="linked",
                source_chain_id=ETHEREUM, source_token_id=eth.id, source_tx_hash=_tx(0xE600),
                sender=SAM, destination_chain_id=OP, destination_token_id=op.id,
                destination_tx_hash=_tx(0x0600), recipient=ROSE, amount_sent=2_500_000,
                amount_received=25 * 10**17, sent_at=T0, received_at=T0 + timedelta(minutes=2)),
            BridgeTransfer(
                protocol="cctp-v1", message_id="0:77", status="linked",
                source_chain_id=ETHEREUM, source_token_id=eth.id, source_tx_hash=_tx(0xE700),
                sender=SAM, destination_chain_id=BASE, destination_tx_hash=_tx(0xBA70),
                recipient=RUTH, amount_sent=9_000_000, amount_received=9_000_000,
                sent_at=T0, received_at=T0 + timedelta(minutes=20)),
        ])
        return CrossChain({ETHEREUM: eth.id, ARBITRUM: arb.id, OP: op.id})
