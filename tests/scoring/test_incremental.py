"""Incremental re-scoring against full evaluation, block by block, on simulated histories.

Pure computation (no database): the history arrives in steps; after each, the incremental
state must equal a full evaluation of everything so far with the same forest and
token-wide statistics — for every address, not only the re-scored neighbourhood, which
is what proves the neighbourhood big enough.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from monitor.addresses import ZERO
from monitor.scoring import evaluate, incremental, population
from monitor.scoring.config import DEFAULTS
from monitor.scoring.flows import Flows
from monitor.sim import generate, generate_independent
from monitor.watchlist.service import Listing
from support.flows import (
    HOLDERS,
    ISSUER,
    background,
    day,
    history_flows,
    holder,
    hub_heavy,
    index,
)


def _assert_equals_a_full_evaluation(state: evaluate.Scored, flows: Flows,
                                     region: np.ndarray,
                                     listings: dict[int, list[Listing]] | None = None) -> None:
    """Features, patterns and every address's reasons as a full evaluation of `flows` gives
    them with the state's forest and yardsticks (and the watchlist findings, given
    `listings`); the region's anomaly reasons too."""
    fitted, stats = state.fitted, state.stats
    assert fitted is not None
    reference = evaluate.compute_features(flows, DEFAULTS)
    np.testing.assert_allclose(state.features.matrix[1:], reference.matrix[1:])
    for name in ("first_seen", "last_seen", "in_value", "out_value", "bought_value",
                 "active_days"):  # what rules and settled hubs read beside the matrix
        np.testing.assert_allclose(getattr(state.features, name)[1:],
                                   getattr(reference, name)[1:], err_msg=name)
    full, patterns = evaluate.findings(flows, reference, DEFAULTS, stats, listings or {},
                                       tuple(evaluate.ADDRESS_RULES) if listings
                                       else evaluate.LOCAL_RULES)
    assert state.patterns == patterns, sorted(set(state.patterns) ^ set(patterns))
    mine = {a: {k: v for k, v in r.items() if k != "anomaly"} for a, r in state.raw.items()}
    mine = {a: r for a, r in mine.items() if r}
    assert mine == full, [flows.addresses[a] for a in set(mine) ^ set(full)
                          or {a for a in mine if mine[a] != full.get(a)}]
    scores, explanations = fitted.score(reference.matrix, region)
    for k, address in enumerate(region.tolist()):
        if address in explanations:
            assert state.raw[address]["anomaly"] == evaluate.anomaly_reason(
                scores[k], explanations[address])
        else:
            assert "anomaly" not in state.raw.get(address, {})


HISTORIES = {
    "ours": lambda seed: generate(seed, investors=80, days=40, cases_per_rule=1),
    # Drawn without the rules (monitor.sim.independent): other shapes, other neighbourhoods.
    "independent": lambda seed: generate_independent(seed, investors=60, days=40,
                                                     cases_per_typology=1),
    # Hubs in most transfers (issue 23): their features are updated in place, not
    # recomputed over their histories, and the updates must still equal a full run.
    "hub-heavy": hub_heavy,
}


@pytest.mark.parametrize(("kind", "seed"), [("ours", 3), ("ours", 19), ("independent", 3),
                                            ("independent", 19), ("hub-heavy", 7)])
def test_incremental_state_equals_a_full_evaluation_after_every_step(kind: str,
                                                                     seed: int) -> None:
    history = HISTORIES[kind](seed)
    total = len(history.transfers)
    numbering = [ZERO]
    start = int(total * 0.6)
    state = evaluate.evaluate(history_flows(history, start, numbering), DEFAULTS)
    incremental.prepare(state, DEFAULTS)  # as the daemon keeps a full run's state
    steps = np.linspace(start, total, 40).astype(int)[1:]  # ~15 transfers a step
    rescored = []
    for count in steps:
        flows = history_flows(history, int(count), numbering)
        region = incremental.rescore(state, flows, DEFAULTS, {})
        rescored.append(region.size)
        _assert_equals_a_full_evaluation(state, flows, region)
    # A step re-scores a part of the token, not all of it.
    assert float(np.median(rescored)) < len(numbering) / 2, rescored


