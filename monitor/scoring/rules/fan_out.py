"""fan_out: one address pays many addresses that appear for the first time, in a burst.

Layering by dispersal: funds are split across fresh accounts. Legitimate fan-out (an
issuer's coupon run, an exchange's withdrawals) pays established holders, or comes from
a service wallet (by the token's own yardstick) whose payouts are its customers'
business; so only recipients whose first-ever activity is this transfer count, service
wallets are never the source, and a payer that pays most of the same recipients again
on other days (payroll) is not dispersing. At least `min_recipients` new recipients within
`window_seconds`, and at least `min_new_share` of its recipients in that span new, make
a pattern: the source and every recipient.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.config import FanOut
from monitor.scoring.context import Context
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.rules import best_windows, duration, recurring_share, scale, share, spell


def detect(ctx: Context[FanOut]) -> list[Pattern]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    service = ctx.service()
    fresh = np.flatnonzero(feats.recv_new & (f.src != 0) & (f.dst != 0) & ~service[f.src])
    window = int(p.window_seconds)
    groups, counts, slices = best_windows(f.src[fresh], f.t[fresh], window)
    found = []
    for source, count, picked in zip(groups, counts, slices, strict=True):
        if count < p.min_recipients:
            continue
        mine = fresh[f.src[fresh] == source]  # in time order
        start, end = spell(f.t[mine], int(f.t[fresh[picked]].min()),
                           int(f.t[fresh[picked]].max()), window)
        idx = mine[(f.t[mine] >= start) & (f.t[mine] <= end)]
        count = idx.size
        sent = f.sent(int(source))
        sent = sent[(f.t[sent] >= start) & (f.t[sent] <= end) & (f.dst[sent] != 0)]
        recipients = np.unique(f.dst[sent])
        new_share = count / max(recipients.size, 1)
        if new_share < p.min_new_share or recurring_share(ctx, int(source), recipients,
                                                          start, end) >= 0.5:
            continue
        title = (
            f"a fan-out of {ctx.amount(f.amount[idx].sum())} from {ctx.who(int(source))} to "
            f"{count} addresses never seen before, within {duration(end - start)} "
            f"({share(new_share)} of its recipients in that span were new)"
        )
        score = scale(float(count), p.min_recipients, 4 * p.min_recipients, floor=60,
                      cap=90)
        members = {int(source): "source", **{int(a): "recipient" for a in f.dst[idx]}}
        pattern = build(ctx, "fan_out", int(source), members, idx, score, title)
        if anchored(pattern, ctx.focus):
            found.append(pattern)
    return found
