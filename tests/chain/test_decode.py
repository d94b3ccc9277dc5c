"""The log decoder against real mainnet/Goerli data decoded by ethereum-etl, and fuzzed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.chain import events
from monitor.chain.decode import (
    ComplianceRecord,
    DecodeResult,
    TransferRecord,
    _decode_each,
    decode_logs,
)

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "ethereum-etl"
MAINNET = CONFORMANCE / "test_stream" / "blocks_17173049_17173050"
GOERLI = CONFORMANCE / "historical-2939c0af" / "test_stream" / "blocks_8656134_8656135_goerli"
ZERO = "0x" + "0" * 40
APPROVAL = events.topic("Approval(address,address,uint256)")


@pytest.mark.parametrize(("name", "signature"), [
    ("TRANSFER", "Transfer(address,address,uint256)"),
    ("TRANSFER_SINGLE", "TransferSingle(address,address,address,uint256,uint256)"),
    ("TRANSFER_BATCH", "TransferBatch(address,address,address,uint256[],uint256[])"),
    ("ADDRESS_FROZEN", "AddressFrozen(address,bool,address)"),
    ("TOKENS_FROZEN", "TokensFrozen(address,uint256)"),
    ("TOKENS_UNFROZEN", "TokensUnfrozen(address,uint256)"),
    ("RECOVERY_SUCCESS", "RecoverySuccess(address,address,address)"),
    ("PAUSED", "Paused(address)"),
    ("UNPAUSED", "Unpaused(address)"),
])
def test_written_out_topics_are_the_keccak_of_their_signature(name: str, signature: str) -> None:
    assert getattr(events, name) == events.topic(signature)


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        pytest.fail(f"conformance data missing: {path} (the shared/ folder sits next to the repo)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _as_rpc(log: dict[str, Any]) -> dict[str, Any]:
    """ethereum-etl's exported log back into the shape eth_getLogs returns."""
    return {
        "address": log["address"], "topics": log["topics"], "data": log["data"],
        "blockNumber": hex(log["block_number"]), "blockHash": log["block_hash"],
        "transactionHash": log["transaction_hash"], "logIndex": hex(log["log_index"]),
        "transactionIndex": hex(log["transaction_index"]), "removed": False,
    }


@pytest.mark.parametrize(
    ("folder", "logs", "etl_rows", "erc721", "erc1155"),
    [(MAINNET, 681, 291, 9, 1), (GOERLI, 370, 121, 40, 3)],
    ids=["mainnet-17173049", "goerli-8656134"],
)
def test_matches_ethereum_etl_on_real_blocks(
    folder: Path, logs: int, etl_rows: int, erc721: int, erc1155: int
) -> None:
    """ethereum-etl's ERC-20 rows minus its ERC-721-shaped ones, plus the ERC-1155 transfers
    (TransferSingle) that ethereum-etl does not decode and we do."""
    raw = _lines(folder / "expected_logs.json")
    expected_rows = _lines(folder / "expected_token_transfers.json")
    assert (len(raw), len(expected_rows)) == (logs, etl_rows)

    result = decode_logs(_as_rpc(log) for log in raw)

    by_key = {(r["transaction_hash"], r["log_index"]): r for r in expected_rows}
    shaped_721 = {
        (log["transaction_hash"], log["log_index"]) for log in raw
        if log["topics"] and log["topics"][0] == events.TRANSFER and len(log["topics"]) == 4
    }
    assert len(shaped_721) == erc721
    expected = {
        (r["transaction_hash"], r["log_index"], r["token_address"], r["from_address"],
         r["to_address"], int(r["value"]))
        for key, r in by_key.items() if key not in shaped_721
    }
    fungible = [t for t in result.transfers if t.item_id is None]
    multi = [t for t in result.transfers if t.item_id is not None]
    got = {
        (t.tx_hash, t.log_index, t.token, t.from_address, t.to_address, t.amount)
        for t in fungible
    }
    assert got == expected
    assert len(fungible) == etl_rows - erc721
    single = [log for log in raw if log["topics"][0] == events.TRANSFER_SINGLE]
    assert len(multi) == len(single) == erc1155
    for log, record in zip(single, multi, strict=True):
        assert record.item_id == int(log["data"][2:66], 16)
        assert record.amount == int(log["data"][66:], 16)
        assert record.operator == "0x" + log["topics"][1][26:]
    assert result.skipped["erc721"] == erc721
    assert result.malformed == []
    assert all(t.block_hash.startswith("0x") and t.sub_index == 0 for t in result.transfers)


