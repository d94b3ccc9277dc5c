"""The typology rules: one module per rule id (DESIGN.md), each a pure function.

A rule reads the token's flows and features and returns hits: an address, a score 0-100,
a sentence an investigator can check, and the transactions that support it. Thresholds
come from config/rules.yaml (defaults documented there); where a typology is about
"large" or "fast", the rule measures it against the token's own distribution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.addresses import checksum
from monitor.scoring.features import Features
from monitor.scoring.flows import Flows

MAX_EVIDENCE = 25


@dataclass(frozen=True)
class Hit:
    address: int  # index into flows.addresses
    score: float  # 0-100
    detail: str
    evidence: tuple[str, ...]  # tx hashes, earliest first


@dataclass
class Context:
    flows: Flows
    features: Features
    params: dict[str, Any]
    # Token-wide statistics several rules measure against (service.token_stats): taken
    # once per full run, so that an incremental run judges by the same yardstick.
    stats: dict[str, Any] = field(default_factory=dict)
    # Address index -> its watchlist entries (only listed addresses appear).
    listings: dict[int, list[Any]] = field(default_factory=dict)
    # Bool per address: the addresses whose findings are wanted (an incremental run's
    # neighbourhood); None for all. Rules that loop over addresses skip the others.
    focus: np.ndarray | None = None

    def wanted(self, who: np.ndarray) -> np.ndarray:
        """Bool per element of `who` (address indices): is a finding for it wanted?"""
        return np.ones(who.shape, dtype=bool) if self.focus is None else self.focus[who]

    def evidence(self, transfer_indices: np.ndarray | list[int]) -> tuple[str, ...]:
        idx = np.unique(np.asarray(transfer_indices, dtype=np.int64))
        ordered = idx[np.argsort(self.flows.t[idx], kind="stable")][:MAX_EVIDENCE]
        seen: dict[str, None] = {}
        for i in ordered:
            tx = self.flows.tx[i]
            seen.setdefault(tx.decode() if isinstance(tx, bytes) else str(tx), None)
        return tuple(seen)

    def amount(self, value: float) -> str:
        """Token units for a sentence: 12,500.5."""
        return f"{value:,.2f}".rstrip("0").rstrip(".")

    def who(self, address: int) -> str:
        """An address (by index) for a sentence, EIP-55 checksummed as reports show it."""
        return checksum(str(self.flows.addresses[address]))


Rule = Callable[[Context], list[Hit]]


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


def scale(value: float, low: float, high: float, floor: float = 50.0, cap: float = 95.0) -> float:
    """Map value in [low, high] onto [floor, cap] linearly, clipped."""
    if high <= low:
        return cap
    share = min(max((value - low) / (high - low), 0.0), 1.0)
    return floor + share * (cap - floor)


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
