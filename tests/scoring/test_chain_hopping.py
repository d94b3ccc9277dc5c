"""chain_hopping and bridge edges, on a bridged token written straight into Postgres (one
Token per chain, its transfers, the linked bridge transfers) and scored by the real
`service.run`: the cases with every member and role, both chains and both tx hashes in
the reasons; the benign look-alikes and the near misses just outside each bound; a peel
chain that crosses a bridge; a link the relayer makes late, and one a reorg undoes, in a
long-lived process's incremental runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Pattern, PatternMember, ScoreRun
from monitor import db
from monitor.reports.patterns import pattern_report
from monitor.scoring import evaluate, evidence, queue, service
from monitor.scoring.config import DEFAULTS
from monitor.scoring.scores import current_scores
from monitor.tokens import add_token
from support.bridged import Bridged, token
from support.flows import AT, DAY, HOUR, background, established
from support.flows import address as named

A, B, C = 1, 2, 3  # chain ids
P = DEFAULTS.rules.chain_hopping
MIN_RISK = DEFAULTS.flag_min_risk
Sessions = Callable[[str], sessionmaker[Session]]


def _world(chains: tuple[int, ...] = (A, B)) -> Bridged:
    """A benign background on each chain (support.flows.background), so that each token's
    yardsticks are a real population's."""
    return Bridged({chain: background(seed=chain) for chain in chains})


def _score(url: str, make_sessions: Sessions, world: Bridged,
           cache: service.ScoringCache | None = None) -> sessionmaker[Session]:
    sessions = make_sessions(url)
    if not world.tokens:
        with db.transaction(sessions) as session:
            world.write(session)
    for token_id in world.tokens.values():
        with db.transaction(sessions) as session:
            service.run(session, token(session, token_id), DEFAULTS, cache=cache)
    return sessions


def _reasons(sessions: sessionmaker[Session], chain: int, world: Bridged, name: str,
             rule: str = "chain_hopping") -> list[dict[str, Any]]:
    with sessions() as session:
        row = current_scores(session, world.tokens[chain]).get(named(name))
    return [r for r in (row.reasons if row else []) if r["rule"] == rule]


def _risk(sessions: sessionmaker[Session], chain: int, world: Bridged, name: str) -> int:
    with sessions() as session:
        row = current_scores(session, world.tokens[chain]).get(named(name))
    return row.risk_score if row else 0


def _patterns(sessions: sessionmaker[Session], chain: int,
              world: Bridged) -> dict[str, dict[str, str]]:
    """Active chain_hopping patterns of the chain's token: key -> {address: role}."""
    with sessions() as session:
        rows = session.scalars(select(Pattern).where(
            Pattern.token_id == world.tokens[chain], Pattern.typology == "chain_hopping",
            Pattern.status == "active")).all()
        return {p.key: dict(session.execute(
            select(PatternMember.address, PatternMember.role)
            .where(PatternMember.pattern_id == p.id)).all()) for p in rows}


def _hashes(world: Bridged, k: int) -> tuple[str, str]:
    transfer = world.transfer(k)
    return str(transfer.source_tx_hash), str(transfer.destination_tx_hash)


def test_funds_bridged_and_bridged_again_are_found_on_every_chain_with_every_role(
        any_db_url: str, make_sessions: Sessions) -> None:
    """On both backends (the demo's daemon runs on the embedded SQLite)."""
    world = _world((A, B, C))
    established(world.ledgers[A], "origin", at=AT - 20 * DAY, holding=80_000)
    first = world.bridge(A, B, "origin", "hop", 60_000, AT, delay=900)
    second = world.bridge(B, C, "hop", "destination", 59_000, AT + 3 * HOUR, delay=900)
    sessions = _score(any_db_url, make_sessions, world)
    members = {named("origin"): "origin", named("hop"): "hop",
               named("destination"): "destination"}
    for chain in (A, B, C):
        found = _patterns(sessions, chain, world)
        assert list(found.values()) == [members], (chain, found)
    # Each member's reason is on the token where it acted, and names both chains and
    # both sides' transactions.
    for chain, name, role in ((A, "origin", "origin"), (B, "hop", "hop"),
                              (C, "destination", "destination")):
        reasons = _reasons(sessions, chain, world, name)
        assert [r["role"] for r in reasons] == [role], (chain, name)
        detail = reasons[0]["detail"]
        assert "from chain 1" in detail and "on chain 2" in detail and "on to chain 3" in detail
        for tx in (*_hashes(world, first), *_hashes(world, second)):
            assert tx in detail and tx in reasons[0]["evidence"]
        assert _risk(sessions, chain, world, name) >= MIN_RISK
        for other in {"origin", "hop", "destination"} - {name}:
            assert not _reasons(sessions, chain, world, other), (chain, other)
    # The stored pattern and its report list every member with its role.
    with sessions() as session:
        pattern_id = session.scalars(select(Pattern.id).where(
            Pattern.token_id == world.tokens[B], Pattern.typology == "chain_hopping")).one()
        report = pattern_report(session, pattern_id)
    assert [(m["address"].lower(), m["role"]) for m in report["members"]] == list(
        members.items())


