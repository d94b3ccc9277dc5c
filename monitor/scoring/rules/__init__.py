"""The typology rules: one module per rule id, each a pure function of a context
(monitor.scoring.context), and the helpers they share.

A rule reads the token's flows and features and returns hits or, for a graph typology,
patterns: the whole network with its members and their roles (monitor.scoring.patterns).
Parameters come from config/rules.yaml (typed in monitor.scoring.config); what "large",
"busy", "long" or "rare" means is measured on the token's own population
(monitor.scoring.population) and said in the sentence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.scoring.context import Context


def address_ranges(events: np.ndarray, chunk: int) -> list[tuple[int, int]]:
    """Address ranges [lo, hi) (from 1: the zero address is no party) of about `chunk` of
    `events` (a count per address) each; one busy address alone may exceed it. A rule that
    judges each address by its own rows can judge a range at a time, its temporaries
    bounded by the chunk rather than the token."""
    bounds = np.searchsorted(np.cumsum(events), np.arange(chunk, events.sum(), chunk),
                             side="right")
    edges = np.unique(np.r_[1, bounds, events.size])
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def best_windows(
    group: np.ndarray, t: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group, the `window`-second span holding the most events.

    Returns (groups, counts, slices) where slices[k] are the event indices (into the
    arrays given) inside group k's best span. Vectorised except the final slicing of the
    qualifying groups, which callers filter first by count.
    """
    if group.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=object)
    order = np.lexsort((t, group))
    g, tt = group[order], t[order]
    key = g.astype(np.int64) * (1 << 40) + tt
    ends = np.searchsorted(key, key + window, side="right")
    counts = ends - np.arange(key.size)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    stops = np.r_[starts[1:], g.size]
    # The first position of each group's maximum, without a Python loop over groups.
    peak = np.repeat(np.maximum.reduceat(counts, starts), stops - starts)
    best = np.minimum.reduceat(np.where(counts == peak, np.arange(g.size), g.size), starts)
    slices = np.empty(best.size, dtype=object)
    for k, b in enumerate(best):
        slices[k] = order[b:ends[b]]
    return g[starts], counts[best], slices


def spell(times: np.ndarray, start: int, end: int, gap: int) -> tuple[int, int]:
    """The run of `times` (sorted) around [start, end] whose consecutive events are at
    most `gap` apart: a network that qualified in its busiest window keeps every member
    it gathered before and after, as long as it did not pause for longer than the window."""
    breaks = np.flatnonzero(np.diff(times) > gap)
    lo = breaks[breaks < np.searchsorted(times, start, side="right") - 1]
    hi = breaks[breaks >= np.searchsorted(times, end, side="left")]
    first = int(times[lo[-1] + 1]) if lo.size else int(times[0])
    last = int(times[hi[0]]) if hi.size else int(times[-1])
    return first, last


def recurring_share(ctx: Context[Any], source: int, recipients: np.ndarray, start: int,
                    end: int) -> float:
    """Share of `recipients` that `source` pays again on another day, before `start` or
    after `end`: payroll and distributions pay the same people every period, a
    dispersal pays each mule once."""
    f = ctx.flows
    sent = f.sent(source)
    other = sent[(f.t[sent] < start - 86400) | (f.t[sent] > end + 86400)]
    if recipients.size == 0:
        return 0.0
    return float(np.isin(recipients, f.dst[other]).mean())


def scale(value: float, low: float, high: float, floor: float = 50.0, cap: float = 95.0) -> float:
    """Map value in [low, high] onto [floor, cap] linearly, clipped."""
    if high <= low:
        return cap
    share = min(max((value - low) / (high - low), 0.0), 1.0)
    return floor + share * (cap - floor)


def share(value: float) -> str:
    """A share for a sentence: 0.4%, 12%, 99.7%."""
    if value < 0.01 or value > 0.99:
        return f"{100 * value:.1f}%".replace(".0%", "%")
    return f"{100 * value:.0f}%"


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
