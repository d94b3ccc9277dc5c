"""Amounts: structuring, split_transfers, new_address_large_value at their configured
bounds, just inside and just outside, and their benign look-alikes.

Each rule's cases live side by side (their own addresses) in one benign background
(support.flows), scored once; bounds are read from DEFAULTS. Where a bound is measured
on the token's own population (the share of in-band transfers, how rare a split is,
the largest transfers), a scene sets that population exactly and checks it did.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
import pytest

from monitor.scoring import population
from monitor.scoring.config import DEFAULTS
from monitor.scoring.evaluate import Scored, compute_features
from monitor.scoring.rules.split_transfers import grade
from support.flows import (
    AT,
    DAY,
    EXCHANGE,
    HOUR,
    LARGEST,
    TOPPER,
    Ledger,
    address,
    assert_hit,
    assert_no_pattern,
    assert_pattern,
    assert_unflagged,
    background,
    benign_scored,
    customer,
    day,
    established,
    ratio,
    reason,
    score,
)

_established = functools.partial(established, holding=100_000)


# structuring

STRUCT = DEFAULTS.rules.structuring
THRESHOLD = STRUCT.reporting_threshold
LOW = STRUCT.band * THRESHOLD  # the band's floor, inside it
HIGH = THRESHOLD - 0.01  # the band's top, inside it


def _source(ledger: Ledger, case: str, amounts: list[float], *, span: int = HOUR,
            ordinary: int = 0, new: bool = True) -> dict[str, str]:
    """An established source pays `amounts` to as many new (or established) addresses,
    evenly over `span` seconds, and 1,000 to `ordinary` others meanwhile."""
    source = _established(ledger, f"{case}:source")
    members = {source: "source"}
    for k, amount in enumerate(amounts):
        if not new:
            _established(ledger, f"{case}:recipient:{k}")
        ledger.send(source, f"{case}:recipient:{k}", amount,
                    AT + span * k // max(len(amounts) - 1, 1))
        members[f"{case}:recipient:{k}"] = "recipient"
    for k in range(ordinary):
        other = f"{case}:other:{k}" if new else _established(ledger, f"{case}:other:{k}")
        ledger.send(source, other, 1000, AT + 60 * (k + 1))
    return members


def _collector(ledger: Ledger, case: str, senders: int) -> dict[str, str]:
    """`senders` established addresses pay one new collector min_transfers in-band
    transfers in all within the hour, each paying more ordinary transfers elsewhere."""
    collector = f"{case}:collector"
    members = {collector: "collector"}
    for k in range(STRUCT.min_transfers):
        sender = f"{case}:sender:{k % senders}"
        if k < senders:
            _established(ledger, sender)
        members[sender] = "feeder"
        ledger.send(sender, collector, HIGH, AT + k * 60)
        for n in range(2):
            ledger.send(sender, f"{case}:other:{k}:{n}", 1000, AT + HOUR + k * 60 + n)
    return members


@functools.cache
def _structuring_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    p, ledger = STRUCT, background()
    n = p.min_transfers
    part, whole = ratio(p.min_share, n)
    cases = {
        "floor": _source(ledger, "st:floor", [LOW] * n),
        "below_band": _source(ledger, "st:below_band", [LOW - 0.01] * n),
        "top": _source(ledger, "st:top", [HIGH] * n),
        "at_threshold": _source(ledger, "st:at_threshold", [THRESHOLD] * n),
        "too_few": _source(ledger, "st:too_few", [HIGH] * (n - 1)),
        "window": _source(ledger, "st:window", [HIGH] * n, span=p.window_seconds),
        "too_slow": _source(ledger, "st:too_slow", [HIGH] * n, span=p.window_seconds + 1),
        "share": _source(ledger, "st:share", [HIGH] * part, ordinary=whole - part),
        "small_share": _source(ledger, "st:small_share", [HIGH] * part,
                               ordinary=whole - part + 1),
        "collector": _collector(ledger, "st:collector", 2),
        "one_sender": _collector(ledger, "st:one_sender", 1),
    }
    # Look-alike: a holder deposits just-below amounts at the exchange.
    depositor = _established(ledger, "st:depositor")
    for k in range(n):
        ledger.send(depositor, EXCHANGE, HIGH, AT + k * HOUR)
    return score(ledger), cases


def test_structuring_amounts_from_band_times_threshold() -> None:
    scored, cases = _structuring_scene()
    assert_pattern(scored, "structuring", cases["floor"])
    assert_no_pattern(scored, "structuring", *cases["below_band"])


def test_structuring_amounts_below_the_reporting_threshold() -> None:
    scored, cases = _structuring_scene()
    assert_pattern(scored, "structuring", cases["top"])
    assert_no_pattern(scored, "structuring", *cases["at_threshold"])


def test_structuring_needs_min_transfers() -> None:
    scored, cases = _structuring_scene()
    assert_pattern(scored, "structuring", cases["top"])  # min_transfers of them
    assert_no_pattern(scored, "structuring", *cases["too_few"])


def test_structuring_transfers_within_its_window() -> None:
    scored, cases = _structuring_scene()
    assert_pattern(scored, "structuring", cases["window"])
    assert_no_pattern(scored, "structuring", *cases["too_slow"])


def test_structuring_transfers_are_min_share_of_the_source_outgoing() -> None:
    scored, cases = _structuring_scene()
    assert_pattern(scored, "structuring", cases["share"])
    assert_no_pattern(scored, "structuring", *cases["small_share"])


def test_structuring_into_one_collector_needs_two_senders() -> None:
    scored, cases = _structuring_scene()
    assert_pattern(scored, "structuring", cases["collector"])
    assert_no_pattern(scored, "structuring", *cases["one_sender"])


def test_structuring_leaves_deposits_at_the_exchange_alone() -> None:
    scored, _ = _structuring_scene()
    assert_no_pattern(scored, "structuring", "st:depositor", EXCHANGE)
    assert_unflagged(scored, "st:depositor", EXCHANGE)


def _lift_scene(extra: int) -> tuple[Scored, dict[str, str], float]:
    """A holder whose transfers to other holders are mostly in the band, on a token
    where exactly its share / min_lift of all transfers are (plus `extra` more in-band
    ones): in-band amounts are this token's ordinary business."""
    p, ledger = STRUCT, background()
    n = p.min_transfers
    members = _source(ledger, "lift", [HIGH] * n, ordinary=1, new=False)
    mine = Fraction(n, n + 1)
    base = mine / Fraction(str(p.min_lift))
    real = [r for r in ledger.rows if "0" not in (r[2], r[3])]
    band = sum(LOW <= r[4] < THRESHOLD for r in real)
    # (band + x) / (len(real) + x + y) == base, with the fewest in-band fillers x.
    x = 0
    while (y := (band + x) / base - len(real) - x) < 0 or y.denominator != 1:
        x += 1
    for k in range(x + extra):
        ledger.send(_established(ledger, f"lift:band:{k}", AT - 30 * DAY), f"lift:to:{k}",
                    LOW + k % 100, AT - 10 * DAY + k * 60)
    for k in range(int(y)):
        ledger.send(_established(ledger, f"lift:plain:{k}", AT - 30 * DAY),
                    f"lift:plain_to:{k}", 1000, AT - 10 * DAY + k * 60)
    return score(ledger), members, float(base)


