"""fan_in: many short-lived, freshly created addresses pay one address in a burst.

Collection from mule accounts. Deposits to an exchange also come from many senders, but
those senders are established holders; here a sender counts only if it first appeared
shortly before (config `fresh_seconds`) and has made few transfers in all.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.rules import Context, Hit, best_windows, duration, scale


def detect(ctx: Context) -> list[Hit]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    sender_age = f.t - feats.first_seen[f.src]
    few = feats.column("out_count")[f.src] <= p["max_sender_transfers"]
    candidates = np.flatnonzero(
        (f.src != 0) & (f.dst != 0) & (sender_age <= p["fresh_seconds"]) & few
        & ctx.wanted(f.dst)
    )
    # One event per (receiver, sender): distinct senders are what matters.
    pair = f.dst[candidates].astype(np.int64) * (1 << 32) + f.src[candidates]
    _, first = np.unique(pair, return_index=True)
    candidates = candidates[np.sort(first)]
    groups, counts, slices = best_windows(f.dst[candidates], f.t[candidates],
                                          int(p["window_seconds"]))
    hits = []
    for address, count, rows in zip(groups, counts, slices, strict=True):
        if count < p["min_senders"]:
            continue
        idx = candidates[rows]
        span = float(f.t[idx].max() - f.t[idx].min())
        detail = (
            f"received {ctx.amount(f.amount[idx].sum())} from {count} addresses that were at "
            f"most {duration(float(p['fresh_seconds']))} old and made at most "
            f"{p['max_sender_transfers']} transfers each, within {duration(span)}"
        )
        score = scale(count, p["min_senders"], 4 * p["min_senders"], floor=55)
        hits.append(Hit(int(address), score, detail, ctx.evidence(idx)))
    return hits
