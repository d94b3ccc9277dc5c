"""mint_then_dispersal: freshly minted tokens are quickly spread over many new addresses.

Issuance normally lands with a KYC'd holder who keeps it; an issuer's own distribution
pays established holders. Here the minted-to address sends at least `min_share` of the
mint to at least `min_recipients` addresses, most of them new, within `window_seconds`.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.rules import Context, Hit, duration, scale


def detect(ctx: Context) -> list[Hit]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    window = p["window_seconds"]
    hits: dict[int, Hit] = {}
    for m in np.flatnonzero(f.src == 0):
        address, minted, at = int(f.dst[m]), f.amount[m], f.t[m]
        if address == 0 or minted <= 0:
            continue
        out = f.sent(address)
        out = out[(f.t[out] >= at) & (f.t[out] <= at + window) & (f.dst[out] != 0)]
        if out.size < p["min_recipients"]:
            continue
        recipients = np.unique(f.dst[out])
        new_share = feats.recv_new[out].sum() / max(recipients.size, 1)
        sent = f.amount[out].sum()
        if (recipients.size < p["min_recipients"] or sent < p["min_share"] * minted
                or new_share < p["min_new_share"]):
            continue
        span = float(f.t[out].max() - at)
        detail = (
            f"received a mint of {ctx.amount(minted)} and within {duration(span)} sent "
            f"{ctx.amount(sent)} ({sent / minted:.0%}) to {recipients.size} addresses, "
            f"{new_share:.0%} of them new"
        )
        score = scale(recipients.size, p["min_recipients"], 4 * p["min_recipients"], floor=60)
        if address not in hits or hits[address].score < score:
            hits[address] = Hit(address, score, detail,
                                ctx.evidence(np.concatenate(([m], out))))
    return list(hits.values())
