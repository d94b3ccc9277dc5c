"""Rules backtests: what another rules file would do to the alerts, judged on our own
stored history, before anyone deploys it.

Each token's history is scored in memory twice, with the rules in force and with the
candidate rules (the same evaluation a score run does), and each finding that would make
an alert (alerts.raising.raises: the thresholds raise_from_run applies, with the
suppressions in force left out) is a key (token, address, rule). Nothing is written: on
Postgres the transaction is read-only.

Two comparisons per rule:
- against the stored alerts (every alert, active or closed, by key): what the alert list
  would gain and lose if the candidate rules had always been in force; it mixes the rules
  change with what changed in the history since the alerts were raised;
- against the rules in force re-run on the same history: the rules change alone.

Of the removed keys, those whose stored alerts were closed as false positives and as
reported are counted: losing a reported alert is what a compliance officer must weigh
before approving a change. A key's decision is its strongest: reported, else
false_positive, else inconclusive.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import Alert, Token
from monitor.addresses import checksum
from monitor.alerts.raising import raises
from monitor.alerts.stats import state_of
from monitor.scoring.config import RulesConfig
from monitor.scoring.evaluate import Scored, evaluate
from monitor.scoring.learned import with_ranker
from monitor.scoring.service import load, ranked_by
from monitor.scoring.suppressions import MARK, Active
from monitor.watchlist.service import listed_addresses

Key = tuple[int, str, str]  # (token id, address, rule)
# Decisions by strength: a key with several alerts counts as its strongest.
DECISIONS = ("reported", "false_positive", "inconclusive")
BASELINES = {
    "stored": "alerts in the database, active or closed, per (token, address, rule)",
    "rerun": "the rules in force, evaluated now on the same stored history",
    "new": "the candidate rules, evaluated now on the same stored history",
    "vs_stored": "candidate against the stored alerts: the rules change and every change "
                 "of the history since those alerts were raised",
    "vs_rerun": "candidate against the rules in force re-run: the rules change alone",
}


@dataclass
class Comparison:
    """Candidate keys against a baseline's: added, removed, and the stored decisions of
    the removed ones."""

    added: int = 0
    removed: int = 0
    removed_false_positive: int = 0
    removed_reported: int = 0
    removed_inconclusive: int = 0

    def count(self, baseline: set[Key], candidate: set[Key], decided: dict[Key, str]) -> None:
        self.added += len(candidate - baseline)
        gone = baseline - candidate
        self.removed += len(gone)
        for key in gone:
            decision = decided.get(key)
            if decision in DECISIONS:
                name = f"removed_{decision}"
                setattr(self, name, getattr(self, name) + 1)


@dataclass
class RuleBacktest:
    rule: str
    stored: int = 0
    rerun: int = 0
    new: int = 0
    vs_stored: Comparison = field(default_factory=Comparison)
    vs_rerun: Comparison = field(default_factory=Comparison)


@dataclass
class Backtest:
    tokens: list[str]  # checksummed token contracts
    rules: list[RuleBacktest]
    total: RuleBacktest

    def as_json(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "baselines": BASELINES,
                "rules": [asdict(r) for r in self.rules], "total": asdict(self.total)}


def raised_keys(token_id: int, scored: Scored, config: RulesConfig,
                suppressed: Active | None = None) -> set[Key]:
    """The (token, address, rule) keys whose findings would make alerts under `config`:
    as raise_from_run sees them, with the suppressions in force (`suppressed`) left out of
    the risk and raising nothing."""
    keys: set[Key] = set()
    for index, risk in scored.risk.items():
        address = str(scored.flows.addresses[index])
        reasons = [r.as_dict() for r in scored.reasons[index]]
        if suppressed is not None:
            risk, reasons = suppressed.apply(address, risk, reasons)
        for reason in reasons:
            if MARK not in reason and raises(config, risk, reason["rule"], reason["score"]):
                keys.add((token_id, address, reason["rule"]))
    return keys


def stored_decisions(session: Session, token_ids: list[int]) -> dict[Key, str]:
    """Every stored alert's key and its strongest state (a decision, else open, retracted
    or no_outcome)."""
    decided: dict[Key, str] = {}
    rows = session.execute(select(Alert.token_id, Alert.address, Alert.rule, Alert.status,
                                  Alert.outcome).where(Alert.token_id.in_(token_ids)))
    for token_id, address, rule, status, outcome in rows:
        key, state = (token_id, address, rule), state_of(status, outcome)
        held = decided.get(key)
        if held is None or _rank(state) < _rank(held):
            decided[key] = state
    return decided


def _rank(state: str) -> int:
    return DECISIONS.index(state) if state in DECISIONS else len(DECISIONS)


def backtest(session: Session, tokens: list[Token], current: RulesConfig,
             candidate: RulesConfig) -> Backtest:
    """Compare `candidate` with `current` and the stored alerts on `tokens`' histories.
    Reads only; the caller's transaction is made read-only on Postgres."""
    if session.get_bind().dialect.name == "postgresql":
        # Enforced by the database, not by care: a backtest cannot write.
        session.execute(text("SET TRANSACTION READ ONLY"))
    listings = listed_addresses(session)
    now = datetime.now(UTC)
    decided = stored_decisions(session, [t.id for t in tokens])
    stored, rerun, new = set(decided), set[Key](), set[Key]()
    for token in tokens:
        flows = load(session, token, current)
        if not flows.n:
            continue
        # Bridge legs are read within chain_hopping's window: a candidate that changes it
        # reads them again.
        candidate_flows = (flows if candidate.rules.chain_hopping == current.rules.chain_hopping
                           else load(session, token, candidate))
        permissioned = token.standard == "erc3643"
        ranked = ranked_by(session, token)  # the ranker in force ranks under both files
        for config, keys, read in ((current, rerun, flows), (candidate, new, candidate_flows)):
            scored = with_ranker(evaluate(read, config, listings, permissioned), ranked, config)
            keys |= raised_keys(token.id, scored, config,
                                Active(session, token.id, config.weights, now))
    stored_by, rerun_by, new_by = _by_rule(stored), _by_rule(rerun), _by_rule(new)
    rows, total = [], RuleBacktest("all")
    for rule in sorted(stored_by.keys() | rerun_by.keys() | new_by.keys()):
        rows.append(RuleBacktest(rule))
        was, again, then = stored_by[rule], rerun_by[rule], new_by[rule]
        for row in (rows[-1], total):
            row.stored += len(was)
            row.rerun += len(again)
            row.new += len(then)
            row.vs_stored.count(was, then, decided)
            row.vs_rerun.count(again, then, decided)
    return Backtest([checksum(t.address) for t in tokens], rows, total)


def _by_rule(keys: set[Key]) -> defaultdict[str, set[Key]]:
    groups: defaultdict[str, set[Key]] = defaultdict(set)
    for key in keys:
        groups[key[2]].add(key)
    return groups
