"""eth_getLogs replies read from their bytes (rawlogs): exactly what orjson + decode_logs
give, or a fallback to them. Crafted and mutated reply bytes, real mainnet logs, and a
real anvil node behind the client and the fault proxy."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.chain import events
from monitor.chain.decode import DecodeResult, decode_logs
from monitor.chain.logs import LogFetcher
from monitor.chain.rawlogs import LAYOUTS, LogsReply, parse_reply
from monitor.chain.rpc import RpcClient
from support.anvil import Anvil, run_anvil
from support.faultproxy import fault_proxy
from support.token import TokenOnChain, deploy

ANVIL = LAYOUTS[0]
GETH = LAYOUTS[3]
MAINNET = (Path(__file__).resolve().parents[3] / "shared" / "conformance" / "ethereum-etl"
           / "test_stream" / "blocks_17173049_17173050" / "expected_logs.json")


def _transfer(i: int, keys: tuple[str, ...] = ANVIL, **changed: Any) -> dict[str, Any]:
    """A plain ERC-20 Transfer log with the keys in the order `keys` names."""
    values: dict[str, Any] = {
        "address": "0x" + "ab" * 20,
        "topics": [events.TRANSFER, "0x" + "0" * 24 + f"{i + 1:040x}",
                   "0x" + "0" * 24 + f"{i + 2:040x}"],
        "data": "0x" + f"{(i + 1) * 10**18:064x}",
        "blockHash": "0x" + f"{i // 3 + 7:064x}",
        "blockNumber": hex(100 + i // 3),
        "blockTimestamp": hex(1_700_000_000 + i // 3),
        "transactionHash": "0x" + f"{i + 0xabc:064x}",
        "transactionIndex": hex(i % 3),
        "logIndex": hex(i),
        "removed": False,
    }
    log = {key: values[key] for key in keys}
    log.update(changed)
    return log


def _reply(logs: list[dict[str, Any]], request_id: int = 7) -> bytes:
    """Bytes as nodes write them: compact JSON in the logs' own key order."""
    return orjson.dumps({"jsonrpc": "2.0", "id": request_id, "result": logs})


def _expected(body: bytes) -> DecodeResult:
    return decode_logs(orjson.loads(body)["result"])


def _same_or_fallback(body: bytes) -> bool:
    """Whatever the bytes, parse_reply either declines or gives exactly orjson +
    decode_logs's records (and then only plain transfers: nothing malformed or skipped).
    True when it took the fast path."""
    fast = parse_reply(body)
    if fast is None:
        return False
    parsed = orjson.loads(body)  # the grammar accepts only valid JSON
    expected = decode_logs(parsed["result"])
    assert fast.fast
    assert decode_logs(fast) == expected
    assert not expected.malformed and not expected.skipped and not expected.compliance
    assert len(fast) == len(parsed["result"]) == len(expected.transfers)
    assert fast.logs() == parsed["result"]
    return True


@pytest.mark.parametrize("keys", LAYOUTS, ids=["anvil", "anvil-no-time", "geth", "geth-old"])
def test_plain_transfers_in_each_layout_take_the_fast_path(keys: tuple[str, ...]) -> None:
    body = _reply([_transfer(i, keys) for i in range(50)])
    assert _same_or_fallback(body)
    records = decode_logs(parse_reply(body))  # type: ignore[arg-type]
    assert [r.log_index for r in records.transfers] == list(range(50))
    assert records.transfers[0].amount == 10**18
    assert records.transfers[0].from_address == "0x" + f"{1:040x}"


def test_edge_values_and_envelopes() -> None:
    top = [_transfer(0, data="0x" + "f" * 64, logIndex="0x00ff", blockNumber="0x0")]
    assert _same_or_fallback(_reply(top))
    assert decode_logs(parse_reply(_reply(top))).transfers[0].amount == 2**256 - 1  # type: ignore[arg-type]
    assert _same_or_fallback(_reply([_transfer(1)], request_id=0))
    assert _same_or_fallback(_reply([_transfer(1)]) + b"\n")  # go-ethereum's trailing newline
    empty = parse_reply(_reply([]))
    assert empty is not None and len(empty) == 0 and decode_logs(empty) == DecodeResult()


