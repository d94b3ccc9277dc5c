"""AMLSim's sample as a token history: counts, labels, the neutral amounts, a valid ledger."""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import pytest
from scipy.stats import rankdata

from monitor.addresses import ZERO
from monitor.sim import amlsim
from monitor.sim.history import History

ACCOUNTS, TRANSACTIONS, LABELLED = 20_000, 120_558, 1_804


@pytest.fixture(scope="module")
def sample() -> amlsim.Sample:
    if not amlsim.SAMPLE.exists():
        pytest.fail(f"conformance data missing: {amlsim.SAMPLE} (the shared/ folder sits "
                    "next to the repo; see shared/conformance/README.md)")
    return amlsim.read_sample()


@pytest.fixture(scope="module")
def loaded(sample: amlsim.Sample) -> dict[str, amlsim.AmlSimHistory]:
    return {variant: amlsim.load(variant) for variant in amlsim.VARIANTS}


def test_units_are_exact_base_units() -> None:
    assert amlsim.units("163.3") == 16330
    assert amlsim.units("2.51") == 251
    assert amlsim.units("100") == 10000
    for bad in ("1.234", "-5.00", "1e3", ""):
        with pytest.raises(ValueError):
            amlsim.units(bad)


def test_counts_labels_and_addresses(loaded: dict[str, amlsim.AmlSimHistory]) -> None:
    for variant, result in loaded.items():
        history = result.history
        mints = [t for t in history.transfers if t.kind == "mint"]
        moves = [t for t in history.transfers if t.kind == "transfer"]
        assert len(mints) == ACCOUNTS and len(moves) == TRANSACTIONS, variant
        assert len(history.transfers) == ACCOUNTS + TRANSACTIONS
        assert len({t.receiver for t in mints}) == ACCOUNTS
        assert history.investors == {t.receiver for t in mints}
        assert [case.rule for case in history.cases] == ["amlsim"]
        assert len(history.labels()) == LABELLED
        assert all(isinstance(t.amount, int) and t.amount > 0 for t in history.transfers)
    assert amlsim.address(7) == amlsim.address(7) != amlsim.address(8)
    assert ZERO not in {amlsim.address(n) for n in range(ACCOUNTS)}


def test_rows_keep_their_step_day_and_file_order(
    sample: amlsim.Sample, loaded: dict[str, amlsim.AmlSimHistory]
) -> None:
    history = loaded["published"].history
    moves = [t for t in history.transfers if t.kind == "transfer"]
    assert [(t.sender, t.receiver, t.amount) for t in moves] == [
        (amlsim.address(r.source), amlsim.address(r.target), r.amount) for r in sample.rows]
    for row, t in zip(sample.rows, moves, strict=True):
        assert (t.timestamp - history.start) // amlsim.DAY == row.step
    assert {(t.timestamp - history.start) // amlsim.DAY
            for t in history.transfers if t.kind == "mint"} == {0}


def test_neutral_leaves_no_marker_and_keeps_equal_values_equal(
    loaded: dict[str, amlsim.AmlSimHistory]
) -> None:
    published = [t.amount for t in loaded["published"].history.transfers if t.kind == "transfer"]
    neutral = [t.amount for t in loaded["neutral"].history.transfers if t.kind == "transfer"]
    assert min(published) < amlsim.MARKER <= min(neutral)
    images: dict[int, set[int]] = defaultdict(set)
    for before, after in zip(published, neutral, strict=True):
        images[before].add(after)
        if before >= amlsim.MARKER:
            assert after == before
    assert all(len(after) == 1 for after in images.values())
    low = sorted(v for v in images if v < amlsim.MARKER)
    mapped = [images[v].pop() for v in low]
    assert mapped == sorted(mapped) and len(set(mapped)) == len(mapped)  # strictly increasing


def test_neutral_keeps_the_order_of_amounts_within_each_pattern(
    sample: amlsim.Sample
) -> None:
    """Patterns: connected groups of the transfers whose published amounts mark them."""
    mapping = amlsim.neutral_amounts([r.amount for r in sample.rows])
    graph = nx.MultiGraph()
    for row in sample.rows:
        if row.amount < amlsim.MARKER:
            graph.add_edge(row.source, row.target, amount=row.amount)
    patterns = list(nx.connected_components(graph))
    assert len(patterns) > 100
    for members in patterns:
        amounts = [a for _, _, a in graph.subgraph(members).edges(data="amount")]
        assert (rankdata(amounts) == rankdata([mapping[a] for a in amounts])).all()


def test_mapping_by_rank_on_a_tiny_case() -> None:
    # Below 50 units: 10, 20, 20, 30 (mid-ranks 0, 1.5, 1.5, 3 of 0..3); the others 50..110.
    low, high = [1000, 2000, 2000, 3000], [5000, 6000, 7000, 8000, 9000, 10000, 11000]
    assert amlsim.neutral_amounts(high + low) == {1000: 5000, 2000: 8000, 3000: 11000}


def _never_overdraws(history: History) -> bool:
    balances: dict[str, int] = defaultdict(int)
    for t in history.transfers:
        if t.sender != ZERO:
            balances[t.sender] -= t.amount
            if balances[t.sender] < 0:
                return False
        balances[t.receiver] += t.amount
    return True


def test_no_account_overdraws_and_only_raised_mints_grew(
    sample: amlsim.Sample, loaded: dict[str, amlsim.AmlSimHistory]
) -> None:
    for variant, result in loaded.items():
        history = result.history
        assert _never_overdraws(history), variant
        assert 10_000 < len(result.raised) < ACCOUNTS, variant  # AMLSim overdraws a lot
        minted = {t.receiver: t.amount for t in history.transfers if t.kind == "mint"}
        for node, balance in sample.balances.items():
            assert minted[amlsim.address(node)] == balance + result.raised.get(
                amlsim.address(node), 0)
    # One unit less on any raised mint and that account overdraws.
    result = loaded["published"]
    account, extra = next(iter(result.raised.items()))
    lowered = [t if t.kind != "mint" or t.receiver != account
               else type(t)(t.timestamp, t.sender, t.receiver, t.amount - 1, t.kind)
               for t in result.history.transfers]
    assert extra > 0
    assert not _never_overdraws(History(2, 0, ZERO, 0, transfers=lowered))


def test_marked_accounts_are_labelled_and_touch_a_small_transfer(
    loaded: dict[str, amlsim.AmlSimHistory]
) -> None:
    result = loaded["published"]
    labels = set(result.history.labels())
    small = {a for t in result.history.transfers if t.amount < amlsim.MARKER
             for a in (t.sender, t.receiver)}
    assert result.marked == small & labels
    assert result.marked == loaded["neutral"].marked
