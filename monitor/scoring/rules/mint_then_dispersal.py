"""mint_then_dispersal: freshly minted tokens are quickly spread over many new addresses.

Issuance normally lands with a KYC'd holder who keeps it; an issuer's own distribution
pays established holders, or the same staff every period (payroll). Here the minted-to
address, not a service wallet, sends at least `min_share` of the mint to at least
`min_recipients` addresses, most of them new and not paid again on other days, within
`window_seconds`, and no more than the mint and what it held before: it is the mint
that is dispersed.
The pattern holds the minted-to address (source) and its recipients.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.config import MintThenDispersal
from monitor.scoring.context import Context
from monitor.scoring.flows import Flows
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.rules import duration, recurring_share, scale, share


def detect(ctx: Context[MintThenDispersal]) -> list[Pattern]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    service = ctx.service()
    found: dict[int, Pattern] = {}
    # A bridge receipt (monitor.scoring.bridges) is no issuance: chain_hopping judges it.
    for m in _candidates(ctx, np.flatnonzero((f.src == 0) & (f.bridge < 0))).tolist():
        address, minted, at = int(f.dst[m]), float(f.amount[m]), int(f.t[m])
        if address == 0 or minted <= 0 or service[address]:
            continue
        out = f.sent(address)
        out = out[(f.t[out] >= at) & (f.t[out] <= at + p.window_seconds) & (f.dst[out] != 0)]
        if out.size < p.min_recipients:
            continue
        recipients = np.unique(f.dst[out])
        new_share = feats.recv_new[out].sum() / max(recipients.size, 1)
        sent = float(f.amount[out].sum())
        if (recipients.size < p.min_recipients or sent < p.min_share * minted
                or new_share < p.min_new_share or sent > minted + _held(f, address, at)
                or recurring_share(ctx, address, recipients, at, int(f.t[out].max())) >= 0.5):
            continue
        span = float(f.t[out].max() - at)
        title = (
            f"a mint-then-dispersal: {ctx.who(address)} received a mint of "
            f"{ctx.amount(minted)} and within {duration(span)} sent {ctx.amount(sent)} "
            f"({share(sent / minted)}) to {recipients.size} addresses, {share(new_share)} "
            f"of them new"
        )
        score = scale(recipients.size, p.min_recipients, 4 * p.min_recipients, floor=60,
                      cap=90)
        members = {address: "source", **{int(a): "recipient" for a in recipients}}
        pattern = build(ctx, "mint_then_dispersal", address, members, np.r_[m, out], score,
                        title)
        if anchored(pattern, ctx.focus) and (
                address not in found or found[address].score < pattern.score):
            found[address] = pattern
    return list(found.values())


def _held(f: Flows, address: int, before: int) -> float:
    """What the address held just before `before` (token units)."""
    got, sent = f.received(address), f.sent(address)
    return float(f.amount[got[f.t[got] < before]].sum() - f.amount[sent[f.t[sent] < before]].sum())


def _candidates(ctx: Context[MintThenDispersal], mints: np.ndarray) -> np.ndarray:
    """The mints whose window can make a pattern: at least `min_recipients` sends to real
    addresses, of which at least min_new_share x min_recipients first receipts (a
    recipient's first receipt counts once, so the new share cannot reach min_new_share
    with fewer). Both counts for every mint at once, from the sends sorted by (sender,
    time): a token whose every holder got a mint (10^5-10^6) keeps a handful."""
    p, f = ctx.params, ctx.flows
    real = f.dst != 0
    # Sorted keys, counted by binary search: np.sort is ~10x faster than an argsort.
    sends = np.sort(f.src[real].astype(np.int64) * (1 << 40) + f.t[real])
    first = real & ctx.features.recv_new
    firsts = np.sort(f.src[first].astype(np.int64) * (1 << 40) + f.t[first])
    start = f.dst[mints].astype(np.int64) * (1 << 40) + f.t[mints]
    end = start + int(p.window_seconds)

    def within(keys: np.ndarray) -> np.ndarray:
        return (np.searchsorted(keys, end, side="right")
                - np.searchsorted(keys, start, side="left"))

    enough = ((within(sends) >= p.min_recipients)
              & (within(firsts) >= p.min_new_share * p.min_recipients - 1e-9))
    return mints[enough]
