"""The independent labelled history: deterministic, fully labelled, replayable on a real token."""

from __future__ import annotations

from collections import Counter, defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.addresses import ZERO
from monitor.sim import INDEPENDENT_TYPOLOGIES, History, generate_independent
from monitor.sim.replay import replay
from support.anvil import run_anvil
from support.token import deploy, node_transfer_logs

ROLES = {"source", "feeder", "mule", "intermediary", "collector", "recipient", "hop",
         "cycle_member", "hub"}
LOOKALIKES = {"big_investor", "exchange_sweep", "distribution", "market_maker", "payroll",
              "otc_desk"}
SMALL = {"investors": 60, "days": 40, "cases_per_typology": 1}


def _overdrafts(history: History) -> list[str]:
    balances: dict[str, int] = defaultdict(int)
    out = []
    for t in history.transfers:
        if t.kind != "mint":
            balances[t.sender] -= t.amount
            if balances[t.sender] < 0:
                out.append(f"{t.sender} at {t.timestamp}")
        if t.kind != "burn":
            balances[t.receiver] += t.amount
    return out


def _check_labels(history: History) -> None:
    """Every case names a role for each participant, and no participant of a case deals
    with anyone but its own case, another case or a venue (so none is left unlabelled)."""
    labels = history.labels()
    allowed = set(labels) | history.benign_hubs | {ZERO}
    for case in history.cases:
        assert case.actors == set(case.roles), case.description
        assert set(case.roles.values()) <= ROLES
        assert not case.actors & (history.benign_hubs | history.investors | set(history.lookalikes))
    for t in history.transfers:
        if t.sender in labels:
            assert t.receiver in allowed
        if t.receiver in labels:
            assert t.sender in allowed
    active = {a for t in history.transfers for a in (t.sender, t.receiver)}
    assert set(labels) <= active


def test_same_seed_same_history_other_seed_other_history() -> None:
    a, b = generate_independent(5, **SMALL), generate_independent(5, **SMALL)
    assert a.transfers == b.transfers and a.cases == b.cases
    assert a.lookalikes == b.lookalikes and a.investors == b.investors
    assert generate_independent(6, **SMALL).transfers != a.transfers


def test_default_history_is_sized_for_a_benchmark() -> None:
    history = generate_independent(1)
    assert 20_000 <= len(history.transfers) <= 60_000
    # Replay makes one block per timestamp, and pays per block.
    assert len({t.timestamp for t in history.transfers}) < 4_000
    times = [t.timestamp for t in history.transfers]
    assert times == sorted(times)
    assert not _overdrafts(history)
    _check_labels(history)
    kinds = Counter(t.kind for t in history.transfers)
    assert kinds["mint"] > 400 and kinds["burn"] > 0


def test_every_typology_has_cases_and_near_misses_with_every_participant_in_a_role() -> None:
    history = generate_independent(2, cases_per_typology=2)
    for rule in INDEPENDENT_TYPOLOGIES:
        cases = [c for c in history.cases if c.rule == rule]
        assert [c.near_miss for c in cases] == [False, False, True, True], rule
    _check_labels(history)
    roles = {role for case in history.cases for role in case.roles.values()}
    assert roles == ROLES


def test_near_misses_sit_at_the_small_slow_or_weak_end() -> None:
    history = generate_independent(3, cases_per_typology=4)
    threshold = history.reporting_threshold
    near = [c for c in history.cases if c.near_miss]
    for case in near:
        count = Counter(case.roles.values())
        if case.rule in ("fan_in", "fan_out"):
            assert count["feeder"] + count["recipient"] <= 4
        if case.rule == "cycle":
            assert 9 <= count["cycle_member"] <= 12
    structured = {a for c in history.cases if c.rule == "structuring" for a in c.roles
                  if c.roles[a] in ("source", "feeder")}
    sent = [(t.amount, t.sender) for t in history.transfers if t.sender in structured]
    assert sent and all(0.75 * threshold <= amount < threshold for amount, _ in sent)
    weak = {a for c in near if c.rule == "structuring" for a in c.roles}
    assert all(amount <= 0.9 * threshold for amount, sender in sent if sender in weak)
    # A near-miss peel chain's hops receive top-ups from outside the chain.
    hops = {a for c in near if c.rule == "peel_chain" for a in c.roles}
    assert any(t.receiver in hops and t.sender in history.benign_hubs
               for t in history.transfers)


def test_lookalikes_of_every_kind_are_benign_and_active() -> None:
    history = generate_independent(4, **SMALL)
    assert set(history.lookalikes.values()) == LOOKALIKES
    assert not set(history.lookalikes) & set(history.labels())
    active = Counter(a for t in history.transfers for a in (t.sender, t.receiver))
    assert all(active[a] for a in history.lookalikes)
    # The paying agent fans out to established holders, the hot wallets gather sweeps.
    distributor = next(a for a, k in history.lookalikes.items() if k == "distribution")
    paid = {t.receiver for t in history.transfers if t.sender == distributor}
    assert len(paid) > 20 and paid <= history.investors | history.benign_hubs | set(
        history.lookalikes)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32), investors=st.integers(5, 60), days=st.integers(14, 90),
       cases=st.integers(0, 2))
def test_any_history_settles_without_overdraft_and_fully_labelled(
        seed: int, investors: int, days: int, cases: int) -> None:
    history = generate_independent(seed, investors=investors, days=days,
                                   cases_per_typology=cases)
    assert not _overdrafts(history)
    _check_labels(history)
    assert len(history.cases) == 2 * cases * len(INDEPENDENT_TYPOLOGIES)
    end = history.start + days * 86400
    assert all(history.start <= t.timestamp < end for t in history.transfers)


def test_replays_onto_a_real_token_transfer_for_transfer() -> None:
    history = generate_independent(7, investors=40, days=30, cases_per_typology=1)
    with run_anvil() as node:
        token = deploy(node)
        first = int(node.rpc("eth_blockNumber"), 16) + 1  # type: ignore[arg-type]
        counts = replay(history, token)
        emitted = node_transfer_logs(node, token.address, first)
    assert counts["transfers"] == len(history.transfers)
    assert Counter((f, to, amount) for _, _, f, to, amount in emitted) == Counter(
        (t.sender, t.receiver, t.amount) for t in history.transfers)