def _variants() -> Iterator[tuple[str, bytes]]:
    good = [_transfer(i) for i in range(4)]

    def one(i: int, **changed: Any) -> bytes:
        logs = [dict(log) for log in good]
        logs[i].update(changed)
        return _reply(logs)

    log = good[1]
    reordered = {"topics": log["topics"], **{k: v for k, v in log.items() if k != "topics"}}
    yield "reordered keys", _reply([good[0], reordered, *good[2:]])
    swapped = dict(reversed(list(log.items())))
    yield "reversed keys", _reply([good[0], swapped])
    yield "extra field", one(2, extra="0x1")
    yield "extra field first", _reply([{"extra": 1, **log}])
    without = {k: v for k, v in log.items() if k != "removed"}
    yield "no removed key", _reply([good[0], without])
    yield "missing logIndex", _reply([{k: v for k, v in log.items() if k != "logIndex"}])
    yield "removed true", one(3, removed=True)
    yield "removed null", one(0, removed=None)
    yield "two topics", one(1, topics=log["topics"][:2])
    yield "four topics (ERC-721)", one(1, topics=[*log["topics"], "0x" + "0" * 63 + "9"])
    yield "approval", one(1, topics=[events.topic("Approval(address,address,uint256)"),
                                      *log["topics"][1:]])
    yield "transfer single", one(0, topics=[events.TRANSFER_SINGLE, *log["topics"][1:],
                                            log["topics"][1]])
    yield "frozen", one(2, topics=[events.ADDRESS_FROZEN, *log["topics"][1:]], data="0x")
    yield "empty data", one(1, data="0x")
    yield "short data", one(1, data=log["data"][:-2])
    yield "long data", one(1, data=log["data"] + "00")
    yield "data without 0x", one(1, data=log["data"][2:] + "00")
    yield "upper-case data", one(1, data=log["data"].upper().replace("0X", "0x"))
    yield "upper-case 0X", one(1, data="0X" + log["data"][2:])
    yield "upper-case address", one(1, address="0x" + "AB" * 20)
    yield "upper-case hash", one(1, transactionHash="0x" + "CD" * 32)
    yield "upper-case topic", one(1, topics=[log["topics"][0], "0x" + "0" * 24 + "AB" * 20,
                                            log["topics"][2]])
    yield "upper-case signature", one(1, topics=[events.TRANSFER.upper().replace("0X", "0x"),
                                                 *log["topics"][1:]])
    yield "upper-case quantity", one(1, blockNumber="0xAB")
    yield "non-zero padding", one(1, topics=[log["topics"][0], "0x" + "1" * 64,
                                            log["topics"][2]])
    yield "empty quantity", one(1, logIndex="0x")
    yield "quantity without 0x", one(1, logIndex="12")
    yield "numeric quantity", one(1, logIndex=12)
    yield "negative quantity", one(1, logIndex="-0x1")
    yield "x in a hash", one(1, blockHash="0x" + "x" * 64)
    yield "x in a quantity", one(1, blockNumber="0x1x2")
    yield "quote-sized hash", one(1, transactionHash="0x" + "a" * 63)
    yield "long hash", one(1, transactionHash="0x" + "a" * 66)
    yield "short address", one(1, address="0x" + "ab" * 19)
    yield "null address", one(1, address=None)
    yield "list data", one(1, data=[log["data"]])
    yield "empty topics", one(1, topics=[])
    yield "unicode in a field", one(1, blockHash="0x" + "é" * 64)
    text = _reply(good).decode()
    data = log["data"]
    yield "escaped 0", text.replace(data, "\\u0030" + data[1:], 1).encode()
    yield "escaped quote", text.replace(data, data[:-2] + '\\"', 1).encode()
    yield "escaped key", text.replace('"logIndex"', '"log\\u0049ndex"', 1).encode()
    yield "space after colon", text.replace('"data":', '"data": ', 1).encode()
    yield "space between logs", text.replace("},{", "}, {", 1).encode()
    yield "newline between logs", text.replace("},{", "},\n{", 1).encode()
    yield "no comma between logs", text.replace("},{", "}{", 1).encode()
    yield "double comma", text.replace("},{", "},,{", 1).encode()
    yield "trailing comma", text.replace("}]}", "},]}").encode()
    yield "junk between logs", text.replace("},{", "},1,{", 1).encode()
    yield "junk after the array", text.replace("}]}", "}],\"x\":1}").encode()
    yield "error after result", text.replace("}]}", '}],"error":{"code":1}}').encode()
    yield "duplicate key", text.replace('"removed":false', '"removed":false,"removed":true',
                                        1).encode()
    yield "string id", text.replace('"id":7', '"id":"7"').encode()
    yield "leading-zero id", text.replace('"id":7', '"id":07').encode()
    yield "id last", orjson.dumps({"jsonrpc": "2.0", "result": good, "id": 7})
    yield "error reply", orjson.dumps({"jsonrpc": "2.0", "id": 7,
                                       "error": {"code": -32005, "message": "too many"}})
    yield "null result", orjson.dumps({"jsonrpc": "2.0", "id": 7, "result": None})
    yield "object result", orjson.dumps({"jsonrpc": "2.0", "id": 7, "result": log})
    yield "truncated", _reply(good)[:-40]
    yield "truncated at a log", text[: text.index("},{") + 1].encode()
    yield "trailing space", _reply(good) + b" "
    yield "non-ASCII byte", _reply(good).replace(b'"removed"', b'"remov\xe9d"', 1)
    yield "nested log", text.replace("},{", "},[{", 1).replace("}]}", "}]]}").encode()


