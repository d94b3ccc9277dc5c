"""The trained ranker in a scoring run: its inputs assembled from the scored state, its
calibrated score fused into risk as the reason `learned_ranker`.

The score maps the ranker's probability p onto the risk scale so that its threshold t
(chosen for F1 in cross-validation) lands on flag_min_risk (divided by the rule's
weight): below t linearly from 0, above it linearly up to 100. An address the ranker
flags on its own is flagged, and any score adds to the other reasons as a rule's does.
Scores under `min_score` give no reason. The addresses the model was trained on get no
reason from it: their label is known, and a label never flags on its own.

The ranker also cuts the rules' false positives, as investigators taught it: an address
the rules flag but the ranker ranks well below its threshold (under `demote_below` of it)
gets a learned reason with a cap, which holds its risk just below flag_min_risk: it keeps
its findings, says why it is held, and raises no alert. Findings no model holds
(risk.UNCAPPED: a watchlist exposure, a transfer to a non-KYC address) flag as before.

The reason names how many reported (laundering-labelled) addresses the model ranked at
most as high out of fold, and the features that raise this address's probability most,
in words, with their values: "ranked like 14 reported addresses by model v3 (0.83, flags
from 0.41): 23 distinct senders; feeder in a fan-in (80)". Its evidence is the evidence
of the rule findings among those features and the transfers with counterparties
labelled laundering, when that is among them.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from monitor.ranker import features as ranker_features
from monitor.ranker.model import Learned, Ranker
from monitor.ranker.words import phrase
from monitor.scoring.config import ROLES, RulesConfig
from monitor.scoring.context import MAX_EVIDENCE
from monitor.scoring.evaluate import ADDRESS_RULES, PATTERN_RULES, Scored
from monitor.scoring.risk import Reason, combined, uncapped

RULE = "learned_ranker"


def inputs(scored: Scored) -> ranker_features.Inputs:
    """The ranker's own columns per address, the transfers between addresses and the
    pattern memberships, from a scored state (its learned reasons left out)."""
    flows, feats = scored.flows, scored.features
    n = flows.n_addresses
    columns: dict[str, np.ndarray] = {f"feature:{name}": feats.matrix[:, j].astype(float)
                                      for j, name in enumerate(feats.names)}
    rules = [f"rule:{rule}" for rule in (*PATTERN_RULES, *ADDRESS_RULES)]
    for name in rules:
        columns[name] = np.zeros(n)
    for address, reasons in scored.raw.items():
        for rule, reason in reasons.items():
            column = columns.get(f"rule:{rule}")
            if column is not None:
                column[address] = reason.score
    columns["rule_max"] = np.max(np.column_stack([columns[name] for name in rules]), axis=1)
    anomaly = np.full(n, np.nan)
    anomaly[:scored.anomaly_scores.size] = scored.anomaly_scores[:n]
    columns["anomaly"] = anomaly
    for role in ROLES:
        columns[f"role:{role}"] = np.zeros(n)
    columns["pattern_count"] = np.zeros(n)
    columns["pattern_size"] = np.zeros(n)
    pattern, member = [], []
    for number, found in enumerate(scored.patterns.values()):
        for address, role in found.members.items():
            pattern.append(number)
            member.append(address)
            held = columns[f"role:{role}"]
            held[address] = max(held[address], found.score)
            columns["pattern_count"][address] += 1
            columns["pattern_size"][address] = max(columns["pattern_size"][address],
                                                   len(found.members))
    real = (flows.src != 0) & (flows.dst != 0)
    patterns = np.asarray(pattern, dtype=np.int64)
    members = np.asarray(member, dtype=np.int64)
    return ranker_features.Inputs(columns, flows.src[real], flows.dst[real], flows.t[real],
                                  patterns, members, _networks(n, patterns, members))


def _networks(n: int, patterns: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Per address, the id of its network: addresses linked by sharing patterns share one;
    an address in no pattern is a network of its own."""
    size = n + (int(patterns.max()) + 1 if patterns.size else 0)
    links = coo_matrix((np.ones(patterns.size), (members, n + patterns)), shape=(size, size))
    _, component = connected_components(links, directed=False)
    return np.asarray(component[:n], dtype=np.int64)


def known_vector(scored: Scored, known: dict[str, float]) -> np.ndarray:
    """Per address index: +confidence laundering, -confidence legitimate, 0 unknown."""
    out = np.zeros(scored.flows.n_addresses)
    if known:
        for index, address in enumerate(scored.flows.addresses):
            value = known.get(str(address))
            if value is not None:
                out[index] = value
    out[0] = 0.0
    return out


def to_score(probability: np.ndarray, threshold: float, config: RulesConfig) -> np.ndarray:
    """The ranker's probability on the 0-100 scale whose threshold is what flags alone."""
    weight = config.weight(RULE)
    at = min(config.flag_min_risk / weight, 100.0) if weight > 0 else 100.0
    t = min(max(threshold, 1e-9), 1 - 1e-9)
    p = np.asarray(probability, dtype=float)
    return np.where(p < t, p / t * at, at + (100.0 - at) * (p - t) / (1 - t))


def with_ranker(scored: Scored, learned: Learned | None, config: RulesConfig) -> Scored:
    """`scored` (a fresh evaluation) ranked by `learned`, its reasons fused again."""
    scored.learned = learned
    apply(scored, config)
    return scored


