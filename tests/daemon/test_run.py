"""`amlmon run` as real processes: alerts within a poll, metrics, clean stop, one lease."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from models import Alert, IngestCursor, Transfer
from monitor import db
from support.anvil import free_port, run_anvil
from support.cli import REPO, run_cli_process
from support.faultproxy import fault_proxy
from support.ingest import register
from support.rules import RULES_FILE
from support.token import deploy
from support.wait import wait_for

DESIGN_METRICS = (
    "amlmon_chain_head_block", "amlmon_ingested_block", "amlmon_ingest_lag_blocks",
    "amlmon_transfers_ingested_total", "amlmon_logs_malformed_total",
    "amlmon_rpc_requests_total", "amlmon_rpc_request_seconds", "amlmon_reorgs_total",
    "amlmon_reorg_depth_blocks", "amlmon_score_run_seconds", "amlmon_addresses_scored_total",
    "amlmon_alerts_raised_total", "amlmon_alerts_open", "amlmon_notifications_total",
    "amlmon_job_last_success_timestamp_seconds",
)
SANCTIONED = "0x" + "5a" * 20


@contextmanager
def daemon(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--no-api"],
                                   env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_daemon_alerts_within_a_poll_exports_metrics_and_stops_cleanly(
    pg_url: str, make_sessions: Any, tmp_path: Path
) -> None:
    sessions = make_sessions(pg_url)
    port = free_port()
    with run_anvil() as node:
        token = deploy(node)
        register(sessions, token)
        token.batch_mint([SANCTIONED], [10**12])
        listed = tmp_path / "sanctioned.txt"
        listed.write_text(SANCTIONED + "\n")
        env = {**os.environ, "AMLMON_DATABASE_URL": pg_url, "AMLMON_RPC_URLS": node.url,
               "AMLMON_CONFIRMATIONS": "0", "AMLMON_POLL_INTERVAL_SECONDS": "0.5",
               "AMLMON_METRICS_PORT": str(port), "AMLMON_LOG_FORMAT": "json",
               # After their first run at start, the score and retrain jobs wait an hour:
               # an alert before that comes from the ingest tick, however slow the machine.
               "AMLMON_SCORE_INTERVAL_SECONDS": "3600",
               "AMLMON_RULES_FILE": str(RULES_FILE)}
        assert run_cli_process("watchlist", "import", str(listed), "--list", "ofac",
                               env=env).code == 0
        with daemon(env, tmp_path / "run.log") as process:
            head = node.block_number()
            with sessions() as session:
                wait_for(lambda: (session.get(IngestCursor, 31337) or IngestCursor(
                    block_number=-1)).block_number >= head, what="catch-up")
            receiver = "0x" + "7e" * 20
            token.batch_forced_transfer([SANCTIONED], [receiver], [10**9])

            def alerted() -> bool:
                with sessions() as session:
                    return bool(session.scalar(select(Alert.id).where(
                        Alert.address == receiver, Alert.rule == "watchlist_exposure")))

            wait_for(alerted, what="the exposure alert")
            scrape = wait_for(lambda: _scrape(port), what="metrics")
            for name in DESIGN_METRICS:
                assert f"\n{name}" in scrape or scrape.startswith(name), name
            assert 'amlmon_job_last_success_timestamp_seconds{job="ingest:chain-31337"}' in scrape
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
    lines = (tmp_path / "run.log").read_text().splitlines()
    assert lines and all(line.startswith("{") for line in lines), lines[:3]
    assert any("stopped cleanly" in line for line in lines)


def _scrape(port: int) -> str | None:
    try:
        return "\n" + httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None


def test_two_daemons_share_one_database_and_take_over(
    pg_url: str, make_sessions: Any, tmp_path: Path
) -> None:
    sessions = make_sessions(pg_url)
    with run_anvil() as node:
        token = deploy(node)
        register(sessions, token)
        holders = [str(a).lower() for a in node.rpc("eth_accounts")][1:4]  # type: ignore[union-attr]
        token.batch_mint(holders, [10**9] * 3)
        env = {**os.environ, "AMLMON_DATABASE_URL": pg_url, "AMLMON_RPC_URLS": node.url,
               "AMLMON_CONFIRMATIONS": "0", "AMLMON_POLL_INTERVAL_SECONDS": "0.3",
               "AMLMON_RULES_FILE": str(RULES_FILE)}
        # Other advisory locks are granted meanwhile: another application's, and a scoring
        # lock like the one the lease holder takes while it scores. Only leases count.
        with sessions() as other, other.begin(), \
                daemon(env, tmp_path / "a.log") as first, daemon(env, tmp_path / "b.log") as second:
            other.execute(text("SELECT pg_advisory_xact_lock(1, 31337), "
                               "pg_advisory_xact_lock(:ns, 0)"),
                          {"ns": db.SCORING_LOCKS})

            def leases() -> int:
                return len(_lease_holders(sessions))

            wait_for(lambda: leases() == 1, what="one lease")
            for k in range(5):
                token.batch_forced_transfer([holders[k % 3]], [holders[(k + 1) % 3]], [k + 1])
            wait_for(lambda: _count(sessions) == 8, what="ingest of 8 transfers")
            holder = first if _holds_lease(sessions, first.pid) else second
            other = second if holder is first else first
            holder.send_signal(signal.SIGKILL)
            holder.wait()
            for k in range(4):
                token.batch_forced_transfer([holders[k % 3]], [holders[(k + 2) % 3]], [7])
            wait_for(lambda: _count(sessions) == 12, what="take-over by the other daemon")
            assert other.poll() is None
            assert leases() == 1
    assert _count(sessions) == 12  # no duplicates: each transfer once


def _count(sessions: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Transfer)) or 0)


def _lease_holders(sessions: Any) -> list[str]:
    """The processes holding an ingest lease in this test's database. The server also holds
    other tests' locks, and the lease holder its per-token scoring locks while it scores."""
    with sessions() as session:
        return list(session.scalars(text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :ns "
            "AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())"), {"ns": db.CHAIN_LEASE_LOCKS}))