@pytest.mark.parametrize(("name", "body"), list(_variants()), ids=[n for n, _ in _variants()])
def test_anything_else_falls_back(name: str, body: bytes) -> None:
    """Every departure from a plain lower-case Transfer in a known layout is left to orjson
    and decode_logs, which then decide as always (malformed, skipped, or a retry)."""
    assert parse_reply(body) is None
    try:
        result = orjson.loads(body)["result"]
    except (orjson.JSONDecodeError, KeyError):
        return  # not a JSON-RPC success: the client's usual path retries it
    if not isinstance(result, list):
        return  # get_logs raises RpcError
    expected = decode_logs(result)
    reply = LogsReply.of(result)
    assert not reply.fast and decode_logs(reply) == expected


def test_fallback_keeps_what_decode_logs_reports() -> None:
    """Malformed, skipped and upper-case logs among plain ones: the whole reply goes the
    general path, with its reasons and lower-cased records."""
    logs = [_transfer(0), _transfer(1, removed=True), _transfer(2, data="0x12"),
            _transfer(3, address="0x" + "AB" * 20),
            _transfer(4, topics=[*_transfer(4)["topics"], "0x" + "0" * 64])]
    body = _reply(logs)
    assert parse_reply(body) is None
    result = _expected(body)
    assert [r.log_index for r in result.transfers] == [0, 3]
    assert result.transfers[1].token == "0x" + "ab" * 20
    assert result.skipped == {"removed": 1, "erc721": 1}
    assert [m.log_index for m in result.malformed] == [2]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_replies_are_exact_or_declined(data: st.DataObject) -> None:
    """Random byte edits of a good reply (hex digits, case, quotes, escapes, structure):
    parse_reply never accepts bytes orjson + decode_logs would read differently."""
    keys = data.draw(st.sampled_from(LAYOUTS))
    body = bytearray(_reply([_transfer(i, keys) for i in range(3)]))
    alphabet = b'0123456789abcdefABCDEFxX",:{}[]\\ u\n'
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(body) - 1))
        edit = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        char = data.draw(st.sampled_from(list(alphabet)))
        if edit == "replace":
            body[at] = char
        elif edit == "insert":
            body.insert(at, char)
        else:
            del body[at]
    _same_or_fallback(bytes(body))


def test_mutations_that_stay_valid_still_agree() -> None:
    """Hex digit swaps inside values keep the reply valid and fast: still the same records."""
    rng = random.Random(5)
    body = bytearray(_reply([_transfer(i) for i in range(20)]))
    text = body.decode()
    spans = [i for i, c in enumerate(text) if c in "0123456789abcdef"
             and text[i - 1] not in '"' and text[i - 2:i] != "0x"]
    fast = 0
    for _ in range(500):
        edited = bytearray(body)
        for at in rng.sample(spans, 3):
            edited[at] = ord(rng.choice("0123456789abcdef"))
        fast += _same_or_fallback(bytes(edited))
    assert fast > 100  # many digit swaps keep every log plain (padding edits do not)


