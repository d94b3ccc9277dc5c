"""Decode the bridge protocols' events (monitor/bridges/protocols.py) into one record per
side of a bridge message, never crashing.

A log that does not fit its event's layout becomes a MalformedLog with a reason, as in
monitor/chain/decode.py; a well-formed log that is not a token bridge message (a CCTP
MessageReceived of another application, an NTT TransferSent without its digest event) is
counted in `skipped`. Which protocol a log belongs to is decided by the registered bridge
that emitted it, not by the topic alone: the protocol and its endpoint id are inputs.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from monitor.bridges import protocols as p
from monitor.chain.decode import (
    MalformedLog,
    MalformedLogError,
    _address,
    _hash,
    _int,
    _malformed,
    _Skip,
)

_HEX = re.compile(r"[0-9a-fA-F]*").fullmatch
_ZERO_PAD = "0" * 24


class BridgeRecord(NamedTuple):
    """One side of one bridge message as an event of a registered bridge states it."""

    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    bridge: str  # the emitting contract, lower-case
    protocol: str
    side: str  # source | destination
    message_id: str  # the protocol's key (CCTP v2: a content key, see _cctp_v2_key)
    peer_endpoint_id: int | None  # the other side's endpoint id as the event names it
    address: str | None  # source: the sender; destination: the recipient
    counterparty: str | None  # what the event says of the other side's address
    amount: int | None  # source: amount sent; destination: amount received
    amount_received: int | None  # source: what the protocol says will arrive


@dataclass(frozen=True)
class BridgeInfo:
    """What decoding needs of a registered bridge."""

    protocol: str
    endpoint_id: int


@dataclass
class BridgeDecodeResult:
    records: list[BridgeRecord] = field(default_factory=list)
    malformed: list[MalformedLog] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def decode_bridge_logs(
    logs: Iterable[dict[str, Any]], bridges: Mapping[str, BridgeInfo]
) -> BridgeDecodeResult:
    """Decode every log of the registered `bridges` (address -> protocol and endpoint id);
    bad ones are reported in the result, never raised."""
    result = BridgeDecodeResult()
    # NTT: a TransferSent with the transfer's details and TransferSent(digest) are two logs
    # of one call, paired in log order within their transaction and contract.
    ntt_details: dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any]]]] = \
        defaultdict(list)
    ntt_digests: dict[tuple[str, str], list[tuple[dict[str, Any], str]]] = defaultdict(list)
    for log in logs:
        try:
            if log.get("removed"):
                raise _Skip("removed")
            contract = _address(log["address"])
            info = bridges.get(contract)
            if info is None:
                raise _Skip("unknown_bridge")
            topics = log["topics"]
            if not topics:
                raise _Skip("unknown_event")
            topic0 = str(topics[0]).lower()
            if topic0 not in p.TOPICS[info.protocol]:
                raise _Skip("unknown_event")
            if info.protocol == p.WORMHOLE_NTT and topic0 == p.NTT_TRANSFER_SENT:
                key = (_hash(log["transactionHash"]), contract)
                ntt_details[key].append((log, _ntt_details(log, topics)))
                continue
            if info.protocol == p.WORMHOLE_NTT and topic0 == p.NTT_TRANSFER_SENT_DIGEST:
                _topic_count(topics, 2, "TransferSent(digest)")
                _data(log, 0)
                key = (_hash(log["transactionHash"]), contract)
                ntt_digests[key].append((log, _word(topics[1])))
                continue
            result.records.append(_decode(log, topics, topic0, contract, info))
        except _Skip as skip:
            result.skipped[skip.reason] += 1
        except (MalformedLogError, KeyError, TypeError, ValueError, AttributeError,
                IndexError) as exc:
            result.malformed.append(_malformed(log, exc))
    _pair_ntt(ntt_details, ntt_digests, result)
    result.records.sort(key=lambda r: (r.block_number, r.log_index))
    return result


def _decode(log: dict[str, Any], topics: list[str], topic0: str, contract: str,
            info: BridgeInfo) -> BridgeRecord:
    common = (_int(log["blockNumber"]), _hash(log["blockHash"]), _hash(log["transactionHash"]),
              _int(log["logIndex"]), contract, info.protocol)
    if topic0 == p.OFT_SENT:
        _topic_count(topics, 3, "OFTSent")
        words = _data(log, 3)
        return BridgeRecord(*common, "source", "0x" + _word(topics[1]), _uint(words[0], 32),
                            _topic_address(topics[2]), None, int(words[1], 16),
                            int(words[2], 16))
    if topic0 == p.OFT_RECEIVED:
        _topic_count(topics, 3, "OFTReceived")
        words = _data(log, 2)
        return BridgeRecord(*common, "destination", "0x" + _word(topics[1]),
                            _uint(words[0], 32), _topic_address(topics[2]), None,
                            int(words[1], 16), None)
    if topic0 == p.NTT_TRANSFER_REDEEMED:
        _topic_count(topics, 2, "TransferRedeemed")
        _data(log, 0)
        # Neither the recipient nor the amount is in the event: the poller reads them from
        # the redeem transaction's mint (monitor/bridges/linking.py: enrich_ntt).
        return BridgeRecord(*common, "destination", "0x" + _word(topics[1]), None, None, None,
                            None, None)
    if topic0 == p.CCTP_V1_DEPOSIT_FOR_BURN:
        _topic_count(topics, 4, "DepositForBurn")
        words = _data(log, 5)
        nonce = _uint(_word(topics[1]), 64)
        return BridgeRecord(*common, "source", f"{info.endpoint_id}:{nonce}",
                            _uint(words[2], 32), _topic_address(topics[3]),
                            _maybe_address(words[1]), int(words[0], 16), int(words[0], 16))
    if topic0 == p.CCTP_V1_MESSAGE_RECEIVED:
        _topic_count(topics, 3, "MessageReceived")
        head, body = _dynamic(log, 2, 2)
        if len(body) != 132:  # version + burnToken + mintRecipient + amount + messageSender
            raise _Skip("cctp_not_a_burn")
        source_domain = _uint(head[0], 32)
        nonce = _uint(_word(topics[2]), 64)
        return BridgeRecord(*common, "destination", f"{source_domain}:{nonce}", source_domain,
                            _maybe_address(body[36:68].hex()), _maybe_address(body[100:132].hex()),
                            int.from_bytes(body[68:100]), None)
    if topic0 == p.CCTP_V2_DEPOSIT_FOR_BURN:
        _topic_count(topics, 4, "DepositForBurn")
        head, hook = _dynamic(log, 6, 6)
        burn_token = _word(topics[1])
        depositor = _word(topics[2])
        amount, recipient = int(head[0], 16), head[1]
        destination, max_fee = _uint(head[2], 32), int(head[5], 16)
        key = _cctp_v2_key(info.endpoint_id, destination, burn_token, recipient, amount,
                           depositor, max_fee, hook)
        # The fee is decided off-chain (at most maxFee): what arrives is known at the
        # destination only.
        return BridgeRecord(*common, "source", key, destination, _word_address(depositor),
                            _maybe_address(recipient), amount, None)
    if topic0 == p.CCTP_V2_MESSAGE_RECEIVED:
        _topic_count(topics, 4, "MessageReceived")
        head, body = _dynamic(log, 2, 2)
        if len(body) < 228:
            raise _Skip("cctp_not_a_burn")
        source_domain = _uint(head[0], 32)
        burn_token, recipient = body[4:36].hex(), body[36:68].hex()
        amount = int.from_bytes(body[68:100])
        sender = body[100:132].hex()
        max_fee, fee_executed = int.from_bytes(body[132:164]), int.from_bytes(body[164:196])
        key = _cctp_v2_key(source_domain, info.endpoint_id, burn_token, recipient, amount,
                           sender, max_fee, body[228:])
        if fee_executed > amount:
            raise MalformedLogError(f"feeExecuted {fee_executed} exceeds amount {amount}")
        return BridgeRecord(*common, "destination", key, source_domain,
                            _maybe_address(recipient), _maybe_address(sender),
                            amount - fee_executed, None)
    raise _Skip("unknown_event")


def _cctp_v2_key(source_domain: int, destination_domain: int, burn_token: str, recipient: str,
                 amount: int, sender: str, max_fee: int, hook: bytes) -> str:
    """CCTP v2 nonces are assigned by Circle's attesters, off-chain: the source event has
    none. Both sides name the same burn message fields, so the key is a hash of them
    ("v2:" + 48 hex digits); identical transfers are told apart by their order
    (monitor/bridges/linking.py appends "#n")."""
    from eth_utils import keccak  # only chains with a CCTP v2 bridge pay for the import

    packed = (source_domain.to_bytes(4) + destination_domain.to_bytes(4)
              + bytes.fromhex(burn_token) + bytes.fromhex(recipient) + amount.to_bytes(32)
              + bytes.fromhex(sender) + max_fee.to_bytes(32) + hook)
    return "v2:" + keccak(packed).hex()[:48]


def _ntt_details(log: dict[str, Any], topics: list[str]) -> dict[str, Any]:
    if len(topics) == 3:  # NTT >= 1.2: recipient and refund address indexed
        recipient = _word(topics[1])
        words = _data(log, 4)
    elif len(topics) == 1:  # NTT 1.0: the same signature, nothing indexed
        words = _data(log, 6)
        recipient, words = words[0], words[2:]
    else:
        raise MalformedLogError(f"TransferSent with {len(topics)} topics, expected 3 or 1")
    return {"recipient": recipient, "amount": int(words[0], 16),
            "chain": _uint(words[2], 16), "sequence": _uint(words[3], 64)}


def _pair_ntt(
    details: dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any]]]],
    digests: dict[tuple[str, str], list[tuple[dict[str, Any], str]]],
    result: BridgeDecodeResult,
) -> None:
    for key in details.keys() | digests.keys():
        sends = sorted(details.get(key, []), key=lambda item: _int(item[0]["logIndex"]))
        keys = sorted(digests.get(key, []), key=lambda item: _int(item[0]["logIndex"]))
        for (_, detail), (log, digest) in zip(sends, keys, strict=False):
            try:
                result.records.append(BridgeRecord(
                    _int(log["blockNumber"]), _hash(log["blockHash"]),
                    _hash(log["transactionHash"]), _int(log["logIndex"]),
                    _address(log["address"]), p.WORMHOLE_NTT, "source", "0x" + digest,
                    detail["chain"], None, _maybe_address(detail["recipient"]),
                    # `fee` is the delivery price in native currency, not token units: the
                    # recipient is minted the whole amount.
                    detail["amount"], detail["amount"]))
            except (MalformedLogError, KeyError, TypeError, ValueError) as exc:
                result.malformed.append(_malformed(log, exc))
        # An older manager emits no digest event: without the key nothing can be linked.
        if len(sends) > len(keys):
            result.skipped["ntt_without_digest"] += len(sends) - len(keys)
        for log, _ in keys[len(sends):]:
            result.malformed.append(_malformed(log, MalformedLogError(
                "NTT TransferSent(digest) without its TransferSent details in the transaction")))


# -- field parsers ----------------------------------------------------------------------


def _topic_count(topics: list[str], want: int, name: str) -> None:
    if len(topics) != want:
        raise MalformedLogError(f"{name} with {len(topics)} topics, expected {want}")


def _word(topic: str) -> str:
    if not isinstance(topic, str) or len(topic) != 66 or not topic.startswith("0x") \
            or not _HEX(topic, 2):
        raise MalformedLogError(f"topic {str(topic)[:20]!r} is not 32 bytes of hex")
    return topic[2:].lower()


def _body(log: dict[str, Any]) -> str:
    data = log["data"]
    if not isinstance(data, str) or not data.startswith("0x") or len(data) % 2 \
            or not _HEX(data, 2):
        raise MalformedLogError("data is not 0x-prefixed hex")
    return data[2:].lower()


def _data(log: dict[str, Any], words: int) -> list[str]:
    """Exactly `words` 32-byte words, as hex strings."""
    body = _body(log)
    if len(body) != 64 * words:
        raise MalformedLogError(f"data is {len(body) // 2} bytes, expected {32 * words}")
    return [body[i:i + 64] for i in range(0, len(body), 64)]


def _dynamic(log: dict[str, Any], fixed: int, offset_word: int) -> tuple[list[str], bytes]:
    """`fixed` head words followed by one `bytes` whose offset is head word `offset_word`
    (the head includes it); returns the head words and the bytes."""
    body = _body(log)
    heads = fixed + 1
    if len(body) < 64 * (heads + 1):
        raise MalformedLogError(f"data is {len(body) // 2} bytes, too short for its head")
    words = [body[i:i + 64] for i in range(0, 64 * heads, 64)]
    offset = int(words[offset_word], 16)
    if offset % 32 or offset + 32 > len(body) // 2:
        raise MalformedLogError(f"bytes offset {offset} is outside the data")
    length = int(body[offset * 2:offset * 2 + 64], 16)
    start = offset * 2 + 64
    if start + length * 2 > len(body):
        raise MalformedLogError(f"bytes of {length} overrun the data")
    return words, bytes.fromhex(body[start:start + length * 2])


def _uint(word: str, bits: int) -> int:
    value = int(word, 16)
    if value >= 1 << bits:
        raise MalformedLogError(f"value {value} does not fit uint{bits}")
    return value


def _topic_address(topic: str) -> str:
    return _word_address(_word(topic))


def _word_address(word: str) -> str:
    if word[:24] != _ZERO_PAD:
        raise MalformedLogError("address word has non-zero padding")
    return "0x" + word[24:].lower()


def _maybe_address(word: str) -> str | None:
    """A bytes32 naming an address on another chain: an EVM address when it is one
    (zero-padded), else None (a Solana or other non-EVM account)."""
    word = word.lower()
    if len(word) != 64 or word[:24] != _ZERO_PAD or word == "0" * 64:
        return None
    return "0x" + word[24:]
