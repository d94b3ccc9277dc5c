"""Laundering cases, one function per typology, each labelling every participant's role.

Each takes a Draft (see draft.py) and whether to draw a near miss, moves the case's value
through fresh addresses in relative time and returns a sentence with the drawn numbers.
Sizes, ratios and time spans come from wide real-world ranges (the sources are in
`independent.py`); a near miss draws from the small, slow or weak end of them.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.sim.draft import Draft
from monitor.sim.ledger import DAY, HOUR, MINUTE

THRESHOLD_UNITS = 10_000  # a reporting threshold (US CTR: $10,000), in token units


def fan_in(d: Draft, near: bool) -> str:
    feeders = d.book.count(3, 4) if near else d.book.count(3, 60)
    span = d.delay(2 * DAY, 28 * DAY) if near else d.delay(10 * MINUTE, 21 * DAY)
    collector = d.fresh("collector")
    total = 0
    for piece in d.book.split(d.value(), feeders, sigma=0.7):
        feeder = d.fresh("feeder")
        at = d.rng.uniform(0, span)
        d.fund(feeder, piece + _kept(d, piece), at)
        d.move(at, feeder, collector, piece)
        total += piece
    if not near or d.rng.random() < 0.5:
        d.cash_out(collector, int(total * d.rng.uniform(0.6, 1.0)),
                   span + d.delay(10 * MINUTE, 5 * DAY))
    return f"{feeders} feeders pay {_units(d, total)} into one collector within {_span(span)}"


def fan_out(d: Draft, near: bool) -> str:
    recipients = d.book.count(3, 4) if near else d.book.count(3, 60)
    span = d.delay(2 * DAY, 28 * DAY) if near else d.delay(5 * MINUTE, 14 * DAY)
    source = d.fresh("source")
    value = d.value()
    d.fund(source, value, 0)
    sent = int(value * _forward(d, near))
    _disperse(d, source, sent, recipients, 0, span, cashing=0.4)
    return f"one source pays {_units(d, sent)} out to {recipients} new addresses " \
           f"within {_span(span)}"


def scatter_gather(d: Draft, near: bool) -> str:
    mules = d.book.count(3, 4) if near else d.book.count(3, 40)
    span = d.delay(DAY, 14 * DAY) if near else d.delay(5 * MINUTE, 7 * DAY)
    ratio = _forward(d, near)
    source, collector = d.fresh("source"), d.fresh("collector")
    value = d.value()
    d.fund(source, value, 0)
    gathered, last = 0, 0.0
    for piece in d.book.split(value, mules):
        mule = d.fresh("mule")
        at = d.rng.uniform(0, span)
        d.move(at, source, mule, piece)
        # Each mule keeps its commission and passes the rest on.
        onward = at + (d.delay(DAY, 10 * DAY) if near else d.delay(2 * MINUTE, 3 * DAY))
        kept = int(piece * min(ratio * d.rng.uniform(0.95, 1.05), 1.0))
        d.move(onward, mule, collector, kept)
        gathered, last = gathered + kept, max(last, onward)
    d.cash_out(collector, gathered, last + d.delay(10 * MINUTE, 3 * DAY))
    return f"{_units(d, value)} scattered over {mules} mules, {ratio:.0%} gathered again " \
           f"within {_span(last)}"


def gather_scatter(d: Draft, near: bool) -> str:
    feeders = d.book.count(3, 4) if near else d.book.count(3, 40)
    recipients = d.book.count(3, 4) if near else d.book.count(3, 40)
    gather = d.delay(DAY, 14 * DAY) if near else d.delay(10 * MINUTE, 7 * DAY)
    hub = d.fresh("hub")
    total = 0
    for piece in d.book.split(d.value(), feeders, sigma=0.7):
        feeder = d.fresh("feeder")
        at = d.rng.uniform(0, gather)
        d.fund(feeder, piece, at)
        d.move(at, feeder, hub, piece)
        total += piece
    start = gather + (d.delay(DAY, 7 * DAY) if near else d.delay(MINUTE, 2 * DAY))
    scatter = d.delay(DAY, 14 * DAY) if near else d.delay(5 * MINUTE, 7 * DAY)
    sent = int(total * _forward(d, near))
    _disperse(d, hub, sent, recipients, start, scatter)
    return f"{feeders} feeders pay {_units(d, total)} into a hub that pays {_units(d, sent)} " \
           f"out to {recipients} new addresses within {_span(start + scatter)}"


def cycle(d: Draft, near: bool) -> str:
    # Round-tripping loses only fees on the way; a near miss is a long, slow loop.
    size = d.rng.randint(9, 12) if near else d.book.count(3, 12)
    rounds = 1 if near else d.rng.choice((1, 1, 2, 3, 4))
    ratio = d.rng.uniform(0.8, 0.95) if near else d.rng.uniform(0.85, 1.0)
    members = [d.fresh("cycle_member") for _ in range(size)]
    amount = d.value()
    d.fund(members[0], amount, 0)
    at = 0.0
    for hop in range(size * rounds):
        at += d.delay(12 * HOUR, 4 * DAY) if near else d.delay(MINUTE, 2 * DAY)
        amount = max(int(amount * ratio), 1)
        d.move(at, members[hop % size], members[(hop + 1) % size], amount)
    return f"{size} members pass the value round a loop {rounds} time(s) in {_span(at)}, " \
           f"keeping {1 - ratio:.0%} a hop"


def peel_chain(d: Draft, near: bool) -> str:
    hops = d.book.count(4, 8) if near else d.book.count(4, 25)
    topped = d.rng.uniform(0.4, 0.8) if near else d.rng.uniform(0.0, 0.3)
    holder = d.fresh("source")
    amount = d.value()
    d.fund(holder, amount, 0)
    at, peeled, topups = 0.0, 0, 0
    for _ in range(hops):
        at += d.delay(6 * HOUR, 4 * DAY) if near else d.delay(MINUTE, DAY)
        if d.rng.random() < topped:  # a small withdrawal joins the chain
            top = max(int(amount * d.rng.uniform(0.01, 0.1)), 1)
            d.move(at - d.delay(MINUTE, HOUR), d.rng.choice(d.venues.exchanges).hot, holder,
                   top)
            amount, topups = amount + top, topups + 1
        peel = max(int(amount * (d.rng.uniform(0.2, 0.35) if near else
                                 d.book.loguniform(0.01, 0.2))), 1)
        side = d.fresh("recipient") if d.rng.random() < 0.6 else \
            d.rng.choice(d.venues.cash_outs)
        nxt = d.fresh("hop")
        d.move(at, holder, side, peel)
        d.move(at, holder, nxt, amount - peel)
        holder, amount, peeled = nxt, amount - peel, peeled + peel
    return f"{hops} hops peel off {_units(d, peeled)} in total within {_span(at)}, " \
           f"{topups} hop(s) topped up on the way"


def pass_through(d: Draft, near: bool) -> str:
    links = d.book.count(2, 3) if near else d.book.count(2, 8)
    ratio = _forward(d, near)
    holder = d.fresh("source")
    amount = d.value()
    d.fund(holder, amount, 0)
    at = 0.0
    for i in range(links + 1):
        at += d.delay(12 * HOUR, 3 * DAY) if near else d.delay(MINUTE, 12 * HOUR)
        nxt = d.fresh("collector" if i == links else "intermediary")
        amount = max(int(amount * min(ratio * d.rng.uniform(0.95, 1.05), 1.0)), 1)
        d.move(at, holder, nxt, amount)
        holder = nxt
    d.cash_out(holder, amount, at + d.delay(MINUTE, DAY))
    return f"layered through {links} intermediaries forwarding about {ratio:.0%} each, " \
           f"in {_span(at)}"


def mint_then_dispersal(d: Draft, near: bool) -> str:
    recipients = d.book.count(3, 4) if near else d.book.count(5, 80)
    span = d.delay(3 * DAY, 20 * DAY) if near else d.delay(2 * MINUTE, 3 * DAY)
    source = d.fresh("source")
    minted = d.value() * (1 if near else d.rng.randint(1, 10))
    d.mint(0, source, minted)
    start = d.delay(DAY, 7 * DAY) if near else d.delay(MINUTE, 6 * HOUR)
    sent = int(minted * _forward(d, near))
    _disperse(d, source, sent, recipients, start, span, cashing=0.5)
    return f"{_units(d, minted)} minted to a new address and {_units(d, sent)} spread over " \
           f"{recipients} new addresses within {_span(start + span)}"


def structuring(d: Draft, near: bool) -> str:
    band = (0.75, 0.9) if near else (0.75, 0.999)
    span = d.delay(14 * DAY, 45 * DAY) if near else d.delay(DAY, 30 * DAY)
    count = d.rng.randint(3, 6) if near else d.book.count(5, 60)
    amounts = [_below_threshold(d, band) for _ in range(count)]
    if d.rng.random() < 0.6:  # one account, many deposits to one to three accounts
        source = d.fresh("source")
        targets = [d.fresh("recipient") for _ in range(min(d.rng.randint(1, 3), count))]
        d.fund(source, sum(amounts), 0)
        for i, amount in enumerate(amounts):
            target = targets[i] if i < len(targets) else d.rng.choice(targets)
            d.move(d.rng.uniform(1, span), source, target, amount)
        return f"{count} transfers of {band[0]:.0%}-{band[1]:.1%} of the reporting " \
               f"threshold from one source to {len(targets)} account(s) in {_span(span)}"
    collector = d.fresh("collector")  # smurfs, each paying in a few times
    smurfs = [d.fresh("feeder") for _ in range(min(d.book.count(3, 15), count))]
    for i, smurf in enumerate(smurfs):
        mine = amounts[i::len(smurfs)]
        at = d.rng.uniform(0, span / 2)
        d.fund(smurf, sum(mine), at)
        for amount in mine:
            at += d.rng.uniform(1, span / len(mine) / 2)
            d.move(at, smurf, collector, amount)
    return f"{len(smurfs)} smurfs make {count} payments of {band[0]:.0%}-{band[1]:.1%} of " \
           f"the reporting threshold to one collector in {_span(span)}"


def dormant_reactivation(d: Draft, near: bool) -> str:
    # Within the window: a near miss has slept a third of it, a regular case most of it.
    dormancy = d.book.days * DAY * (d.rng.uniform(0.3, 0.45) if near else d.rng.uniform(0.55, 0.9))
    holding = d.value()
    ratio = _forward(d, near)
    if d.rng.random() < 0.6:  # wakes up and disperses the old holding to new addresses
        holder = d.fresh("source")
        d.mint(0, holder, holding)
        spread = d.book.count(2, 3) if near else d.book.count(3, 30)
        span = d.delay(2 * DAY, 10 * DAY) if near else d.delay(5 * MINUTE, 3 * DAY)
        sent = int(holding * ratio)
        _disperse(d, holder, sent, spread, dormancy, span)
        return f"dormant {dormancy / DAY:.0f} days, then {_units(d, sent)} dispersed to " \
               f"{spread} new addresses within {_span(span)}"
    holder = d.fresh("intermediary")  # wakes up as a pass-through for fresh funds
    d.mint(0, holder, holding)
    inflow = d.value()
    d.fund(holder, inflow, dormancy)
    out_at = dormancy + (d.delay(DAY, 3 * DAY) if near else d.delay(5 * MINUTE, 6 * HOUR))
    sent = int(inflow * ratio)
    pieces = d.book.split(sent, d.rng.randint(1, 3))
    for piece in pieces:
        d.move(out_at, holder, d.fresh("recipient"), piece)
    return f"dormant {dormancy / DAY:.0f} days, then passes {_units(d, sent)} through to " \
           f"{len(pieces)} new address(es) within {_span(out_at - dormancy)}"


TYPOLOGIES: dict[str, Callable[[Draft, bool], str]] = {
    "fan_in": fan_in, "fan_out": fan_out, "scatter_gather": scatter_gather,
    "gather_scatter": gather_scatter, "cycle": cycle, "peel_chain": peel_chain,
    "rapid_pass_through": pass_through, "mint_then_dispersal": mint_then_dispersal,
    "structuring": structuring, "dormant_reactivation": dormant_reactivation,
}


def _disperse(d: Draft, source: str, amount: int, recipients: int, start: float, span: float,
              cashing: float = 0.0) -> None:
    """`amount` from `source` to that many new addresses, at random within `span` from
    `start`; a share `cashing` of them cash out what they got within minutes to days."""
    for piece in d.book.split(amount, recipients, sigma=0.7):
        recipient = d.fresh("recipient")
        at = start + d.rng.uniform(0, span)
        d.move(at, source, recipient, piece)
        if d.rng.random() < cashing:
            d.cash_out(recipient, piece, at + d.delay(MINUTE, 5 * DAY))


def _forward(d: Draft, near: bool) -> float:
    """The share passed on: mules and layering wallets keep 0-40%, a near miss 20-35%."""
    return d.rng.uniform(0.65, 0.8) if near else d.rng.uniform(0.6, 1.0)


def _kept(d: Draft, piece: int) -> int:
    """What a feeder holds back beyond what it pays in: usually nothing."""
    return int(piece * d.rng.uniform(0.05, 0.4)) if d.rng.random() < 0.3 else 0


def _below_threshold(d: Draft, band: tuple[float, float]) -> int:
    """An amount in the band under the threshold; half of them the round figures people
    pick ("9,500", "9,900")."""
    units = THRESHOLD_UNITS * d.rng.uniform(*band)
    if d.rng.random() < 0.5:
        step = d.rng.choice((50, 100, 250, 500))
        rounded = units // step * step
        if rounded >= THRESHOLD_UNITS * band[0]:
            units = rounded
    return d.book.units(units)


def _units(d: Draft, amount: int) -> str:
    return f"{amount / d.book.unit:,.0f}"


def _span(seconds: float) -> str:
    if seconds < 2 * HOUR:
        return f"{seconds / MINUTE:.0f} min"
    if seconds < 2 * DAY:
        return f"{seconds / HOUR:.0f} h"
    return f"{seconds / DAY:.0f} days"