@functools.cache
def _lift(extra: int) -> tuple[Scored, dict[str, str], float]:
    return _lift_scene(extra)


def test_structuring_needs_min_lift_over_the_token_in_band_share() -> None:
    scored, members, base = _lift(0)
    assert scored.stats.in_band_share == base
    assert_pattern(scored, "structuring", members)
    # One more in-band transfer on the token: the source's share is no longer unusual.
    scored, members, base = _lift(1)
    assert scored.stats.in_band_share > base
    assert_no_pattern(scored, "structuring", *members)
    assert_unflagged(scored, *members)


# split_transfers

SPLIT = DEFAULTS.rules.split_transfers
WINDOW = SPLIT.window_seconds


def _pair(ledger: Ledger, case: str, gaps: list[int], days: int = 1,
          receiver: str | None = None) -> dict[str, str]:
    """An established sender pays `receiver` (an established address of its own by
    default) 1,000 at 10:00 and again after each of `gaps` seconds, on `days` days a
    week apart; it paid another holder once before."""
    sender = _established(ledger, f"{case}:sender")
    ledger.send(sender, _established(ledger, f"{case}:friend"), 1000, AT - 5 * DAY)
    to = receiver or _established(ledger, f"{case}:receiver")
    for d in range(days):
        at = day(35 + 7 * d, 10)
        ledger.send(sender, to, 1000, at)
        for gap in gaps:
            at += gap
            ledger.send(sender, to, 1000, at)
    return {sender: "source"} if receiver else {sender: "source", to: "collector"}


