"""The repo's RWA token on a real anvil: ERC-20 moves, agent powers, ERC-3643 events."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from monitor.chain import events
from monitor.contracts import load_artifact
from support.anvil import Anvil, run_anvil
from support.cli import REPO
from support.token import TokenOnChain, deploy, node_transfer_logs

ZERO = "0x" + "0" * 40


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with run_anvil() as anvil:
        yield anvil


@pytest.fixture
def token(node: Anvil) -> TokenOnChain:
    return deploy(node)


def _holders(node: Anvil) -> list[str]:
    return [str(a).lower() for a in node.rpc("eth_accounts")][1:6]  # type: ignore[union-attr]


def _logs(node: Anvil, token: TokenOnChain, tx: str) -> list[dict[str, object]]:
    receipt = node.rpc("eth_getTransactionReceipt", tx)
    return [lg for lg in receipt["logs"] if lg["address"] == token.address]  # type: ignore[index]


def test_committed_artifact_matches_the_source() -> None:
    done = subprocess.run([sys.executable, "scripts/compile_contracts.py", "--check"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert {"batchForcedTransfer", "setAddressFrozen", "recoveryAddress"} <= {
        item.get("name") for item in load_artifact()["abi"]
    }


def test_mint_transfer_burn_emit_transfers(node: Anvil, token: TokenOnChain) -> None:
    a, b, _, _, _ = _holders(node)
    token.mint(a, 1000)
    token.transfer(a, b, 400)
    token.burn(b, 100)
    moves = sorted((f, t, v) for _, _, f, t, v in node_transfer_logs(node, token.address))
    assert moves == sorted([(ZERO, a, 1000), (a, b, 400), (b, ZERO, 100)])


def test_batch_forced_transfer_emits_one_log_per_item(node: Anvil, token: TokenOnChain) -> None:
    holders = _holders(node)
    token.batch_mint(holders, [10**6] * len(holders))
    froms = [holders[i % 5] for i in range(300)]
    tos = [holders[(i + 1) % 5] for i in range(300)]
    tx = token.batch_forced_transfer(froms, tos, list(range(1, 301)))
    logs = _logs(node, token, tx)
    assert len(logs) == 300
    assert all(lg["topics"][0] == events.TRANSFER for lg in logs)  # type: ignore[index]


def test_freeze_blocks_holders_but_not_the_agent(node: Anvil, token: TokenOnChain) -> None:
    a, b, *_ = _holders(node)
    token.mint(a, 1000)
    token.freeze(a)
    with pytest.raises(RuntimeError):
        token.transfer(a, b, 1)
    token.batch_forced_transfer([a], [b], [10])  # the agent still can
    token.freeze(a, False)
    token.freeze_partial(a, 900)
    with pytest.raises(RuntimeError):
        token.transfer(a, b, 200)  # only 90 unfrozen
    token.transfer(a, b, 90)


def test_pause_blocks_holder_transfers(node: Anvil, token: TokenOnChain) -> None:
    a, b, *_ = _holders(node)
    token.mint(a, 10)
    token.pause()
    with pytest.raises(RuntimeError):
        token.transfer(a, b, 1)
    token.unpause()
    token.transfer(a, b, 1)


def test_only_agents_mint(node: Anvil, token: TokenOnChain) -> None:
    a, *_ = _holders(node)
    with pytest.raises(RuntimeError):
        token.call("mint", a, 1, sender=a)


def test_erc3643_events_have_the_standard_topics(node: Anvil, token: TokenOnChain) -> None:
    a, b, c, *_ = _holders(node)
    token.mint(a, 100)
    expected = {
        token.freeze(a): events.ADDRESS_FROZEN,
        token.freeze_partial(b, 0): events.TOKENS_FROZEN,
        token.unfreeze_partial(b, 0): events.TOKENS_UNFROZEN,
        token.pause(): events.PAUSED,
        token.unpause(): events.UNPAUSED,
    }
    for tx, topic in expected.items():
        assert [lg["topics"][0] for lg in _logs(node, token, tx)] == [topic]  # type: ignore[index]
    recovered = _logs(node, token, token.recover(a, b, c))
    assert [lg["topics"][0] for lg in recovered] == [events.TRANSFER, events.RECOVERY_SUCCESS]  # type: ignore[index]
