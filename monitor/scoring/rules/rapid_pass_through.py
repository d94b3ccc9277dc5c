"""rapid_pass_through: funds leave soon after they arrive, and little is retained — along a
chain of intermediaries, or again and again through one.

A forward is an outgoing transfer sent within `max_hold_seconds` of the sender's latest
receipt and carrying `match_low`..100% of that receipt: the same funds, passed on. A
relay's forwards are at least `min_quick_share` of its outgoing transfers and carry at
least `min_forwarded` of all it received (mints excluded: an issuer distributing fresh
issuance is not passing funds through). It deals with at most `max_counterparties`
addresses and is neither a service wallet by the token's yardstick (an exchange or OTC
desk passes its customers' funds, from inventory) nor a deposit address (which sweeps
its customer's deposits to the exchange); forwards into a service wallet are deposits,
not links. Relays are linked when one forwards what another forwarded to it. A chain of
at least `min_chain` linked relays, or a relay that forwarded at least `min_cycles`
times, is a pattern (a pass-through chain): the relays (intermediaries), the addresses
that fed them (sources) and those they paid (recipients, a deposit address included:
that is where the chain cashes out), never a service wallet.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from monitor.scoring.config import RapidPassThrough
from monitor.scoring.context import Context
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.rules import duration, scale, share


def detect(ctx: Context[RapidPassThrough]) -> list[Pattern]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    n_a = f.n_addresses
    hold, receipt = feats.hold_seconds, feats.last_receipt
    got = np.where(receipt >= 0, f.amount[np.maximum(receipt, 0)], 0.0)
    mirrors = (f.amount >= p.match_low * got) & (f.amount <= got * 1.0001)
    # A forward into a service wallet is a deposit (a cash-out), not a link of a chain.
    quick = np.flatnonzero(~np.isnan(hold) & (hold <= p.max_hold_seconds) & ~ctx.service()[f.dst]
                           & (f.src != 0) & (receipt >= 0) & mirrors)
    quick = quick[f.src[receipt[quick]] != 0]
    quick_count = np.bincount(f.src[quick], minlength=n_a)
    in_value = feats.bought_value
    quick_value = np.bincount(f.src[quick], weights=f.amount[quick], minlength=n_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        forwarded = np.where(in_value > 0, quick_value / in_value, 0.0)
    out_count = np.maximum(feats.column("out_count"), 1)
    small = (ctx.degree() <= p.max_counterparties) & ~ctx.service() & ~ctx.deposit()
    relay = ((quick_count >= 1) & (forwarded >= p.min_forwarded)
             & (quick_count / out_count >= p.min_quick_share) & small)
    relay[0] = False
    if not relay.any():
        return []
    links = quick[relay[f.src[quick]]]
    feeds = receipt[links]
    # Relays are linked when one forwards what another forwarded to it.
    graph = nx.Graph()
    graph.add_nodes_from(np.flatnonzero(relay).tolist())
    chained = np.isin(feeds, links)
    graph.add_edges_from(zip(f.src[feeds[chained]].tolist(), f.src[links[chained]].tolist(),
                             strict=True))
    found = []
    for component in nx.connected_components(graph):
        if len(component) < p.min_chain and not (quick_count[list(component)]
                                                 >= p.min_cycles).any():
            continue
        chain = sorted(component, key=lambda a: int(f.t[f.received(a)].min()))
        rows = np.r_[links[np.isin(f.src[links], chain)], feeds[np.isin(f.src[links], chain)]]
        rows = np.unique(rows)
        members = {int(a): "source" for a in f.src[rows] if small[a] and not relay[a]}
        # A deposit address the chain pays is where it cashes out: the launderer's account.
        members.update({int(a): "recipient" for a in f.dst[rows]
                        if (small[a] or ctx.deposit()[a]) and not relay[a]})
        members.update(dict.fromkeys(chain, "intermediary"))
        moved = float(f.amount[rows[relay[f.src[rows]]]].sum())
        median = float(np.median(hold[rows[relay[f.src[rows]]]]))
        head = chain[0]
        what = (f"chain of {len(chain)} intermediaries from {ctx.who(head)}" if len(chain) > 1
                else f"through {ctx.who(head)}")
        least = share(min(float(forwarded[chain].min()), 1.0))
        title = (
            f"a pass-through {what}: {least} or more of what each received was forwarded "
            f"within {duration(float(p.max_hold_seconds))} ({ctx.amount(moved)} in "
            f"{int(quick_count[chain].sum())} forwards, median hold {duration(median)})"
        )
        strength = float(np.mean(forwarded[chain]))
        score = scale(min(strength, 1.0), p.min_forwarded, 1.0, floor=60, cap=85) + 5 * min(
            len(chain) - 1, 2)
        if median > p.max_hold_seconds / 4:
            score *= 0.9
        pattern = build(ctx, "rapid_pass_through", head, members, rows, score, title)
        if anchored(pattern, ctx.focus):
            found.append(pattern)
    return found
