"""One process follows two real chains (two anvil nodes with distinct chain ids): exact rows
per chain, one node killed while the other chain keeps ingesting and scoring, the killed
chain catching up by itself after a restart; `ingest --once`, `chain list` and chain-id
checks over several chains."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import Chain, ScoreRun, Transfer
from monitor import db, metrics
from monitor.api.app import create_app
from monitor.daemon import Daemon
from monitor.devnode import DEFAULT_MNEMONIC
from monitor.ingest.follow import ChainFollower
from monitor.settings import Settings
from monitor.tokens import add_token
from support.anvil import Anvil, anvil_binary, free_port, run_anvil
from support.api import client, serve_app
from support.cli import REPO, assert_one_line_error, run_cli, run_cli_process
from support.ingest import holders_of
from support.rules import RULES_FILE
from support.token import TokenOnChain, deploy, node_transfer_logs
from support.wait import wait_for

ALPHA, BETA = 31337, 31338


@contextmanager
def anvil_at(port: int, chain_id: int, state: Path) -> Iterator[Anvil]:
    """An anvil node on a fixed port whose chain lives in `state`: written when the node
    is terminated, read when one starts again on the same file, so that a restarted node
    serves the same blocks (and hashes) as before, then goes on."""
    home = tempfile.mkdtemp(prefix="amlmon-anvil-")
    process = subprocess.Popen(
        [anvil_binary(), "--host", "127.0.0.1", "--port", str(port), "--chain-id",
         str(chain_id), "--mnemonic", DEFAULT_MNEMONIC, "--silent", "--state", str(state)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HOME": home})
    node = Anvil(url=f"http://127.0.0.1:{port}", port=port, process=process)

    def answers() -> bool:
        try:
            node.block_number()
            return True
        except httpx.HTTPError:
            assert process.poll() is None, f"anvil exited with {process.returncode}"
            return False

    try:
        wait_for(answers, timeout=30, what=f"anvil on port {port}")
        yield node
    finally:
        for agent in node.clients:
            agent.close()
        stop(node)


def stop(node: Anvil) -> None:
    """Terminate the node (it writes its --state on the way out)."""
    if node.process.poll() is None:
        node.process.terminate()
        try:
            node.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()


def register(sessions: sessionmaker[Session], token: TokenOnChain, chain_id: int) -> int:
    with db.transaction(sessions) as session:
        return add_token(session, chain_id=chain_id, address=token.address, name="Bond",
                         symbol=f"B{chain_id}", decimals=6, standard="erc3643",
                         start_block=0).id


def stored(sessions: sessionmaker[Session], chain_id: int) -> set[tuple[str, int, str, str, int]]:
    with sessions() as session:
        rows = session.execute(select(
            Transfer.tx_hash, Transfer.log_index, Transfer.from_address, Transfer.to_address,
            Transfer.amount).where(Transfer.chain_id == chain_id))
        return {(tx, index, frm, to, int(amount)) for tx, index, frm, to, amount in rows}


def in_sync(sessions: sessionmaker[Session], node: Anvil, token: TokenOnChain,
            chain_id: int) -> bool:
    return stored(sessions, chain_id) == node_transfer_logs(node, token.address)


def runs(sessions: sessionmaker[Session], token_id: int) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ScoreRun)
                                  .where(ScoreRun.token_id == token_id)) or 0)


def trade(token: TokenOnChain, holders: list[str], rounds: int, amount: int = 5) -> None:
    token.batch_mint(holders, [10**9] * len(holders))
    for k in range(rounds):
        token.batch_forced_transfer([holders[k % len(holders)]],
                                    [holders[(k + 1) % len(holders)]], [amount + k])


def two_chains(alpha: str, beta: str, **extra: Any) -> list[dict[str, Any]]:
    common = {"confirmations": 0, "poll_interval_seconds": 0.3, **extra}
    return [{"chain_id": ALPHA, "name": "alpha", "rpc_urls": [alpha], **common},
            {"chain_id": BETA, "name": "beta", "rpc_urls": [beta], **common}]


def scrape(name: str, chain: int) -> float | None:
    for family in metrics.REGISTRY.collect():
        for sample in family.samples:
            if sample.name == name and sample.labels.get("chain") == str(chain):
                return float(sample.value)
    return None


def test_one_daemon_follows_two_chains_and_a_dead_node_stalls_only_its_own(
    pg_url: str, make_sessions: Any, tmp_path: Path,
) -> None:
    sessions = make_sessions(pg_url)
    engine = db.make_engine(pg_url)
    beta_port, beta_state = free_port(), tmp_path / "beta-state.json"
    with run_anvil(chain_id=ALPHA) as alpha, anvil_at(beta_port, BETA, beta_state) as beta:
        token_a, token_b = deploy(alpha), deploy(beta)
        id_a, id_b = register(sessions, token_a, ALPHA), register(sessions, token_b, BETA)
        holders = holders_of(alpha, 4)[1:]
        trade(token_a, holders, 6)
        trade(token_b, holders, 9, amount=100)
        settings = Settings(
            database_url=pg_url, rules_file=RULES_FILE, chains=two_chains(alpha.url, beta.url),
            rpc_max_retries=1, rpc_timeout_seconds=2,
            # After their first run at start, score and retrain wait: the runs counted below
            # come from the ingest ticks of the chain that got new blocks.
            score_interval_seconds=3600, retrain_interval_seconds=3600)
        daemon = Daemon(settings, engine, sessions, settings.chain_list())
        daemon.start()
        try:
            with serve_app(create_app(settings, sessions)) as base, client(base) as http:
                def chains() -> dict[str, dict[str, Any]]:
                    answer = http.get("/readyz")
                    assert answer.status_code == 200, answer.text
                    return {c["name"]: c for c in answer.json()["chains"]}

                # Rows on each chain equal that node's logs exactly.
                wait_for(lambda: in_sync(sessions, alpha, token_a, ALPHA), what="alpha rows")
                wait_for(lambda: in_sync(sessions, beta, token_b, BETA), what="beta rows")
                assert len(stored(sessions, ALPHA)) == 9 and len(stored(sessions, BETA)) == 12
                wait_for(lambda: all(c["status"] == "ok" and c["lag_blocks"] == 0
                                     for c in chains().values()), what="both chains ok")
                assert chains()["beta"] == {
                    "chain_id": BETA, "name": "beta", "cursor_block": beta.block_number(),
                    "head_block": beta.block_number(), "lag_blocks": 0, "status": "ok"}
                assert scrape("amlmon_chain_last_block_age_seconds", BETA) is not None

                # Beta's only node dies: alpha keeps ingesting and scoring, lag near zero.
                stop(beta)
                wait_for(lambda: chains()["beta"]["status"] == "down", what="beta down")
                scored = runs(sessions, id_a)
                trade(token_a, holders, 4, amount=1000)
                wait_for(lambda: in_sync(sessions, alpha, token_a, ALPHA),
                         what="alpha ingest while beta is down")
                wait_for(lambda: chains()["alpha"]["lag_blocks"] == 0, what="alpha lag 0")
                wait_for(lambda: runs(sessions, id_a) > scored, what="alpha scored")
                state = chains()
                assert state["alpha"]["status"] == "ok"
                assert state["beta"]["status"] == "down"
                assert state["beta"]["cursor_block"] is not None
                assert http.get("/readyz").json()["status"] == "ready"
                # The block age keeps growing while beta commits nothing.
                age = scrape("amlmon_chain_last_block_age_seconds", BETA)
                wait_for(lambda: (scrape("amlmon_chain_last_block_age_seconds", BETA) or 0)
                         > (age or 0), what="beta's block age to grow")
                failures = scrape_failures("ingest:beta")
                assert failures and failures >= 1

                # The node comes back on the same port with the same chain, and goes on:
                # beta catches up by itself.
                with anvil_at(beta_port, BETA, beta_state) as revived:
                    again = TokenOnChain(revived.url, token_b.address, token_b.agent)
                    revived.clients.append(again)
                    trade(again, holders, 3, amount=7)
                    wait_for(lambda: in_sync(sessions, revived, again, BETA),
                             what="beta caught up after the restart")
                    wait_for(lambda: chains()["beta"]["status"] == "ok", what="beta ok")
                    assert len(stored(sessions, BETA)) == 12 + 6
                    assert chains()["beta"]["cursor_block"] == revived.block_number()
                    assert runs(sessions, id_b) >= 1
        finally:
            daemon.shutdown()
            engine.dispose()
    assert in_sync_count(sessions) == (9 + 7, 12 + 6)  # nothing twice


def scrape_failures(job: str) -> float | None:
    for family in metrics.REGISTRY.collect():
        for sample in family.samples:
            if sample.name == "amlmon_job_failures_total" and sample.labels.get("job") == job:
                return float(sample.value)
    return None


def in_sync_count(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        counts = dict(session.execute(select(Transfer.chain_id, func.count())
                                      .group_by(Transfer.chain_id)).all())
    return int(counts.get(ALPHA, 0)), int(counts.get(BETA, 0))


def chains_env(monkeypatch: pytest.MonkeyPatch, pg_url: str, alpha: str, beta: str,
               **extra: Any) -> None:
    for name in list(os.environ):
        if name.startswith("AMLMON_") and name != "AMLMON_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)
    monkeypatch.setenv("AMLMON_RPC_MAX_RETRIES", "1")
    monkeypatch.setenv("AMLMON_CHAINS", json.dumps(two_chains(alpha, beta, **extra)))


def test_ingest_once_finishes_the_healthy_chain_and_names_the_failed_one(
    pg_url: str, make_sessions: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    sessions = make_sessions(pg_url)
    nowhere = f"http://127.0.0.1:{free_port()}"  # beta's only node is down
    with run_anvil(chain_id=ALPHA) as alpha:
        token = deploy(alpha)
        register(sessions, token, ALPHA)
        trade(token, holders_of(alpha, 4)[1:], 5)
        with db.transaction(sessions) as session:  # a token on beta too, so it has work
            add_token(session, chain_id=BETA, address="0x" + "be" * 20, decimals=6)
        chains_env(monkeypatch, pg_url, alpha.url, nowhere)
        result = run_cli(capsys, "ingest", "--once")
        assert_one_line_error(result, "1 of 2 chains failed: chain beta: ")
        assert result.code == 1 and "Connection refused" in result.err
        assert "alpha" not in result.err
        assert result.out.startswith(f"chain alpha ({ALPHA}): cursor at block "
                                     f"{alpha.block_number()}")
        assert in_sync(sessions, alpha, token, ALPHA)

        # --chain by name or id, and the old --chain-id, take only that chain.
        assert run_cli(capsys, "ingest", "--once", "--chain", "alpha").code == 0
        assert run_cli(capsys, "ingest", "--once", "--chain-id", str(ALPHA)).code == 0
        only_beta = run_cli(capsys, "ingest", "--once", "--chain", str(BETA))
        assert only_beta.code == 1 and only_beta.out == ""
        assert_one_line_error(only_beta, "node unavailable: eth_chainId failed")
        assert_one_line_error(run_cli(capsys, "ingest", "--once", "--chain", "gamma"),
                              "--chain gamma: no configured chain has that name or id "
                              f"(configured: alpha ({ALPHA}), beta ({BETA}))")


def test_a_node_serving_another_chain_is_refused_naming_the_chain(
    pg_url: str, capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    with run_anvil(chain_id=ALPHA) as alpha, run_anvil(chain_id=BETA) as beta:
        # beta's entry points at alpha's node.
        chains_env(monkeypatch, pg_url, alpha.url, alpha.url)
        expected = ("invalid config: chains.1.chain_id: chain beta: its node serves chain "
                    f"{ALPHA}, not {BETA}")
        assert_one_line_error(run_cli(capsys, "ingest", "--once"), expected)
        assert_one_line_error(run_cli(capsys, "ingest", "--once", "--chain", "beta"), expected)
        run = run_cli_process("run", "--no-api", env={
            **{k: v for k, v in os.environ.items() if k.startswith("AMLMON_")},
            "AMLMON_RULES_FILE": str(RULES_FILE), "AMLMON_LOG_FORMAT": "json"})
        assert run.code == 2, run
        assert run.err.strip().splitlines()[-1] == f"amlmon: error: {expected}"
        # The one-chain shorthand with chain_id: the same check.
        monkeypatch.delenv("AMLMON_CHAINS")
        monkeypatch.setenv("AMLMON_RPC_URLS", beta.url)
        monkeypatch.setenv("AMLMON_CHAIN_ID", str(ALPHA))
        assert_one_line_error(run_cli(capsys, "ingest", "--once"),
                              f"invalid config: chain_id: chain chain-{ALPHA}: its node "
                              f"serves chain {BETA}, not {ALPHA}")


@pytest.mark.parametrize("command", [["run"], ["ingest"]])
def test_a_process_with_one_chain_down_from_the_start_follows_the_other(
    pg_url: str, make_sessions: Any, tmp_path: Path, command: list[str],
) -> None:
    """`amlmon run` (and `amlmon ingest` following) as real processes, from a config file:
    beta's node is down from the start; alpha is followed all the same, /readyz says which
    is which, and SIGTERM stops cleanly."""
    sessions = make_sessions(pg_url)
    port = free_port()
    config = tmp_path / "monitor.yaml"
    with run_anvil(chain_id=ALPHA) as alpha:
        config.write_text(json.dumps({  # JSON is YAML
            "database_url": pg_url, "rules_file": str(RULES_FILE), "api_port": port,
            "metrics_port": port, "rpc_max_retries": 1, "log_format": "json",
            "chains": two_chains(alpha.url, f"http://127.0.0.1:{free_port()}")}))
        token = deploy(alpha)
        register(sessions, token, ALPHA)
        trade(token, holders_of(alpha, 4)[1:], 3)
        log = tmp_path / "process.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "--config", str(config), *command],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                env={k: v for k, v in os.environ.items() if not k.startswith("AMLMON_")})
            try:
                wait_for(lambda: in_sync(sessions, alpha, token, ALPHA), what="alpha rows")
                trade(token, holders_of(alpha, 4)[1:], 2)
                wait_for(lambda: in_sync(sessions, alpha, token, ALPHA), what="more rows")
                if command == ["run"]:
                    def chains() -> dict[str, str] | None:
                        try:
                            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                        except httpx.HTTPError:
                            return None
                        return {c["name"]: c["status"] for c in ready.json()["chains"]}

                    wait_for(lambda: chains() == {"alpha": "ok", "beta": "down"},
                             what="/readyz: alpha ok, beta down")
                else:
                    metrics_page = wait_for(lambda: _get(f"http://127.0.0.1:{port}/metrics"),
                                            what="/metrics")
                    assert f'amlmon_ingested_block{{chain="{ALPHA}"}}' in metrics_page
                assert process.poll() is None
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=60) == 0
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    text = log.read_text()
    assert "chain beta" in text and "stopped cleanly" in text, text[-2000:]


def _get(url: str) -> str | None:
    try:
        return httpx.get(url, timeout=2).text
    except httpx.HTTPError:
        return None


def test_two_daemons_split_the_chains_and_take_over_each_others(
    pg_url: str, make_sessions: Any,
) -> None:
    """Leases are per chain: two daemons configured with the same two chains ingest each
    chain once between them; when one stops, the other takes its chains over."""
    sessions = make_sessions(pg_url)
    engines = [db.make_engine(pg_url), db.make_engine(pg_url)]
    with run_anvil(chain_id=ALPHA) as alpha, run_anvil(chain_id=BETA) as beta:
        token_a, token_b = deploy(alpha), deploy(beta)
        register(sessions, token_a, ALPHA)
        register(sessions, token_b, BETA)
        holders = holders_of(alpha, 4)[1:]
        trade(token_a, holders, 3)
        trade(token_b, holders, 4)
        settings = Settings(database_url=pg_url, rules_file=RULES_FILE,
                            chains=two_chains(alpha.url, beta.url),
                            score_interval_seconds=3600, retrain_interval_seconds=3600)
        daemons = [Daemon(settings, engine, sessions, settings.chain_list())
                   for engine in engines]
        for daemon in daemons:
            daemon.start()
        try:
            def holders_of_leases() -> dict[str, list[int]]:
                return {name: [i for i, d in enumerate(daemons) if d.leases[name].held]
                        for name in ("alpha", "beta")}

            wait_for(lambda: in_sync(sessions, alpha, token_a, ALPHA)
                     and in_sync(sessions, beta, token_b, BETA), what="both chains")
            wait_for(lambda: all(len(held) == 1 for held in holders_of_leases().values()),
                     what="one holder per chain")
            # The daemon holding alpha stops; the other takes alpha (and all) over.
            first = holders_of_leases()["alpha"][0]
            daemons[first].shutdown()
            other = daemons[1 - first]
            trade(token_a, holders, 2, amount=50)
            trade(token_b, holders, 2, amount=60)
            wait_for(lambda: in_sync(sessions, alpha, token_a, ALPHA)
                     and in_sync(sessions, beta, token_b, BETA), what="take-over")
            assert other.leases["alpha"].held and other.leases["beta"].held
        finally:
            for daemon in daemons:
                daemon.shutdown()
            for engine in engines:
                engine.dispose()
    assert in_sync_count(sessions) == (6 + 5, 7 + 5)  # each transfer once


def test_the_configured_name_is_recorded_on_the_chain(pg_url: str, make_sessions: Any) -> None:
    sessions = make_sessions(pg_url)
    with run_anvil(chain_id=ALPHA) as alpha:
        register(sessions, deploy(alpha), ALPHA)
        settings = Settings(database_url=pg_url, chains=two_chains(alpha.url, alpha.url)[:1])
        follower = ChainFollower(settings.chain_list()[0], settings, sessions)
        try:
            follower.poll()
        finally:
            follower.close()
    with sessions() as session:
        chain = session.get(Chain, ALPHA)
        assert chain is not None and chain.name == "alpha"
