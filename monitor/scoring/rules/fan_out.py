"""fan_out: one address pays many addresses that appear for the first time, in a burst.

Layering by dispersal: funds are split across fresh accounts. Legitimate fan-out (an
issuer's coupon run, an exchange's withdrawals) pays established holders, so only
recipients whose first-ever activity is this transfer count.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.rules import Context, Hit, best_windows, duration, scale


def detect(ctx: Context) -> list[Hit]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    # Service wallets (the busiest 1% by receivers: exchanges, custodians, the issuer) pay
    # new customers every day; their payouts are the customers' business, not theirs.
    out_cp = feats.column("out_counterparties")
    busy = ctx.stats["busy_out_counterparties"]
    fresh = np.flatnonzero(feats.recv_new & (f.src != 0) & (f.dst != 0) & ctx.wanted(f.src)
                           & (out_cp[f.src] <= busy))
    groups, counts, slices = best_windows(f.src[fresh], f.t[fresh], int(p["window_seconds"]))
    hits = []
    for address, count, rows in zip(groups, counts, slices, strict=True):
        if count < p["min_recipients"]:
            continue
        idx = fresh[rows]
        start, end = int(f.t[idx].min()), int(f.t[idx].max())
        sent = f.sent(int(address))
        sent = sent[(f.t[sent] >= start) & (f.t[sent] <= end) & (f.dst[sent] != 0)]
        share = count / max(np.unique(f.dst[sent]).size, 1)
        if share < p["min_new_share"]:
            continue
        detail = (
            f"sent {ctx.amount(f.amount[idx].sum())} to {count} addresses never seen before "
            f"within {duration(end - start)} ({share:.0%} of its recipients in that window "
            f"were new)"
        )
        score = scale(count, p["min_recipients"], 4 * p["min_recipients"], floor=55)
        hits.append(Hit(int(address), score, detail, ctx.evidence(idx)))
    return hits