def test_mainnet_blocks_cover_mints_burns_and_big_values() -> None:
    """The edge cases the data holds are all decoded: README counts, ERC-721 rows excluded."""
    raw = _lines(MAINNET / "expected_logs.json")
    result = decode_logs(_as_rpc(log) for log in raw)
    etl = [r for r in _lines(MAINNET / "expected_token_transfers.json")]
    assert sum(1 for r in etl if r["from_address"] == ZERO) == 12  # README: 12 mints
    assert sum(1 for r in etl if r["to_address"] == ZERO) == 3
    transfers = [t for t in result.transfers if t.item_id is None]
    for check in (lambda f, t, v: f == ZERO, lambda f, t, v: t == ZERO,
                  lambda f, t, v: v == 0, lambda f, t, v: f == t):
        ours = sum(1 for t in transfers if check(t.from_address, t.to_address, t.amount))
        theirs = sum(
            1 for r in etl
            if check(r["from_address"], r["to_address"], int(r["value"]))
            and not _is_721(raw, r)
        )
        assert ours == theirs
    assert sum(1 for t in transfers if t.from_address == ZERO) > 0
    assert sum(1 for t in transfers if t.from_address == t.to_address) > 0
    assert any(t.amount > 2**64 for t in transfers)
    assert sum(1 for log in raw if log["topics"][0] == APPROVAL) == 86
    assert result.skipped["unknown_event"] >= 86  # approvals are not transfers


def _is_721(raw: list[dict[str, Any]], row: dict[str, Any]) -> bool:
    return any(
        log["transaction_hash"] == row["transaction_hash"]
        and log["log_index"] == row["log_index"] and len(log["topics"]) == 4
        for log in raw
    )


def _log(topics: list[str], data: str, index: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "address": "0x" + "ab" * 20, "topics": topics, "data": data,
        "blockNumber": "0x10", "blockHash": "0x" + "cd" * 32,
        "transactionHash": "0x" + f"{index:064x}", "logIndex": hex(index), "removed": False,
        **extra,
    }


def _topic_addr(address: str) -> str:
    return "0x" + "0" * 24 + address[2:]


addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
uint256 = st.integers(min_value=0, max_value=2**256 - 1)


@given(sender=addresses, receiver=addresses, value=uint256)
def test_erc20_round_trip(sender: str, receiver: str, value: int) -> None:
    data = "0x" + encode(["uint256"], [value]).hex()
    log = _log([events.TRANSFER, _topic_addr(sender), _topic_addr(receiver)], data)
    [record] = decode_logs([log]).transfers
    assert (record.from_address, record.to_address, record.amount) == (sender, receiver, value)


@settings(max_examples=50)
@given(operator=addresses, sender=addresses, receiver=addresses,
       items=st.lists(st.tuples(uint256, uint256), min_size=0, max_size=20))
def test_erc1155_batch_round_trip(
    operator: str, sender: str, receiver: str, items: list[tuple[int, int]]
) -> None:
    ids, values = [i for i, _ in items], [v for _, v in items]
    data = "0x" + encode(["uint256[]", "uint256[]"], [ids, values]).hex()
    topics = [events.TRANSFER_BATCH, _topic_addr(operator), _topic_addr(sender),
              _topic_addr(receiver)]
    records = decode_logs([_log(topics, data)]).transfers
    assert [(r.sub_index, r.item_id, r.amount) for r in records] == [
        (i, item, value) for i, (item, value) in enumerate(items)
    ]
    assert all(r.operator == operator and r.from_address == sender for r in records)


