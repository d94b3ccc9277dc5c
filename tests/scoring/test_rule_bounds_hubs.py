"""Hubs: scatter_gather and gather_scatter at their configured bounds, just inside and
just outside, and their benign look-alikes.

Each rule's cases live side by side (their own addresses) in one benign background
(support.flows), scored once; bounds are read from DEFAULTS. A pattern found is checked
whole: its members and roles, each member's reason and flag (support.flows.assert_pattern).
"""

from __future__ import annotations

import functools

from monitor.scoring.config import DEFAULTS
from monitor.scoring.evaluate import Scored
from support.flows import (
    AT,
    DAY,
    EXCHANGE,
    HOUR,
    MARKET_MAKER,
    TRADER,
    Ledger,
    assert_no_pattern,
    assert_pattern,
    assert_unflagged,
    background,
    benign_scored,
    established,
    holder,
    score,
)

# scatter_gather

SCATTER = DEFAULTS.rules.scatter_gather


def _scatter(ledger: Ledger, case: str, mules: int, *, hold: int = HOUR, senders: int = 1,
             receivers: int = 1, other: float = 0.0) -> dict[str, str]:
    """A source pays `mules` new addresses 10,000 each an hour apart (and pays `other` to
    an established address meanwhile); each forwards 9,900 to one collector `hold`
    seconds later. The first mule also got 100 from `senders - 1` other addresses the
    day before, and pays 100 to `receivers - 1` others a day after."""
    source = established(ledger, f"{case}:source")
    collector = established(ledger, f"{case}:collector")
    members = {source: "source", collector: "collector"}
    for k in range(mules):
        mule = f"{case}:mule:{k}"
        members[mule] = "mule"
        ledger.send(source, mule, 10_000, AT + k * HOUR)
        ledger.send(mule, collector, 9900, AT + k * HOUR + hold)
    for k in range(senders - 1):
        ledger.send(established(ledger, f"{case}:sender:{k}"), f"{case}:mule:0", 100,
                    AT - DAY)
    for k in range(receivers - 1):
        ledger.send(f"{case}:mule:0", established(ledger, f"{case}:receiver:{k}"), 100,
                    AT + hold + DAY)
    if other:
        ledger.send(source, established(ledger, f"{case}:other"), other, AT + HOUR // 2)
    return members


@functools.cache
def _scatter_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    p, ledger = SCATTER, background()
    n, limit = p.min_intermediaries, p.max_mule_counterparties
    routed = 10_000.0 * n
    other = routed / p.min_source_share - routed
    cases = {
        "fewest": _scatter(ledger, "sg:fewest", n),
        "too_few": _scatter(ledger, "sg:too_few", n - 1),
        "slow": _scatter(ledger, "sg:slow", n, hold=p.window_seconds),
        "too_slow": _scatter(ledger, "sg:too_slow", n, hold=p.window_seconds + 1),
        "senders": _scatter(ledger, "sg:senders", n, senders=limit),
        "too_many_senders": _scatter(ledger, "sg:too_many_senders", n, senders=limit + 1),
        "receivers": _scatter(ledger, "sg:receivers", n, receivers=limit),
        "too_many_receivers": _scatter(ledger, "sg:too_many_receivers", n,
                                       receivers=limit + 1),
        "share": _scatter(ledger, "sg:share", n, other=other),
        "small_share": _scatter(ledger, "sg:small_share", n, other=other + 0.01),
    }
    # Look-alike: the exchange pays three customers who each pay one merchant within
    # hours; they have been customers for 20 days and sent the exchange more before.
    merchant = established(ledger, "sg:merchant")
    for k in range(n):
        client = f"sg:client:{k}"
        ledger.send(EXCHANGE, client, 6000, AT - 20 * DAY + k * HOUR)
        ledger.send(client, EXCHANGE, 5000, AT - 19 * DAY + k * HOUR)
        ledger.send(EXCHANGE, client, 3000, AT + k * HOUR)
        ledger.send(client, merchant, 2000, AT + k * HOUR + 2 * HOUR)
    return score(ledger), cases


def test_scatter_gather_needs_min_intermediaries() -> None:
    scored, cases = _scatter_scene()
    assert_pattern(scored, "scatter_gather", cases["fewest"])
    assert_no_pattern(scored, "scatter_gather", *cases["too_few"])


def test_scatter_gather_intermediary_forwards_within_its_window() -> None:
    scored, cases = _scatter_scene()
    assert_pattern(scored, "scatter_gather", cases["slow"])
    assert_no_pattern(scored, "scatter_gather", *cases["too_slow"])


def test_scatter_gather_intermediary_has_at_most_max_mule_counterparties_senders() -> None:
    scored, cases = _scatter_scene()
    assert_pattern(scored, "scatter_gather", cases["senders"])
    assert_no_pattern(scored, "scatter_gather", *cases["too_many_senders"])


def test_scatter_gather_intermediary_has_at_most_max_mule_counterparties_receivers() -> None:
    scored, cases = _scatter_scene()
    assert_pattern(scored, "scatter_gather", cases["receivers"])
    assert_no_pattern(scored, "scatter_gather", *cases["too_many_receivers"])


def test_scatter_gather_routes_carry_min_source_share_of_the_source_outflow() -> None:
    scored, cases = _scatter_scene()
    assert_pattern(scored, "scatter_gather", cases["share"])
    assert_no_pattern(scored, "scatter_gather", *cases["small_share"])


def test_scatter_gather_leaves_an_exchange_paying_customers_who_pay_one_merchant_alone(
) -> None:
    scored, _ = _scatter_scene()
    clients = [f"sg:client:{k}" for k in range(SCATTER.min_intermediaries)]
    assert_no_pattern(scored, "scatter_gather", EXCHANGE, *clients, "sg:merchant")
    assert_unflagged(scored, EXCHANGE, *clients, "sg:merchant")


# gather_scatter

GATHER = DEFAULTS.rules.gather_scatter


def _gather(ledger: Ledger, case: str, feeders: int, recipients: int, *,
            life: int | None = None, forwarded: float = 0.9,
            receipts: list[float] | None = None, payout_at: int | None = None
            ) -> dict[str, str]:
    """A new hub gets `receipts` (10,000 each by default) from `feeders` established
    addresses an hour apart, then pays `forwarded` of it to `recipients` new ones an
    hour apart (the first at `payout_at` seconds after the first receipt, the last
    `life` seconds after it, if given)."""
    hub = f"{case}:hub"
    members = {hub: "hub"}
    amounts = receipts or [10_000.0] * feeders
    for k, amount in enumerate(amounts):
        feeder = established(ledger, f"{case}:feeder:{k}")
        members[feeder] = "feeder"
        ledger.send(feeder, hub, amount, AT + k * HOUR)
    first = AT + (payout_at if payout_at is not None else len(amounts) * HOUR)
    each = round(forwarded * sum(amounts) / recipients, 6)
    for k in range(recipients):
        at = first + k * HOUR
        if life is not None and k == recipients - 1:
            at = AT + life
        ledger.send(hub, f"{case}:recipient:{k}", each, at)
        members[f"{case}:recipient:{k}"] = "recipient"
    return members


@functools.cache
def _gather_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    p, ledger = GATHER, background()
    k = p.min_counterparties
    # Inflow reaches phase_share exactly at the next-to-last receipt; the first payout
    # comes between the last two receipts.
    head, before = 10_000.0, (k - 1) * 10_000.0
    last = before / p.phase_share - before
    assert (before + last) * p.phase_share == before
    phased = [head] * (k - 1) + [last]
    late = [head] * (k - 2) + [head - 0.01, last + 0.01]
    between = (k - 1) * HOUR - HOUR // 2
    cases = {
        "fewest": _gather(ledger, "gs:fewest", k, k),
        "too_few_senders": _gather(ledger, "gs:too_few_senders", k - 1, k),
        "too_few_receivers": _gather(ledger, "gs:too_few_receivers", k, k - 1),
        "life": _gather(ledger, "gs:life", k, k, life=p.max_lifetime_seconds),
        "too_long": _gather(ledger, "gs:too_long", k, k, life=p.max_lifetime_seconds + 1),
        "forwarded": _gather(ledger, "gs:forwarded", k, k, forwarded=p.min_forwarded),
        "kept": _gather(ledger, "gs:kept", k, k, forwarded=p.min_forwarded - 1e-6),
        "phase": _gather(ledger, "gs:phase", k, k, receipts=phased, payout_at=between),
        "interleaved": _gather(ledger, "gs:interleaved", k, k, receipts=late,
                               payout_at=between),
    }
    return score(ledger), cases


def test_gather_scatter_needs_min_counterparties_on_both_sides() -> None:
    scored, cases = _gather_scene()
    assert_pattern(scored, "gather_scatter", cases["fewest"])
    assert_no_pattern(scored, "gather_scatter", *cases["too_few_senders"])
    assert_no_pattern(scored, "gather_scatter", *cases["too_few_receivers"])


def test_gather_scatter_hub_lives_at_most_max_lifetime() -> None:
    scored, cases = _gather_scene()
    assert_pattern(scored, "gather_scatter", cases["life"])
    assert_no_pattern(scored, "gather_scatter", *cases["too_long"])


def test_gather_scatter_hub_pays_out_min_forwarded_of_what_it_collected() -> None:
    scored, cases = _gather_scene()
    assert_pattern(scored, "gather_scatter", cases["forwarded"])
    assert_no_pattern(scored, "gather_scatter", *cases["kept"])


def test_gather_scatter_hub_gathers_phase_share_before_it_scatters() -> None:
    scored, cases = _gather_scene()
    assert_pattern(scored, "gather_scatter", cases["phase"])
    assert_no_pattern(scored, "gather_scatter", *cases["interleaved"])


def test_gather_scatter_leaves_exchange_market_maker_and_active_trader_alone() -> None:
    scored = benign_scored()
    sellers = [holder(k) for k in range(4)]
    buyers = [holder(140 + k) for k in range(4)]
    assert_no_pattern(scored, "gather_scatter", EXCHANGE, MARKET_MAKER, TRADER, *sellers,
                      *buyers)
    assert_unflagged(scored, EXCHANGE, MARKET_MAKER, TRADER, *sellers, *buyers)
