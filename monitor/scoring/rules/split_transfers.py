"""split_transfers: one sender pays one receiver several times within a short window.

Splitting one payment into several to the same counterparty is smurfing's simplest form
(structuring without a threshold in sight), and laundering scripts do it to move funds
in pieces. Ordinary holders do it too (a test transfer before the real one, a top-up in
two steps), so what counts is how rare it is *on this token*: a pair qualifies when its
busiest `window_seconds` holds at least `min_transfers` transfers and no more than
`max_sender_share` of the token's senders ever made that many transfers to one receiver
within the window. Deposits into a service wallet (exchange, custodian, by the token's
yardstick) or into a deposit address are compared with the token's other deposits,
which are split far more often; the service side is never a member, nor the sender. A
pair that makes several transfers a window on `habit_days` or more separate windows is
following a routine of its own (topping up an account), not splitting a payment. The pair is a
pattern: the sender (source) and the receiver (collector).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.scoring.config import SplitTransfers
from monitor.scoring.context import Context
from monitor.scoring.flows import Flows
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.population import pair_bursts
from monitor.scoring.rules import duration, scale, share


def rare_pairs(ctx: Context[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(senders, receivers, counts) of the pairs whose busiest window is rare on this
    token; computed once per evaluation and shared with fan_in."""
    held = ctx.shared.get("split_pairs")
    if held is None:
        p, f = ctx.config.rules.split_transfers, ctx.flows
        side = ctx.service() | ctx.deposit()
        rows = np.flatnonzero(~side[f.src] & (f.dst != 0) & (f.src != f.dst))
        senders, receivers, counts = pair_bursts(f, rows, int(p.window_seconds))
        rare = ((counts >= p.min_transfers)
                & (ctx.stats.burst_rarity(counts, side[receivers]) <= p.max_sender_share))
        rare[rare] = _burst_days(f, senders[rare], receivers[rare],
                                 int(p.window_seconds)) < p.habit_days
        held = ctx.shared["split_pairs"] = (senders[rare], receivers[rare], counts[rare])
    return held


def detect(ctx: Context[SplitTransfers]) -> list[Pattern]:
    p, f = ctx.params, ctx.flows
    window = int(p.window_seconds)
    found = []
    for sender, receiver, count in zip(*rare_pairs(ctx), strict=True):
        deposit = bool(ctx.service()[receiver] or ctx.deposit()[receiver])
        rarity = float(ctx.stats.burst_rarity(int(count), deposit))
        sender, receiver = int(sender), int(receiver)
        if ctx.focus is not None and not ctx.focus[sender]:
            continue
        kind = "service wallet or deposit address" if deposit else "receiver"
        used = _busiest(f, sender, receiver, window)
        span = float(f.t[used].max() - f.t[used].min())
        title = (
            f"split transfers: {used.size} transfers totalling "
            f"{ctx.amount(f.amount[used].sum())} from {ctx.who(sender)} to "
            f"{ctx.who(receiver)} within {duration(span)}; only {share(rarity)} of this "
            f"token's senders ever paid one {kind} {count} times within {duration(window)}"
        )
        score = scale(float(count), p.min_transfers, 4 * p.min_transfers, floor=55, cap=85)
        members = {sender: "source"} if deposit else {sender: "source", receiver: "collector"}
        pattern = build(ctx, "split_transfers", sender, members, used, score, title)
        if anchored(pattern, ctx.focus):
            found.append(pattern)
    return found


def _burst_days(f: Flows, senders: np.ndarray, receivers: np.ndarray,
                window: int) -> np.ndarray:
    """Per pair, on how many separate windows (days, by default) it made more than one
    transfer: a routine (topping up one's own exchange account) recurs, a split payment
    is one occasion."""
    out = np.zeros(senders.size, dtype=np.int64)
    for k, (sender, receiver) in enumerate(zip(senders.tolist(), receivers.tolist(),
                                               strict=True)):
        sent = f.sent(sender)
        bins = f.t[sent[f.dst[sent] == receiver]] // window
        values, counts = np.unique(bins, return_counts=True)
        out[k] = int((counts > 1).sum())
    return out


def _busiest(f, sender: int, receiver: int, window: int) -> np.ndarray:
    """The pair's transfers in its busiest window (earliest such window)."""
    sent = f.sent(sender)
    rows = sent[f.dst[sent] == receiver]
    t = f.t[rows]
    ends = np.searchsorted(t, t + window, side="right")
    start = int(np.argmax(ends - np.arange(t.size)))
    return rows[start:ends[start]]