@given(operator=addresses, sender=addresses, receiver=addresses, item=uint256, value=uint256)
def test_erc1155_single_round_trip(
    operator: str, sender: str, receiver: str, item: int, value: int
) -> None:
    data = "0x" + encode(["uint256", "uint256"], [item, value]).hex()
    topics = [events.TRANSFER_SINGLE, _topic_addr(operator), _topic_addr(sender),
              _topic_addr(receiver)]
    [record] = decode_logs([_log(topics, data)]).transfers
    assert (record.item_id, record.amount, record.operator) == (item, value, operator)
    assert (record.from_address, record.to_address) == (sender, receiver)


GOOD = _log([events.TRANSFER, _topic_addr("0x" + "11" * 20), _topic_addr("0x" + "22" * 20)],
            "0x" + "00" * 31 + "05")


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"topics": [events.TRANSFER, _topic_addr("0x" + "11" * 20)]}, "2 topics"),
        ({"topics": [events.TRANSFER] + [_topic_addr("0x" + "11" * 20)] * 4}, "5 topics"),
        ({"data": "0x" + "00" * 16}, "16 bytes"),
        ({"data": "0x" + "00" * 64}, "64 bytes"),
        ({"data": "0x" + "zz" * 32}, "not hex"),
        # int(x, 16) would accept each of these; RPC garbage must not become an amount.
        ({"data": "0x" + "0" * 62 + "_5"}, "not hex"),
        ({"data": "0x" + " " * 62 + "05"}, "not hex"),
        ({"blockNumber": "-0x5"}, "quantity"),
        ({"blockNumber": "12"}, "quantity"),
        ({"topics": [events.TRANSFER, "0x" + "0" * 24 + "1" * 38 + "_1",
                     _topic_addr("0x" + "22" * 20)]}, "32 bytes of hex"),
        ({"address": "0x" + "_1" * 20}, "20 bytes"),
        ({"data": "00" * 32}, "0x-prefixed"),
        ({"topics": [events.TRANSFER, "0x" + "ff" * 32, _topic_addr("0x" + "22" * 20)]},
         "padding"),
        ({"topics": [events.TRANSFER, "0x1234", _topic_addr("0x" + "22" * 20)]}, "32 bytes"),
        ({"blockHash": None}, "TypeError"),
        ({"transactionHash": "0xnothex"}, "32 bytes"),
    ],
)
def test_a_malformed_log_is_reported_and_the_rest_decoded(bad: dict[str, Any], reason: str) -> None:
    broken = {**GOOD, **bad, "logIndex": "0x1"}
    result = decode_logs([{**GOOD, "logIndex": "0x0"}, broken, {**GOOD, "logIndex": "0x2"}])
    assert [t.log_index for t in result.transfers] == [0, 2]
    [malformed] = result.malformed
    assert malformed.log_index == 1
    assert reason in malformed.reason


def _one_at_a_time(logs: list[dict[str, Any]]) -> DecodeResult:
    result = DecodeResult()
    _decode_each(logs, result)
    return result


def _numbered(count: int) -> list[dict[str, Any]]:
    return [{**GOOD, "logIndex": hex(i), "transactionHash": f"0x{i:064x}"} for i in range(count)]


@settings(max_examples=400)
@given(
    field=st.sampled_from(["data", "blockNumber", "logIndex", "blockHash", "transactionHash",
                           "address", "sender", "receiver"]),
    position=st.integers(min_value=0, max_value=70),
    char=st.sampled_from(list("0129afAFgxX_ -+\té")),
    how=st.sampled_from(["replace", "insert", "delete"]),
)
def test_a_run_of_logs_decodes_exactly_as_one_log_at_a_time(
    field: str, position: int, char: str, how: str
) -> None:
    """The column-wise check of a run accepts exactly what the per-log checks accept."""
    logs = _numbered(6)
    broken = logs[3]
    topics = list(broken["topics"])
    slot = {"sender": 1, "receiver": 2}.get(field)
    value = topics[slot] if slot else broken[field]
    position = min(position, len(value))
    if how == "replace":
        value = value[:position] + char + value[position + 1:]
    elif how == "insert":
        value = value[:position] + char + value[position:]
    else:
        value = value[:position] + value[position + 1:]
    if slot:
        topics[slot] = value
        broken["topics"] = topics
    else:
        broken[field] = value
    assert decode_logs(logs) == _one_at_a_time(logs)


