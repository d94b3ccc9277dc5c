"""The simulator: deterministic, consistent balances, labelled cases of every typology."""

from __future__ import annotations

from collections import Counter, defaultdict

from monitor.addresses import ZERO
from monitor.sim import TYPOLOGIES, generate


def test_same_seed_same_history_other_seed_differs() -> None:
    a, b, c = generate(3, investors=60), generate(3, investors=60), generate(4, investors=60)
    assert a.transfers == b.transfers and a.cases == b.cases
    assert a.transfers != c.transfers


def test_balances_never_go_negative_and_amounts_are_ints() -> None:
    history = generate(5, investors=80)
    balances: dict[str, int] = defaultdict(int)
    last = 0
    for t in history.transfers:
        assert isinstance(t.amount, int) and t.amount > 0
        assert t.timestamp >= last
        last = t.timestamp
        if t.kind != "mint":
            balances[t.sender] -= t.amount
            assert balances[t.sender] >= 0, t
        if t.kind != "burn":
            balances[t.receiver] += t.amount
        assert (t.kind == "mint") == (t.sender == ZERO)
        assert (t.kind == "burn") == (t.receiver == ZERO)


def test_every_typology_is_injected_with_actors_apart_from_hubs() -> None:
    history = generate(6, investors=80, cases_per_rule=2)
    for rule in TYPOLOGIES:
        cases = [c for c in history.cases if c.rule == rule]
        assert len(cases) == 2
        for case in cases:
            assert case.actors and not case.actors & history.benign_hubs
    assert history.freezes


def test_structuring_stays_below_the_threshold_and_depths_vary() -> None:
    depths = set()
    for seed in range(1, 6):
        history = generate(seed, investors=40, rules=["structuring", "peel_chain"])
        for case in history.cases:
            if case.rule == "peel_chain":
                depths.add(len(case.actors))
            else:  # the structurer (who pays the others most often) and the accounts it pays
                paid = Counter(t.sender for t in history.transfers
                               if t.sender in case.actors and t.receiver in case.actors)
                actor = paid.most_common(1)[0][0]
                sent = [t.amount for t in history.transfers if t.sender == actor]
                assert sent and all(a < history.reporting_threshold for a in sent)
    assert len(depths) > 1
