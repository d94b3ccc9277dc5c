"""SIGKILL `amlmon ingest` at random moments of a backfill: nothing lost, nothing twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import IngestCursor, Transfer
from support.anvil import run_anvil
from support.cli import REPO, run_cli_process
from support.ingest import activity, holders_of, register
from support.token import deploy, node_transfer_logs


def test_sigkill_during_backfill_loses_and_duplicates_nothing(
    pg_url: str, make_sessions: Callable[[str], sessionmaker[Session]]
) -> None:
    rng = random.Random(42)
    with run_anvil() as node:
        token = deploy(node)
        activity(token, rng, holders_of(node), rounds=120)
        head = node.block_number()
        expected = node_transfer_logs(node, token.address)
        sessions = make_sessions(pg_url)
        register(sessions, token)
        env = {
            **os.environ,
            "AMLMON_DATABASE_URL": pg_url,
            "AMLMON_RPC_URLS": node.url,
            "AMLMON_CONFIRMATIONS": "0",
            # Small batches: many commits, so kills land between and inside them.
            "AMLMON_GETLOGS_INITIAL_RANGE": "2",
            "AMLMON_GETLOGS_MAX_RANGE": "2",
        }
        cursors = []
        for _trial in range(6):
            process = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "ingest", "--once"],
                env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            # Kill at a random moment once this run has started committing.
            start = _cursor(sessions)
            deadline = time.monotonic() + 60
            while _cursor(sessions) == start and process.poll() is None:
                assert time.monotonic() < deadline, "ingest made no progress"
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.15))
            process.send_signal(signal.SIGKILL)
            process.wait()
            with sessions() as session:
                # One snapshot for the cursor and the rows: a COMMIT the process sent just
                # before the kill is still carried out by its backend and may land between
                # two separate reads, which would show its rows above a stale cursor.
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                cursor = session.get(IngestCursor, 31337)
                upto = cursor.block_number if cursor else -1
                rows = {tuple(row) for row in session.execute(select(
                    Transfer.tx_hash, Transfer.log_index, Transfer.from_address,
                    Transfer.to_address, Transfer.amount,
                ).where(Transfer.block_number <= upto))}
                total = session.scalar(select(func.count()).select_from(Transfer))
            cursors.append(upto)
            # Exactly the node's rows up to the cursor: no gap, no duplicate, nothing above.
            if upto >= 0:
                assert rows == node_transfer_logs(node, token.address, to_block=upto)
            assert total == len(rows)
        assert any(0 < c < head for c in cursors), f"no kill landed mid-backfill: {cursors}"

        done = run_cli_process("ingest", "--once", env=env)
        assert done.code == 0, done.err
        with sessions() as session:
            rows = {tuple(row) for row in session.execute(select(
                Transfer.tx_hash, Transfer.log_index, Transfer.from_address,
                Transfer.to_address, Transfer.amount,
            ))}
            total = session.scalar(select(func.count()).select_from(Transfer))
        assert rows == expected
        assert total == len(expected)


def _cursor(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        cursor = session.get(IngestCursor, 31337)
        return cursor.block_number if cursor else -1