def test_a_u_turn_back_to_the_origin_chain(pg_url: str, make_sessions: Sessions) -> None:
    world = _world()
    established(world.ledgers[A], "origin", at=AT - 20 * DAY, holding=80_000)
    world.bridge(A, B, "origin", "hop", 50_000, AT)
    world.bridge(B, A, "hop", "fresh", 49_500, AT + 6 * HOUR)
    sessions = _score(pg_url, make_sessions, world)
    reasons = _reasons(sessions, A, world, "origin")
    assert [r["role"] for r in reasons] == ["origin"]
    assert "back to chain 1" in reasons[0]["detail"]
    assert [r["role"] for r in _reasons(sessions, A, world, "fresh")] == ["destination"]
    assert [r["role"] for r in _reasons(sessions, B, world, "hop")] == ["hop"]
    assert _risk(sessions, B, world, "hop") >= MIN_RISK


def test_a_bridge_to_a_new_address_that_spreads_the_funds(
        pg_url: str, make_sessions: Sessions) -> None:
    world = _world()
    established(world.ledgers[A], "origin", at=AT - 20 * DAY, holding=80_000)
    world.bridge(A, B, "origin", "spreader", 40_000, AT)
    for k in range(4):
        world.ledgers[B].send("spreader", f"spread:{k}", 9_500, AT + (k + 1) * HOUR)
    sessions = _score(pg_url, make_sessions, world)
    assert [r["role"] for r in _reasons(sessions, A, world, "origin")] == ["origin"]
    hop = _reasons(sessions, B, world, "spreader")
    assert [r["role"] for r in hop] == ["hop"]
    assert "paid 38,000 (95%) to 4 addresses" in hop[0]["detail"]
    for k in range(4):
        assert [r["role"] for r in _reasons(sessions, B, world, f"spread:{k}")] == [
            "destination"]
    # A bridge receipt is no issuer's mint: the spread is not a mint-then-dispersal.
    assert not _reasons(sessions, B, world, "spreader", "mint_then_dispersal")
    found = _patterns(sessions, A, world)
    assert len(found) == 1
    assert sorted(next(iter(found.values())).values()) == sorted(
        ["origin", "hop", *["destination"] * 4])


def test_a_holder_that_bridges_once_and_holds_is_left_alone(
        pg_url: str, make_sessions: Sessions) -> None:
    world = _world()
    established(world.ledgers[A], "holder", at=AT - 20 * DAY, holding=80_000)
    world.bridge(A, B, "holder", "holder", 70_000, AT)
    world.ledgers[B].send("holder", "holder:friend", 500, AT + 40 * DAY)
    sessions = _score(pg_url, make_sessions, world)
    for chain in (A, B):
        assert not _patterns(sessions, chain, world)
        assert _risk(sessions, chain, world, "holder") < MIN_RISK


def test_a_market_maker_rebalancing_between_chains_on_a_schedule_is_left_alone(
        pg_url: str, make_sessions: Sessions) -> None:
    """Round amounts, the same address on both sides, both ways, every day for two
    weeks: a routine (habit_days), though each return is within the window."""
    world = _world()
    established(world.ledgers[A], "maker", at=AT - 30 * DAY, holding=500_000)
    for d in range(14):
        world.bridge(A, B, "maker", "maker", 100_000, AT + d * DAY + 2 * HOUR)
        world.bridge(B, A, "maker", "maker", 100_000, AT + d * DAY + 14 * HOUR)
    sessions = _score(pg_url, make_sessions, world)
    for chain in (A, B):
        assert not _patterns(sessions, chain, world), chain
        assert _risk(sessions, chain, world, "maker") < MIN_RISK


