"""new_address_large_value: a never-seen address receives a very large transfer.

"Very large" is relative to the token: at least its `quantile` transfer amount (mints
excluded, which are the issuer's primary issuance). The receiving address must be new:
this transfer is its first appearance. A new service wallet or exchange deposit address
taking a large deposit, or an issuer address taking a redemption it then burns, is
business as usual.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.config import NewAddressLargeValue
from monitor.scoring.context import Context, Hit
from monitor.scoring.rules import scale


def detect(ctx: Context[NewAddressLargeValue]) -> list[Hit]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    ranked = ctx.stats.secondary_amounts  # the token's, sorted
    if ranked.size == 0:
        return []
    cut = ctx.stats.amount_quantile(p.quantile)
    secondary = (f.src != 0) & (f.dst != 0)
    business = ctx.service() | ctx.deposit() | (feats.column("share_to_burns") >= 0.5)
    idx = np.flatnonzero(feats.recv_new & secondary & (f.amount >= cut) & ~business[f.dst]
                         & ctx.wanted(f.dst))
    top = float(ranked[-1])
    hits = []
    for i in idx:
        rank = float(np.searchsorted(ranked, f.amount[i], side="left") / ranked.size)
        detail = (
            f"its first transfer ever was a receipt of {ctx.amount(f.amount[i])}, larger than "
            f"{rank:.1%} of this token's transfers (threshold {ctx.amount(cut)})"
        )
        score = scale(f.amount[i], cut, max(top, cut * 1.01), floor=55, cap=85)
        hits.append(Hit(int(f.dst[i]), score, detail, ctx.evidence([i])))
    return hits
