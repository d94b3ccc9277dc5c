"""gather_scatter: a short-lived hub collects from many senders and pays out to many others.

Exchanges and custodians also gather and scatter, but for months or years and with far
more counterparties than the token's addresses usually have; this hub's whole life
(first to last transfer) is at most `max_lifetime_seconds`, it is not a service wallet
by the token's yardstick, and it passes on at least `min_forwarded` of what it
collects, to at least `min_counterparties` receivers from as many senders. And it
gathers, then scatters: `phase_share` of its inflow has arrived before
`1 - phase_share` of its outflow has left, where an active trader buys and sells in
turn. The pattern holds the hub, its feeders and its recipients.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.config import GatherScatter
from monitor.scoring.context import Context
from monitor.scoring.flows import Flows
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.rules import duration, scale, share


def detect(ctx: Context[GatherScatter]) -> list[Pattern]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    k = p.min_counterparties
    lifetime = feats.last_seen - feats.first_seen
    in_value, out_value = feats.bought_value, feats.out_value
    with np.errstate(divide="ignore", invalid="ignore"):
        forwarded = np.where(in_value > 0, out_value / in_value, 0.0)
    candidates = np.flatnonzero(
        (feats.column("in_counterparties") >= k) & (feats.column("out_counterparties") >= k)
        & (lifetime <= p.max_lifetime_seconds) & (forwarded >= p.min_forwarded)
        & ~ctx.service()
    )
    candidates = candidates[ctx.wanted(candidates)]
    found = []
    for hub in candidates.tolist():
        got, sent = f.received(hub), f.sent(hub)
        got, sent = got[f.src[got] != 0], sent[f.dst[sent] != 0]
        if not _gathers_then_scatters(f, got, sent, p.phase_share):
            continue
        feeders, recipients = np.unique(f.src[got]), np.unique(f.dst[sent])
        title = (
            f"a gather-scatter through {ctx.who(hub)}: {ctx.amount(in_value[hub])} collected "
            f"from {feeders.size} senders, {share(min(forwarded[hub], 1.0))} of it paid to "
            f"{recipients.size} receivers, all within {duration(float(lifetime[hub]))}"
        )
        score = scale(float(min(feeders.size, recipients.size)), k, 4 * k, floor=60, cap=90)
        members = {hub: "hub", **{int(a): "feeder" for a in feeders},
                   **{int(a): "recipient" for a in recipients if a != hub}}
        members[hub] = "hub"
        pattern = build(ctx, "gather_scatter", hub, members, np.r_[got, sent], score, title)
        if anchored(pattern, ctx.focus):
            found.append(pattern)
    return found


def _gathers_then_scatters(f: Flows, got: np.ndarray, sent: np.ndarray, phase: float) -> bool:
    """Whether `phase` of what it collected had arrived before `1 - phase` of what it paid
    out had left: one gathering, then one scattering, where a trader buys and sells in
    turn."""
    if got.size == 0 or sent.size == 0:
        return False

    def reached(rows: np.ndarray, share: float) -> int:
        value = np.cumsum(f.amount[rows])  # rows are in time order
        return int(f.t[rows][np.searchsorted(value, share * value[-1])])

    return reached(got, phase) <= reached(sent, 1 - phase)
