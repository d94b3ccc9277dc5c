"""Evaluating a token's flows: every rule, the patterns, the IsolationForest, fused risk.

Pure computation shared by full runs (monitor.scoring.service) and incremental ones
(monitor.scoring.incremental): the rule tables, the scored state a long-lived process
keeps, and how findings become reasons. Patterns (monitor.scoring.patterns) give each
member a reason of the pattern's rule id; the strongest finding per rule is the
address's reason for that rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.ranker.model import Learned
from monitor.scoring import anomaly, features, population
from monitor.scoring.config import RulesConfig
from monitor.scoring.context import Context, Hit, Rule
from monitor.scoring.flows import Flows
from monitor.scoring.patterns import Pattern, member_hits
from monitor.scoring.risk import Reason, fuse
from monitor.scoring.rules import (
    chain_hopping,
    cycle,
    dormant_reactivation,
    fan_in,
    fan_out,
    frozen_address_activity,
    gather_scatter,
    mint_then_dispersal,
    new_address_large_value,
    peel_chain,
    rapid_pass_through,
    scatter_gather,
    split_transfers,
    structuring,
    velocity_burst,
    watchlist_exposure,
)
from monitor.watchlist.service import Listing

# Rules that judge addresses one by one.
ADDRESS_RULES: dict[str, Rule[Hit]] = {
    "velocity_burst": velocity_burst.detect,
    "new_address_large_value": new_address_large_value.detect,
    "frozen_address_activity": frozen_address_activity.detect,
    "watchlist_exposure": watchlist_exposure.detect,
    "non_kyc_recipient": watchlist_exposure.detect_non_kyc,
}
# Graph typologies: each finding is a pattern with members and roles.
PATTERN_RULES: dict[str, Rule[Pattern]] = {
    "structuring": structuring.detect,
    "split_transfers": split_transfers.detect,
    "fan_out": fan_out.detect,
    "fan_in": fan_in.detect,
    "scatter_gather": scatter_gather.detect,
    "gather_scatter": gather_scatter.detect,
    "peel_chain": peel_chain.detect,
    "cycle": cycle.detect,
    "rapid_pass_through": rapid_pass_through.detect,
    "mint_then_dispersal": mint_then_dispersal.detect,
    "dormant_reactivation": dormant_reactivation.detect,
    "chain_hopping": chain_hopping.detect,
}
# With `anomaly` (the IsolationForest), every rule id: config.RULE_IDS, by test.
# Rules whose findings cross hubs (taint propagated over the whole graph): an incremental
# run evaluates them on the whole token; the others on the touched neighbourhood.
GLOBAL_RULES = ("watchlist_exposure", "non_kyc_recipient")
LOCAL_RULES = tuple(rule for rule in ADDRESS_RULES if rule not in GLOBAL_RULES)

Reasons = dict[int, dict[str, Reason]]  # address -> rule -> its strongest finding
Patterns = dict[str, Pattern]  # key -> pattern


@dataclass
class Scored:
    """The in-memory result of scoring one token (before persistence), which a long-lived
    process keeps to re-score incrementally (monitor.scoring.incremental)."""

    flows: Flows
    risk: dict[int, int]
    reasons: dict[int, list[Reason]]  # fused: ordered by weighted score
    anomaly_scores: np.ndarray
    features: features.Features
    model: dict[str, Any]
    raw: Reasons  # per rule, before fusion
    stats: population.Yardsticks  # what the rules measured against
    fitted: anomaly.Fitted | None
    patterns: Patterns = field(default_factory=dict)
    # The ranker in force and the labels it read (monitor.scoring.learned), if any.
    learned: Learned | None = None
    # key -> (pattern, signature) as monitor.scoring.pattern_store.sync last wrote them.
    signed: dict[str, tuple[Pattern, str]] = field(default_factory=dict, compare=False,
                                                   repr=False)
    # What that sync left stored: the largest `last_run_id` of the token's patterns, and
    # key -> id of the active ones (None before the first sync).
    synced: tuple[int | None, dict[str, int]] | None = field(default=None, compare=False,
                                                            repr=False)

    # Keys of the patterns put or dropped since the last pattern sync (None: not tracked,
    # so every pattern is looked at): an incremental run's few.
    changed: set[str] | None = field(default=None, compare=False, repr=False)
    # Address -> keys of the held patterns it anchors or is a member of (None until first
    # asked), kept up by put_pattern and drop_pattern.
    _holding: dict[int, set[str]] | None = field(default=None, compare=False, repr=False)

    def unsynced(self) -> list[str]:
        """Keys of the patterns that are not the objects the last pattern sync stored (an
        incremental run replaces only the patterns it found again): a block's few."""
        keys = (self.patterns if self.changed is None
                else sorted(k for k in self.changed if k in self.patterns))
        return [key for key in keys
                if (known := self.signed.get(key)) is None
                or known[0] is not self.patterns[key]]

    def holding(self, addresses: Iterable[int]) -> set[str]:
        """Keys of the held patterns anchored at, or with a member among, `addresses`."""
        if self._holding is None:
            self._holding = {}
            for key, pattern in self.patterns.items():
                self._index(key, pattern, add=True)
        found: set[str] = set()
        for address in addresses:
            found.update(self._holding.get(address, ()))
        return found

    def put_pattern(self, pattern: Pattern) -> None:
        if pattern.key in self.patterns:
            self.drop_pattern(pattern.key)
        self.patterns[pattern.key] = pattern
        self._index(pattern.key, pattern, add=True)
        if self.changed is not None:
            self.changed.add(pattern.key)

    def drop_pattern(self, key: str) -> Pattern:
        pattern = self.patterns.pop(key)
        self._index(key, pattern, add=False)
        if self.changed is not None:
            self.changed.add(key)
        return pattern

    def _index(self, key: str, pattern: Pattern, add: bool) -> None:
        if self._holding is None:
            return
        for address in {pattern.anchor, *pattern.members}:
            if add:
                self._holding.setdefault(address, set()).add(key)
            else:
                keys = self._holding[address]
                keys.discard(key)
                if not keys:
                    del self._holding[address]
    # What rules keep between the runs of a long-lived process, so that a block does not
    # cost the token's history (watchlist_exposure's pair sums); `Context.shared["kept"]`.
    kept: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # The addresses holding a reason of GLOBAL_RULES (None until first asked), kept up by
    # set_reasons: an incremental run checks them every block without reading every
    # address's reasons.
    _exposed: set[int] | None = field(default=None, compare=False, repr=False)

    def exposed(self) -> set[int]:
        """The addresses holding a watchlist reason (a rule of GLOBAL_RULES)."""
        if self._exposed is None:
            self._exposed = {a for a, r in self.raw.items()
                             if any(rule in r for rule in GLOBAL_RULES)}
        return self._exposed

    def set_reasons(self, address: int, reasons: dict[str, Reason],
                    config: RulesConfig) -> None:
        if self._exposed is not None:
            if any(rule in reasons for rule in GLOBAL_RULES):
                self._exposed.add(address)
            else:
                self._exposed.discard(address)
        if reasons:
            self.raw[address] = reasons
            self.risk[address], self.reasons[address] = fuse(list(reasons.values()),
                                                             config.weights)
        else:
            for held in (self.raw, self.risk, self.reasons):
                held.pop(address, None)