def test_watchlist_exposure_kept_up_block_by_block_equals_a_full_evaluation() -> None:
    """With a sanctions list naming a few holders of a hub-heavy history (so taint crosses
    the hubs), the exposure findings an incremental run keeps up from the pair sums it
    holds equal a full evaluation's after every step."""
    history = hub_heavy(11)
    total = len(history.transfers)
    numbering = [ZERO]
    start = int(total * 0.6)
    first = history_flows(history, start, numbering)
    rng = random.Random(3)
    listed = rng.sample(range(1, first.n_addresses), 4)
    listings = {a: [Listing("sdn", "sanctioned", None)] for a in listed}
    by_name = {str(first.addresses[a]): entries for a, entries in listings.items()}
    state = evaluate.evaluate(first, DEFAULTS, by_name)
    assert any("watchlist_exposure" in r for r in state.raw.values())
    for count in np.linspace(start, total, 25).astype(int)[1:]:
        flows = history_flows(history, int(count), numbering)
        region = incremental.rescore(state, flows, DEFAULTS, listings)
        _assert_equals_a_full_evaluation(state, flows, region, listings)


def test_a_service_hub_is_settled_by_its_features() -> None:
    """The hubs of a hub-heavy history are service wallets that neither burst nor woke up:
    no local rule can find anything of their own, so an incremental run does not give the
    rules their histories (the block-by-block test above proves the result unchanged)."""
    history = hub_heavy(7)
    flows = history_flows(history, len(history.transfers), [ZERO])
    state = evaluate.evaluate(flows, DEFAULTS)
    hubs = np.flatnonzero(np.isin(flows.addresses, [f"0x{k:02x}" + "e" * 38
                                                    for k in range(3)]))
    assert hubs.size == 3
    # Neither velocity_burst nor dormant_reactivation is given their rows to judge.
    ruled_out = incremental.ruled_out_by_features(state.features, DEFAULTS, state.stats, hubs)
    assert {rule: found.tolist() for rule, found in ruled_out.items()} == {
        "velocity_burst": [True] * 3, "dormant_reactivation": [True] * 3}
    sides = population.sides(state.stats, flows, state.features)
    settled = incremental.settled(flows, state.features, DEFAULTS, state.stats, sides[0], hubs)
    assert sorted(settled.tolist()) == sorted(hubs.tolist())
    # A frozen hub is judged by its rows.
    flows.frozen[int(hubs[0])] = [(0, None)]
    settled = incremental.settled(flows, state.features, DEFAULTS, state.stats, sides[0], hubs)
    assert int(hubs[0]) not in settled.tolist()


def test_a_busy_wallet_that_is_no_service_wallet_re_scores_its_new_transfer_not_its_past() -> None:
    """An issuer that paid a coupon to every holder on two days is busy but no service
    wallet (it is not active day after day). Its next payment re-scores the two ends, not
    every holder it ever paid (which at a million transfers was most of the token, seconds
    a block), and the state still equals a full evaluation."""
    ledger = background()
    ledger.mint(ISSUER, 1_000_000, day(0, 1))
    for k in range(HOLDERS):
        ledger.send(ISSUER, holder(k), 100, day(30 + k % 2, 12))
    before = ledger.flows()
    state = evaluate.evaluate(before, DEFAULTS)
    issuer = index(before, ISSUER)
    assert not state.stats.service(state.features)[issuer]
    assert population.degree(state.features)[issuer] > incremental.degree_limit(DEFAULTS)
    ledger.send(ISSUER, holder(7), 100, day(70))  # after all else: appended
    after = ledger.flows()
    assert list(after.addresses) == list(before.addresses)
    region = incremental.rescore(state, after, DEFAULTS, {})
    assert issuer in region.tolist() and region.size < 10, region.size
    _assert_equals_a_full_evaluation(state, after, region)