def test_a_self_round_trip_short_of_a_routine_is_found(
        pg_url: str, make_sessions: Sessions) -> None:
    """The market maker's near miss: round trips through its own address on fewer days
    than habit_days are patterns (scored lower than a change of hands)."""
    world = _world()
    established(world.ledgers[A], "maker", at=AT - 30 * DAY, holding=500_000)
    for d in range(P.habit_days - 1):
        world.bridge(A, B, "maker", "maker", 100_000, AT + d * DAY + 2 * HOUR)
        world.bridge(B, A, "maker", "maker", 100_000, AT + d * DAY + 14 * HOUR)
    sessions = _score(pg_url, make_sessions, world)
    assert _patterns(sessions, A, world)


@pytest.mark.parametrize("legs", [P.max_hop_legs + 1, P.max_hop_legs])
def test_a_bridging_desk_passing_customers_funds_on_is_no_hop(
        legs: int, pg_url: str, make_sessions: Sessions) -> None:
    """An exchange's or desk's wallet on chain 2 receives customers' bridges and bridges
    others on, each within hours: more than max_hop_legs out after a receipt is a service,
    not a relay; at max_hop_legs it is still a hop (the near miss)."""
    world = _world()
    for k in range(legs):
        established(world.ledgers[A], f"customer:{k}", at=AT - 20 * DAY, holding=80_000)
        world.bridge(A, B, f"customer:{k}", "desk", 50_000, AT + k * 600)
        world.bridge(B, A, "desk", f"payee:{k}", 49_000, AT + 3 * HOUR + k * 600)
    sessions = _score(pg_url, make_sessions, world)
    found = _patterns(sessions, B, world)
    if legs > P.max_hop_legs:
        assert not found and not _patterns(sessions, A, world)
        assert not _reasons(sessions, B, world, "desk")
    else:
        assert found and _reasons(sessions, B, world, "desk")


@pytest.mark.parametrize("miss", ["late", "kept", "small", "few", "thin", "known"])
def test_near_misses_just_outside_each_bound_are_not_flagged(
        miss: str, pg_url: str, make_sessions: Sessions) -> None:
    world = _world()
    established(world.ledgers[A], "origin", at=AT - 20 * DAY, holding=80_000)
    if miss in ("late", "kept", "small"):
        amount = 1.0 if miss == "small" else 50_000  # "small": under the token's median
        delay = 600
        onward = P.window_seconds + HOUR if miss == "late" else 6 * HOUR
        share = P.min_forwarded - 0.05 if miss == "kept" else 0.99
        world.bridge(A, B, "origin", "hop", amount, AT, delay=delay)
        world.bridge(B, A, "hop", "fresh", round(amount * share, 2), AT + delay + onward)
        names = ("origin", "hop", "fresh")
    else:
        if miss == "known":  # the recipient is no new address on its chain
            established(world.ledgers[B], "spreader", at=AT - P.fresh_seconds - DAY,
                        holding=1_000)
        world.bridge(A, B, "origin", "spreader", 40_000, AT)
        recipients = P.min_recipients - 1 if miss == "few" else 4
        part = (P.min_forwarded - 0.05 if miss == "thin" else 0.95) * 40_000 / recipients
        for k in range(recipients):
            world.ledgers[B].send("spreader", f"spread:{k}", round(part, 2),
                                  AT + (k + 1) * HOUR)
        names = ("origin", "spreader")
    sessions = _score(pg_url, make_sessions, world)
    for chain in (A, B):
        assert not _patterns(sessions, chain, world), (miss, chain)
        for name in names:
            assert not _reasons(sessions, chain, world, name), (miss, chain, name)


def test_a_peel_chain_is_followed_across_the_bridge(pg_url: str,
                                                    make_sessions: Sessions) -> None:
    """Three hops on chain 1, the last of which bridges its carry to chain 2: the burn is
    the hop's carry to the recipient on the other chain, so the chain is found (a burn is
    no carry: without the edge the third hop would not be one), with the bridged-to
    address as its end; on chain 2 the same address is its sender's recipient."""
    world = _world()
    ledger = world.ledgers[A]
    established(ledger, "peel:0", at=AT - 2 * HOUR, holding=100_000)
    amount = 90_000.0
    hops = ["peel:0", "peel:1", "peel:2"]
    for k, hop in enumerate(hops):
        at = AT + k * 4 * HOUR
        ledger.send(hop, f"peel:side:{k}", 1_500, at)
        if k + 1 < len(hops):
            amount -= 3_000
            ledger.send(hop, hops[k + 1], amount, at + HOUR)
    world.bridge(A, B, "peel:2", "peel:far", amount - 3_000, AT + 9 * HOUR)
    sessions = _score(pg_url, make_sessions, world)
    with sessions() as session:
        rows = session.scalars(select(Pattern).where(
            Pattern.token_id == world.tokens[A], Pattern.typology == "peel_chain",
            Pattern.status == "active")).all()
        assert len(rows) == 1
        members = dict(session.execute(select(PatternMember.address, PatternMember.role)
                                       .where(PatternMember.pattern_id == rows[0].id)).all())
    assert all(members[named(h)] == "hop" for h in hops)
    assert members[named("peel:far")] == "recipient"


