"""Activity over time: velocity_burst, dormant_reactivation, frozen_address_activity at
their configured bounds, just inside and just outside, and their benign look-alikes;
and the benign token as a whole, which no rule may flag.

Each rule's cases live side by side (their own addresses) in one benign background
(support.flows), scored once; bounds are read from DEFAULTS. Where a bound is measured
on the token's own population (how long its holders are usually silent), a scene sets
that population exactly and checks it did.
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
    Ledger,
    address,
    assert_hit,
    assert_no_pattern,
    assert_pattern,
    assert_unflagged,
    background,
    benign_scored,
    day,
    established,
    holder,
    reason,
    score,
)

_established = functools.partial(established, holding=100_000)


# velocity_burst

BURST = DEFAULTS.rules.velocity_burst
SHOPS = tuple(f"vb:shop:{k}" for k in range(60))


def _burst(ledger: Ledger, case: str, count: int, *, span: int | None = None,
           start: int = AT, rest: int = 0, minted_before: int | None = None) -> str:
    """`case` pays `count` shops evenly over `span` seconds (the burst window) from
    `start`; it was minted 100,000 ten days before (or `minted_before` seconds before
    the burst, as an issuer is), and paid `rest` transfers to shops over ten hours
    five days before."""
    minted = minted_before if minted_before is not None else 10 * DAY
    ledger.mint(case, 100_000, start - minted)
    window = BURST.window_seconds if span is None else span
    for k in range(count):
        ledger.send(case, SHOPS[k], 100, start + window * k // max(count - 1, 1))
    for k in range(rest):
        ledger.send(case, SHOPS[k % len(SHOPS)], 100, start - 5 * DAY + k * 10 * HOUR // rest)
    return case


def _rest_for_factor() -> int:
    """Transfers besides the burst (the mint included) that put a burst of
    min_transfers on three active days exactly min_factor times the usual rate."""
    p = BURST
    hours = 3 * p.active_hours_per_day * 3600 / p.window_seconds
    rest = p.min_transfers * hours / p.min_factor
    assert rest.is_integer() and rest / hours >= p.baseline_floor, rest
    return int(rest)


@functools.cache
def _burst_scene() -> Scored:
    p, ledger = BURST, background()
    for shop in SHOPS:
        _established(ledger, shop, day(0))
    n, rest = p.min_transfers, _rest_for_factor() - 1  # minus the mint
    _burst(ledger, "vb:fewest", n)
    _burst(ledger, "vb:too_few", n - 1)
    _burst(ledger, "vb:too_slow", n, span=p.window_seconds + 1)
    _burst(ledger, "vb:factor", n, rest=rest)
    _burst(ledger, "vb:usual", n, rest=rest + 1)
    _burst(ledger, "vb:old_mint", n, minted_before=p.mint_lookback_seconds + 1)
    _burst(ledger, "vb:issuance", n, minted_before=p.mint_lookback_seconds)
    # Look-alike: a busy wallet paying 30 shops a day, 3 an hour for ten hours, on ten
    # days; on one of them 12 more within an hour.
    _established(ledger, "vb:busy", AT - 11 * DAY)
    for d in range(10):
        for k in range(30):
            shop = SHOPS[(30 * d + k) % len(SHOPS)]
            ledger.send("vb:busy", shop, 100, AT - 10 * DAY + d * DAY + k * 20 * 60)
    for k in range(n):
        ledger.send("vb:busy", SHOPS[(30 * 9 + 30 + k) % len(SHOPS)], 100,
                    AT - DAY + 14 * HOUR + k * 60)
    return score(ledger)


def _no_burst(scored: Scored, name: str) -> None:
    held = reason(scored, name, "velocity_burst")
    assert held is None, held


def test_velocity_burst_min_transfers_within_its_window() -> None:
    scored = _burst_scene()
    assert_hit(scored, "velocity_burst", "vb:fewest")
    _no_burst(scored, "vb:too_few")
    _no_burst(scored, "vb:too_slow")


def test_velocity_burst_min_factor_times_its_usual_rate() -> None:
    scored = _burst_scene()
    assert_hit(scored, "velocity_burst", "vb:factor")
    _no_burst(scored, "vb:usual")


def test_velocity_burst_paying_out_a_mint_within_mint_lookback_is_issuance() -> None:
    scored = _burst_scene()
    assert_hit(scored, "velocity_burst", "vb:old_mint")
    _no_burst(scored, "vb:issuance")


def test_velocity_burst_leaves_busy_wallets_and_coupon_runs_alone() -> None:
    scored = _burst_scene()
    _no_burst(scored, "vb:busy")
    _no_burst(scored, EXCHANGE)
    assert_unflagged(scored, "vb:busy", EXCHANGE, *SHOPS)
    scored = benign_scored()  # the issuer pays 40 coupons within the hour of its mint
    _no_burst(scored, ISSUER)
    _no_burst(scored, MARKET_MAKER)
    assert_unflagged(scored, ISSUER, MARKET_MAKER)


# dormant_reactivation

DORMANT = DEFAULTS.rules.dormant_reactivation
WAKE = day(70)


def _dormant(ledger: Ledger, case: str, silence: int, *, new: int | None = None,
             known: int = 0, last: int = HOUR) -> dict[str, str]:
    """Minted 10,000 `silence` seconds before WAKE, `case` then pays 1,000 each to `new`
    new addresses (min_new_recipients by default) and `known` established ones, the
    last `last` seconds after the first."""
    ledger.mint(case, 10_000, WAKE - silence)
    names = [f"{case}:new:{k}" for k in range(DORMANT.min_new_recipients if new is None
                                              else new)]
    payees = names + [_established(ledger, f"{case}:known:{k}") for k in range(known)]
    for k, payee in enumerate(payees):
        ledger.send(case, payee, 1000, WAKE + last * k // max(len(payees) - 1, 1))
    return {case: "source", **dict.fromkeys(names, "recipient")}


def _wake_to_forward(ledger: Ledger, case: str, silence: int, *, hold: int = HOUR,
                     share: float = 1.0) -> dict[str, str]:
    """Minted 1,000 `silence` seconds before WAKE, `case` then gets 10,000 from an
    established address and passes `share` of it to one new address `hold` later."""
    ledger.mint(case, 1000, WAKE - silence)
    ledger.send(_established(ledger, f"{case}:payer", WAKE - 10 * DAY), case, 10_000, WAKE)
    ledger.send(case, f"{case}:new", round(10_000 * share, 2), WAKE + hold)
    return {case: "intermediary", f"{case}:new": "recipient"}


@functools.cache
def _dormant_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    p, ledger = DORMANT, background()
    long = p.min_dormant_seconds
    n = p.min_new_recipients
    cases = {
        "silent": _dormant(ledger, "dr:silent", long),
        "awake": _dormant(ledger, "dr:awake", long - 1),
        "burst": _dormant(ledger, "dr:burst", long, last=p.burst_seconds),
        "too_slow": _dormant(ledger, "dr:too_slow", long, last=p.burst_seconds + 1),
        "too_few_new": _dormant(ledger, "dr:too_few_new", long, new=n - 1, known=1),
        "forward": _wake_to_forward(ledger, "dr:forward", long, hold=p.forward_hold_seconds),
        "held": _wake_to_forward(ledger, "dr:held", long, hold=p.forward_hold_seconds + 1),
        "forwarded": _wake_to_forward(ledger, "dr:forwarded", long, share=p.min_forwarded),
        "kept": _wake_to_forward(ledger, "dr:kept", long, share=p.min_forwarded - 1e-6),
    }
    return score(ledger), cases


def test_dormant_reactivation_after_min_dormant_seconds_of_silence() -> None:
    scored, cases = _dormant_scene()
    # The background's holders are silent for less, so the configured floor decides.
    assert scored.stats.long_silence < DORMANT.min_dormant_seconds
    assert_pattern(scored, "dormant_reactivation", cases["silent"])
    assert_no_pattern(scored, "dormant_reactivation", *cases["awake"])


def test_dormant_reactivation_disperses_within_burst_seconds_of_waking() -> None:
    scored, cases = _dormant_scene()
    assert_pattern(scored, "dormant_reactivation", cases["burst"])
    assert_no_pattern(scored, "dormant_reactivation", *cases["too_slow"])


def test_dormant_reactivation_disperses_to_min_new_recipients() -> None:
    scored, cases = _dormant_scene()
    assert_pattern(scored, "dormant_reactivation", cases["silent"])
    assert_no_pattern(scored, "dormant_reactivation", *cases["too_few_new"],
                      "dr:too_few_new:known:0")


def test_dormant_reactivation_passes_through_within_forward_hold() -> None:
    scored, cases = _dormant_scene()
    assert_pattern(scored, "dormant_reactivation", cases["forward"])
    assert_no_pattern(scored, "dormant_reactivation", *cases["held"])


def test_dormant_reactivation_passes_through_min_forwarded_of_its_receipts() -> None:
    scored, cases = _dormant_scene()
    assert_pattern(scored, "dormant_reactivation", cases["forwarded"])
    assert_no_pattern(scored, "dormant_reactivation", *cases["kept"])


PATIENT = 60  # holders silent for exactly the same long time, then redeeming
SILENCE = 100 * DAY


@functools.cache
def _patient_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    """A token whose holders usually sit for SILENCE before they redeem: its long
    silences are longer than the configured floor."""
    ledger = background()
    for k in range(PATIENT):
        ledger.mint(f"patient:{k}", 10_000, WAKE - SILENCE - k)
        ledger.burn(f"patient:{k}", 10_000, WAKE - k)
    cases = {
        "silent": _dormant(ledger, "pa:silent", SILENCE),
        "usual": _dormant(ledger, "pa:usual", SILENCE - 1),
    }
    return score(ledger), cases


def test_dormant_reactivation_silence_longer_than_the_token_holders_usually_are() -> None:
    scored, cases = _patient_scene()
    assert scored.stats.long_silence == SILENCE > DORMANT.min_dormant_seconds
    assert_pattern(scored, "dormant_reactivation", cases["silent"])
    assert_no_pattern(scored, "dormant_reactivation", *cases["usual"])
    assert_unflagged(scored, *cases["usual"], *(f"patient:{k}" for k in range(PATIENT)))


def test_dormant_reactivation_leaves_investors_redeeming_or_selling_after_months_alone(
) -> None:
    scored = benign_scored()
    # Silent for 120 days, then: a burn, a redemption to the issuer, a sale on the
    # exchange, a sale to the market maker, a sale to another holder.
    assert scored.stats.long_silence < 120 * DAY
    assert_no_pattern(scored, "dormant_reactivation", *INVESTORS, ISSUER, EXCHANGE,
                      MARKET_MAKER, holder(199))
    assert_unflagged(scored, *INVESTORS, ISSUER, holder(199))


# frozen_address_activity

FREEZE, THAW = AT, AT + 10 * DAY


@functools.cache
def _frozen_scene() -> Scored:
    """Frozen holders at the exchange, moving just inside and just outside their
    freezes."""
    ledger = background()
    for name in ("fz:at_freeze", "fz:before", "fz:after_thaw", "fz:before_thaw",
                 "fz:still"):
        _established(ledger, name)
        ledger.freeze(name, FREEZE, None if name == "fz:at_freeze" else THAW)
    ledger.send("fz:at_freeze", EXCHANGE, 100, FREEZE)
    ledger.send("fz:before", EXCHANGE, 100, FREEZE - 1)
    ledger.send("fz:after_thaw", EXCHANGE, 100, THAW + 1)
    ledger.send(EXCHANGE, "fz:before_thaw", 100, THAW - 1)  # receiving counts too
    ledger.send("fz:still", EXCHANGE, 100, FREEZE - DAY)
    return score(ledger)


def test_frozen_address_activity_from_the_freeze_until_the_thaw() -> None:
    scored = _frozen_scene()
    rule = "frozen_address_activity"
    assert_hit(scored, rule, "fz:at_freeze")
    assert_hit(scored, rule, "fz:before_thaw")
    assert reason(scored, "fz:before", rule) is None
    assert reason(scored, "fz:after_thaw", rule) is None


def test_frozen_address_activity_leaves_a_frozen_address_that_does_not_move_alone() -> None:
    scored = _frozen_scene()
    assert reason(scored, "fz:still", "frozen_address_activity") is None
    assert reason(scored, EXCHANGE, "frozen_address_activity") is None  # a counterparty
    assert_unflagged(scored, "fz:still", "fz:before", "fz:after_thaw", EXCHANGE)


# The benign token as a whole


def test_no_rule_flags_anyone_in_the_benign_token() -> None:
    scored = benign_scored()
    flagged = {a: sorted(scored.raw[a]) for a, r in scored.risk.items()
               if r >= DEFAULTS.flag_min_risk}
    assert not flagged, flagged
    assert not scored.patterns, [p.title for p in scored.patterns.values()]
    assert address(EXCHANGE) in set(scored.flows.addresses)
