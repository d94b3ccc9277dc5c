"""`amlmon chain list`: each configured chain's cursor, head, lag and status, from the real
nodes (one up, one down) and the database."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from monitor import db
from monitor.tokens import add_token
from support.anvil import free_port, run_anvil
from support.cli import assert_one_line_error, run_cli
from support.ingest import ingest

ALPHA, BETA = 31337, 31338


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    for name in list(os.environ):
        if name.startswith("AMLMON_") and name != "AMLMON_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)


def test_chain_list_shows_cursor_head_lag_and_status(
    pg_url: str, make_sessions: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    sessions = make_sessions(pg_url)
    nowhere = f"http://127.0.0.1:{free_port()}"
    with run_anvil(chain_id=ALPHA) as alpha:
        with db.transaction(sessions) as session:
            add_token(session, chain_id=ALPHA, address="0x" + "a1" * 20, decimals=6)
        alpha.mine(5)
        ingest(sessions, [alpha.url])  # cursor at the head (no confirmations)
        alpha.mine(3)
        monkeypatch.setenv("AMLMON_CHAINS", json.dumps([
            {"chain_id": ALPHA, "name": "alpha", "rpc_urls": [alpha.url], "confirmations": 0},
            {"chain_id": BETA, "name": "beta", "rpc_urls_env": "BETA_URLS"}]))
        monkeypatch.setenv("BETA_URLS", nowhere)
        listed = run_cli(capsys, "chain", "list", "--format", "json")
        assert listed.code == 0, listed.err
        assert json.loads(listed.out) == {"items": [
            {"chain_id": ALPHA, "name": "alpha", "cursor_block": 5, "head_block": 8,
             "lag_blocks": 3, "status": "ok"},
            {"chain_id": BETA, "name": "beta", "cursor_block": None, "head_block": None,
             "lag_blocks": None, "status": "down"}]}
        table = run_cli(capsys, "chain", "list")
        assert table.code == 0
        assert "2 chain(s), 1 down" in table.out
        for cell in ("alpha", "beta", "down", "ok", str(BETA)):
            assert cell in table.out

        # More than 100 blocks behind the safe head: lagging.
        alpha.mine(101)
        items = json.loads(run_cli(capsys, "chain", "list", "--format", "json").out)["items"]
        assert (items[0]["lag_blocks"], items[0]["status"]) == (104, "lagging")

        # A node that serves another chain is listed as down, and said why.
        monkeypatch.setenv("BETA_URLS", alpha.url)
        mismatch = run_cli(capsys, "chain", "list", "--format", "json")
        assert mismatch.code == 0
        assert json.loads(mismatch.out)["items"][1]["status"] == "down"
        assert "chains.1.chain_id: chain beta: its node serves chain 31337, not 31338" in (
            mismatch.err)


def test_chain_list_of_the_shorthand_and_of_bad_configurations(
    capsys: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with run_anvil(chain_id=ALPHA) as alpha:
        monkeypatch.setenv("AMLMON_RPC_URLS", alpha.url)
        items = json.loads(run_cli(capsys, "chain", "list", "--format", "json").out)["items"]
        assert items == [{"chain_id": ALPHA, "name": f"chain-{ALPHA}", "cursor_block": None,
                          "head_block": alpha.block_number(), "lag_blocks": None,
                          "status": "ok"}]
    # Its node down, the shorthand without chain_id cannot say which chain it is.
    items = json.loads(run_cli(capsys, "chain", "list", "--format", "json").out)["items"]
    assert items == [{"chain_id": None, "name": "default", "cursor_block": None,
                      "head_block": None, "lag_blocks": None, "status": "down"}]
    monkeypatch.delenv("AMLMON_RPC_URLS")
    assert_one_line_error(run_cli(capsys, "chain", "list"), "no chain configured")
    monkeypatch.setenv("AMLMON_CHAINS",
                       '[{"chain_id": 1, "name": "eth", "rpc_urls_env": "X_URLS"}]')
    assert_one_line_error(run_cli(capsys, "chain", "list"),
                          "invalid config: chains.0.rpc_urls_env: chain eth: the environment "
                          "variable X_URLS is not set or empty")
