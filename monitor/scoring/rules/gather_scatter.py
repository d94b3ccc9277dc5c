"""gather_scatter: a short-lived hub collects from many senders and pays out to many others.

Exchanges and custodians also gather and scatter, but for months or years; this hub's
whole life (first to last transfer) is at most `max_lifetime_seconds`, and it passes on
at least `min_forwarded` of what it collects.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.rules import Context, Hit, duration, scale


def detect(ctx: Context) -> list[Hit]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    k = p["min_counterparties"]
    lifetime = feats.last_seen - feats.first_seen
    n_a = f.n_addresses
    in_value = np.bincount(f.dst, weights=f.amount, minlength=n_a)
    out_value = np.bincount(f.src, weights=f.amount, minlength=n_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        forwarded = np.where(in_value > 0, out_value / in_value, 0.0)
    candidates = np.flatnonzero(
        (feats.column("in_counterparties") >= k) & (feats.column("out_counterparties") >= k)
        & (lifetime <= p["max_lifetime_seconds"]) & (forwarded >= p["min_forwarded"])
    )
    hits = []
    for address in candidates[candidates != 0]:
        idx = f.touching(int(address))
        senders = int(feats.column("in_counterparties")[address])
        receivers = int(feats.column("out_counterparties")[address])
        detail = (
            f"collected {ctx.amount(in_value[address])} from {senders} senders and paid "
            f"{forwarded[address]:.0%} of it to {receivers} receivers, all within "
            f"{duration(float(lifetime[address]))}"
        )
        score = scale(min(senders, receivers), k, 4 * k, floor=60)
        hits.append(Hit(int(address), score, detail, ctx.evidence(idx)))
    return hits
