"""What a rule is given and what it returns: the `Context`, a `Hit`, and the `Rule` protocol.

A rule (monitor.scoring.rules, one module per rule id) is a pure function of a context:
the token's flows and features, its own parameters (the rule's typed model in
monitor.scoring.config, so `Context[Cycle]` for cycle), the population's yardsticks and
the listed addresses. An address rule returns hits (an address, a score 0-100, a sentence
an investigator can check, the transactions that support it); a graph typology returns
patterns (monitor.scoring.patterns), whose members become hits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from monitor.addresses import checksum
from monitor.amounts import units
from monitor.scoring.config import RulesConfig
from monitor.scoring.features import Features
from monitor.scoring.flows import Flows
from monitor.scoring.population import Yardsticks, sides
from monitor.watchlist.service import Listing

MAX_EVIDENCE = 25

Params = TypeVar("Params")
Finding = TypeVar("Finding")


@dataclass(frozen=True)
class Hit:
    address: int  # index into flows.addresses
    score: float  # 0-100
    detail: str
    evidence: tuple[str, ...]  # tx hashes, earliest first
    pattern: str | None = None  # key of the pattern this is a member's view of
    role: str | None = None
    # A watchlist finding: the list and category it comes from, and the listed address
    # (checksummed) it leads to.
    list_name: str | None = None
    category: str | None = None
    listed: str | None = None


@dataclass
class Context(Generic[Params]):
    flows: Flows
    features: Features
    params: Params  # the rule's parameter model (monitor.scoring.config)
    # The token's population yardsticks, measured once per full run, so that an
    # incremental run judges by the same ones.
    stats: Yardsticks
    # Address index -> its watchlist entries (only listed addresses appear).
    listings: dict[int, list[Listing]] = field(default_factory=dict)
    # Bool per address: the addresses whose findings are wanted (an incremental run's
    # neighbourhood); None for all. Rules that loop over addresses skip the others.
    focus: np.ndarray | None = None
    # The whole rules file, for rules that build on another's findings.
    config: RulesConfig = field(default_factory=RulesConfig)
    # Results one rule computes and another reuses within one evaluation (e.g. the rare
    # split pairs that fan_in counts as mule feeders).
    shared: dict[str, Any] = field(default_factory=dict)

    def wanted(self, who: np.ndarray) -> np.ndarray:
        """Bool per element of `who` (address indices): is a finding for it wanted?"""
        return np.ones(who.shape, dtype=bool) if self.focus is None else self.focus[who]

    def evidence(self, transfer_indices: np.ndarray | Sequence[int | np.integer[Any]],
                 ) -> tuple[str, ...]:
        idx = np.unique(np.asarray(transfer_indices, dtype=np.int64))
        ordered = idx[np.argsort(self.flows.t[idx], kind="stable")][:MAX_EVIDENCE]
        return tuple(h for h in dict.fromkeys(self.flows.tx_hashes(ordered)) if h)

    def amount(self, value: float) -> str:
        """Token units for a sentence: 12,500.5."""
        return units(value)

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


class Rule(Protocol[Finding]):
    """A rule: its findings in a context. `Rule[Hit]` judges addresses one by one;
    `Rule[Pattern]` is a graph typology."""

    def __call__(self, ctx: Context[Any], /) -> list[Finding]: ...
