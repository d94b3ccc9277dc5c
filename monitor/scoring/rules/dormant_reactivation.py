"""dormant_reactivation: a long-dormant holder wakes up and moves its value on in an
unusual way.

Holding for months and then redeeming or selling is what RWA investors do, so silence
followed by a transfer is not enough. The silence must be long for this token: at least
`min_dormant_seconds` and longer than the token's holders' usual longest silence (the
`population.silence_quantile` of their longest silences). And what follows within
`burst_seconds` of waking must be unusual too: a dispersal to at least
`min_new_recipients` addresses never seen before, or a pass-through: transfers to
addresses never seen before, each within `forward_hold_seconds` of a receipt after
waking, that carry at least `min_forwarded` of what it received on. Payments to service
wallets and deposit addresses (redemptions, exchange deposits, sales to the pool) are how
dormant holders ordinarily leave, and do not count. The pattern holds the woken holder
and the addresses it paid.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.config import DormantReactivation
from monitor.scoring.context import Context
from monitor.scoring.features import (
    DAY,
    EVENT_TIME,
    SLIDING_CHUNK,
    Features,
    address_events,
)
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.population import Yardsticks
from monitor.scoring.rules import duration, scale, share


def long_silence(p: DormantReactivation, stats: Yardsticks) -> float:
    """Seconds of silence from which a holder is dormant on this token."""
    return max(float(p.min_dormant_seconds), stats.long_silence)


def may_wake(feats: Features, p: DormantReactivation, stats: Yardsticks,
             addresses: np.ndarray) -> np.ndarray:
    """Bool per address: whether it was ever silent long enough to wake up, by its longest
    silence (a feature, in days: rounded back to the whole seconds it was measured in). An
    incremental run need not give the rule a hub's history when this is False
    (monitor.scoring.incremental)."""
    longest = np.rint(feats.column("max_gap_days")[addresses] * DAY)
    return longest >= long_silence(p, stats) - 1  # a second of leeway for the rounding


def detect(ctx: Context[DormantReactivation]) -> list[Pattern]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    if f.n == 0:
        return []
    long = long_silence(p, ctx.stats)
    side = ctx.service() | ctx.deposit()
    found: dict[int, Pattern] = {}
    for address, woke, silence in _wakings(address_events(f, ctx.focus), long):
        sent, got = f.sent(address), f.received(address)
        # Only payments to holders count: a redemption, an exchange deposit or a sale to
        # the pool is how a dormant investor ordinarily leaves.
        after = sent[(f.t[sent] >= woke) & (f.t[sent] <= woke + p.burst_seconds)
                     & ~side[f.dst[sent]]]
        if after.size == 0:
            continue
        new = after[feats.recv_new[after]]
        fresh = np.unique(f.dst[new])
        came = got[(f.t[got] >= woke) & (f.t[got] <= woke + p.burst_seconds)]
        quick = new[(feats.hold_seconds[new] <= p.forward_hold_seconds)
                    & np.isin(feats.last_receipt[new], came)]
        received = float(f.amount[came].sum())
        forwarded = float(f.amount[quick].sum()) / received if received > 0 else 0.0
        if fresh.size >= p.min_new_recipients:
            what = (f"sent {ctx.amount(f.amount[new].sum())} to {fresh.size} addresses never "
                    f"seen before")
            role, used = "source", new
        elif forwarded >= p.min_forwarded:
            what = (f"passed on {share(min(forwarded, 1.0))} of the {ctx.amount(received)} it "
                    f"received to addresses never seen before, each transfer within "
                    f"{duration(float(p.forward_hold_seconds))} of a receipt")
            role, used = "intermediary", np.r_[came, quick]
        else:
            continue
        title = (
            f"a dormant reactivation of {ctx.who(address)}: silent for {duration(silence)} "
            f"(longer than {share(ctx.stats.silence_rank)} of this token's holders' longest "
            f"silences), then within {duration(float(p.burst_seconds))} it {what}"
        )
        score = scale(silence, long, 4 * long, floor=60)
        members = {address: role, **{int(a): "recipient" for a in f.dst[used]
                                     if int(a) != address and not side[a]}}
        pattern = build(ctx, "dormant_reactivation", address, members, used, score, title)
        if anchored(pattern, ctx.focus) and (address not in found
                                             or found[address].score < pattern.score):
            found[address] = pattern
    return list(found.values())


def _wakings(keys: np.ndarray, long: float) -> list[tuple[int, int, float]]:
    """(address, time, silence before it) of each event after a silence of `long` seconds
    or more, from the sorted address events (features.address_events), a chunk at a
    time."""
    found = []
    for start in range(0, keys.size, SLIDING_CHUNK):
        part = keys[start:start + SLIDING_CHUNK + 1]  # one key past: the gap across
        group = part >> 40
        gaps = np.diff(part).astype(float)
        for k in np.flatnonzero((group[1:] == group[:-1]) & (gaps >= long)).tolist():
            found.append((int(group[k + 1]), int(part[k + 1] & EVENT_TIME), float(gaps[k])))
    return found

