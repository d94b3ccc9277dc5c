"""Fans: fan_out, fan_in, mint_then_dispersal at their configured bounds, just inside
and just outside, and their benign look-alikes.

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
    INVESTORS,
    ISSUER,
    MARKET_MAKER,
    PAYROLL,
    STAFF,
    Ledger,
    assert_no_pattern,
    assert_pattern,
    assert_unflagged,
    background,
    benign_scored,
    customer,
    established,
    holder,
    ratio,
    score,
)

# fan_out

FAN_OUT = DEFAULTS.rules.fan_out


def _fan_out(ledger: Ledger, case: str, new: int, known: int = 0,
             span: int = HOUR) -> dict[str, str]:
    """`case` pays `new` new addresses evenly over `span` seconds and `known`
    established ones in between; its members as the rule should name them."""
    source = established(ledger, case)
    for k in range(known):
        established(ledger, f"{case}:known:{k}")
        ledger.send(source, f"{case}:known:{k}", 2000, AT + 1 + k)
    members = {source: "source"}
    for k in range(new):
        ledger.send(source, f"{case}:new:{k}", 2000, AT + span * k // max(new - 1, 1))
        members[f"{case}:new:{k}"] = "recipient"
    return members


@functools.cache
def _fan_out_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    p, ledger = FAN_OUT, background()
    new, whole = ratio(p.min_new_share, p.min_recipients)
    cases = {
        "fewest": _fan_out(ledger, "fo:fewest", p.min_recipients),
        "too_few": _fan_out(ledger, "fo:too_few", p.min_recipients - 1),
        "window": _fan_out(ledger, "fo:window", p.min_recipients, span=p.window_seconds),
        "too_slow": _fan_out(ledger, "fo:too_slow", p.min_recipients,
                             span=p.window_seconds + 1),
        "new_share": _fan_out(ledger, "fo:new_share", new, whole - new),
        "too_few_new": _fan_out(ledger, "fo:too_few_new", new, whole - new + 1),
    }
    return score(ledger), cases


def test_fan_out_needs_min_recipients_new_addresses() -> None:
    scored, cases = _fan_out_scene()
    assert_pattern(scored, "fan_out", cases["fewest"])
    assert_no_pattern(scored, "fan_out", *cases["too_few"])


def test_fan_out_counts_new_recipients_within_its_window() -> None:
    scored, cases = _fan_out_scene()
    assert_pattern(scored, "fan_out", cases["window"])
    assert_no_pattern(scored, "fan_out", *cases["too_slow"])


def test_fan_out_needs_min_new_share_of_its_recipients_new() -> None:
    scored, cases = _fan_out_scene()
    assert_pattern(scored, "fan_out", cases["new_share"])
    assert_no_pattern(scored, "fan_out", *cases["too_few_new"], "fo:too_few_new:known:0")


def test_fan_out_leaves_payroll_coupons_exchange_and_market_maker_alone() -> None:
    scored = benign_scored()
    # Payroll pays 5 new staff on its first payday, and the same staff every 14 days.
    payees = [holder(100 + k) for k in range(40)]
    clients = [customer(k) for k in range(5)]
    assert_no_pattern(scored, "fan_out", PAYROLL, *STAFF, ISSUER, *payees, EXCHANGE,
                      *clients, MARKET_MAKER)
    assert_unflagged(scored, PAYROLL, *STAFF, ISSUER, *payees, EXCHANGE, *clients,
                     MARKET_MAKER)


# fan_in

FAN_IN = DEFAULTS.rules.fan_in


def _fan_in(ledger: Ledger, case: str, feeders: int, *, span: int = HOUR,
            age: int = HOUR, transfers: int = 2, dedication: float = 1.0,
            split_gap: int | None = None) -> dict[str, str]:
    """`feeders` addresses, each minted 1,000 `age` seconds before its payment, pay a
    collector `dedication` of all they ever send, evenly over `span` seconds (in two
    transfers `split_gap` apart, if given), and burn the rest, in pieces up to
    `transfers` transfers in all; the members as the rule should name them."""
    collector = established(ledger, f"{case}:collector")
    members = {collector: "collector"}
    for k in range(feeders):
        feeder, at = f"{case}:feeder:{k}", AT + span * k // max(feeders - 1, 1)
        members[feeder] = "feeder"
        ledger.mint(feeder, 1000, at - age)
        paid = round(1000 * dedication, 2)
        if split_gap is None:
            ledger.send(feeder, collector, paid, at)
        else:
            ledger.send(feeder, collector, paid / 2, at)
            ledger.send(feeder, collector, paid / 2, at + split_gap)
        burns = max(transfers - 2 - (split_gap is not None), 1)
        for b in range(burns):
            ledger.burn(feeder, round((1000 - paid) / burns, 6), at + 60 * (b + 1))
    return members


@functools.cache
def _fan_in_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    p, ledger = FAN_IN, background()
    fresh = {"dedication": 0.6, "transfers": 3}  # mule-like only by being fresh
    old = {"dedication": 0.6, "age": p.fresh_seconds + DAY}  # mule-like by nothing else
    window = DEFAULTS.rules.split_transfers.window_seconds
    cases = {
        "fewest": _fan_in(ledger, "fi:fewest", p.min_feeders),
        "too_few": _fan_in(ledger, "fi:too_few", p.min_feeders - 1),
        "window": _fan_in(ledger, "fi:window", p.min_feeders, span=p.window_seconds),
        "too_slow": _fan_in(ledger, "fi:too_slow", p.min_feeders,
                            span=p.window_seconds + 1),
        "fresh": _fan_in(ledger, "fi:fresh", p.min_feeders, **fresh,
                         age=p.fresh_seconds),
        "stale": _fan_in(ledger, "fi:stale", p.min_feeders, **fresh,
                         age=p.fresh_seconds + 1),
        "busy": _fan_in(ledger, "fi:busy", p.min_feeders, dedication=0.6,
                        transfers=p.max_feeder_transfers),
        "too_busy": _fan_in(ledger, "fi:too_busy", p.min_feeders, dedication=0.6,
                            transfers=p.max_feeder_transfers + 1),
        "dedicated": _fan_in(ledger, "fi:dedicated", p.min_feeders,
                             age=p.fresh_seconds + DAY, dedication=p.min_dedication),
        "undedicated": _fan_in(ledger, "fi:undedicated", p.min_feeders,
                               age=p.fresh_seconds + DAY,
                               dedication=p.min_dedication - 1e-5),
        "split": _fan_in(ledger, "fi:split", p.min_feeders, **old, split_gap=window),
        "unsplit": _fan_in(ledger, "fi:unsplit", p.min_feeders, **old,
                           split_gap=window + 1),
        "service": _young_exchange(ledger, "fi:service", ACTIVE_DAYS, LIFETIME),
        "few_days": _young_exchange(ledger, "fi:few_days", ACTIVE_DAYS - 1, LIFETIME),
        "young": _young_exchange(ledger, "fi:young", ACTIVE_DAYS, LIFETIME - 1),
    }
    return score(ledger), cases


ACTIVE_DAYS = DEFAULTS.population.service_min_active_days
LIFETIME = DEFAULTS.population.service_min_lifetime_seconds
DEPOSITORS = 24  # more counterparties than the background's service-wallet yardstick


def _young_exchange(ledger: Ledger, case: str, days: int, life: int) -> dict[str, str]:
    """A wallet with an exchange's inventory, minted `life` seconds before its one payment,
    takes DEPOSITORS fresh customers' deposits: it is active on `days` distinct days (the
    mint's, and deposit days, the last of which has its payment)."""
    wallet = f"{case}:wallet"
    last = AT + (days - 2) * DAY + 2 * HOUR
    ledger.mint(wallet, 1_000_000, last - life)
    members = {wallet: "collector"}
    for k in range(DEPOSITORS):
        depositor = f"{case}:depositor:{k}"
        at = AT + (k % (days - 1)) * DAY + (k // (days - 1) + 1) * 60
        ledger.mint(depositor, 1000, at - HOUR)
        ledger.send(depositor, wallet, 500, at)
        members[depositor] = "feeder"
    ledger.send(wallet, established(ledger, f"{case}:payee"), 1000, last)
    return members


def test_fan_in_needs_min_feeders() -> None:
    scored, cases = _fan_in_scene()
    assert_pattern(scored, "fan_in", cases["fewest"])
    assert_no_pattern(scored, "fan_in", *cases["too_few"])


def test_fan_in_counts_feeders_within_its_window() -> None:
    scored, cases = _fan_in_scene()
    assert_pattern(scored, "fan_in", cases["window"])
    assert_no_pattern(scored, "fan_in", *cases["too_slow"])


def test_fan_in_feeder_first_seen_within_fresh_seconds_is_a_mule() -> None:
    scored, cases = _fan_in_scene()
    assert_pattern(scored, "fan_in", cases["fresh"])
    assert_no_pattern(scored, "fan_in", *cases["stale"])


def test_fan_in_fresh_feeder_makes_at_most_max_feeder_transfers() -> None:
    scored, cases = _fan_in_scene()
    assert_pattern(scored, "fan_in", cases["busy"])
    assert_no_pattern(scored, "fan_in", *cases["too_busy"])


def test_fan_in_old_feeder_sending_min_dedication_to_the_collector_is_a_mule() -> None:
    scored, cases = _fan_in_scene()
    assert_pattern(scored, "fan_in", cases["dedicated"])
    assert_no_pattern(scored, "fan_in", *cases["undedicated"])


def test_fan_in_old_feeder_paying_in_rare_split_transfers_is_a_mule() -> None:
    scored, cases = _fan_in_scene()
    assert_pattern(scored, "fan_in", cases["split"])
    assert_no_pattern(scored, "fan_in", *cases["unsplit"])


def test_fan_in_collector_with_many_counterparties_day_after_day_is_a_service_wallet(
) -> None:
    scored, cases = _fan_in_scene()
    assert scored.stats.service_degree <= DEPOSITORS + 2
    assert (scored.stats.service_days, scored.stats.service_lifetime) == (ACTIVE_DAYS,
                                                                           LIFETIME)
    # Many counterparties on service_min_active_days distinct days over
    # service_min_lifetime_seconds: a service wallet, collecting its customers' deposits;
    # on one day fewer, or a second younger, the same deposits are a fan-in.
    assert_no_pattern(scored, "fan_in", *cases["service"])
    assert_unflagged(scored, *cases["service"])
    assert_pattern(scored, "fan_in", cases["few_days"])
    assert_pattern(scored, "fan_in", cases["young"])


def test_fan_in_leaves_the_exchange_and_market_maker_collecting_from_customers_alone() -> None:
    scored = benign_scored()
    # Customers first seen at their withdrawal deposit back within days: fresh, few
    # transfers, all they send goes to the exchange. Service wallets collect no feeders.
    clients = [customer(k) for k in range(1, 40)]
    traders = [f"{MARKET_MAKER}:client:{k}" for k in range(30)]
    assert_no_pattern(scored, "fan_in", EXCHANGE, MARKET_MAKER, *clients, *traders)
    assert_unflagged(scored, EXCHANGE, MARKET_MAKER, *clients, *traders)


# mint_then_dispersal

MINT = DEFAULTS.rules.mint_then_dispersal


def _mint(ledger: Ledger, case: str, new: int, known: int = 0, *, share: float = 0.9,
          last: int | None = None, held: float = 0.0, extra: float = 0.0
          ) -> dict[str, str]:
    """A new address (holding `held` from a holder the day before) is minted 10,000 and
    sends `share` of the mint plus what it held, an hour apart (the last `last` seconds
    after the mint, if given), in equal parts to `new` new and `known` established
    addresses; `extra` more comes from a holder just after the mint and is sent too."""
    source = f"{case}:source"
    if held:
        ledger.send(established(ledger, f"{case}:funder"), source, held, AT - DAY)
    ledger.mint(source, 10_000, AT)
    if extra:
        ledger.send(established(ledger, f"{case}:topper"), source, 2 * extra, AT + 60)
    names = [f"{case}:new:{k}" for k in range(new)] + [f"{case}:known:{k}"
                                                       for k in range(known)]
    for name in names[new:]:
        established(ledger, name)
    total = 10_000 * share + held + extra
    amounts = [round(total / len(names), 2)] * len(names)
    amounts[-1] = round(total - sum(amounts[:-1]), 6)
    for k, (name, amount) in enumerate(zip(names, amounts, strict=True)):
        at = AT + (k + 1) * HOUR
        if last is not None and k == len(names) - 1:
            at = AT + last
        ledger.send(source, name, amount, at)
    return {source: "source", **dict.fromkeys(names, "recipient")}


@functools.cache
def _mint_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    p, ledger = MINT, background()
    n = p.min_recipients
    new, whole = ratio(p.min_new_share, n)
    cases = {
        "fewest": _mint(ledger, "md:fewest", n),
        "too_few": _mint(ledger, "md:too_few", n - 1),
        "window": _mint(ledger, "md:window", n, last=p.window_seconds),
        "too_slow": _mint(ledger, "md:too_slow", n, last=p.window_seconds + 1),
        "share": _mint(ledger, "md:share", n, share=p.min_share),
        "small_share": _mint(ledger, "md:small_share", n, share=p.min_share - 1e-6),
        "new_share": _mint(ledger, "md:new_share", new, whole - new),
        "too_few_new": _mint(ledger, "md:too_few_new", new, whole - new + 1),
        "held": _mint(ledger, "md:held", n, share=1.0, held=5000),
        "more_than_held": _mint(ledger, "md:more_than_held", n, share=1.0, held=5000,
                                extra=0.01),
    }
    return score(ledger), cases


def test_mint_then_dispersal_needs_min_recipients() -> None:
    scored, cases = _mint_scene()
    assert_pattern(scored, "mint_then_dispersal", cases["fewest"])
    assert_no_pattern(scored, "mint_then_dispersal", *cases["too_few"])


def test_mint_then_dispersal_disperses_within_its_window() -> None:
    scored, cases = _mint_scene()
    assert_pattern(scored, "mint_then_dispersal", cases["window"])
    assert_no_pattern(scored, "mint_then_dispersal", *cases["too_slow"])


def test_mint_then_dispersal_sends_on_min_share_of_the_mint() -> None:
    scored, cases = _mint_scene()
    assert_pattern(scored, "mint_then_dispersal", cases["share"])
    assert_no_pattern(scored, "mint_then_dispersal", *cases["small_share"])


def test_mint_then_dispersal_needs_min_new_share_of_new_recipients() -> None:
    scored, cases = _mint_scene()
    assert_pattern(scored, "mint_then_dispersal", cases["new_share"])
    assert_no_pattern(scored, "mint_then_dispersal", *cases["too_few_new"])


def test_mint_then_dispersal_sends_no_more_than_the_mint_and_what_it_held() -> None:
    scored, cases = _mint_scene()
    assert_pattern(scored, "mint_then_dispersal", cases["held"])
    assert_no_pattern(scored, "mint_then_dispersal", *cases["more_than_held"])


def test_mint_then_dispersal_leaves_payroll_coupons_and_the_exchange_alone() -> None:
    scored = benign_scored()
    payees = [holder(100 + k) for k in range(40)]
    clients = [customer(k) for k in range(5)]
    assert_no_pattern(scored, "mint_then_dispersal", PAYROLL, *STAFF, ISSUER, *payees,
                      EXCHANGE, *clients, *INVESTORS)
    assert_unflagged(scored, PAYROLL, *STAFF, ISSUER, *payees, EXCHANGE, *clients)