def test_a_late_link_and_a_reorg_reach_the_long_lived_process(
        any_db_url: str, make_sessions: Sessions) -> None:
    """The relayer links the second bridge after both tokens were scored: the incremental
    runs of a held state find the pattern on every token (the link's mark, and the marks
    it leaves for the other tokens), equal to what a full evaluation finds; a reorg on the
    destination chain unlinks it, and the pattern goes. On both backends."""
    world = _world()
    established(world.ledgers[A], "origin", at=AT - 20 * DAY, holding=80_000)
    world.bridge(A, B, "origin", "hop", 50_000, AT)
    late = world.bridge(B, A, "hop", "fresh", 49_500, AT + 6 * HOUR, linked=False)
    cache = service.ScoringCache()
    sessions = _score(any_db_url, make_sessions, world, cache)
    assert not _patterns(sessions, A, world) and not _patterns(sessions, B, world)

    def settle() -> None:
        """Incremental runs until nothing is queued (a run may queue the other token)."""
        for _ in range(4):
            for token_id in world.tokens.values():
                with db.transaction(sessions) as session:
                    service.run(session, token(session, token_id), DEFAULTS,
                                kind="incremental", cache=cache)
            with sessions() as session:
                if not queue.pending_tokens(session):
                    return
        raise AssertionError("the re-score queue does not drain")

    with db.transaction(sessions) as session:
        world.link(session, late)
    settle()
    for chain in (A, B):
        assert len(_patterns(sessions, chain, world)) == 1, chain
    assert [r["role"] for r in _reasons(sessions, A, world, "fresh")] == ["destination"]
    # The held states equal a full evaluation of the database with their yardsticks.
    for token_id in world.tokens.values():
        state = cache.state(token_id)
        assert state is not None
        with sessions() as session:
            flows = service.load(session, token(session, token_id), DEFAULTS)
        feats = evaluate.compute_features(flows, DEFAULTS)
        full, patterns = evaluate.findings(flows, feats, DEFAULTS, state.stats, {},
                                           evaluate.LOCAL_RULES)
        evidence.resolve_findings(flows, full, patterns)
        assert state.patterns == patterns
    with db.transaction(sessions) as session:
        world.unlink(session, late)
    settle()
    for chain in (A, B):
        assert not _patterns(sessions, chain, world), chain
    assert not _reasons(sessions, A, world, "fresh")


def _named_state(state: evaluate.Scored) -> tuple[dict[str, Any], dict[str, Any]]:
    """A scored state's reasons (the forest's aside) and patterns by address, not index:
    a held state numbers the addresses it met later last, a fresh load in sorted order."""
    names = state.flows.addresses
    reasons = {str(names[a]): {k: v for k, v in r.items() if k != "anomaly"}
               for a, r in state.raw.items()}
    return {a: r for a, r in reasons.items() if r}, _named_patterns(state.patterns, names)


def _unnumbered(reasons: dict[str, Any]) -> dict[str, Any]:
    """Reasons without a member's place among its role's ("recipient 2 of 3 of …"), which
    follows the address numbering."""
    return {a: {k: replace(v, detail=re.sub(r"^(\w+) \d+ of (\d+) of ", r"\1 of \2 of ",
                                            v.detail))
                for k, v in r.items()} for a, r in reasons.items()}


def _named_patterns(patterns: dict[str, Any], names: Any) -> dict[str, Any]:
    return {key: (p.typology, str(names[p.anchor]),
                  {str(names[a]): role for a, role in p.members.items()}, p.positions,
                  p.score, p.title, p.evidence, p.foreign)
            for key, p in patterns.items()}