def _holds_lease(sessions: Any, pid: int) -> bool:
    return f"amlmon-{pid}" in _lease_holders(sessions)


def test_daemon_rides_out_an_rpc_outage_and_dropped_database_connections(
    pg_url: str, make_sessions: Any, tmp_path: Path
) -> None:
    """The node behind a proxy that fails every request for a while, then every database
    connection of the daemon killed (what a Postgres restart does to a client): it keeps
    running, counts the failures, and ingests what was mined meanwhile."""
    sessions = make_sessions(pg_url)
    port = free_port()
    with run_anvil() as node, fault_proxy(node.url, faults=["http_500", "drop"]) as proxy:
        token = deploy(node)
        register(sessions, token)
        env = {**os.environ, "AMLMON_DATABASE_URL": pg_url, "AMLMON_RPC_URLS": proxy.url,
               "AMLMON_CONFIRMATIONS": "0", "AMLMON_POLL_INTERVAL_SECONDS": "0.5",
               "AMLMON_RPC_MAX_RETRIES": "1", "AMLMON_METRICS_PORT": str(port),
               "AMLMON_RULES_FILE": str(RULES_FILE)}

        def ingested(tx: str) -> bool:
            with sessions() as session:
                return bool(session.scalar(select(Transfer.tx_hash).where(
                    Transfer.tx_hash == tx)))

        with daemon(env, tmp_path / "run.log") as process:
            first = token.mint("0x" + "11" * 20, 5)
            wait_for(lambda: ingested(first), what="first ingest")

            def failed() -> int:
                return proxy.counts["http_500"] + proxy.counts["drop"]

            proxy.rate = 1.0  # the node is unreachable
            during = token.mint("0x" + "22" * 20, 7)
            wait_for(lambda: failed() >= 5, what="failed requests")
            # Still polling after failed ticks (counted, not timed: a slow machine is fine).
            seen = failed()
            wait_for(lambda: failed() >= seen + 5, what="polls continuing through the outage")
            assert process.poll() is None and not ingested(during)
            proxy.rate = 0.0
            wait_for(lambda: ingested(during), what="ingest after the outage")

            with sessions() as session:
                killed = session.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
            assert killed and killed >= 1
            after = token.mint("0x" + "33" * 20, 9)
            wait_for(lambda: ingested(after), what="ingest after the connections died")

            scrape = wait_for(lambda: _scrape(port), what="metrics")
            assert 'amlmon_job_failures_total{job="ingest:chain-31337"}' in scrape
            assert 'outcome="http_error"' in scrape or 'outcome="connection_error"' in scrape
            assert process.poll() is None
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
