"""Generate a seeded, labelled history: benign RWA activity with injected laundering cases.

Benign: primary issuance to a KYC'd investor base, secondary trading among investors and
through exchange/custodian hub wallets, redemptions, and the issuer's periodic
distributions (a legitimate fan-out). Heavy-tailed (lognormal) amounts, business-hours
timing with bursts, round and odd amounts mixed.

Injected: one generator per rule id, each drawing its size, amounts, timing and depth
from ranges, funded the way such funds arrive (a withdrawal from an exchange, a mint),
and labelled with every participant of the network (hub, mules, recipients, hops). Every
event passes through a balance ledger in time order, so the history replays on a real
token without reverts.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence

from monitor.addresses import ZERO
from monitor.sim.history import Case, History, SimFreeze, SimTransfer

DAY, HOUR, MINUTE = 86400, 3600, 60
START = 1_767_225_600  # 2026-01-01T00:00:00Z
TYPOLOGIES = (
    "structuring", "fan_out", "fan_in", "scatter_gather", "gather_scatter", "peel_chain",
    "cycle", "rapid_pass_through", "velocity_burst", "dormant_reactivation",
    "new_address_large_value", "mint_then_dispersal", "frozen_address_activity",
)
THRESHOLD_UNITS = 10_000  # the reporting threshold, in token units


class _Builder:
    def __init__(self, seed: int, decimals: int, days: int) -> None:
        self.rng = random.Random(seed)
        self.unit = 10**decimals
        self.days = days
        # (timestamp, sequence, from, to, amount, kind)
        self.events: list[tuple[int, int, str, str, int, str]] = []
        self.freezes: list[SimFreeze] = []
        self.seq = 0
        self.reserved: set[str] = set()

    def address(self) -> str:
        return "0x" + f"{self.rng.getrandbits(160):040x}"

    def units(self, value: float) -> int:
        return max(int(value * self.unit), 1)

    def business_time(self, day: float) -> int:
        hour = min(max(self.rng.gauss(13, 2.5), 7), 20)
        return START + int(day) * DAY + int(hour * HOUR) + self.rng.randrange(HOUR)

    def add(self, t: int, sender: str, receiver: str, amount: int, kind: str = "transfer") -> None:
        self.seq += 1
        self.events.append((t, self.seq, sender, receiver, amount, kind))

    def mint(self, t: int, receiver: str, amount: int) -> None:
        self.add(t, ZERO, receiver, amount, "mint")

    def case_day(self, margin: float = 4) -> float:
        return self.rng.uniform(8, max(self.days - margin, 9))


def generate(
    seed: int,
    *,
    investors: int = 300,
    days: int = 60,
    decimals: int = 6,
    cases_per_rule: int = 2,
    rules: Sequence[str] | None = None,
    scale: float = 1.0,
) -> History:
    """A deterministic labelled history for `seed`."""
    unknown = set(rules or ()) - set(TYPOLOGIES)
    if unknown:
        raise ValueError(f"unknown typologies: {sorted(unknown)}")
    b = _Builder(seed, decimals, days)
    n_investors = max(int(investors * scale), 10)
    issuer = b.address()
    hubs = [b.address() for _ in range(b.rng.randint(3, 5))]
    base = [b.address() for _ in range(n_investors)]
    cases: list[Case] = []
    # Laundering cases first: they reserve the established addresses they use.
    for rule in rules or TYPOLOGIES:
        for _ in range(cases_per_rule):
            cases.append(INJECTORS[rule](b, hubs, base))
    _benign(b, issuer, hubs, base, scale)
    transfers = _ledger(b)
    return History(
        decimals=decimals, start=START, issuer=issuer,
        reporting_threshold=THRESHOLD_UNITS * b.unit, transfers=transfers,
        freezes=sorted(b.freezes, key=lambda f: f.timestamp), cases=cases,
        benign_hubs=frozenset([issuer, *hubs]), investors=frozenset(base),
    )


def _benign(b: _Builder, issuer: str, hubs: list[str], base: list[str], scale: float) -> None:
    rng = b.rng
    for hub in hubs:  # exchange/custodian inventory
        b.mint(START + rng.randrange(DAY), hub, b.units(rng.uniform(2e6, 5e6)))
    for investor in base:  # primary issuance in the first days
        b.mint(b.business_time(rng.uniform(0, 5)), investor,
               b.units(rng.lognormvariate(10.5, 1.0)))
    free = [a for a in base if a not in b.reserved]
    trades = int(len(base) * b.days * 0.35)
    for _ in range(trades):
        day = rng.uniform(5, b.days)
        # Bursts: some days are much busier.
        if rng.random() < 0.15:
            day = float(int(day)) + rng.random() * 0.3
        t = b.business_time(day)
        amount = b.units(_benign_amount(rng))
        roll = rng.random()
        if roll < 0.35:
            b.add(t, rng.choice(free), rng.choice(hubs), amount)  # deposit
        elif roll < 0.7:
            b.add(t, rng.choice(hubs), rng.choice(free), amount)  # withdrawal
        elif roll < 0.95:
            sender, receiver = rng.sample(free, 2)
            b.add(t, sender, receiver, amount)
        else:
            b.add(t, rng.choice(free), ZERO, amount, "burn")  # redemption
    # Monthly coupon: the issuer mints the payout and pays established holders.
    holders = rng.sample(free, min(len(free), max(20, int(len(free) * 0.6))))
    for month in range(1, int(b.days / 30) + 1):
        t = START + month * 30 * DAY - 2 * DAY + 10 * HOUR
        payments = [b.units(rng.uniform(50, 800)) for _ in holders]
        b.mint(t, issuer, sum(payments))
        for k, (holder, amount) in enumerate(zip(holders, payments, strict=True)):
            b.add(t + 60 + k * 5, issuer, holder, amount)


def _benign_amount(rng: random.Random) -> float:
    value = rng.lognormvariate(7.5, 1.4)
    if rng.random() < 0.25:
        value = max(round(value, -3), 1000.0)  # round lots
    return value


def _ledger(b: _Builder) -> list[SimTransfer]:
    """Time-ordered events through a balance ledger: benign sends shrink to what is held."""
    balances: dict[str, int] = defaultdict(int)
    out = []
    for t, _, sender, receiver, amount, kind in sorted(b.events):
        if kind != "mint":
            held = balances[sender]
            if held <= 0:
                continue
            amount = min(amount, held)
            balances[sender] -= amount
        if kind != "burn":
            balances[receiver] += amount
        out.append(SimTransfer(t, sender, receiver, amount, kind))
    return out


# -- typologies -------------------------------------------------------------------------
# Each returns its Case; funds arrive by an exchange withdrawal (hub → actor) or a mint.


def _fund(b: _Builder, hubs: list[str], t: int, who: str, amount: int) -> None:
    b.add(t, b.rng.choice(hubs), who, amount)


def _structuring(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng, actor = b.rng, b.address()
    n = rng.randint(5, 12)
    start = b.business_time(b.case_day(12))
    amounts = [b.units(THRESHOLD_UNITS * rng.uniform(0.905, 0.999)) for _ in range(n)]
    _fund(b, hubs, start - rng.randrange(HOUR, DAY), actor, sum(amounts))
    span = rng.uniform(1, 10) * DAY
    receivers = []
    for k, amount in enumerate(amounts):
        receivers.append(rng.choice(base) if rng.random() < 0.5 else b.address())
        b.add(start + int(span * k / n) + rng.randrange(HOUR), actor, receivers[-1], amount)
    return Case("structuring", frozenset([actor, *receivers]),
                f"{n} transfers just below the threshold")


def _fan_out(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng, actor = b.rng, b.address()
    n = rng.randint(8, 25)
    total = b.units(rng.uniform(5e4, 5e5))
    start = b.business_time(b.case_day())
    _fund(b, hubs, start - rng.randrange(HOUR, 2 * DAY), actor, total)
    window = rng.uniform(1, 12) * HOUR
    recipients = [b.address() for _ in range(n)]
    for k, recipient in enumerate(recipients):
        b.add(start + int(window * k / n), actor, recipient, total // n)
    return Case("fan_out", frozenset([actor, *recipients]), f"dispersal to {n} new addresses")


def _fan_in(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng, actor = b.rng, b.address()
    n = rng.randint(8, 25)
    start = b.business_time(b.case_day())
    window = rng.uniform(1, 12) * HOUR
    mules = [b.address() for _ in range(n)]
    for k, mule in enumerate(mules):
        amount = b.units(rng.uniform(2e3, 3e4))
        _fund(b, hubs, start - rng.randrange(HOUR, 3 * DAY), mule, amount)
        b.add(start + int(window * k / n), mule, actor, amount)
    return Case("fan_in", frozenset([actor, *mules]), f"collection from {n} fresh mules")


def _scatter_gather(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng, source, collector = b.rng, b.address(), b.address()
    n = rng.randint(5, 15)
    total = b.units(rng.uniform(5e4, 4e5))
    start = b.business_time(b.case_day())
    _fund(b, hubs, start - rng.randrange(HOUR, DAY), source, total)
    mules = [b.address() for _ in range(n)]
    for k, mule in enumerate(mules):
        t = start + k * rng.randrange(MINUTE, HOUR)
        b.add(t, source, mule, total // n)
        b.add(t + rng.randrange(10 * MINUTE, 2 * DAY), mule, collector, total // n)
    return Case("scatter_gather", frozenset([source, collector, *mules]),
                f"scatter over {n} intermediaries and gather")


def _gather_scatter(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng, hub = b.rng, b.address()
    n_in, n_out = rng.randint(6, 15), rng.randint(6, 15)
    start = b.business_time(b.case_day())
    window = rng.uniform(0.5, 4) * DAY
    total = 0
    members = [hub]
    for k in range(n_in):
        sender, amount = b.address(), b.units(rng.uniform(3e3, 4e4))
        _fund(b, hubs, start - rng.randrange(HOUR, DAY), sender, amount)
        b.add(start + int(window / 2 * k / n_in), sender, hub, amount)
        total += amount
        members.append(sender)
    payout = int(total * rng.uniform(0.9, 0.99))
    for k in range(n_out):
        members.append(b.address())
        b.add(start + int(window / 2) + int(window / 2 * k / n_out), hub, members[-1],
              payout // n_out)
    return Case("gather_scatter", frozenset(members), f"{n_in} in, {n_out} out through one hub")


def _peel_chain(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng = b.rng
    depth = rng.randint(4, 12)
    hops = [b.address() for _ in range(depth + 1)]
    amount = b.units(rng.uniform(1e5, 1e6))
    t = b.business_time(b.case_day(6))
    _fund(b, hubs, t - rng.randrange(HOUR, DAY), hops[0], amount)
    sides = []
    for k in range(depth):
        t += rng.randrange(10 * MINUTE, DAY)
        peel = int(amount * rng.uniform(0.04, 0.15))
        sides.append(b.address())
        b.add(t, hops[k], sides[-1], peel)
        b.add(t + rng.randrange(MINUTE, HOUR), hops[k], hops[k + 1], amount - peel)
        amount -= peel
    return Case("peel_chain", frozenset([*hops, *sides]), f"peel chain of {depth} hops")


def _cycle(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng = b.rng
    members = [b.address() for _ in range(rng.randint(3, 6))]
    amount = b.units(rng.uniform(2e4, 3e5))
    t = b.business_time(b.case_day(8))
    _fund(b, hubs, t - rng.randrange(HOUR, DAY), members[0], amount)
    for _round in range(rng.randint(1, 2)):
        for k, member in enumerate(members):
            t += rng.randrange(30 * MINUTE, DAY)
            fee = int(amount * rng.uniform(0, 0.04))
            b.add(t, member, members[(k + 1) % len(members)], amount - fee)
            amount -= fee
    return Case("cycle", frozenset(members), f"round trip through {len(members)} addresses")


def _rapid_pass_through(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng, actor = b.rng, b.address()
    t = b.business_time(b.case_day(8))
    for _ in range(rng.randint(3, 8)):
        amount = b.units(rng.uniform(5e3, 1e5))
        source = rng.choice(hubs)
        b.add(t, source, actor, amount)
        forward = int(amount * rng.uniform(0.96, 1.0))
        b.add(t + rng.randrange(2 * MINUTE, 60 * MINUTE), actor,
              rng.choice([b.address(), rng.choice(base)]), forward)
        t += rng.randrange(6 * HOUR, 3 * DAY)
    return Case("rapid_pass_through", frozenset([actor]), "receives and forwards within minutes")


def _velocity_burst(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng, actor = b.rng, b.address()
    b.reserved.add(actor)
    b.mint(b.business_time(rng.uniform(0, 5)), actor, b.units(rng.uniform(2e5, 6e5)))
    quiet = rng.randint(0, 3)
    for _ in range(quiet):
        b.add(b.business_time(rng.uniform(5, b.days)), actor, rng.choice(base),
              b.units(rng.uniform(100, 2000)))
    n = rng.randint(15, 40)
    start = b.business_time(b.case_day())
    for k in range(n):
        b.add(start + int(rng.uniform(0.3, 0.95) * HOUR * k / n), actor, rng.choice(base),
              b.units(rng.uniform(200, 3000)))
    return Case("velocity_burst", frozenset([actor]), f"{n} transfers in under an hour")


def _dormant_reactivation(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng, actor = b.rng, b.address()
    b.reserved.add(actor)
    first = rng.uniform(0, 4)
    amount = b.units(rng.uniform(3e5, 1.5e6))
    b.mint(b.business_time(first), actor, amount)
    wake = rng.uniform(first + 35, max(b.days - 1, first + 36))
    t = b.business_time(wake)
    parts = rng.randint(1, 3)
    recipients = [b.address() for _ in range(parts)]
    for k, recipient in enumerate(recipients):
        b.add(t + k * rng.randrange(MINUTE, HOUR), actor, recipient, amount // parts)
    return Case("dormant_reactivation", frozenset([actor, *recipients]),
                f"dormant {wake - first:.0f} days, then moved everything")


def _new_address_large_value(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng, actor = b.rng, b.address()
    t = b.business_time(b.case_day())
    b.add(t, rng.choice(hubs), actor, b.units(rng.uniform(2.5e5, 1.5e6)))
    if rng.random() < 0.5:
        b.add(t + rng.randrange(HOUR, DAY), actor, rng.choice(base), b.units(1000))
    return Case("new_address_large_value", frozenset([actor]),
                "new address, top-percentile receipt")


def _mint_then_dispersal(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng, actor = b.rng, b.address()
    n = rng.randint(6, 20)
    amount = b.units(rng.uniform(5e4, 5e5))
    t = b.business_time(b.case_day())
    b.mint(t, actor, amount)
    share = rng.uniform(0.7, 1.0)
    window = rng.uniform(2, 30) * HOUR
    recipients = [b.address() for _ in range(n)]
    for k, recipient in enumerate(recipients):
        b.add(t + int(window * (k + 1) / n), actor, recipient, int(amount * share) // n)
    return Case("mint_then_dispersal", frozenset([actor, *recipients]),
                f"mint dispersed to {n} addresses")


def _frozen_address_activity(b: _Builder, hubs: list[str], base: list[str]) -> Case:
    rng, actor = b.rng, b.address()
    t = b.business_time(b.case_day(10))
    _fund(b, hubs, t - rng.randrange(DAY, 3 * DAY), actor, b.units(rng.uniform(1e4, 2e5)))
    b.freezes.append(SimFreeze(t, actor))
    for _ in range(rng.randint(1, 4)):
        t += rng.randrange(HOUR, 2 * DAY)
        if rng.random() < 0.5:
            b.add(t, actor, b.address(), b.units(rng.uniform(500, 5000)))
        else:
            b.add(t, rng.choice(hubs), actor, b.units(rng.uniform(500, 5000)))
    return Case("frozen_address_activity", frozenset([actor]), "moves while frozen")


INJECTORS: dict[str, Callable[[_Builder, list[str], list[str]], Case]] = {
    "structuring": _structuring, "fan_out": _fan_out, "fan_in": _fan_in,
    "scatter_gather": _scatter_gather, "gather_scatter": _gather_scatter,
    "peel_chain": _peel_chain, "cycle": _cycle, "rapid_pass_through": _rapid_pass_through,
    "velocity_burst": _velocity_burst, "dormant_reactivation": _dormant_reactivation,
    "new_address_large_value": _new_address_large_value,
    "mint_then_dispersal": _mint_then_dispersal,
    "frozen_address_activity": _frozen_address_activity,
}