def test_incremental_runs_equal_a_full_evaluation_block_by_block_across_chains(
        pg_url: str, make_sessions: Sessions) -> None:
    """Two chains arrive a few hours at a time, the relayer linking each bridge when its
    receipt is ingested: after each step, every token's held state (incremental runs
    since the first full one) equals a full evaluation of the database with the same
    yardsticks: features, every address's findings and every pattern."""
    world = _world()
    established(world.ledgers[A], "origin", at=AT - 20 * DAY, holding=80_000)
    world.bridge(A, B, "origin", "hop", 50_000, AT + 2 * HOUR, delay=3 * HOUR)
    world.bridge(B, A, "hop", "fresh", 49_500, AT + 9 * HOUR, delay=HOUR)
    established(world.ledgers[A], "origin:2", at=AT - 20 * DAY, holding=80_000)
    world.bridge(A, B, "origin:2", "spreader", 40_000, AT + 4 * HOUR)
    for k in range(4):
        world.ledgers[B].send("spreader", f"spread:{k}", 9_500, AT + (6 + 3 * k) * HOUR)
    established(world.ledgers[A], "maker", at=AT - 30 * DAY, holding=500_000)
    for d in range(4):
        world.bridge(A, B, "maker", "maker", 100_000, AT - 2 * DAY + d * DAY + 2 * HOUR)
        world.bridge(B, A, "maker", "maker", 100_000, AT - 2 * DAY + d * DAY + 14 * HOUR)
    sessions = make_sessions(pg_url)
    cache = service.ScoringCache()
    steps = [AT - 3 * DAY, *range(AT - 2 * DAY, AT + 2 * DAY, 3 * HOUR), AT + 60 * DAY]
    for step, until in enumerate(steps):
        with db.transaction(sessions) as session:
            world.write(session, until)
        for _ in range(3):  # a run may queue the other token
            for token_id in world.tokens.values():
                with db.transaction(sessions) as session:
                    service.run(session, token(session, token_id), DEFAULTS,
                                kind="full" if step == 0 else "incremental", cache=cache)
        for token_id in world.tokens.values():
            state = cache.state(token_id)
            assert state is not None
            with sessions() as session:
                flows = service.load(session, token(session, token_id), DEFAULTS)
            feats = evaluate.compute_features(flows, DEFAULTS)
            full, patterns = evaluate.findings(flows, feats, DEFAULTS, state.stats, {},
                                               evaluate.LOCAL_RULES)
            evidence.resolve_findings(flows, full, patterns)
            mine, held = _named_state(state)
            names = flows.addresses
            assert held == _named_patterns(patterns, names), (step, token_id)
            theirs = {str(names[a]): r for a, r in full.items() if r}
            assert _unnumbered(mine) == _unnumbered(theirs), (step, token_id)
            rows = {str(a): i for i, a in enumerate(state.flows.addresses)}
            order = [rows[str(a)] for a in names[1:]]
            assert state.features.matrix[order] == pytest.approx(feats.matrix[1:])
    for chain in (A, B):
        assert len(_patterns(sessions, chain, world)) == 2, chain
    # Every step after the first was incremental: the states were built by its full runs.
    with sessions() as session:
        first = {t: session.scalars(select(ScoreRun.id).where(
            ScoreRun.token_id == t, ScoreRun.kind == "full").order_by(ScoreRun.id.desc())
            .limit(1)).one() for t in world.tokens.values()}
    assert {t: cache._state[t][2] for t in first} == first  # noqa: SLF001


def test_any_other_reason_replaces_a_bridge_link_mark(any_db_url: str,
                                                      make_sessions: Sessions) -> None:
    """A pair queued by bridge linking alone is re-read by a held state; a reorg's pair
    makes the run start from the database, whichever was queued first."""
    sessions = make_sessions(any_db_url)
    with db.transaction(sessions) as session:
        token_id = add_token(session, chain_id=A, address="0x" + "01" * 20).id
        queue.mark(session, [(token_id, named("x"))], queue.BRIDGE_LINK)
        queue.mark(session, [(token_id, named("x"))], "reorg")
        queue.mark(session, [(token_id, named("y"))], "reorg")
        queue.mark(session, [(token_id, named("y"))], queue.BRIDGE_LINK)
        queue.mark(session, [(token_id, named("z"))], queue.BRIDGE_LINK)
        queue.mark(session, [(token_id, named("z"))], queue.BRIDGE_LINK)
    with sessions() as session:
        assert queue.pending_reasons(session, token_id) == {
            named("x"): "reorg", named("y"): "reorg", named("z"): queue.BRIDGE_LINK}
