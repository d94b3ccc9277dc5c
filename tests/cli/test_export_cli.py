"""`amlmon transfers export`: exact, filtered, streamed evidence in CSV and JSON lines."""

from __future__ import annotations

import csv
import gc
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address

from models import UINT256_MAX
from monitor import db
from monitor.chain.decode import TransferRecord
from monitor.ingest import store
from monitor.ingest.export import FIELDS
from monitor.tokens import add_token
from support.cli import assert_one_line_error, run_cli

TOKEN = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
ALICE, BOB, CAROL = ("0x" + c * 40 for c in "123")
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def stored_db(any_db_url: str, monkeypatch: pytest.MonkeyPatch, make_sessions: Any) -> str:
    monkeypatch.setenv("AMLMON_DATABASE_URL", any_db_url)
    sessions = make_sessions(any_db_url)
    with db.transaction(sessions) as session:
        ids = {
            TOKEN: add_token(session, chain_id=31337, address=TOKEN, decimals=6).id,
            OTHER: add_token(session, chain_id=31337, address=OTHER, decimals=18).id,
        }
        rows = [
            (TOKEN, 10, ALICE, BOB, UINT256_MAX), (TOKEN, 11, BOB, CAROL, 5),
            (OTHER, 12, CAROL, ALICE, 7), (TOKEN, 20, "0x" + "0" * 40, CAROL, 10**30),
        ]
        records = [
            TransferRecord(block, f"0x{block:064x}", f"0x{block + 1000:064x}", 0, 0, token,
                           sender, receiver, amount)
            for token, block, sender, receiver, amount in rows
        ]
        store.write_transfers(session, 31337, ids, records,
                              {r.block_number: T0 for r in records})
    return any_db_url


def test_csv_has_the_contract_fields_and_exact_amounts(stored_db: str, capsys: Any) -> None:
    result = run_cli(capsys, "transfers", "export")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert tuple(rows[0]) == FIELDS == (
        "chain_id", "token", "block_number", "block_hash", "block_time", "tx_hash", "log_index",
        "from", "to", "amount",
    )
    assert [int(r["block_number"]) for r in rows] == [10, 11, 12, 20]
    first = rows[0]
    assert first["amount"] == str(UINT256_MAX)
    assert first["token"] == to_checksum_address(TOKEN)
    assert first["from"] == to_checksum_address(ALICE)
    assert first["block_time"] == "2026-03-01T09:30:00Z"
    assert rows[3]["amount"] == str(10**30)
    assert "exported 4 transfer(s)" in result.err


def test_jsonl_with_filters(stored_db: str, capsys: Any, tmp_path: Path) -> None:
    out = tmp_path / "evidence.jsonl"
    result = run_cli(capsys, "transfers", "export", "--format", "jsonl", "--token", TOKEN,
                     "--address", to_checksum_address(CAROL), "--from-block", "11",
                     "--output", str(out))
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["block_number"] for r in rows] == [11, 20]
    assert all(isinstance(r["amount"], str) for r in rows)
    assert rows[1]["amount"] == str(10**30)
    to_block = run_cli(capsys, "transfers", "export", "--format", "jsonl", "--to-block", "11")
    assert [json.loads(line)["block_number"] for line in to_block.out.splitlines()] == [10, 11]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--address", "0x123"], "--address"),
        (["--token", "0x" + "ee" * 20], "not registered"),
        (["--from-block", "9", "--to-block", "3"], "after --to-block"),
        (["--from-block", "-1"], "--from-block"),
        (["--format", "xml"], "--format"),
        (["--output", "/nonexistent/dir/out.csv"], "cannot write"),
    ],
)
def test_bad_input_is_one_line(
    stored_db: str, capsys: Any, args: list[str], fragment: str
) -> None:
    assert_one_line_error(run_cli(capsys, "transfers", "export", *args), fragment)


def test_ingest_with_an_unreachable_node_is_one_line(sqlite_url: str, capsys: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from support.anvil import free_port

    monkeypatch.setenv("AMLMON_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AMLMON_RPC_URLS", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AMLMON_RPC_MAX_RETRIES", "2")
    collector = (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count())
    assert_one_line_error(run_cli(capsys, "ingest", "--once"), "cannot reach the node")
    # The CLI freezes the collector and ingest retunes it; an in-process caller gets both
    # back as they were.
    assert (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()) == collector
