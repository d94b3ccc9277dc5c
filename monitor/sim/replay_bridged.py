"""Write a bridged history (monitor.sim.bridged) onto two development nodes, with the
history's own timestamps: every step is one block on its chain, and every bridge send is
delivered on the other chain by the relayer five minutes later, as LayerZero's executor
would deliver it."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

from monitor.contracts.bridge import BridgeAgent, relay
from monitor.sim.bridged import BridgedHistory, Step

RELAY_DELAY = 300
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Side:
    """One chain of the bridged token: its node, the token's agent, its endpoint id."""

    url: str
    agent: BridgeAgent
    eid: int


def start_time(sides: dict[str, Side]) -> int:
    """A time after both nodes' latest blocks, so that every step can be stamped."""
    latest = [int(side.agent.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16)
              for side in sides.values()]
    return max(latest) + 60


def replay_bridged(history: BridgedHistory, sides: dict[str, Side],
                   progress: Progress | None = None) -> dict[str, int]:
    """Replay `history` (its steps name chains "a" and "b"); counts of steps and relays.
    A send with `relayed` False is never delivered (a lost message)."""
    other = {"a": "b", "b": "a"}
    # (time, order, chain, step, block): a step of the history, or (step None) a relay of
    # the sends from `block` of the other chain, queued by a send.
    queue: list[tuple[int, int, str, Step | None, int]] = [
        (step.timestamp, i, step.chain, step, 0) for i, step in enumerate(history.steps)]
    heapq.heapify(queue)
    clock = {chain: 0 for chain in sides}
    order = len(queue)
    steps = relays = 0
    lost: set[str] = set()  # guids the relayer must leave undelivered
    while queue:
        at, _, chain, step, block = heapq.heappop(queue)
        side = sides[chain]
        clock[chain] = max(at, clock[chain] + 1)
        side.agent.rpc("evm_setNextBlockTimestamp", clock[chain])
        if step is None:
            source = sides[other[chain]]
            relays += len(relay(source.url, side.url, source.agent.address, side.agent.address,
                                since_block=block, owner=source.agent.agent, skip=lost))
            continue
        if step.kind == "mint":
            side.agent.mint(step.recipient, step.amount)
        elif step.kind == "transfer":
            side.agent.transfer(step.sender or "", step.recipient, step.amount)
        else:
            sent = side.agent.send(sides[other[chain]].eid, step.recipient, step.amount,
                                   sender=step.sender)
            if step.relayed:
                receipt = side.agent.rpc("eth_getTransactionReceipt", sent.tx)
                order += 1
                heapq.heappush(queue, (clock[chain] + RELAY_DELAY, order, other[chain], None,
                                       int(receipt["blockNumber"], 16)))
            else:
                lost.add(sent.key)
        steps += 1
        if progress is not None:
            progress(steps, len(history.steps))
    return {"steps": steps, "relays": relays}
