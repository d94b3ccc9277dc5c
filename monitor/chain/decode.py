"""Decode raw eth_getLogs entries into transfers and compliance events, never crashing.

Hot path of ingest: fixed-layout events are decoded by slicing hex strings (several
times faster than eth_abi); only ERC-1155 `TransferBatch` goes through eth_abi. Runs of
lower-case ERC-20 Transfers (nearly every log of a backfill) are checked and converted
a column at a time, with C-level loops, at about half the cost of one log at a time. A log
that does not fit its event's layout becomes a MalformedLog with a reason; a
well-formed log that is not a fungible transfer (ERC-721's 4-topic Transfer, an
unknown event, a `removed` log) is counted in `skipped`. A LogsReply that
`monitor.chain.rawlogs` read from the reply's bytes (only plain transfers) skips the dicts:
its records are built from its columns.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple, overload

import orjson

from monitor.chain import events

_ZERO_PAD = "0" * 24
_PADDED = "0x" + _ZERO_PAD
_TRANSFER = events.TRANSFER
_LOWER_HEX = re.compile(r"[0-9a-f]*").fullmatch
# int(x, 16) alone would also take "0x", "_", signs and whitespace inside a field.
_HEX = re.compile(r"[0-9a-fA-F]*").fullmatch
_new_tuple = tuple.__new__
# Logs checked together; a run that holds any other log is decoded one log at a time.
_RUN = 512
_FIELDS = itemgetter(
    "topics", "data", "blockNumber", "blockHash", "transactionHash", "logIndex", "address",
    "removed",
)
_ADDRESS_BODY = itemgetter(slice(26, None))
_PREFIX = "0x".__add__
_HEX_AND_X = b"0123456789abcdefx"


class TransferRecord(NamedTuple):
    """One fungible movement. A NamedTuple: millions are built per backfill, and a frozen
    dataclass costs several times more to construct."""

    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    sub_index: int  # 0, or the item's position inside an ERC-1155 TransferBatch
    token: str
    from_address: str  # the zero address for a mint
    to_address: str  # the zero address for a burn
    amount: int
    item_id: int | None = None  # ERC-1155 id
    operator: str | None = None  # ERC-1155 operator


class ComplianceRecord(NamedTuple):
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    token: str
    event: str
    subject: str | None  # the frozen/recovered wallet; None for Paused/Unpaused
    amount: int | None
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MalformedLog:
    tx_hash: str | None
    log_index: int | None
    block_number: int | None
    reason: str


@dataclass
class DecodeResult:
    transfers: list[TransferRecord] = field(default_factory=list)
    compliance: list[ComplianceRecord] = field(default_factory=list)
    malformed: list[MalformedLog] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


class LogsReply(Sequence[dict[str, Any]]):
    """One eth_getLogs result: the log dicts, parsed by orjson when first asked for, and,
    when `rawlogs.parse_reply` read the reply (all plain transfers), their fields as
    columns from which `decode_logs` builds the records without any dict."""

    __slots__ = ("_body", "_columns", "_logs")

    def __init__(self, body: bytes | None, columns: tuple[tuple[str, ...], ...],
                 logs: list[dict[str, Any]] | None = None) -> None:
        # columns: block numbers and log indexes as hex digits without "0x", block and tx
        # hashes and tokens with it, senders and receivers as 40 hex digits, amounts as 64.
        self._body = body
        self._columns = columns
        self._logs = logs

    @classmethod
    def of(cls, logs: list[dict[str, Any]]) -> LogsReply:
        """A reply already parsed as dicts: no fast path."""
        return cls(None, (), logs)

    @property
    def fast(self) -> bool:
        """Whether the reply was read from its bytes (all plain transfers)."""
        return self._body is not None

    def transfers(self) -> list[TransferRecord] | None:
        """The records `decode_logs` gives for these logs, if read from the bytes; None
        otherwise (then the dicts are decoded)."""
        if self._body is None:
            return None
        if not self._columns:
            return []
        numbers, block_hashes, tx_hashes, indexes, tokens, senders, receivers, amounts = (
            self._columns
        )
        return list(map(_new_tuple, repeat(TransferRecord, len(numbers)), zip(
            map(int, numbers, repeat(16)), block_hashes, tx_hashes, map(int, indexes, repeat(16)),
            repeat(0), tokens, map(_PREFIX, senders), map(_PREFIX, receivers),
            map(int, amounts, repeat(16)), repeat(None), repeat(None),
        )))

    def logs(self) -> list[dict[str, Any]]:
        """The log dicts, as orjson parses the reply (once)."""
        if self._logs is None:
            assert self._body is not None
            result = orjson.loads(self._body)["result"]
            self._logs = result
            return result
        return self._logs

    def __len__(self) -> int:
        if self._logs is not None:
            return len(self._logs)
        return len(self._columns[0]) if self._columns else 0

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return self.logs()[i]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.logs())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LogsReply):
            return self.logs() == other.logs()
        return self.logs() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LogsReply({len(self)} logs{', fast' if self.fast else ''})"


class MalformedLogError(ValueError):
    """The log does not match its event's layout."""


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def decode_logs(logs: Iterable[dict[str, Any]]) -> DecodeResult:
    """Decode every log; bad ones are reported in the result, never raised. A LogsReply
    that `rawlogs.parse_reply` read from its bytes gives its records directly (the same
    ones); any other is decoded from its dicts."""
    if isinstance(logs, LogsReply):
        fast = logs.transfers()
        if fast is not None:
            return DecodeResult(transfers=fast)
        logs = logs.logs()
    elif not isinstance(logs, list):
        logs = list(logs)
    result = DecodeResult()
    for start in range(0, len(logs), _RUN):
        run = logs[start:start + _RUN]
        transfers = _erc20_run(run)
        if transfers is None:
            _decode_each(run, result)
        else:
            result.transfers.extend(transfers)
    return result


