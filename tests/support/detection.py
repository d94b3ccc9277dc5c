"""How a flagged set measures against labels, and the baselines it is compared with.

Shared by bench/detection.py and tests/scoring/test_amlsim_pipeline.py. Addresses are
lower-case hex; transfers are (sender, receiver, amount in token units), mints and burns
included (the zero address is left out of every measure here).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

from monitor.addresses import ZERO
from monitor.sim.history import History

Flow = tuple[str, str, float]


@dataclass(frozen=True)
class Finding:
    """One address's current score, as `amlmon report flagged` shows it."""

    risk: int
    anomaly: float | None
    rules: frozenset[str]


@dataclass(frozen=True)
class Quality:
    """Address-level quality of a flagged set against the labelled addresses, as counts so
    that runs can be pooled (sum them)."""

    flagged: int
    true: int
    labels: int

    @property
    def precision(self) -> float:
        return self.true / self.flagged if self.flagged else 0.0

    @property
    def recall(self) -> float:
        return self.true / self.labels if self.labels else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.true / (self.flagged + self.labels) if self.flagged + self.labels else 0.0

    def __add__(self, other: Quality) -> Quality:
        return Quality(self.flagged + other.flagged, self.true + other.true,
                       self.labels + other.labels)


@dataclass(frozen=True)
class Share:
    """`hits` of `total`: a recall, a precision or a flagged share, kept as counts so that
    seeds can be pooled."""

    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 0.0

    def __add__(self, other: Share) -> Share:
        return Share(self.hits + other.hits, self.total + other.total)


def findings_from_report(report: dict[str, Any]) -> dict[str, Finding]:
    """The items of `amlmon report flagged --format json` by lower-case address."""
    return {item["address"].lower(): Finding(int(item["risk_score"]), item["anomaly_score"],
                                             frozenset(r["rule"] for r in item["reasons"]))
            for item in report["items"]}


def quality(flagged: Collection[str], labels: Collection[str]) -> Quality:
    return Quality(len(flagged), len(set(flagged) & set(labels)), len(labels))


def active_addresses(transfers: Iterable[Flow]) -> set[str]:
    """Every address that sent or received a transfer (a mint counts)."""
    return {a for t in transfers for a in t[:2]} - {ZERO}


def ranked(findings: dict[str, Finding], active: Iterable[str]) -> list[str]:
    """Every active address, highest risk first; ties by anomaly score, then address."""
    def key(address: str) -> tuple[int, float, str]:
        found = findings.get(address)
        if found is None:
            return (0, 0.0, address)
        return (-found.risk, -(found.anomaly or 0.0), address)

    return sorted(set(active) | set(findings), key=key)


def precision_at(ranking: Sequence[str], labels: Collection[str], k: int) -> Share:
    """Labelled addresses among the first `k` of `ranking`."""
    return Share(len(set(ranking[:k]) & set(labels)), k)


def top(scores: dict[str, float], budget: int) -> set[str]:
    """The `budget` highest-scored addresses; ties by address, so the set is deterministic."""
    return set(sorted(scores, key=lambda a: (-scores[a], a))[:budget])


def _between_accounts(transfers: Iterable[Flow]) -> list[Flow]:
    return [t for t in transfers if ZERO not in t[:2]]


def degree_scores(transfers: Iterable[Flow]) -> dict[str, float]:
    """Transfers each address sends or receives: its degree in the transfer multigraph, the
    degree of the conformance README's reference point (F1 0.377 on AMLSim)."""
    counts: Counter[str] = Counter()
    for sender, receiver, _ in _between_accounts(transfers):
        counts[sender] += 1
        counts[receiver] += 1
    return {a: float(n) for a, n in counts.items()}


def counterparty_scores(transfers: Iterable[Flow]) -> dict[str, float]:
    """Distinct counterparties of each address."""
    seen: dict[str, set[str]] = defaultdict(set)
    for sender, receiver, _ in _between_accounts(transfers):
        seen[sender].add(receiver)
        seen[receiver].add(sender)
    return {a: float(len(c)) for a, c in seen.items()}