def listing_index(flows: Flows, listings: dict[str, list[Listing]] | None,
                  ) -> dict[int, list[Listing]]:
    """Listed addresses (lower-case) -> entries, keyed by the flows' address index."""
    if not listings:
        return {}
    index = flows.numbering()  # kept with the flows: not rebuilt for every block
    return {index[a]: entries for a, entries in listings.items() if a in index}


def contexts(flows: Flows, feats: features.Features, config: RulesConfig,
             stats: population.Yardsticks, listings: dict[int, list[Listing]],
             focus: np.ndarray | None = None,
             sides: tuple[np.ndarray, np.ndarray] | None = None,
             kept: dict[str, Any] | None = None) -> dict[str, Context[Any]]:
    """One context per rule, sharing what one rule computes for another. `sides` are the
    service wallets and deposit addresses of the whole token (population.sides), for
    rules running on a neighbourhood's transfers; `kept`, what rules keep between runs
    (Scored.kept), for rules running on the whole token."""
    shared: dict[str, Any] = {} if sides is None else {"sides": sides}
    if kept is not None:
        shared["kept"] = kept
    return {rule: Context(flows, feats, getattr(config.rules, rule), stats, listings, focus,
                          config, shared)
            for rule in (*PATTERN_RULES, *ADDRESS_RULES)}


def address_reasons(ctxs: dict[str, Context[Any]], rules: Iterable[str]) -> Reasons:
    found: Reasons = {}
    for rule_id in rules:
        for hit in ADDRESS_RULES[rule_id](ctxs[rule_id]):
            add(found, rule_id, hit)
    return found


