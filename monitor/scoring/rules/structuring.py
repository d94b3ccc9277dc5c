"""structuring: many transfers just below a reporting threshold from one address.

Splitting a sum into amounts that each stay under the threshold above which a transfer
is reported is the oldest laundering typology. The threshold is a regulatory figure
(config `reporting_threshold`, token units); "just below" is the band
[band × threshold, threshold).
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.rules import Context, Hit, best_windows, duration, scale


def detect(ctx: Context) -> list[Hit]:
    p, f = ctx.params, ctx.flows
    threshold = float(p["reporting_threshold"])
    if threshold <= 0:
        return []
    near = np.flatnonzero(
        (f.amount >= p["band"] * threshold) & (f.amount < threshold) & (f.src != 0)
        & ctx.wanted(f.src)
    )
    groups, counts, slices = best_windows(f.src[near], f.t[near], int(p["window_seconds"]))
    out_count = ctx.features.column("out_count")
    hits = []
    for address, count, rows in zip(groups, counts, slices, strict=True):
        if count < p["min_transfers"]:
            continue
        share = count / max(out_count[address], 1)
        if share < p["min_share"]:
            continue
        idx = near[rows]
        span = float(f.t[idx].max() - f.t[idx].min())
        detail = (
            f"sent {count} transfers between {ctx.amount(p['band'] * threshold)} and "
            f"{ctx.amount(threshold)} (just below the {ctx.amount(threshold)} reporting "
            f"threshold) within {duration(span)}, totalling {ctx.amount(f.amount[idx].sum())}; "
            f"{share:.0%} of its outgoing transfers"
        )
        score = scale(count, p["min_transfers"], 3 * p["min_transfers"], floor=60) * min(
            1.0, 0.5 + share
        )
        hits.append(Hit(int(address), score, detail, ctx.evidence(idx)))
    return hits