def iforest_scores(transfers: Iterable[Flow], random_state: int = 0) -> dict[str, float]:
    """A plain IsolationForest on log1p of per-address in/out counts and sums (the README's
    reference point, F1 0.23 on AMLSim); higher is more anomalous."""
    rows = _between_accounts(transfers)
    index: dict[str, int] = {}
    for sender, receiver, _ in rows:
        index.setdefault(sender, len(index))
        index.setdefault(receiver, len(index))
    if len(index) < 2:
        return {a: 0.0 for a in index}
    matrix = np.zeros((len(index), 4))
    for sender, receiver, amount in rows:
        matrix[index[receiver], 0] += 1
        matrix[index[sender], 1] += 1
        matrix[index[receiver], 2] += amount
        matrix[index[sender], 3] += amount
    matrix = np.log1p(matrix)
    forest = IsolationForest(random_state=random_state).fit(matrix)
    return dict(zip(index, (-forest.score_samples(matrix)).tolist(), strict=True))


BASELINES = {"degree": degree_scores, "counterparties": counterparty_scores,
             "isolation forest": iforest_scores}


def baselines(transfers: Sequence[Flow], budget: int, labels: Collection[str],
              uncounted: Collection[str] = ()) -> dict[str, Quality]:
    """Each baseline's quality when it may flag `budget` addresses; `uncounted` addresses
    (counted neither way) are left out of its ranking."""
    skip = set(uncounted)

    def counted(scores: dict[str, float]) -> dict[str, float]:
        return {a: s for a, s in scores.items() if a not in skip}

    return {name: quality(top(counted(scores(transfers)), budget), labels)
            for name, scores in BASELINES.items()}


def typology_recall(history: History, flagged: Collection[str],
                    near_miss: bool | None = None) -> dict[str, Share]:
    """rule -> actors of its cases that are flagged; `near_miss` picks those cases only (True),
    the others only (False) or all (None)."""
    actors: dict[str, set[str]] = defaultdict(set)
    for case in history.cases:
        if near_miss is None or bool(getattr(case, "near_miss", False)) == near_miss:
            actors[case.rule] |= case.actors
    hit = set(flagged)
    return {rule: Share(len(who & hit), len(who)) for rule, who in actors.items()}


def role_recall(history: History, flagged: Collection[str]) -> dict[tuple[str, str], Share]:
    """(rule, role) -> its members that are flagged, for cases that name roles."""
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    for case in history.cases:
        for address, role in (getattr(case, "roles", None) or {}).items():
            members[(case.rule, role)].add(address)
    hit = set(flagged)
    return {key: Share(len(who & hit), len(who)) for key, who in sorted(members.items())}


def typology_precision(history: History, findings: dict[str, Finding],
                       flagged: Collection[str]) -> dict[str, Share]:
    """rule -> of the flagged addresses with a reason of that rule, the actors of its cases
    (found / total is the precision). Defined only for rules that gave a flagged reason."""
    out = {}
    hit = set(flagged)
    for rule in {case.rule for case in history.cases}:
        named = {a for a in hit if rule in findings.get(a, Finding(0, None, frozenset())).rules}
        if named:
            out[rule] = Share(len(named & history.actors(rule)), len(named))
    return out


def lookalikes(history: History) -> dict[str, str]:
    """Benign addresses that look like a typology -> their kind: the simulator's benign hubs
    (issuer, exchanges) and, when the history has them, its look-alikes."""
    kinds = {hub: "hub" for hub in history.benign_hubs}
    kinds.update(getattr(history, "lookalikes", None) or {})
    return kinds


def lookalike_flagged(history: History, flagged: Collection[str]) -> dict[str, Share]:
    """kind -> benign look-alikes of that kind that are flagged."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    for address, kind in lookalikes(history).items():
        by_kind[kind].add(address)
    hit = set(flagged)
    return {kind: Share(len(who & hit), len(who)) for kind, who in sorted(by_kind.items())}
