"""dormant_reactivation: an address silent for a long time suddenly moves a large value.

Dormancy is at least `min_dormant_seconds` without any transfer; "large" is at least the
token's `large_quantile` transfer amount, or most of what the address held.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.rules import Context, Hit, duration, scale


def detect(ctx: Context) -> list[Hit]:
    p, f = ctx.params, ctx.flows
    if f.n == 0:
        return []
    who = np.concatenate((f.src, f.dst))
    rows = np.concatenate((np.arange(f.n), np.arange(f.n)))
    real = (who != 0) & ctx.wanted(who)
    who, rows = who[real], rows[real]
    order = np.lexsort((f.t[rows], who))
    who, rows = who[order], rows[order]
    gaps = np.diff(f.t[rows]).astype(float)
    same = who[1:] == who[:-1]
    resume = np.flatnonzero(same & (gaps >= p["min_dormant_seconds"])) + 1
    large = ctx.stats["large_amount"]
    hits: dict[int, Hit] = {}
    for k in resume:
        address = int(who[k])
        # What it sends in the week after waking up.
        woke = f.t[rows[k]]
        sent, got = f.sent(address), f.received(address)
        after = sent[(f.t[sent] >= woke) & (f.t[sent] <= woke + p["burst_seconds"])]
        moved = f.amount[after].sum()
        held = (f.amount[got[f.t[got] < woke]].sum()
                - f.amount[sent[f.t[sent] < woke]].sum())
        if after.size == 0 or (moved < large and moved < 0.5 * max(held, 0)):
            continue
        detail = (
            f"silent for {duration(gaps[k - 1])}, then sent {ctx.amount(moved)} in "
            f"{after.size} transfer(s) within {duration(float(p['burst_seconds']))}"
        )
        score = scale(gaps[k - 1], p["min_dormant_seconds"], 4 * p["min_dormant_seconds"],
                      floor=55)
        if address not in hits or hits[address].score < score:
            hits[address] = Hit(address, score, detail, ctx.evidence(after))
    return list(hits.values())
