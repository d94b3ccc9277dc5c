"""Decoding the bridge protocols' events: every layout, and bad logs counted and skipped."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode

from monitor.bridges import protocols as p
from monitor.chain.bridge_decode import BridgeInfo, decode_bridge_logs
from monitor.chain.events import topic

OFT, NTT, V1, V2 = ("0x" + c * 40 for c in "1234")
BRIDGES = {OFT: BridgeInfo(p.LAYERZERO_OFT, 30101), NTT: BridgeInfo(p.WORMHOLE_NTT, 2),
           V1: BridgeInfo(p.CCTP_V1, 0), V2: BridgeInfo(p.CCTP_V2, 6)}
ALICE, BOB = "0x" + "a1" * 20, "0x" + "b2" * 20
TX = "0x" + "cd" * 32


def word(value: int | str) -> str:
    if isinstance(value, str):
        return "0x" + value.removeprefix("0x").rjust(64, "0")
    return "0x" + value.to_bytes(32).hex()


def log(address: str, topics: list[str], data: bytes | str = b"", index: int = 0,
        tx: str = TX) -> dict[str, Any]:
    return {"address": address, "topics": topics,
            "data": data if isinstance(data, str) else "0x" + data.hex(),
            "blockNumber": "0x10", "blockHash": "0x" + "ef" * 32, "transactionHash": tx,
            "logIndex": hex(index), "removed": False}


def test_every_topic_is_the_keccak_of_its_signature() -> None:
    for value, signature in p.SIGNATURES.items():
        assert topic(signature) == value, signature
    assert set(p.ALL_BRIDGE_TOPICS) == set(p.SIGNATURES)


def test_oft_sent_and_received() -> None:
    guid = "0x" + "99" * 32
    sent = log(OFT, [p.OFT_SENT, guid, word(ALICE)], encode(
        ["uint32", "uint256", "uint256"], [30110, 2**200 + 5, 2**200]))
    got = log(OFT, [p.OFT_RECEIVED, guid, word(BOB)], encode(["uint32", "uint256"],
                                                             [30110, 2**200]), index=1)
    result = decode_bridge_logs([sent, got], BRIDGES)
    assert not result.malformed
    source, destination = result.records
    assert (source.side, source.message_id, source.peer_endpoint_id, source.address,
            source.amount, source.amount_received) == (
        "source", guid, 30110, ALICE, 2**200 + 5, 2**200)
    assert (destination.side, destination.address, destination.amount) == (
        "destination", BOB, 2**200)


@pytest.mark.parametrize("indexed", [True, False])
def test_ntt_details_pair_with_their_digest_in_the_transaction(indexed: bool) -> None:
    digests = ["0x" + "d1" * 32, "0x" + "d2" * 32]
    logs = []
    for n, digest in enumerate(digests):
        amount = 10**20 + n
        if indexed:  # NTT >= 1.2
            detail = log(NTT, [p.NTT_TRANSFER_SENT, word(BOB), word(ALICE)], encode(
                ["uint256", "uint256", "uint16", "uint64"], [amount, 10**15, 23, 7 + n]),
                index=2 * n)
        else:  # NTT 1.0: the same topic, nothing indexed
            detail = log(NTT, [p.NTT_TRANSFER_SENT], encode(
                ["bytes32", "bytes32", "uint256", "uint256", "uint16", "uint64"],
                [bytes.fromhex(word(BOB)[2:]), bytes.fromhex(word(ALICE)[2:]), amount, 10**15,
                 23, 7 + n]), index=2 * n)
        logs += [detail, log(NTT, [p.NTT_TRANSFER_SENT_DIGEST, digest], index=2 * n + 1)]
    result = decode_bridge_logs(logs[::-1], BRIDGES)  # order within the reply is not relied on
    assert not result.malformed
    assert [(r.message_id, r.counterparty, r.amount, r.amount_received, r.peer_endpoint_id,
             r.address) for r in result.records] == [
        (digests[0], BOB, 10**20, 10**20, 23, None), (digests[1], BOB, 10**20 + 1,
                                                      10**20 + 1, 23, None)]


def test_ntt_halves_without_their_pair() -> None:
    lone_detail = log(NTT, [p.NTT_TRANSFER_SENT, word(BOB), word(ALICE)], encode(
        ["uint256", "uint256", "uint16", "uint64"], [1, 0, 23, 1]))
    lone_digest = log(NTT, [p.NTT_TRANSFER_SENT_DIGEST, "0x" + "d3" * 32],
                      tx="0x" + "ee" * 32)
    result = decode_bridge_logs([lone_detail, lone_digest], BRIDGES)
    assert result.records == []
    assert result.skipped["ntt_without_digest"] == 1
    assert len(result.malformed) == 1 and "without its TransferSent" in result.malformed[0].reason


def test_ntt_redeemed_names_only_the_digest() -> None:
    digest = "0x" + "d4" * 32
    [record] = decode_bridge_logs([log(NTT, [p.NTT_TRANSFER_REDEEMED, digest])], BRIDGES).records
    assert (record.side, record.message_id, record.address, record.amount) == (
        "destination", digest, None, None)


def _v1_body(amount: int) -> bytes:
    return (b"\0\0\0\0" + bytes.fromhex(word("0x" + "77" * 20)[2:])
            + bytes.fromhex(word(BOB)[2:]) + amount.to_bytes(32) + bytes.fromhex(word(ALICE)[2:]))


def test_cctp_v1_keys_are_source_domain_and_nonce() -> None:
    burn = log(V1, [p.CCTP_V1_DEPOSIT_FOR_BURN, word(42), word("0x" + "77" * 20), word(ALICE)],
               encode(["uint256", "bytes32", "uint32", "bytes32", "bytes32"],
                      [10**9, bytes.fromhex(word(BOB)[2:]), 3, b"\1" * 32, b"\0" * 32]))
    receipt = log(V1, [p.CCTP_V1_MESSAGE_RECEIVED, word(BOB), word(42)], encode(
        ["uint32", "bytes32", "bytes"], [0, b"\2" * 32, _v1_body(10**9)]), index=1)
    other_app = log(V1, [p.CCTP_V1_MESSAGE_RECEIVED, word(BOB), word(43)], encode(
        ["uint32", "bytes32", "bytes"], [0, b"\2" * 32, b"hello"]), index=2)
    result = decode_bridge_logs([burn, receipt, other_app], BRIDGES)
    source, destination = result.records
    assert (source.message_id, source.address, source.counterparty, source.amount,
            source.peer_endpoint_id) == ("0:42", ALICE, BOB, 10**9, 3)
    assert (destination.message_id, destination.address, destination.counterparty,
            destination.amount) == ("0:42", BOB, ALICE, 10**9)
    assert result.skipped["cctp_not_a_burn"] == 1


def test_cctp_v2_sides_share_a_content_key() -> None:
    token = "0x" + "77" * 20
    hook = b"hook!"
    burn = log(V2, [p.CCTP_V2_DEPOSIT_FOR_BURN, word(token), word(ALICE), word(2000)], encode(
        ["uint256", "bytes32", "uint32", "bytes32", "bytes32", "uint256", "bytes"],
        [10**9, bytes.fromhex(word(BOB)[2:]), 0, b"\1" * 32, b"\0" * 32, 500, hook]))
    body = (b"\0\0\0\1" + bytes.fromhex(word(token)[2:]) + bytes.fromhex(word(BOB)[2:])
            + (10**9).to_bytes(32) + bytes.fromhex(word(ALICE)[2:]) + (500).to_bytes(32)
            + (120).to_bytes(32) + (0).to_bytes(32) + hook)
    # The receipt is on domain 0; its bridge is registered there.
    bridges = {**BRIDGES, V2: BridgeInfo(p.CCTP_V2, 0)}
    receipt = log(V2, [p.CCTP_V2_MESSAGE_RECEIVED, word(BOB), "0x" + "5e" * 32, word(1000)],
                  encode(["uint32", "bytes32", "bytes"], [6, b"\2" * 32, body]))
    [source] = decode_bridge_logs([burn], BRIDGES).records
    [destination] = decode_bridge_logs([receipt], bridges).records
    assert source.message_id == destination.message_id
    assert source.message_id.startswith("v2:") and len(source.message_id) == 51
    assert (source.amount, source.amount_received, destination.amount) == (10**9, None,
                                                                           10**9 - 120)
    assert (destination.address, destination.counterparty) == (BOB, ALICE)


@pytest.mark.parametrize(("entry", "reason"), [
    (log(OFT, [p.OFT_SENT, word(1)], "0x" + "00" * 96), "2 topics"),
    (log(OFT, [p.OFT_SENT, word(1), word(ALICE)], "0x" + "00" * 95), "data is 95 bytes"),
    (log(OFT, [p.OFT_SENT, word(1), "0x" + "ff" * 32], "0x" + "00" * 96), "padding"),
    (log(OFT, [p.OFT_SENT, word(1), word(ALICE)], "0xzz" + "00" * 95), "not 0x-prefixed hex"),
    (log(OFT, [p.OFT_RECEIVED, word(1), word(BOB)], word(2**40)[2:].join(["0x", "00" * 32])),
     "does not fit uint32"),
    (log(V1, [p.CCTP_V1_MESSAGE_RECEIVED, word(BOB), word(1)], "0x" + "00" * 64
         + word(999)[2:] + "00" * 32), "outside the data"),
    ({**log(OFT, [p.OFT_SENT, word(1), word(ALICE)], "0x" + "00" * 96), "blockNumber": "12"},
     "quantity"),
    (log(OFT, [p.OFT_SENT]), "1 topics"),
    ({k: v for k, v in log(OFT, [p.OFT_SENT, word(1), word(ALICE)]).items() if k != "data"},
     "missing field"),
])
def test_malformed_logs_are_reported_not_raised(entry: dict[str, Any], reason: str) -> None:
    result = decode_bridge_logs([entry], BRIDGES)
    assert result.records == []
    assert len(result.malformed) == 1
    assert reason in result.malformed[0].reason, result.malformed[0].reason


def test_other_logs_are_counted_as_skipped() -> None:
    result = decode_bridge_logs([
        log(OFT, [p.NTT_TRANSFER_REDEEMED, word(1)]),  # not this protocol's event
        log("0x" + "99" * 20, [p.OFT_SENT]),  # not a registered bridge
        {**log(OFT, [p.OFT_SENT]), "removed": True},
    ], BRIDGES)
    assert result.records == [] and not result.malformed
    assert result.skipped == {"unknown_event": 1, "unknown_bridge": 1, "removed": 1}
