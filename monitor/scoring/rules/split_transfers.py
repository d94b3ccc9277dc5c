"""split_transfers: one sender pays one receiver several times within a short window.

Splitting one payment into several to the same counterparty is smurfing's simplest form
(structuring without a threshold in sight), and laundering scripts do it to move funds
in pieces. Ordinary holders do it too (a test transfer before the real one, a top-up in
two steps), so what counts is how rare it is *on this token*: a pair qualifies when its
busiest `window_seconds` holds at least `min_transfers` transfers, and it scores by the
share of the token's senders that ever made that many transfers to one receiver within
the window: in full at `rare_share` or less, then less by `fade_decades` decades of
commonness (at the default 1, half at √10 × rare_share and nothing at 10 ×). The rule
never switches itself off: where splitting is common (because laundering is), a split
still counts, for less, beside the other findings; a pattern under `min_score` is not
kept. Deposits into a service wallet (exchange, custodian, by the token's
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


def split_pairs(ctx: Context[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(senders, receivers, counts, rarities) of the pairs whose busiest window holds a
    split that scores on this token (a rarity under 10^fade_decades × rare_share);
    computed once per evaluation and shared with fan_in."""
    held = ctx.shared.get("split_pairs")
    if held is None:
        p, f = ctx.config.rules.split_transfers, ctx.flows
        side = ctx.service() | ctx.deposit()
        rows = np.flatnonzero(~side[f.src] & (f.dst != 0) & (f.src != f.dst))
        senders, receivers, counts = pair_bursts(f, rows, int(p.window_seconds))
        rarities = np.ones(counts.size)
        split = counts >= p.min_transfers
        rarities[split] = ctx.stats.burst_rarity(counts[split], side[receivers[split]])
        keep = split & (grade(rarities, p.rare_share, p.fade_decades) > 0)
        if ctx.focus is not None:
            # On a neighbourhood (an incremental run) only pairs with an end in focus can
            # make a pattern anchored there: here at the sender, in fan_in at the receiver.
            keep &= ctx.focus[senders] | ctx.focus[receivers]
        keep[keep] = _burst_days(f, senders[keep], receivers[keep],
                                 int(p.window_seconds)) < p.habit_days
        held = ctx.shared["split_pairs"] = (senders[keep], receivers[keep], counts[keep],
                                            rarities[keep])
    return held


def rare_pairs(ctx: Context[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(senders, receivers) of the split pairs that are rare on this token (scored in
    full)."""
    senders, receivers, _, rarities = split_pairs(ctx)
    rare = rarities <= ctx.config.rules.split_transfers.rare_share
    return senders[rare], receivers[rare]


def grade(rarity: Any, rare_share: float, fade_decades: float) -> np.ndarray:
    """1 at `rare_share` or less, falling linearly in log10 of rarity / rare_share to 0
    `fade_decades` decades above it."""
    ratio = np.maximum(np.asarray(rarity, dtype=float) / rare_share, 1.0)
    return np.clip(1.0 - np.log10(ratio) / fade_decades, 0.0, 1.0)


def detect(ctx: Context[SplitTransfers]) -> list[Pattern]:
    p, f = ctx.params, ctx.flows
    window = int(p.window_seconds)
    found = []
    for sender, receiver, count, rarity in zip(*split_pairs(ctx), strict=True):
        # Pairs kept for fan_in (a receiver in focus) are not this rule's to judge.
        if ctx.focus is not None and not ctx.focus[sender]:
            continue
        weight = float(grade(rarity, p.rare_share, p.fade_decades))
        score = weight * scale(float(count), p.min_transfers, 4 * p.min_transfers, floor=55,
                               cap=85)
        if score < p.min_score:
            continue
        deposit = bool(ctx.service()[receiver] or ctx.deposit()[receiver])
        sender, receiver = int(sender), int(receiver)
        kind = "service wallet or deposit address" if deposit else "receiver"
        used = _busiest(f, sender, receiver, window)
        span = float(f.t[used].max() - f.t[used].min())
        title = (
            f"split transfers: {used.size} transfers totalling "
            f"{ctx.amount(f.amount[used].sum())} from {ctx.who(sender)} to "
            f"{ctx.who(receiver)} within {duration(span)}; "
            + (f"only {share(rarity)}" if weight >= 1.0 else
               f"{share(rarity)} (common here: scored {weight:.0%})")
            + f" of this token's senders ever paid one {kind} {count} times within "
            f"{duration(window)}"
        )
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
    if senders.size == 0:
        return out
    # Every pair at once: the rows of the pairs, keyed by (pair, window bin).
    wanted = senders.astype(np.int64) * (1 << 32) + receivers
    order = np.argsort(wanted, kind="stable")
    ranked = wanted[order]
    key = f.src.astype(np.int64) * (1 << 32) + f.dst
    at = np.minimum(np.searchsorted(ranked, key), ranked.size - 1)
    rows = np.flatnonzero(ranked[at] == key)
    pair = order[at[rows]]
    bins = (pair.astype(np.int64) << 32) | (f.t[rows] // window)
    firsts, counts = np.unique(bins, return_counts=True)
    np.add.at(out, firsts[counts > 1] >> 32, 1)
    return out


def _busiest(f, sender: int, receiver: int, window: int) -> np.ndarray:
    """The pair's transfers in its busiest window (earliest such window)."""
    rows = f.between(sender, receiver)
    t = f.t[rows]
    ends = np.searchsorted(t, t + window, side="right")
    start = int(np.argmax(ends - np.arange(t.size)))
    return rows[start:ends[start]]
