"""A linked bridge transfer as scoring holds it (`Leg`), and how one is matched to its burn
or mint row: the part of monitor.scoring.bridges that monitor.scoring.flows needs, apart,
so that flows does not import what reads the database around it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from monitor.addresses import ZERO


@dataclass(frozen=True)
class Spread:
    """What a bridge's recipient paid on its chain within the window after the receipt
    (bridging on excluded: that is an onward leg)."""

    # Whether the recipient had moved that token more than chain_hopping.fresh_seconds
    # before the receipt: an established address, not one made for the occasion.
    settled: bool
    recipients: tuple[str, ...]  # distinct addresses paid, sorted
    amount: int  # exact sum paid, in the destination token's base units
    last: int  # unix seconds of the last payment
    positions: tuple[tuple[int, int], ...]  # (block, log << 16 | sub_index) of the payments


@dataclass(frozen=True)
class Leg:
    """One linked bridge transfer as scoring sees it (exact amounts, unix seconds)."""

    id: int
    protocol: str
    message_id: str
    sender: str
    recipient: str
    source_chain: int
    destination_chain: int
    source_token: int
    destination_token: int
    source_block: int
    source_log: int
    source_tx: str
    destination_block: int
    destination_log: int
    destination_tx: str
    amount_sent: int
    amount_received: int
    sent_at: int
    received_at: int
    source_decimals: int
    destination_decimals: int
    # Facts from the other tokens (module docstring); empty on the legs they list.
    onward: tuple[Leg, ...] = ()
    previous: tuple[Leg, ...] = ()
    spread: Spread | None = None
    # How many legs its recipient bridged on within the window after its receipt, and how
    # many brought its sender funds within the window before its send.
    n_onward: int = 0
    n_previous: int = 0

    def bare(self) -> Leg:
        return replace(self, onward=(), previous=(), spread=None)


def match(legs: Sequence[Leg], token_id: int, block: np.ndarray, tx: Callable[[int], str],
          sender: Callable[[int], str], receiver: Callable[[int], str],
          amount: Callable[[int], float], log: np.ndarray, taken: np.ndarray,
          ) -> list[tuple[int, int, bool]]:
    """(row, leg position in `legs`, outbound) for each leg whose burn (its source side on
    `token_id`) or mint (its destination side) is among the rows. `block` is ascending;
    `taken` marks rows already rewritten (each row carries one leg); `tx` gives a row's
    transaction hash and `amount` its amount in base units."""
    found = []
    for k, leg in enumerate(legs):
        for outbound in (True, False):
            if (leg.source_token if outbound else leg.destination_token) != token_id:
                continue
            at = leg.source_block if outbound else leg.destination_block
            tx_hash = (leg.source_tx if outbound else leg.destination_tx).lower()
            event_log = leg.source_log if outbound else leg.destination_log
            want = leg.amount_sent if outbound else leg.amount_received
            lo, hi = np.searchsorted(block, at, "left"), np.searchsorted(block, at, "right")
            candidates = []
            for row in range(int(lo), int(hi)):
                if taken[row] or tx(row).lower() != tx_hash:
                    continue
                ends = (sender(row), receiver(row))
                if ends == ((leg.sender, ZERO) if outbound else (ZERO, leg.recipient)):
                    candidates.append(row)
            if not candidates:
                continue
            # The bridged amount first, then the nearest log at or before the event's
            # (the burn precedes OFTSent; the mint precedes OFTReceived), then any.
            row = min(candidates, key=lambda r: (
                not math.isclose(amount(r), float(want), rel_tol=1e-12),
                int(log[r] >> 16) > event_log,
                abs(int(log[r] >> 16) - event_log)))
            taken[row] = True
            found.append((row, k, outbound))
    return found


def rewrite_columns(legs: list[Leg], token_id: int, block: np.ndarray,
                    tx: Callable[[int], str], senders: np.ndarray, receivers: np.ndarray,
                    names: list[str], number: Callable[[str], int], amount: np.ndarray,
                    log: np.ndarray) -> np.ndarray:
    """Rewrite the burn and mint rows of `legs` in place: `senders` and `receivers` are
    address numbers (`names` lists them, `number` numbers one, new or not), amounts float
    base units. The leg index per row (-1: none)."""
    bridge = np.full(block.size, -1, dtype=np.int64)
    taken = np.zeros(block.size, dtype=bool)
    for row, k, outbound in match(legs, token_id, block, tx,
                                  lambda r: names[senders[r]], lambda r: names[receivers[r]],
                                  lambda r: float(amount[r]), log, taken):
        if legs[k].sender != legs[k].recipient:  # a self-bridge has no counterparty
            if outbound:
                receivers[row] = number(legs[k].recipient)
            else:
                senders[row] = number(legs[k].sender)
        bridge[row] = k
    return bridge