@functools.cache
def _split_scene() -> tuple[Scored, dict[str, dict[str, str]]]:
    p, ledger = SPLIT, background()
    few = [HOUR] * (p.min_transfers - 1)
    cases = {
        "fewest": _pair(ledger, "sp:fewest", few),
        "too_few": _pair(ledger, "sp:too_few", few[1:]),
        "window": _pair(ledger, "sp:window", [WINDOW // (p.min_transfers - 1)] * (
            p.min_transfers - 1)),
        "too_slow": _pair(ledger, "sp:too_slow", [WINDOW // (p.min_transfers - 1)] * (
            p.min_transfers - 2) + [WINDOW // (p.min_transfers - 1) + 1]),
        "occasions": _pair(ledger, "sp:occasions", few, days=p.habit_days - 1),
        "habit": _pair(ledger, "sp:habit", few, days=p.habit_days),
        "deposit": _pair(ledger, "sp:deposit", few, receiver=EXCHANGE),
    }
    return score(ledger), cases


def test_split_transfers_needs_min_transfers_to_one_receiver() -> None:
    scored, cases = _split_scene()
    assert scored.stats.burst_rarity(SPLIT.min_transfers) <= SPLIT.rare_share
    assert_pattern(scored, "split_transfers", cases["fewest"])
    assert_no_pattern(scored, "split_transfers", *cases["too_few"])


def test_split_transfers_within_its_window() -> None:
    scored, cases = _split_scene()
    assert_pattern(scored, "split_transfers", cases["window"])
    assert_no_pattern(scored, "split_transfers", *cases["too_slow"])


def test_split_transfers_on_fewer_than_habit_days_windows_only() -> None:
    scored, cases = _split_scene()
    assert_pattern(scored, "split_transfers", cases["occasions"])
    # A pair that does it on habit_days days is topping up an account: a routine.
    assert_no_pattern(scored, "split_transfers", *cases["habit"])
    assert_unflagged(scored, *cases["habit"])


def test_split_transfers_into_a_service_wallet_name_only_the_sender() -> None:
    scored, cases = _split_scene()
    assert scored.stats.burst_rarity(SPLIT.min_transfers, True) <= SPLIT.rare_share
    assert_pattern(scored, "split_transfers", cases["deposit"])
    assert reason(scored, EXCHANGE, "split_transfers") is None


def _senders(ledger: Ledger) -> int:
    """How many senders the token's split rarity counts (payers between holders),
    given that exactly one of them ever split a payment."""
    flows = ledger.flows()
    stats = population.measure(flows, compute_features(flows, DEFAULTS), DEFAULTS, False)
    share = float(stats.burst_rarity(SPLIT.min_transfers))
    senders = round(1 / share)
    assert 1 / senders == share, share
    return senders


@functools.cache
def _rarity(extra: int) -> tuple[Scored, dict[str, str]]:
    """A split pair on a token where exactly rare_share of the senders ever paid
    one receiver min_transfers times within the window (plus `extra` more who did)."""
    p, ledger = SPLIT, background()
    few = [HOUR] * (p.min_transfers - 1)
    members = _pair(ledger, "rare", few)
    senders = _senders(ledger)
    share = Fraction(str(p.rare_share))
    # (1 + x) / (senders + x + y) == share, with the fewest other splitters x.
    x = 0
    while (y := (1 + x) / share - senders - x) < 0 or y.denominator != 1:
        x += 1
    for k in range(x + extra):
        _pair(ledger, f"rare:splitter:{k}", few)
    for k in range(int(y)):
        _pair(ledger, f"rare:plain:{k}", [])
    return score(ledger), members


def test_split_transfers_score_in_full_up_to_rare_share_and_fade_beyond() -> None:
    scored, members = _rarity(0)
    assert scored.stats.burst_rarity(SPLIT.min_transfers) == SPLIT.rare_share
    assert_pattern(scored, "split_transfers", members)
    full = _split_score(scored, members)
    assert full == 55  # the fewest transfers, rare: the rule's floor
    # One more splitter on the token: a little more common, a little less telling; no
    # cliff where the rule switches itself off.
    scored, members = _rarity(1)
    assert scored.stats.burst_rarity(SPLIT.min_transfers) > SPLIT.rare_share
    assert_pattern(scored, "split_transfers", members)
    assert 50 <= _split_score(scored, members) < full


def _split_score(scored: Scored, members: dict[str, str]) -> float:
    """The score of the one split pattern these names are members of."""
    wanted = {address(name) for name in members}
    found = [p for p in scored.patterns.values() if p.typology == "split_transfers"
             and wanted & {str(scored.flows.addresses[a]) for a in p.members}]
    assert len(found) == 1, [p.title for p in found]
    return float(found[0].score)


def test_split_grade_falls_by_the_decade() -> None:
    rare, fade = SPLIT.rare_share, SPLIT.fade_decades
    assert grade([rare / 10, rare], rare, fade).tolist() == [1.0, 1.0]
    assert grade([rare * 10 ** (fade / 2)], rare, fade)[0] == pytest.approx(0.5)
    assert grade([rare * 10 ** fade, 1.0], rare, fade).tolist() == [0.0, 0.0]


@functools.cache
def _split_deposits_scene() -> tuple[Scored, list[str]]:
    """Twelve holders deposit at the exchange in two transfers within the hour: on this
    token, deposits are often split."""
    ledger = background()
    senders = [next(iter(_pair(ledger, f"sd:{k}", [HOUR], receiver=EXCHANGE)))
               for k in range(12)]
    return score(ledger), senders


def test_split_transfers_leaves_top_ups_and_split_deposits_alone() -> None:
    scored = benign_scored()
    assert_no_pattern(scored, "split_transfers", TOPPER, f"{TOPPER}:account")
    assert_unflagged(scored, TOPPER, f"{TOPPER}:account")
    scored, senders = _split_deposits_scene()
    rarity = scored.stats.burst_rarity(SPLIT.min_transfers, True)
    assert rarity > SPLIT.rare_share
    # Common on this token: each counts for little (it would add to other findings of
    # the sender's), and none is flagged; the exchange is no member.
    for sender in senders:
        score = _split_score(scored, {sender: "source"})
        assert score == pytest.approx(55 * float(grade(rarity, SPLIT.rare_share,
                                                       SPLIT.fade_decades))) and score < 25
    assert reason(scored, EXCHANGE, "split_transfers") is None
    assert_unflagged(scored, *senders)


# new_address_large_value

LARGE = DEFAULTS.rules.new_address_large_value


@functools.cache
def _large_scene() -> Scored:
    ledger = background()
    payer = _established(ledger, "nl:payer")
    ledger.send(payer, "nl:at_cut", LARGEST, AT)
    ledger.send(payer, "nl:below_cut", LARGEST - 0.01, AT + HOUR)
    ledger.send(payer, _established(ledger, "nl:known"), LARGEST, AT + 2 * HOUR)
    # Look-alikes: a new investor's subscription (a mint), and exchange withdrawals.
    ledger.mint("nl:subscriber", 100 * LARGEST, AT)
    return score(ledger)


def test_new_address_large_value_from_the_token_quantile() -> None:
    scored = _large_scene()
    cut = float(np.quantile(scored.stats.secondary_amounts, LARGE.quantile))
    assert cut == LARGEST  # the background's largest transfers hold the quantile
    assert_hit(scored, "new_address_large_value", "nl:at_cut")
    assert reason(scored, "nl:below_cut", "new_address_large_value") is None


def test_new_address_large_value_only_for_a_new_address() -> None:
    scored = _large_scene()
    assert reason(scored, "nl:known", "new_address_large_value") is None
    assert_unflagged(scored, "nl:known", "nl:payer")


def test_new_address_large_value_leaves_subscriptions_and_withdrawals_alone() -> None:
    scored = _large_scene()
    clients = [customer(k) for k in range(40)]
    for name in ("nl:subscriber", *clients):
        assert reason(scored, name, "new_address_large_value") is None, name
    assert_unflagged(scored, "nl:subscriber", *clients)

