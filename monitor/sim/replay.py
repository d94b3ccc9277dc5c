"""Write a simulated history onto a real node, with the history's own timestamps.

Each distinct timestamp becomes one block: automine is switched off, the block's
transactions are sent in history order with explicit nonces (consecutive transfers batched into one
`batchForcedTransfer`, consecutive mints into one `batchMint`), then `evm_mine` seals
the block at that timestamp. The token's agent moves holders' funds with forced
transfers, as a permissioned token's agent may.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby
from typing import Any

from monitor.chain.events import TRANSFER
from monitor.contracts import MAX_BATCH, TokenAgent
from monitor.sim.history import History, SimFreeze, SimTransfer

Progress = Callable[[int, int], None]
# Items per batch call: its gas (150k + 60k an item) stays under a default 30M block gas
# limit, so a busy timestamp never asks for a transaction no block can hold.
PER_CALL = min(MAX_BATCH // 2, 400)


def replay(history: History, agent: TokenAgent, progress: Progress | None = None) -> dict[str, int]:
    """Replay onto the token behind `agent` (on anvil); counts of blocks, txs, transfers,
    and the offset added to every timestamp if the node's clock was past the history.

    A block's transactions go out in one JSON-RPC batch, then `evm_mine` seals it; the
    result is verified at the end: the token must have emitted exactly the history's
    transfers.
    """
    events: list[tuple[int, int, SimTransfer | SimFreeze]] = [
        (t.timestamp, 1, t) for t in history.transfers
    ] + [(f.timestamp, 0, f) for f in history.freezes]
    events.sort(key=lambda e: (e[0], e[1]))
    head = agent.rpc("eth_getBlockByNumber", "latest", False)
    first_block = int(head["number"], 16) + 1
    floor = int(head["timestamp"], 16)
    # Shift the whole history, keeping its spacing, when the node's clock is already past it.
    offset = max(0, floor + 60 - events[0][0]) if events else 0
    blocks = txs = done = 0
    # Explicit nonces: the node may run a batch's requests in any order.
    nonce = int(agent.rpc("eth_getTransactionCount", agent.agent, "pending"), 16)
    agent.rpc("evm_setAutomine", False)
    try:
        for timestamp, group in groupby(events, key=lambda e: e[0]):
            items = [e[2] for e in group]
            calls: list[tuple[str, list[Any]]] = []
            for kind, run in groupby(items, key=_kind):
                for function, args in _calls(kind, list(run)):
                    # Gas sized to the batch, so that a block holds all of its transactions.
                    gas = 150_000 + 60_000 * len(args[0] if isinstance(args[0], list) else ())
                    tx = {**agent.transaction(function, *args, gas=gas), "nonce": hex(nonce)}
                    calls.append(("eth_sendTransaction", [tx]))
                    nonce += 1
            agent.batch(calls)
            floor = max(timestamp + offset, floor + 1)
            agent.rpc("evm_mine", floor)
            blocks += 1
            txs += len(calls)
            done += len(items)
            if progress and blocks % 100 == 0:
                progress(done, len(events))
        if progress:
            progress(done, len(events))
    finally:
        agent.rpc("evm_setAutomine", True)
    emitted = agent.rpc("eth_getLogs", {"address": agent.address, "topics": [TRANSFER],
                                        "fromBlock": hex(first_block), "toBlock": "latest"})
    if len(emitted) != len(history.transfers):
        raise RuntimeError(f"replay emitted {len(emitted)} transfers, expected "
                           f"{len(history.transfers)}: a batch reverted")
    return {"blocks": blocks, "transactions": txs, "transfers": len(history.transfers),
            "offset_seconds": offset}


def _kind(item: SimTransfer | SimFreeze) -> str:
    return "freeze" if isinstance(item, SimFreeze) else item.kind


def _calls(kind: str, items: list[Any]) -> list[tuple[str, tuple[Any, ...]]]:
    if kind == "freeze":
        return [("setAddressFrozen", (f.address, True)) for f in items]
    if kind == "burn":
        return [("burn", (t.sender, t.amount)) for t in items]
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for start in range(0, len(items), PER_CALL):
        chunk = items[start:start + PER_CALL]
        if kind == "mint":
            calls.append(("batchMint", ([t.receiver for t in chunk], [t.amount for t in chunk])))
        else:
            calls.append(("batchForcedTransfer", ([t.sender for t in chunk],
                                                  [t.receiver for t in chunk],
                                                  [t.amount for t in chunk])))
    return calls