def test_runs_keep_log_order_around_other_events() -> None:
    logs = _numbered(1200)
    frozen = _log([events.TOKENS_FROZEN, _topic_addr("0x" + "11" * 20)],
                  "0x" + encode(["uint256"], [7]).hex(), 700)
    logs[700] = frozen
    logs[900] = {**logs[900], "blockHash": "0x" + "CD" * 32}  # upper case: decoded, lowered
    result = decode_logs(logs)
    assert result == _one_at_a_time(logs)
    assert [t.log_index for t in result.transfers] == [i for i in range(1200) if i != 700]
    assert result.transfers[899].block_hash == "0x" + "cd" * 32
    assert [c.log_index for c in result.compliance] == [700]


def test_missing_field_and_mismatched_batch_are_malformed() -> None:
    missing = {k: v for k, v in GOOD.items() if k != "data"}
    batch = _log(
        [events.TRANSFER_BATCH, *[_topic_addr("0x" + "11" * 20)] * 3],
        "0x" + encode(["uint256[]", "uint256[]"], [[1, 2], [3]]).hex(),
    )
    result = decode_logs([missing, batch, GOOD])
    assert len(result.transfers) == 1
    assert [m.reason for m in result.malformed] == [
        "missing field 'data'", "TransferBatch with 2 ids and 1 values",
    ]


def test_skipped_logs_are_counted_not_malformed() -> None:
    erc721 = _log([events.TRANSFER, *[_topic_addr("0x" + "11" * 20)] * 3], "0x")
    approval = _log([APPROVAL], "0x")
    anonymous = _log([], "0x")
    removed = {**GOOD, "removed": True}
    result = decode_logs([erc721, approval, anonymous, removed])
    assert not result.transfers and not result.malformed
    assert result.skipped == {"erc721": 1, "unknown_event": 2, "removed": 1}


def test_erc3643_compliance_events() -> None:
    user, other, owner = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
    word = "0x" + "0" * 63 + "1"
    logs = [
        _log([events.ADDRESS_FROZEN, _topic_addr(user), word, _topic_addr(owner)], "0x", 0),
        _log([events.TOKENS_FROZEN, _topic_addr(user)], "0x" + encode(["uint256"], [7]).hex(), 1),
        _log([events.TOKENS_UNFROZEN, _topic_addr(user)], "0x" + encode(["uint256"], [7]).hex(),
             2),
        _log([events.RECOVERY_SUCCESS, _topic_addr(user), _topic_addr(other), _topic_addr(owner)],
             "0x", 3),
        _log([events.PAUSED], "0x" + encode(["address"], [owner]).hex(), 4),
        _log([events.UNPAUSED], "0x" + encode(["address"], [owner]).hex(), 5),
    ]
    result = decode_logs(logs)
    assert not result.malformed
    got = [(c.event, c.subject, c.amount) for c in result.compliance]
    assert got == [
        ("AddressFrozen", user, None), ("TokensFrozen", user, 7), ("TokensUnfrozen", user, 7),
        ("RecoverySuccess", user, None), ("Paused", None, None), ("Unpaused", None, None),
    ]
    frozen: ComplianceRecord = result.compliance[0]
    assert frozen.args == {"userAddress": user, "isFrozen": True, "owner": owner}
    assert result.compliance[3].args["newWallet"] == other
    assert result.compliance[4].args == {"userAddress": owner}
    json.dumps([c.args for c in result.compliance])  # stored as JSON


def test_records_are_plain_values() -> None:
    [record] = decode_logs([GOOD]).transfers
    assert isinstance(record, TransferRecord)
    assert record == TransferRecord(16, "0x" + "cd" * 32, "0x" + "0" * 64, 0, 0, "0x" + "ab" * 20,
                                    "0x" + "11" * 20, "0x" + "22" * 20, 5)
