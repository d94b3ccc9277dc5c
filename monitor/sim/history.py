"""A labelled transfer history of a permissioned RWA token: what the simulator produces."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SimTransfer:
    timestamp: int  # unix seconds
    sender: str  # ZERO for a mint
    receiver: str  # ZERO for a burn
    amount: int  # base units, exact
    kind: str  # mint | burn | transfer


@dataclass(frozen=True, slots=True)
class SimFreeze:
    timestamp: int
    address: str


@dataclass(frozen=True)
class Case:
    """One injected laundering case: its rule id and the addresses an investigator must flag."""

    rule: str
    actors: frozenset[str]
    description: str
    # address -> its part: source, feeder, mule, intermediary, collector, recipient, hop,
    # cycle_member or hub (empty where a generator does not say).
    roles: dict[str, str] = field(default_factory=dict, hash=False)  # a dict: not hashable
    # Drawn from the small, slow or weak end of the typology's real-world range: still
    # laundering, and what a detector tuned on typical cases misses first.
    near_miss: bool = False


@dataclass
class History:
    decimals: int
    start: int
    issuer: str
    reporting_threshold: int  # base units
    transfers: list[SimTransfer] = field(default_factory=list)
    freezes: list[SimFreeze] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    benign_hubs: frozenset[str] = frozenset()
    investors: frozenset[str] = frozenset()
    # Benign addresses shaped like a typology (an exchange sweep, a distribution run, a
    # market maker, ...): address -> kind. None is laundering.
    lookalikes: dict[str, str] = field(default_factory=dict)

    def labels(self) -> dict[str, set[str]]:
        """address -> the rule ids it is an actor of."""
        out: dict[str, set[str]] = defaultdict(set)
        for case in self.cases:
            for address in case.actors:
                out[address].add(case.rule)
        return dict(out)

    def actors(self, rule: str) -> set[str]:
        return {a for case in self.cases if case.rule == rule for a in case.actors}