def apply(scored: Scored, config: RulesConfig) -> np.ndarray:
    """Give the addresses of `scored` their `learned_ranker` reasons from `scored.learned`
    (or take them away without one), fusing risk again; the addresses whose reason changed."""
    learned = scored.learned
    n = scored.flows.n_addresses
    new: dict[int, Reason] = {}
    if learned is not None and config.weight(RULE) > 0:
        new = reasons(scored, learned, config)
    changed = []
    for address in set(new) | {a for a, r in scored.raw.items() if RULE in r}:
        held = scored.raw.get(address, {})
        if held.get(RULE) == new.get(address):
            continue
        reasons_now = {k: v for k, v in held.items() if k != RULE}
        if address in new:
            reasons_now[RULE] = new[address]
        scored.set_reasons(address, reasons_now, config)
        changed.append(address)
    out = np.asarray(sorted(changed), dtype=np.int64)
    return out[(out > 0) & (out < n)]


def reasons(scored: Scored, learned: Learned, config: RulesConfig) -> dict[int, Reason]:
    """address -> its learned_ranker reason, for the addresses scoring at least min_score."""
    ranker = learned.ranker
    params = config.rules.learned_ranker
    found = inputs(scored)
    held = ranker_features.graph(found)
    known = known_vector(scored, learned.known)
    rows = np.arange(1, scored.flows.n_addresses)
    x = ranker_features.matrix(found, held, known, ranker.features, rows)
    probability = ranker.probability(x)
    score = to_score(probability, ranker.threshold, config)
    trained = np.array([str(a) in ranker.training for a in scored.flows.addresses[rows]],
                       dtype=bool)
    held_down = _held_down(scored, config, probability < params.demote_below
                           * ranker.threshold, trained)
    keep = np.flatnonzero(((score >= params.min_score) & ~trained) | held_down)
    if keep.size == 0:
        return {}
    contributions = ranker.contributions(x[keep])
    roles = _role_typologies(scored, set(rows[keep].tolist()))
    cap = int(config.flag_min_risk) - 1
    out = {}
    for k, i in enumerate(keep):
        address = int(rows[i])
        down = bool(held_down[i])
        # what raises its probability most, or, held down, what lowers it most
        order = np.argsort(contributions[k] if down else -contributions[k],
                           kind="stable")[:params.explain_features]
        top = [j for j in order if (contributions[k, j] < 0 if down
                                    else contributions[k, j] > 0)] or list(order)
        words = [phrase(ranker.features[j], float(x[i, j]),
                        roles.get(address, {}).get(ranker.features[j])) for j in top]
        if down:
            detail = (f"ranked like the legitimate addresses by model {_version(ranker)} "
                      f"({probability[i]:.2f}, flags from {ranker.threshold:.2f}): the rule "
                      f"findings are held below the flag, at risk {cap}: {'; '.join(words)}")
        else:
            detail = (f"ranked like {ranker.like(float(probability[i]))} reported addresses "
                      f"by model {_version(ranker)} ({probability[i]:.2f}, flags from "
                      f"{ranker.threshold:.2f}): {'; '.join(words)}")
        out[address] = Reason(RULE, int(round(min(max(float(score[i]), 0.0), 100.0))), detail,
                              [] if down else _evidence(
                                  scored, address, [ranker.features[j] for j in top], known),
                              cap=cap if down else None)
    return out


def _held_down(scored: Scored, config: RulesConfig, low: np.ndarray,
               trained: np.ndarray) -> np.ndarray:
    """Per row (address - 1): flagged by the rules' findings, by none that a model never
    holds (risk.UNCAPPED), and ranked well below the ranker's threshold (`low`)."""
    out = np.zeros(low.size, dtype=bool)
    for address, held in scored.raw.items():
        i = address - 1
        if not 0 <= i < low.size or not low[i] or trained[i]:
            continue
        findings = [reason for rule, reason in held.items() if rule != RULE]
        out[i] = (combined(findings, config.weights) >= config.flag_min_risk
                  > uncapped(findings, config.weights))
    return out


def _version(ranker: Ranker) -> str:
    return f"v{ranker.version}" if ranker.version is not None else "(unsaved)"


def _role_typologies(scored: Scored, wanted: set[int]) -> dict[int, dict[str, str]]:
    """address -> role column -> the typology of its strongest pattern in that role."""
    best: dict[int, dict[str, tuple[float, str]]] = {}
    for pattern in scored.patterns.values():
        for address, role in pattern.members.items():
            if address in wanted:
                held = best.setdefault(address, {})
                column = f"role:{role}"
                if column not in held or held[column][0] < pattern.score:
                    held[column] = (pattern.score, pattern.typology)
    return {a: {column: typology for column, (_, typology) in held.items()}
            for a, held in best.items()}


def _evidence(scored: Scored, address: int, top: list[str], known: np.ndarray) -> list[str]:
    """The evidence of the rule findings named among the top features, then the transfers
    with laundering-labelled counterparties when a label feature is named; capped."""
    found: dict[str, None] = {}
    held = scored.raw.get(address, {})
    roles = {name.removeprefix("role:") for name in top if name.startswith("role:")}
    for name in top:
        if name.startswith("rule:") and name[5:] in held:
            found.update(dict.fromkeys(held[name[5:]].evidence))
    if roles:
        for reason in held.values():
            if reason.role in roles:
                found.update(dict.fromkeys(reason.evidence))
    if any(name.startswith("labelled_laundering") for name in top):
        flows = scored.flows
        rows = np.union1d(flows.sent(address), flows.received(address))
        other = np.where(flows.src[rows] == address, flows.dst[rows], flows.src[rows])
        found.update(dict.fromkeys(h for h in flows.tx_hashes(rows[known[other] > 0]
                                                              [:MAX_EVIDENCE]) if h))
    return list(found)[:MAX_EVIDENCE]
