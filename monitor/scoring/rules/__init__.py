"""The typology rules: one module per rule id, each a pure function.

A rule reads the token's flows and features and returns hits (an address, a score 0-100,
a sentence an investigator can check, and the transactions that support it) or, for a
graph typology, patterns: the whole network with its members and their roles
(monitor.scoring.patterns). Parameters come from config/rules.yaml (typed in
monitor.scoring.config); what "large", "busy", "long" or "rare" means is measured on the
token's own population (monitor.scoring.population) and said in the sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from monitor.addresses import checksum
from monitor.scoring.features import Features
from monitor.scoring.flows import Flows
from monitor.scoring.population import Yardsticks, sides

if TYPE_CHECKING:
    from monitor.scoring.patterns import Pattern

MAX_EVIDENCE = 25


@dataclass(frozen=True)
class Hit:
    address: int  # index into flows.addresses
    score: float  # 0-100
    detail: str
    evidence: tuple[str, ...]  # tx hashes, earliest first
    pattern: str | None = None  # key of the pattern this is a member's view of
    role: str | None = None


@dataclass
class Context:
    flows: Flows
    features: Features
    params: Any  # the rule's parameter model (monitor.scoring.config)
    # The token's population yardsticks, measured once per full run, so that an
    # incremental run judges by the same ones.
    stats: Yardsticks
    # Address index -> its watchlist entries (only listed addresses appear).
    listings: dict[int, list[Any]] = field(default_factory=dict)
    # Bool per address: the addresses whose findings are wanted (an incremental run's
    # neighbourhood); None for all. Rules that loop over addresses skip the others.
    focus: np.ndarray | None = None
    config: Any = None  # the whole RulesConfig, for rules that build on another's findings
    # Results one rule computes and another reuses within one evaluation (e.g. the rare
    # split pairs that fan_in counts as mule feeders).
    shared: dict[str, Any] = field(default_factory=dict)

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

    def degree(self) -> np.ndarray:
        """Distinct counterparties per address (in + out)."""
        return (self.features.column("in_counterparties")
                + self.features.column("out_counterparties"))

    def service(self) -> np.ndarray:
        """Bool per address: a service wallet (exchange, custodian, market maker, paying
        agent) by the token's yardstick; their customers' business is not theirs."""
        return self._sides()[0]

    def deposit(self) -> np.ndarray:
        """Bool per address: a deposit address, paying nothing but service wallets."""
        return self._sides()[1]

    def _sides(self) -> tuple[np.ndarray, np.ndarray]:
        held = self.shared.get("sides")
        if held is None:  # contexts() measures them on the whole token
            held = self.shared["sides"] = sides(self.stats, self.flows, self.features)
        return held


Rule = Callable[[Context], list[Hit]]
PatternRule = Callable[[Context], list["Pattern"]]


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


def recurring_share(ctx: Context, source: int, recipients: np.ndarray, start: int,
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
