"""Chains: peel_chain, cycle, rapid_pass_through at their configured bounds, just inside
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
    DEPOSIT,
    DEPOSITOR,
    EXCHANGE,
    HOUR,
    MARKET_MAKER,
    Ledger,
    assert_no_pattern,
    assert_pattern,
    assert_unflagged,
    background,
    benign_scored,
    customer,
    established,
    ratio,
    score,
)

# peel_chain

PEEL = DEFAULTS.rules.peel_chain


def _peel(ledger: Ledger, case: str, hops: int, *, carry: float = 0.8, hold: int = HOUR,
          topups: int = 0, peels: int = 1) -> dict[str, str]:
    """An established source pays 10,000 to the first of `hops` new addresses; each hop
    passes 80% of what it got to the next after an hour and peels 90% of the rest off
    to a side address. The second hop is the one at the bound: it first gets `topups`
    top-ups of 10, then passes `carry` on after `hold` and peels in `peels` parts."""
    source = established(ledger, f"{case}:source")
    names = [f"{case}:hop:{k}" for k in range(hops)] + [f"{case}:end"]
    members = dict.fromkeys(names[:-1], "hop")
    members[names[-1]] = "recipient"
    ledger.send(source, names[0], 10_000, AT)
    got, at = 10_000.0, AT
    for k, hop in enumerate(names[:-1]):
        odd = k == 1
        for n in range(topups if odd else 0):
            ledger.send(established(ledger, f"{case}:topper:{n}"), hop, 10, at + 60 * (n + 1))
            got += 10
        passed = round(got * (carry if odd else 0.8), 2)
        at += hold if odd else HOUR
        ledger.send(hop, names[k + 1], passed, at)
        parts = peels if odd else 1
        for n in range(parts):
            side = f"{case}:peel:{k}:{n}"
            ledger.send(hop, side, round(0.9 * (got - passed) / parts, 2), at + 60 * (n + 1))
            members[side] = "recipient"
        got = passed
    return members


@functools.cache
def _peel_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    p, ledger = PEEL, background()
    n = p.min_hops
    cases = {
        "fewest": _peel(ledger, "pc:fewest", n),
        "too_few": _peel(ledger, "pc:too_few", n - 1),
        "carry": _peel(ledger, "pc:carry", n, carry=p.min_carry),
        "small_carry": _peel(ledger, "pc:small_carry", n, carry=p.min_carry - 1e-6),
        "hold": _peel(ledger, "pc:hold", n, hold=p.max_hold_seconds),
        "too_long": _peel(ledger, "pc:too_long", n, hold=p.max_hold_seconds + 1),
        "receipts": _peel(ledger, "pc:receipts", n, topups=p.max_hop_receipts - 1),
        "too_many_receipts": _peel(ledger, "pc:too_many_receipts", n,
                                   topups=p.max_hop_receipts),
        "sends": _peel(ledger, "pc:sends", n, peels=p.max_hop_sends - 1),
        "too_many_sends": _peel(ledger, "pc:too_many_sends", n, peels=p.max_hop_sends),
    }
    # Look-alike: a salary passes through its earner's wallets into an exchange deposit
    # address, paying rent and a bill on the way; the deposit address sweeps it to the
    # exchange in two transfers. Sweeping deposits is not peeling.
    employer = established(ledger, "pc:employer")
    ledger.send(employer, "pc:earner", 10_000, AT)
    ledger.send("pc:earner", "pc:savings", 7000, AT + 5 * DAY)
    ledger.send("pc:earner", established(ledger, "pc:landlord"), 3000, AT + 5 * DAY + HOUR)
    ledger.send("pc:savings", "pc:deposit", 6000, AT + 10 * DAY)
    ledger.send("pc:savings", established(ledger, "pc:utility"), 1000, AT + 10 * DAY + HOUR)
    ledger.send("pc:deposit", EXCHANGE, 5900, AT + 10 * DAY + 2 * HOUR)
    ledger.send("pc:deposit", EXCHANGE, 100, AT + 10 * DAY + 3 * HOUR)
    return score(ledger), cases


def test_peel_chain_needs_min_hops() -> None:
    scored, cases = _peel_scene()
    assert_pattern(scored, "peel_chain", cases["fewest"])
    assert_no_pattern(scored, "peel_chain", *cases["too_few"])


def test_peel_chain_hop_carries_min_carry_onward() -> None:
    scored, cases = _peel_scene()
    assert_pattern(scored, "peel_chain", cases["carry"])
    assert_no_pattern(scored, "peel_chain", *cases["small_carry"])


def test_peel_chain_hop_forwards_within_max_hold() -> None:
    scored, cases = _peel_scene()
    assert_pattern(scored, "peel_chain", cases["hold"])
    assert_no_pattern(scored, "peel_chain", *cases["too_long"])


def test_peel_chain_hop_receives_at_most_max_hop_receipts() -> None:
    scored, cases = _peel_scene()
    assert_pattern(scored, "peel_chain", cases["receipts"])
    assert_no_pattern(scored, "peel_chain", *cases["too_many_receipts"])


def test_peel_chain_hop_sends_at_most_max_hop_sends() -> None:
    scored, cases = _peel_scene()
    assert_pattern(scored, "peel_chain", cases["sends"])
    assert_no_pattern(scored, "peel_chain", *cases["too_many_sends"])


def test_peel_chain_leaves_a_salary_swept_through_a_deposit_address_alone() -> None:
    scored, _ = _peel_scene()
    household = ["pc:employer", "pc:earner", "pc:savings", "pc:deposit", "pc:landlord",
                 "pc:utility"]
    assert_no_pattern(scored, "peel_chain", *household)
    assert_unflagged(scored, *household)


# cycle

CYCLE = DEFAULTS.rules.cycle


def _cycle(ledger: Ledger, case: str, size: int, *, span: int | None = None,
           follow: float = 0.99, extra: int = 0) -> dict[str, str]:
    """`size` addresses pass value round: the first, minted 10,000 a week before, pays
    the second, and so on back to the first, a leg a day (the last `span` seconds after
    the first, if given); each leg after the first carries `follow` of the first. The
    second member also got 100 from `extra` established addresses before."""
    names = [f"{case}:member:{k}" for k in range(size)]
    ledger.mint(names[0], 10_000, AT - 7 * DAY)
    for k in range(extra):
        ledger.send(established(ledger, f"{case}:payer:{k}"), names[1], 100, AT - DAY)
    for k in range(size):
        at = AT + k * DAY
        if span is not None and k == size - 1:
            at = AT + span
        amount = 10_000 if k == 0 else round(10_000 * follow, 2)
        ledger.send(names[k], names[(k + 1) % size], amount, at)
    return dict.fromkeys(names, "cycle_member")


@functools.cache
def _cycle_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    p, ledger = CYCLE, background()
    n = p.min_length
    cases = {
        "shortest": _cycle(ledger, "cy:shortest", n),
        "too_short": _cycle(ledger, "cy:too_short", n - 1),
        "longest": _cycle(ledger, "cy:longest", p.max_length),
        "too_long": _cycle(ledger, "cy:too_long", p.max_length + 1),
        "window": _cycle(ledger, "cy:window", n, span=p.window_seconds),
        "too_slow": _cycle(ledger, "cy:too_slow", n, span=p.window_seconds + 1),
        "tolerance": _cycle(ledger, "cy:tolerance", n, follow=1 - p.amount_tolerance),
        "too_different": _cycle(ledger, "cy:too_different", n,
                                follow=1 - p.amount_tolerance - 1e-6),
        # The second member: 2 counterparties in the loop, the rest outside.
        "degree": _cycle(ledger, "cy:degree", n, extra=p.max_counterparties - 2),
        "hub": _cycle(ledger, "cy:hub", n, extra=p.max_counterparties - 1),
    }
    # Look-alike: a holder deposits at the exchange, a second withdraws as much, and
    # pays the first back: a round through a service wallet, which has countless loops.
    first, second = established(ledger, "cy:first"), established(ledger, "cy:second")
    ledger.send(first, EXCHANGE, 5000, AT)
    ledger.send(EXCHANGE, second, 5000, AT + DAY)
    ledger.send(second, first, 5000, AT + 2 * DAY)
    return score(ledger), cases


def test_cycle_has_at_least_min_length_members() -> None:
    scored, cases = _cycle_scene()
    assert_pattern(scored, "cycle", cases["shortest"])
    assert_no_pattern(scored, "cycle", *cases["too_short"])


def test_cycle_has_at_most_max_length_members() -> None:
    scored, cases = _cycle_scene()
    assert_pattern(scored, "cycle", cases["longest"])
    assert_no_pattern(scored, "cycle", *cases["too_long"])


def test_cycle_completes_within_its_window() -> None:
    scored, cases = _cycle_scene()
    assert_pattern(scored, "cycle", cases["window"])
    assert_no_pattern(scored, "cycle", *cases["too_slow"])


def test_cycle_legs_within_amount_tolerance_of_the_first() -> None:
    scored, cases = _cycle_scene()
    assert_pattern(scored, "cycle", cases["tolerance"])
    assert_no_pattern(scored, "cycle", *cases["too_different"])


def test_cycle_members_have_at_most_max_counterparties() -> None:
    scored, cases = _cycle_scene()
    assert_pattern(scored, "cycle", cases["degree"])
    assert_no_pattern(scored, "cycle", *cases["hub"])


def test_cycle_leaves_a_round_through_the_exchange_alone() -> None:
    scored, _ = _cycle_scene()
    assert_no_pattern(scored, "cycle", "cy:first", "cy:second", EXCHANGE)
    assert_unflagged(scored, "cy:first", "cy:second", EXCHANGE)


# rapid_pass_through

PASS = DEFAULTS.rules.rapid_pass_through


def _relay(ledger: Ledger, case: str, receipts: int, *, hold: int = HOUR,
           first_carry: float = 1.0, kept: float = 0.0, carry: float = 1.0, late: int = 0,
           sources: int | None = None, recipients: int | None = None) -> dict[str, str]:
    """A new relay gets 10,000 from established sources (`sources` distinct ones, in
    turn), a day after it forwarded the one before, and forwards `carry` of each
    (`first_carry` of the first) `hold` seconds later to new recipients (`recipients`
    distinct ones, in turn); then gets `kept` from another source and keeps it, and
    pays 100 to its recipients `late` times a week after."""
    relay = f"{case}:relay"
    members = {relay: "intermediary"}
    sources, recipients = sources or receipts, recipients or receipts
    step = hold + DAY
    for k in range(receipts):
        source, recipient = f"{case}:source:{k % sources}", f"{case}:recipient:{k % recipients}"
        if k < sources:
            established(ledger, source)
        members[source], members[recipient] = "source", "recipient"
        ledger.send(source, relay, 10_000, AT + k * step)
        share = first_carry if k == 0 else carry
        ledger.send(relay, recipient, round(10_000 * share, 2), AT + k * step + hold)
    end = AT + receipts * step
    if kept:
        ledger.send(established(ledger, f"{case}:keeper"), relay, kept, end)
    for k in range(late):
        ledger.send(relay, f"{case}:recipient:{k % recipients}", 100, end + 7 * DAY + k)
    return members


def _chain(ledger: Ledger, case: str, relays: int) -> dict[str, str]:
    """An established source pays 10,000 to the first of `relays` new addresses; each
    forwards it to the next within the hour, the last to a new recipient."""
    names = [f"{case}:source"] + [f"{case}:relay:{k}" for k in range(relays)]
    names.append(f"{case}:recipient")
    established(ledger, names[0])
    for k in range(len(names) - 1):
        ledger.send(names[k], names[k + 1], 10_000, AT + k * HOUR)
    return {names[0]: "source", **dict.fromkeys(names[1:-1], "intermediary"),
            names[-1]: "recipient"}


@functools.cache
def _pass_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    p, ledger = PASS, background()
    n = p.min_cycles
    # Kept: what makes the forwarded share exactly min_forwarded.
    kept = n * 10_000 / p.min_forwarded - n * 10_000
    quick, outgoing = ratio(p.min_quick_share, n)
    limit = p.max_counterparties
    wide = limit // 2 + 2  # receipts: enough for one more source than the limit allows
    cases = {
        "cycles": _relay(ledger, "pt:cycles", n),
        "too_few_cycles": _relay(ledger, "pt:too_few_cycles", n - 1),
        "chain": _chain(ledger, "pt:chain", p.min_chain),
        "too_short": _chain(ledger, "pt:too_short", p.min_chain - 1),
        "hold": _relay(ledger, "pt:hold", n, hold=p.max_hold_seconds),
        "too_long": _relay(ledger, "pt:too_long", n, hold=p.max_hold_seconds + 1),
        "match": _relay(ledger, "pt:match", n, first_carry=p.match_low),
        "mismatch": _relay(ledger, "pt:mismatch", n, first_carry=p.match_low - 1e-6),
        "forwarded": _relay(ledger, "pt:forwarded", n, kept=kept),
        "kept": _relay(ledger, "pt:kept", n, kept=kept + 0.01),
        "quick_share": _relay(ledger, "pt:quick_share", quick, carry=0.8,
                              late=outgoing - quick),
        "slow_share": _relay(ledger, "pt:slow_share", quick, carry=0.8,
                             late=outgoing - quick + 1),
        "degree": _relay(ledger, "pt:degree", wide, sources=limit - limit // 2,
                         recipients=limit // 2),
        "hub": _relay(ledger, "pt:hub", wide, sources=limit - limit // 2 + 1,
                      recipients=limit // 2),
    }
    return score(ledger), cases


def test_rapid_pass_through_relay_forwarding_min_cycles_times() -> None:
    scored, cases = _pass_scene()
    assert_pattern(scored, "rapid_pass_through", cases["cycles"])
    assert_no_pattern(scored, "rapid_pass_through", *cases["too_few_cycles"])


def test_rapid_pass_through_chain_of_min_chain_relays() -> None:
    scored, cases = _pass_scene()
    assert_pattern(scored, "rapid_pass_through", cases["chain"])
    assert_no_pattern(scored, "rapid_pass_through", *cases["too_short"])


def test_rapid_pass_through_forward_within_max_hold() -> None:
    scored, cases = _pass_scene()
    assert_pattern(scored, "rapid_pass_through", cases["hold"])
    assert_no_pattern(scored, "rapid_pass_through", *cases["too_long"])


def test_rapid_pass_through_forward_carries_match_low_of_the_receipt() -> None:
    scored, cases = _pass_scene()
    assert_pattern(scored, "rapid_pass_through", cases["match"])
    assert_no_pattern(scored, "rapid_pass_through", *cases["mismatch"])


def test_rapid_pass_through_relay_forwards_min_forwarded_of_all_it_received() -> None:
    scored, cases = _pass_scene()
    assert_pattern(scored, "rapid_pass_through", cases["forwarded"])
    assert_no_pattern(scored, "rapid_pass_through", *cases["kept"])


def test_rapid_pass_through_forwards_are_min_quick_share_of_its_transfers() -> None:
    scored, cases = _pass_scene()
    assert_pattern(scored, "rapid_pass_through", cases["quick_share"])
    assert_no_pattern(scored, "rapid_pass_through", *cases["slow_share"])


def test_rapid_pass_through_relay_has_at_most_max_counterparties() -> None:
    scored, cases = _pass_scene()
    assert_pattern(scored, "rapid_pass_through", cases["degree"])
    assert_no_pattern(scored, "rapid_pass_through", *cases["hub"])


def test_rapid_pass_through_leaves_deposit_addresses_and_market_maker_clients_alone(
) -> None:
    scored = benign_scored()
    # A deposit address swept within the half hour, three times; exchange customers
    # and market-maker clients who sell back within days of buying.
    clients = [customer(k) for k in range(1, 40)]
    traders = [f"{MARKET_MAKER}:client:{k}" for k in range(30)]
    assert_no_pattern(scored, "rapid_pass_through", DEPOSITOR, DEPOSIT, EXCHANGE, *clients,
                      MARKET_MAKER, *traders)
    assert_unflagged(scored, DEPOSITOR, DEPOSIT, EXCHANGE, *clients, MARKET_MAKER, *traders)
