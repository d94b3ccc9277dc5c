"""rapid_pass_through: funds leave soon after they arrive, and little is retained.

A forward is an outgoing transfer sent within `max_hold_seconds` of the sender's latest
receipt and carrying `match_low`..100% of that receipt: the same funds, passed on. An
address is a pass-through when it made at least `min_cycles` forwards, they are at least
`min_quick_share` of its outgoing transfers, and they carry at least `min_forwarded` of
all it received (mints excluded: an issuer distributing fresh issuance is not passing
funds through). Exchange wallets pay withdrawals from inventory, whose amounts do not
mirror the deposit just before them.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.rules import Context, Hit, duration, scale


def detect(ctx: Context) -> list[Hit]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    n_a = f.n_addresses
    hold, receipt = feats.hold_seconds, feats.last_receipt
    got = np.where(receipt >= 0, f.amount[np.maximum(receipt, 0)], 0.0)
    mirrors = (f.amount >= p["match_low"] * got) & (f.amount <= got * 1.0001)
    quick = np.flatnonzero(~np.isnan(hold) & (hold <= p["max_hold_seconds"]) & (f.dst != 0)
                           & (f.src != 0) & (receipt >= 0) & mirrors)
    quick = quick[f.src[receipt[quick]] != 0]
    quick_count = np.bincount(f.src[quick], minlength=n_a)
    # Minted funds passed on are issuance/distribution (mint_then_dispersal's concern).
    bought = f.src != 0
    in_value = np.bincount(f.dst[bought], weights=f.amount[bought], minlength=n_a)
    quick_value = np.bincount(f.src[quick], weights=f.amount[quick], minlength=n_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        forwarded = np.where(in_value > 0, quick_value / in_value, 0.0)
    candidates = np.flatnonzero(
        (quick_count >= p["min_cycles"]) & (forwarded >= p["min_forwarded"])
    )
    candidates = candidates[candidates != 0]
    out_count = feats.column("out_count")
    hits = []
    for address in candidates:
        if quick_count[address] / max(out_count[address], 1) < p["min_quick_share"]:
            continue
        sent = f.sent(int(address))
        idx = sent[np.isin(sent, quick)]
        median = float(np.median(hold[idx]))
        detail = (
            f"forwarded {forwarded[address]:.0%} of the {ctx.amount(in_value[address])} it "
            f"received within {duration(float(p['max_hold_seconds']))} of receiving it "
            f"({quick_count[address]} times, median hold {duration(median)})"
        )
        score = scale(forwarded[address], p["min_forwarded"], 1.0, floor=60) * (
            1.0 if median <= p["max_hold_seconds"] / 4 else 0.9
        )
        received = f.received(int(address))
        hits.append(Hit(int(address), score, detail,
                        ctx.evidence(np.concatenate((received[:10], idx)))))
    return hits
