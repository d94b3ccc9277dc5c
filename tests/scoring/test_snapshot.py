"""Scoring snapshots (monitor.scoring.snapshot): a full load from a token's snapshot plus
the blocks since equals a load from the database alone, after new blocks, after a reorg
that replaced blocks the snapshot holds, and with a snapshot of another database."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor import db
from monitor.chain.decode import TransferRecord
from monitor.ingest import store
from monitor.scoring import evaluate, evidence, service, snapshot
from monitor.scoring.config import DEFAULTS
from monitor.scoring.flows import Flows, load_flows
from monitor.tokens import add_token, find_token
from support.postgres import clone_database, drop_database

TOKEN = "0x" + "5a" * 20
PEOPLE = ["0x" + f"{k:040x}" for k in range(1, 60)]


@pytest.fixture(autouse=True)
def every_load_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tokens here are small: a snapshot is written by every load that read any rows.
    monkeypatch.setattr(snapshot, "REWRITE_ROWS", 0)


def _write(sessions: sessionmaker[Session], blocks: range, seed: int, fork: str = "") -> None:
    draw = random.Random(seed)
    records, times = [], {}
    for block in blocks:
        times[block] = datetime.fromtimestamp(1_700_000_000 + 12 * block, UTC)
        for log in range(draw.randint(0, 4)):
            a, b = draw.sample(PEOPLE, 2)
            sender = "0x" + "0" * 40 if draw.random() < 0.1 else a
            records.append(TransferRecord(
                block, f"0x{block:062x}{fork or '00'}", f"0x{block:060x}{log:02x}{fork or '00'}",
                log, 0, TOKEN, sender, b, draw.randint(1, 10**24)))
    with db.transaction(sessions) as session:
        token = find_token(session, TOKEN)
        store.write_transfers(session, 31337, {TOKEN: token.id}, records, times)


def _load(sessions: sessionmaker[Session], snapshots: Path | None) -> Flows:
    with db.transaction(sessions) as session:
        return load_flows(session, find_token(session, TOKEN), None, snapshots)


def _same(got: Flows, want: Flows) -> None:
    assert list(got.addresses) == list(want.addresses)
    for name in ("t", "block", "log", "src", "dst", "amount", "bridge"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


@pytest.fixture
def sessions(pg_url: str, make_sessions: Callable[[str], sessionmaker[Session]],
             ) -> sessionmaker[Session]:
    made = make_sessions(pg_url)
    with db.transaction(made) as session:
        add_token(session, chain_id=31337, address=TOKEN, decimals=6)
    return made


def test_a_snapshot_and_the_blocks_since_equal_the_database(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    _write(sessions, range(1, 200), seed=1)
    first = _load(sessions, tmp_path)  # nothing to read: written from the database
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"chain-31337-token-{TOKEN}.addresses.arrow", f"chain-31337-token-{TOKEN}.arrow"]
    _same(first, _load(sessions, None))
    _same(_load(sessions, tmp_path), _load(sessions, None))  # read back from it
    _write(sessions, range(200, 260), seed=2)  # new blocks, new addresses among them
    with db.transaction(sessions) as session:
        token = find_token(session, TOKEN)
        prefix = snapshot.read(tmp_path, session, token)
    assert prefix is not None and prefix.last_block < 200
    _same(_load(sessions, tmp_path), _load(sessions, None))


def test_a_reorg_cuts_the_snapshot_back_to_below_the_fork(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    _write(sessions, range(1, 120), seed=3)
    _load(sessions, tmp_path)
    with db.transaction(sessions) as session:
        store.delete_from(session, 31337, 100)
    _write(sessions, range(100, 130), seed=4, fork="ff")  # other blocks, other transfers
    with db.transaction(sessions) as session:
        prefix = snapshot.read(tmp_path, session, find_token(session, TOKEN))
    assert prefix is not None and prefix.last_block < 100
    _same(_load(sessions, tmp_path), _load(sessions, None))


def test_a_snapshot_the_database_does_not_agree_with_is_ignored(
        sessions: sessionmaker[Session], tmp_path: Path, pg_template: str,
        make_sessions: Callable[[str], sessionmaker[Session]]) -> None:
    _write(sessions, range(1, 80), seed=5)
    _load(sessions, tmp_path)
    # Another database with the same token and other blocks: its hashes differ.
    url = clone_database(pg_template)
    try:
        other = make_sessions(url)
        with db.transaction(other) as session:
            add_token(session, chain_id=31337, address=TOKEN, decimals=6)
        _write(other, range(1, 90), seed=6, fork="ee")
        with db.transaction(other) as session:
            assert snapshot.read(tmp_path, session, find_token(session, TOKEN)) is None
        _same(_load(other, tmp_path), _load(other, None))
    finally:
        drop_database(url)
    # A backfill below the snapshot's last block (the same hashes, one more row).
    _write(sessions, range(1, 80), seed=5)  # rewritten: the snapshot is of these rows
    _load(sessions, tmp_path)
    with db.transaction(sessions) as session:
        token = find_token(session, TOKEN)
        store.write_transfers(session, 31337, {TOKEN: token.id}, [TransferRecord(
            5, f"0x{5:062x}00", "0x" + "ab" * 32, 90, 0, TOKEN, PEOPLE[0], PEOPLE[1], 7)],
            {5: datetime.fromtimestamp(1_700_000_060, UTC)})
    with db.transaction(sessions) as session:
        assert snapshot.read(tmp_path, session, find_token(session, TOKEN)) is None
    _same(_load(sessions, tmp_path), _load(sessions, None))


def test_a_full_run_from_a_snapshot_finds_what_one_from_the_database_does(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    _write(sessions, range(1, 300), seed=7)
    _load(sessions, tmp_path)
    _write(sessions, range(300, 330), seed=8)
    found: list[Any] = []
    for snapshots in (tmp_path, None):
        with db.transaction(sessions) as session:
            token = find_token(session, TOKEN)
            scored = evaluate.evaluate(service.load(session, token, DEFAULTS, snapshots),
                                       DEFAULTS)
            evidence.resolve(scored)
        found.append((scored.risk, {a: {r: (v.score, v.detail, v.evidence)
                                         for r, v in held.items()}
                                    for a, held in scored.raw.items()}))
    assert found[0] == found[1]