def test_real_mainnet_logs() -> None:
    """ethereum-etl's logs of two mainnet blocks, written in the geth layout: the whole
    reply falls back (other events, ERC-721); its plain Transfers alone take the fast path
    and give what decode_logs gives."""
    raw = [json.loads(line) for line in MAINNET.read_text().splitlines() if line.strip()]
    logs = [{
        "address": log["address"], "topics": log["topics"], "data": log["data"],
        "blockNumber": hex(log["block_number"]), "transactionHash": log["transaction_hash"],
        "transactionIndex": hex(log["transaction_index"]), "blockHash": log["block_hash"],
        "logIndex": hex(log["log_index"]), "removed": False,
    } for log in raw]
    assert parse_reply(_reply(logs)) is None
    plain = [log for log in logs if log["topics"] and log["topics"][0] == events.TRANSFER
             and len(log["topics"]) == 3 and len(log["data"]) == 66]
    assert len(plain) > 200
    assert _same_or_fallback(_reply(plain))
    assert _same_or_fallback(_reply(plain) + b"\n")


# -- a real node ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with run_anvil() as anvil:
        yield anvil


@pytest.fixture(scope="module")
def token(node: Anvil) -> TokenOnChain:
    token = deploy(node)
    holders = [f"0x{i + 1:040x}" for i in range(40)]
    token.batch_mint(holders, [10**18 + i for i in range(40)])
    token.batch_forced_transfer(holders[:20], holders[20:], list(range(1, 21)))
    token.transfer(holders[0], holders[1], 0)
    token.burn(holders[2], 5)
    return token


def test_anvil_replies_take_the_fast_path(node: Anvil, token: TokenOnChain) -> None:
    head = node.block_number()
    with RpcClient([node.url]) as client:
        reply = client.get_logs([token.address], [events.TRANSFER], 0, head)
        plain = client.get_logs([token.address], [events.TRANSFER], 0, head, fast=False)
    assert reply.fast and len(reply) == len(plain) == 62
    assert decode_logs(reply) == decode_logs(plain)
    assert reply.logs() == plain


def test_anvil_replies_with_other_events_fall_back(node: Anvil, token: TokenOnChain) -> None:
    token.freeze(f"0x{3:040x}")
    token.transfer(f"0x{4:040x}", f"0x{5:040x}", 7)
    head = node.block_number()
    topics = [events.TRANSFER, *events.COMPLIANCE_EVENTS]
    with RpcClient([node.url]) as client:
        reply = client.get_logs([token.address], topics, 0, head)
        plain = client.get_logs([token.address], topics, 0, head, fast=False)
    assert not reply.fast
    result = decode_logs(reply)
    assert result == decode_logs(plain)
    assert [c.event for c in result.compliance] == ["AddressFrozen"]


def test_the_fetcher_hands_fast_replies_to_the_decoder(node: Anvil, token: TokenOnChain) -> None:
    head = node.block_number()
    with RpcClient([node.url]) as client:
        fast = [(low, high, logs.fast, decode_logs(logs)) for low, high, logs in
                LogFetcher(client, initial_range=3, prefetch=2).iter_ranges(
                    [token.address], [events.TRANSFER], 0, head)]
        plain = decode_logs(client.get_logs([token.address], [events.TRANSFER], 0, head,
                                            fast=False))
    assert all(is_fast for _, _, is_fast, _ in fast)
    assert [r for *_, result in fast for r in result.transfers] == plain.transfers


@pytest.mark.parametrize("fault", ["truncated", "invalid_json", "rpc_error"])
def test_broken_replies_are_still_retried(node: Anvil, token: TokenOnChain, fault: str) -> None:
    """A broken reply is never taken for logs: the fast reader declines it, and the client
    retries it as before, on the fetch thread."""
    head = node.block_number()
    with RpcClient([node.url]) as client:
        expected = decode_logs(client.get_logs([token.address], [events.TRANSFER], 0, head,
                                               fast=False))
    with (
        fault_proxy(node.url, faults=[fault], rate=0.5, seed=11) as proxy,
        RpcClient([proxy.url], max_retries=30, backoff_initial=0.01, backoff_max=0.02) as client,
    ):
        for _ in range(8):
            assert decode_logs(client.get_logs(
                [token.address], [events.TRANSFER], 0, head)) == expected
    assert proxy.counts[fault] > 0