def _decode_each(logs: Iterable[dict[str, Any]], result: DecodeResult) -> None:
    transfers = result.transfers
    append = transfers.append
    for log in logs:
        fast = _fast_erc20(log)
        if fast is not None:
            append(fast)
            continue
        try:
            decoded = decode_log(log)
        except _Skip as skip:
            result.skipped[skip.reason] += 1
        except (MalformedLogError, KeyError, TypeError, ValueError, AttributeError) as exc:
            result.malformed.append(_malformed(log, exc))
        else:
            if isinstance(decoded, TransferRecord):
                transfers.append(decoded)
            elif isinstance(decoded, ComplianceRecord):
                result.compliance.append(decoded)
            else:
                transfers.extend(decoded)


def _erc20_run(logs: Sequence[dict[str, Any]]) -> list[TransferRecord] | None:
    """The logs as transfers if every one passes _fast_erc20's checks, else None.

    The same checks, made on whole columns: fixed-length fields are joined and their
    "0x" prefixes and zero padding read with strided slices, and all hex is checked with
    one bytes.translate. Quantities are checked by int(), which takes an "x" only in a
    "0x" prefix, together with the count of x: one per field, so no x elsewhere.
    """
    n = len(logs)
    try:
        topics, data, numbers, block_hashes, tx_hashes, indexes, tokens, removed = zip(
            *map(_FIELDS, logs), strict=True
        )
        if any(removed) or set(map(len, topics)) != {3}:
            return None
        topic0, senders, receivers = zip(*topics, strict=True)
        words = data + senders + receivers + block_hashes + tx_hashes
        if (topic0.count(_TRANSFER) != n or set(map(len, words)) != {66}
                or set(map(len, tokens)) != {42} or min(map(len, numbers + indexes)) < 3):
            return None
        joined, contracts = "".join(words), "".join(tokens)
        if (joined[0::66] != "0" * (5 * n) or joined[1::66] != "x" * (5 * n)
                or contracts[0::42] != "0" * n or contracts[1::42] != "x" * n
                or not all(map(str.startswith, senders + receivers, repeat(_PADDED)))):
            return None
        text = "".join((joined, contracts, *numbers, *indexes)).encode("ascii")
        fixed = len(joined) + len(contracts)
        if (text.translate(None, _HEX_AND_X) or text.count(b"x", 0, fixed) != 6 * n
                or text.count(b"x", fixed) != 2 * n):
            return None
        return list(map(_new_tuple, repeat(TransferRecord, n), zip(
            map(int, numbers, repeat(16)), block_hashes, tx_hashes, map(int, indexes, repeat(16)),
            repeat(0), tokens, map(_PREFIX, map(_ADDRESS_BODY, senders)),
            map(_PREFIX, map(_ADDRESS_BODY, receivers)), map(int, data, repeat(16)),
            repeat(None), repeat(None),
        )))
    except (KeyError, TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        return None


def _fast_erc20(log: dict[str, Any]) -> TransferRecord | None:
    """The common case (a well-formed lower-case ERC-20 Transfer) in one validation step;
    None sends the log down the general path, which also explains what is wrong."""
    try:
        topics = log["topics"]
        if len(topics) != 3 or topics[0] != _TRANSFER or log.get("removed"):
            return None
        sender, receiver, data = topics[1], topics[2], log["data"]
        block_hash, tx_hash, token = log["blockHash"], log["transactionHash"], log["address"]
        number, index = log["blockNumber"], log["logIndex"]
        if not (
            len(data) == 66 and len(sender) == 66 and len(receiver) == 66
            and len(block_hash) == 66 and len(tx_hash) == 66 and len(token) == 42
            and len(number) > 2 and len(index) > 2
            and sender[:26] == _PADDED and receiver[:26] == _PADDED
            and _LOWER_HEX(data[2:] + sender[26:] + receiver[26:] + block_hash[2:] + tx_hash[2:]
                           + token[2:] + number[2:] + index[2:])
            and data[:2] == block_hash[:2] == tx_hash[:2] == token[:2] == number[:2]
            == index[:2] == "0x"
        ):
            return None
        # tuple.__new__ skips NamedTuple's Python-level __new__: a third of the decode time.
        return _new_tuple(TransferRecord, (
            int(number, 16), block_hash, tx_hash, int(index, 16), 0,
            token, "0x" + sender[26:], "0x" + receiver[26:], int(data, 16), None, None,
        ))
    except (KeyError, TypeError, ValueError):
        return None


def decode_log(log: dict[str, Any]) -> TransferRecord | list[TransferRecord] | ComplianceRecord:
    """Decode one log. Raises MalformedLogError (or KeyError/ValueError) on a bad one."""
    if log.get("removed"):
        raise _Skip("removed")
    topics = log["topics"]
    if not topics:
        raise _Skip("unknown_event")
    topic0 = topics[0].lower()
    if topic0 == events.TRANSFER:
        if len(topics) == 4:
            raise _Skip("erc721")  # tokenId indexed: a non-fungible transfer
        if len(topics) != 3:
            raise MalformedLogError(f"Transfer with {len(topics)} topics")
        data = _data(log, 1)
        return TransferRecord(
            _int(log["blockNumber"]), _hash(log["blockHash"]), _hash(log["transactionHash"]),
            _int(log["logIndex"]), 0, _address(log["address"]), _topic_address(topics[1]),
            _topic_address(topics[2]), int(data, 16),
        )
    if topic0 == events.TRANSFER_SINGLE:
        _topic_count(topics, 4, "TransferSingle")
        data = _data(log, 2)
        return TransferRecord(
            _int(log["blockNumber"]), _hash(log["blockHash"]), _hash(log["transactionHash"]),
            _int(log["logIndex"]), 0, _address(log["address"]), _topic_address(topics[2]),
            _topic_address(topics[3]), int(data[64:], 16), item_id=int(data[:64], 16),
            operator=_topic_address(topics[1]),
        )
    if topic0 == events.TRANSFER_BATCH:
        return _transfer_batch(log, topics)
    name = events.COMPLIANCE_EVENTS.get(topic0)
    if name is not None:
        return _compliance(log, topics, name)
    raise _Skip("unknown_event")


def _transfer_batch(log: dict[str, Any], topics: list[str]) -> list[TransferRecord]:
    _topic_count(topics, 4, "TransferBatch")
    # eth_abi only here: it is slow to import and every other event has a fixed layout.
    from eth_abi import decode as abi_decode
    from eth_abi.exceptions import DecodingError

    raw = _raw_data(log)
    try:
        ids, values = abi_decode(["uint256[]", "uint256[]"], raw)
    except (DecodingError, OverflowError) as exc:
        raise MalformedLogError(f"TransferBatch data: {exc}") from None
    if len(ids) != len(values):
        raise MalformedLogError(f"TransferBatch with {len(ids)} ids and {len(values)} values")
    common = (
        _int(log["blockNumber"]), _hash(log["blockHash"]), _hash(log["transactionHash"]),
        _int(log["logIndex"]),
    )
    token, operator = _address(log["address"]), _topic_address(topics[1])
    sender, receiver = _topic_address(topics[2]), _topic_address(topics[3])
    return [
        TransferRecord(*common, i, token, sender, receiver, int(value), item_id=int(item),
                       operator=operator)
        for i, (item, value) in enumerate(zip(ids, values, strict=True))
    ]


def _compliance(log: dict[str, Any], topics: list[str], name: str) -> ComplianceRecord:
    subject: str | None
    amount: int | None = None
    if name == "AddressFrozen":
        _topic_count(topics, 4, name)
        _data(log, 0)
        subject = _topic_address(topics[1])
        frozen = int(_word(topics[2]), 16)
        if frozen > 1:
            raise MalformedLogError(f"AddressFrozen isFrozen topic is {frozen}, not a bool")
        args: dict[str, Any] = {"userAddress": subject, "isFrozen": bool(frozen),
                                "owner": _topic_address(topics[3])}
    elif name in ("TokensFrozen", "TokensUnfrozen"):
        _topic_count(topics, 2, name)
        subject = _topic_address(topics[1])
        amount = int(_data(log, 1), 16)
        args = {"userAddress": subject, "amount": str(amount)}
    elif name == "RecoverySuccess":
        _topic_count(topics, 4, name)
        _data(log, 0)
        subject = _topic_address(topics[1])
        args = {"lostWallet": subject, "newWallet": _topic_address(topics[2]),
                "investorOnchainID": _topic_address(topics[3])}
    else:  # Paused / Unpaused: the agent's address, not indexed
        _topic_count(topics, 1, name)
        subject = None
        args = {"userAddress": _word_address(_data(log, 1))}
    return ComplianceRecord(
        _int(log["blockNumber"]), _hash(log["blockHash"]), _hash(log["transactionHash"]),
        _int(log["logIndex"]), _address(log["address"]), name, subject, amount, args,
    )


# -- field parsers ----------------------------------------------------------------------


def _topic_count(topics: list[str], want: int, name: str) -> None:
    if len(topics) != want:
        raise MalformedLogError(f"{name} with {len(topics)} topics, expected {want}")


def _data(log: dict[str, Any], words: int) -> str:
    """The data field as exactly `words` 32-byte words of hex, without 0x."""
    data = log["data"]
    if not isinstance(data, str) or not data.startswith("0x"):
        raise MalformedLogError("data is not 0x-prefixed hex")
    body = data[2:]
    if len(body) != 64 * words:
        raise MalformedLogError(f"data is {len(body) // 2} bytes, expected {32 * words}")
    if not _HEX(body):
        raise MalformedLogError("data is not hex")
    return body


def _raw_data(log: dict[str, Any]) -> bytes:
    data = log["data"]
    if (not isinstance(data, str) or not data.startswith("0x") or len(data) % 2
            or not _HEX(data, 2)):
        raise MalformedLogError("data is not 0x-prefixed hex")
    return bytes.fromhex(data[2:])


def _word(topic: str) -> str:
    if not isinstance(topic, str) or len(topic) != 66 or not topic.startswith("0x") \
            or not _HEX(topic, 2):
        raise MalformedLogError(f"topic {str(topic)[:20]!r} is not 32 bytes of hex")
    return topic[2:].lower()


def _topic_address(topic: str) -> str:
    return _word_address(_word(topic))


def _word_address(word: str) -> str:
    if word[:24] != _ZERO_PAD:
        raise MalformedLogError("address word has non-zero padding")
    return "0x" + word[24:].lower()


def _address(value: str) -> str:
    if len(value) != 42 or not value.startswith("0x") or not _HEX(value, 2):
        raise MalformedLogError(f"contract address {value!r} is not 20 bytes of hex")
    return value.lower()


def _hash(value: str) -> str:
    if len(value) != 66 or not value.startswith("0x") or not _HEX(value, 2):
        raise MalformedLogError(f"hash {value[:20]!r} is not 32 bytes of hex")
    return value.lower()


def _int(value: str | int) -> int:
    """A JSON-RPC quantity: "0x"-prefixed hex (or an int from a client that decoded it)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if not isinstance(value, str) or len(value) < 3 or value[:2] != "0x" or not _HEX(value, 2):
        raise MalformedLogError(f"quantity {str(value)[:20]!r} is not 0x-prefixed hex")
    return int(value, 16)


def _malformed(log: Any, exc: Exception) -> MalformedLog:
    def safe(fn: Any, key: str) -> Any:
        try:
            return fn(log[key])
        except Exception:  # a broken field must not hide which log it was
            return None

    reason = str(exc) if isinstance(exc, MalformedLogError) else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, KeyError):
        reason = f"missing field {exc}"
    return MalformedLog(
        tx_hash=safe(str, "transactionHash") if isinstance(log, dict) else None,
        log_index=safe(_int, "logIndex") if isinstance(log, dict) else None,
        block_number=safe(_int, "blockNumber") if isinstance(log, dict) else None,
        reason=reason,
    )