def find_patterns(ctxs: dict[str, Context[Any]]) -> Patterns:
    found: Patterns = {}
    for rule_id, rule in PATTERN_RULES.items():
        for pattern in rule(ctxs[rule_id]):
            held = found.get(pattern.key)
            if held is None or held.score < pattern.score:
                found[pattern.key] = pattern
    return found


def pattern_reasons(patterns: Iterable[Pattern], config: RulesConfig,
                    only: set[int] | None = None) -> Reasons:
    """Each member's reason per rule: its strongest pattern of that typology."""
    found: Reasons = {}
    weights = config.patterns.role_weights
    for pattern in patterns:
        for hit in member_hits(pattern, weights):
            if only is None or hit.address in only:
                add(found, pattern.typology, hit)
    return found


def findings(flows: Flows, feats: features.Features, config: RulesConfig,
             stats: population.Yardsticks, listings: dict[int, list[Listing]],
             rules: Iterable[str] = tuple(ADDRESS_RULES), kept: dict[str, Any] | None = None,
             ) -> tuple[Reasons, Patterns]:
    """Every rule's reasons (the anomaly model's aside) and the patterns, judged by the
    given yardsticks: what a full evaluation finds, and what an incremental run must
    equal. `kept`: filled with what rules keep for later runs (Scored.kept)."""
    ctxs = contexts(flows, feats, config, stats, listings, kept=kept)
    patterns = find_patterns(ctxs)
    raw = address_reasons(ctxs, rules)
    merge(raw, pattern_reasons(patterns.values(), config))
    return raw, patterns


def anomaly_reason(score: float, text: str) -> Reason:
    return Reason("anomaly", round(100 * float(score)), text, [])


def evaluate(
    flows: Flows, config: RulesConfig, listings: dict[str, list[Listing]] | None = None,
    permissioned: bool = False,
) -> Scored:
    """Run every rule and the anomaly model on a token's flows (pure computation).

    `listings` maps listed addresses (lower-case) to their watchlist entries.
    """
    feats = compute_features(flows, config)
    stats = population.measure(flows, feats, config, permissioned)
    kept: dict[str, Any] = {}
    raw, patterns = findings(flows, feats, config, stats, listing_index(flows, listings),
                             kept=kept)
    # Rows in address order, not index order: an appended-to cache numbers new addresses
    # last, and the forest's subsampling must not depend on that.
    rows = 1 + np.argsort(flows.addresses[1:].astype(str), kind="stable")
    result = anomaly.fit_score(feats.names, feats.matrix, rows, config.rules.anomaly)
    for address, text in result.explanations.items():
        raw.setdefault(address, {})["anomaly"] = anomaly_reason(result.scores[address], text)
    scored = Scored(flows, {}, {}, result.scores, feats, result.model, {}, stats,
                    result.fitted, patterns, kept=kept)
    for address, reasons in raw.items():
        scored.set_reasons(address, reasons, config)
    return scored


def compute_features(flows: Flows, config: RulesConfig) -> features.Features:
    return features.compute(flows, feature_thresholds(config), dict(config.feature_windows))


def feature_thresholds(config: RulesConfig) -> dict[str, float]:
    structuring = config.rules.structuring
    return {"reporting_threshold": float(structuring.reporting_threshold),
            "band": float(structuring.band), "round_unit": float(config.round_unit)}


def merge(into: Reasons, more: Reasons) -> None:
    """Add `more`'s findings, keeping the strongest per (address, rule)."""
    for address, reasons in more.items():
        held = into.setdefault(address, {})
        for rule, reason in reasons.items():
            if rule not in held or _stronger(reason, held[rule]):
                held[rule] = reason


def add(found: Reasons, rule_id: str, hit: Hit) -> None:
    if hit.address == 0:
        return
    reasons = found.setdefault(hit.address, {})
    reason = Reason(rule_id, int(round(min(max(hit.score, 0), 100))), hit.detail,
                    list(hit.evidence), hit.pattern, hit.role, hit.list_name, hit.category,
                    hit.listed)
    if rule_id not in reasons or _stronger(reason, reasons[rule_id]):
        reasons[rule_id] = reason


def _stronger(new: Reason, old: Reason) -> bool:
    """Higher score wins; ties go to the earliest pattern key, then sentence, so the
    choice does not depend on the order findings arrive in (full or incremental)."""
    return (new.score, old.pattern or "", old.detail) > (old.score, new.pattern or "",
                                                         new.detail)
