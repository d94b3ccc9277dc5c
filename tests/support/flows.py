"""Token histories built by hand, as the Flows scoring computes over (no database, no node).

A Ledger records mints, transfers, burns and freezes between named addresses at given
unix seconds; `flows()` numbers the addresses as `load_flows` does (the zero address
first, the others in sorted order) and sorts the transfers by time, insertion order
within a second. `background()` is a benign token to put a case into, so that the
token's own yardsticks (monitor.scoring.population) are what a test intends. Helpers at
the end read what `evaluate` found, by name.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import random
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from monitor.addresses import ZERO
from monitor.scoring.config import DEFAULTS, RulesConfig
from monitor.scoring.evaluate import Scored, evaluate
from monitor.scoring.flows import Flows
from monitor.scoring.patterns import Pattern
from monitor.scoring.risk import Reason
from monitor.sim import History, generate
from monitor.sim.history import SimTransfer

HOUR, DAY = 3600, 86400
# A UTC midnight, so that day arithmetic (active days, split windows) is whole days.
# Fixed: tests never read the clock.
T0 = 1_700_006_400


def address(name: str) -> str:
    """The address a name stands for (lower-case hex, stable across runs)."""
    if name == "0":
        return ZERO
    return "0x" + hashlib.sha256(name.encode()).hexdigest()[:40]


def day(days: float, hours: float = 0) -> int:
    """Unix seconds `days` (and `hours`) after T0."""
    return T0 + int(round(days * DAY + hours * HOUR))


AT = day(35)  # the rule-bound cases start here, inside the background's life


@dataclass
class Ledger:
    """Transfers between named addresses; "0" is the zero address (mints, burns)."""

    rows: list[tuple[int, int, str, str, float]] = field(default_factory=list)
    freezes: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)

    def send(self, src: str, dst: str, amount: float, at: int) -> None:
        self.rows.append((int(at), len(self.rows), src, dst, float(amount)))

    def mint(self, to: str, amount: float, at: int) -> None:
        self.send("0", to, amount, at)

    def burn(self, src: str, amount: float, at: int) -> None:
        self.send(src, "0", amount, at)

    def freeze(self, name: str, at: int, until: int | None = None) -> None:
        self.freezes.setdefault(name, []).append((int(at), until))

    def flows(self) -> Flows:
        rows = sorted(self.rows)
        names = {n for r in rows for n in (r[2], r[3])} | {"0"}
        ordered = sorted(address(n) for n in names if n != "0")
        index = {a: i for i, a in enumerate([ZERO, *ordered])}
        n = len(rows)
        flows = Flows(
            token_id=1, decimals=6, addresses=np.array([ZERO, *ordered], dtype=object),
            t=np.array([r[0] for r in rows], dtype=np.int64),
            block=np.arange(1, n + 1, dtype=np.int64),
            src=np.array([index[address(r[2])] for r in rows], dtype=np.int64),
            dst=np.array([index[address(r[3])] for r in rows], dtype=np.int64),
            amount=np.array([r[4] for r in rows], dtype=np.float64),
            tx=np.array([f"0x{i:064x}" for i in range(1, n + 1)], dtype=object),
        )
        for name, spans in self.freezes.items():
            if address(name) in index:
                flows.frozen[index[address(name)]] = list(spans)
        return flows


# The background's amounts: ordinary transfers stay below the structuring band, and a
# few transfers between established holders are the token's largest.
_THRESHOLD = DEFAULTS.rules.structuring.reporting_threshold
ORDINARY = DEFAULTS.rules.structuring.band * _THRESHOLD * 0.6
LARGEST = 2 * _THRESHOLD

HOLDERS = 200
CUSTOMERS = 150
EXCHANGE = "exchange"


def established(ledger: Ledger, name: str, at: int = AT - 20 * DAY,
                holding: int = 50_000) -> str:
    """`name` as a known holder: minted `holding` well before the cases start."""
    ledger.mint(name, holding, at)
    return name


def holder(k: int) -> str:
    return f"holder:{k}"


def customer(k: int) -> str:
    return f"customer:{k}"


def background(seed: int = 1) -> Ledger:
    """A benign token over 60 days.

    - 200 holders, minted 20,000-60,000 each on day 0 (within 4 hours). Holders 0-99
      each pay one of holders 100-199 once in the first 25 days, ordinary amounts
      (holders 0-11 pay LARGEST, the token's largest transfers); each receiver is paid
      once. 40 of the payers also deposit part of their balance at the exchange then.
    - An exchange hot wallet, minted its inventory on day 0, pays 150 customers (each
      first seen at its withdrawal) on days 1-60; two in three deposit part back within
      5 days. It is the token's only service wallet.

    So the token's holders' longest silences are under 25 days, its median degree is 2,
    no transfer between holders lies in the structuring band, and no sender ever paid
    one receiver twice within a day.
    """
    rng = random.Random(seed)
    ledger = Ledger()
    for k in range(HOLDERS):
        ledger.mint(holder(k), rng.randrange(20, 61) * 1000, day(0, 1 + k / 60))
    half = HOLDERS // 2
    receivers = list(range(half, HOLDERS))
    rng.shuffle(receivers)
    for a, b in enumerate(receivers):
        amount = LARGEST if a < 12 else round(rng.uniform(0.05, 1) * ORDINARY, 2)
        ledger.send(holder(a), holder(b), amount, day(rng.uniform(1, 25)))
        if a % 5 < 2:
            ledger.send(holder(a), EXCHANGE, round(rng.uniform(0.05, 1) * ORDINARY, 2),
                        day(rng.uniform(1, 25)))
    ledger.mint(EXCHANGE, 5_000_000, day(0))
    for k in range(CUSTOMERS):
        when = day(60) if k == 0 else day(rng.uniform(1, 59))
        amount = round(rng.uniform(0.05, 1) * ORDINARY, 2)
        ledger.send(EXCHANGE, customer(k), amount, when)
        if k and rng.random() < 2 / 3:
            back = when + int(rng.uniform(0.2, 5) * DAY)
            ledger.send(customer(k), EXCHANGE, round(amount * rng.uniform(0.2, 1), 2), back)
    return ledger


# The look-alikes of benign(), by name.
MARKET_MAKER = "market_maker"
PAYROLL = "payroll"
STAFF = tuple(f"payroll:staff:{k}" for k in range(5))
ISSUER = "issuer"
INVESTORS = tuple(f"investor:{k}" for k in range(5))
DEPOSITOR, DEPOSIT = "depositor", "depositor:deposit"
TOPPER, ACCOUNT = "topper", "topper:account"
TRADER = "trader"


def benign(seed: int = 1) -> Ledger:
    """The background and the benign look-alikes of every typology, which no rule may
    flag by default:

    - a market maker with 30 counterparties over 45 days (a service wallet);
    - a payroll payer, funded by a mint, paying the same 5 staff every 14 days;
    - the issuer minting a coupon on days 30 and 60 and paying it, within the hour, to
      40 established holders;
    - buy-and-hold investors silent for 120 days, then: one redeems (a burn), one
      redeems to the issuer, one sells on the exchange, one to the market maker, one to
      another holder;
    - a holder paying its exchange deposit address three times, each swept to the
      exchange within half an hour;
    - a holder topping up its own account twice a day, on three days;
    - an active trader buying from 4 holders and selling to 4 others in turn within 4
      days.
    """
    rng = random.Random(seed + 1)
    ledger = background(seed)
    ledger.mint(MARKET_MAKER, 1_000_000, day(0))
    for k in range(30):
        trader = f"{MARKET_MAKER}:client:{k}"
        bought = round(rng.uniform(0.1, 1) * ORDINARY, 2)
        ledger.send(MARKET_MAKER, trader, bought, day(1 + k, 3))
        ledger.send(trader, MARKET_MAKER, round(bought * 0.5, 2), day(3 + k, 5))
        ledger.send(MARKET_MAKER, trader, round(bought * 0.3, 2), day(10 + k, 2))
    ledger.mint(PAYROLL, 100_000, day(2))
    for run in range(5):
        for k, staff in enumerate(STAFF):
            ledger.send(PAYROLL, staff, 3000, day(3 + 14 * run, 10 + k / 10))
    coupon = ORDINARY * 0.2
    for when in (day(30, 9), day(60, 9)):
        ledger.mint(ISSUER, 40 * coupon, when)
        for k in range(40):
            ledger.send(ISSUER, holder(100 + k), coupon, when + 60 * (k + 1))
    for investor in INVESTORS:
        ledger.mint(investor, 50_000, day(0, 2))
    ledger.burn(INVESTORS[0], 50_000, day(120))
    ledger.send(INVESTORS[1], ISSUER, 50_000, day(121))
    ledger.send(INVESTORS[2], EXCHANGE, 50_000, day(122))
    ledger.send(INVESTORS[3], MARKET_MAKER, 50_000, day(123))
    ledger.send(INVESTORS[4], holder(199), 50_000, day(124))
    ledger.mint(DEPOSITOR, 30_000, day(0, 3))
    for k in range(3):
        ledger.send(DEPOSITOR, DEPOSIT, 4000, day(10 + 10 * k, 14))
        ledger.send(DEPOSIT, EXCHANGE, 4000, day(10 + 10 * k, 14.5))
    ledger.mint(TOPPER, 30_000, day(0, 3))
    ledger.mint(ACCOUNT, 1_000, day(0, 3))
    for k in range(3):
        for hour in (9, 17):
            ledger.send(TOPPER, ACCOUNT, 500, day(5 + 7 * k, hour))
    for k in range(4):
        ledger.send(holder(k), TRADER, 5000, day(40 + k, 10))
        ledger.send(TRADER, holder(100 + 40 + k), 4800, day(40 + k, 15))
    return ledger


def hub_heavy(seed: int) -> History:
    """A simulated history plus as many transfers again between three hubs (an exchange,
    a market maker, a paying agent) and the holders, on the hour (so many transfers share
    a second): most transfers touch a hub, and so does most of every step."""
    history = generate(seed, investors=80, days=40, cases_per_rule=1)
    rng = random.Random(seed)
    holders = sorted({t.receiver for t in history.transfers} - {ZERO})
    hubs = [f"0x{k:02x}" + "e" * 38 for k in range(3)]
    start = min(t.timestamp for t in history.transfers)
    end = max(t.timestamp for t in history.transfers)
    extra = []
    for _ in range(len(history.transfers)):
        hub, other = rng.choice(hubs), rng.choice(holders)
        at = start + 3600 * rng.randrange((end - start) // 3600 + 1)
        sender, receiver = (hub, other) if rng.random() < 0.5 else (other, hub)
        extra.append(SimTransfer(at, sender, receiver, rng.randrange(1, 50_000) * 10**6,
                                 "transfer"))
    merged = sorted(history.transfers + extra, key=lambda t: t.timestamp)  # stable
    return dataclasses.replace(history, transfers=merged)


def history_flows(history: History, count: int, numbering: list[str]) -> Flows:
    """The first `count` transfers, addresses numbered in order of first appearance after
    those in `numbering` (which grows), as the daemon's cache numbers appended ones."""
    chosen = history.transfers[:count]
    index = {a: i for i, a in enumerate(numbering)}
    for t in chosen:
        for a in (t.sender, t.receiver):
            if a not in index:
                index[a] = len(numbering)
                numbering.append(a)
    flows = Flows(
        token_id=1, decimals=history.decimals, addresses=np.array(numbering, dtype=object),
        t=np.array([t.timestamp for t in chosen], dtype=np.int64),
        block=np.arange(count, dtype=np.int64),
        src=np.array([index[t.sender] for t in chosen], dtype=np.int64),
        dst=np.array([index[t.receiver] for t in chosen], dtype=np.int64),
        amount=np.array([t.amount / 10**history.decimals for t in chosen]),
        tx=np.array([f"0x{i:064x}" for i in range(count)]),
    )
    now = int(flows.t.max())
    for freeze in history.freezes:
        if freeze.timestamp <= now and freeze.address in index:
            flows.frozen.setdefault(index[freeze.address], []).append((freeze.timestamp, None))
    return flows


# What evaluate found, by name.

FLAG = DEFAULTS.flag_min_risk


def score(ledger: Ledger, config: RulesConfig = DEFAULTS) -> Scored:
    return evaluate(ledger.flows(), config)


def index(flows: Flows, name: str) -> int:
    hit = np.flatnonzero(flows.addresses == address(name))
    assert hit.size == 1, f"{name} is not in the flows"
    return int(hit[0])


def patterns(scored: Scored, rule: str) -> list[Pattern]:
    return [p for p in scored.patterns.values() if p.typology == rule]


def risk(scored: Scored, name: str) -> int:
    return scored.risk.get(index(scored.flows, name), 0)


def reason(scored: Scored, name: str, rule: str) -> Reason | None:
    return scored.raw.get(index(scored.flows, name), {}).get(rule)


def _members(scored: Scored, pattern: Pattern) -> dict[str, str]:
    return {str(scored.flows.addresses[a]): r for a, r in pattern.members.items()}


def _touching(scored: Scored, rule: str, names: tuple[str, ...]) -> list[Pattern]:
    wanted = {address(n) for n in names}
    return [p for p in patterns(scored, rule) if wanted & set(_members(scored, p))]


def assert_pattern(scored: Scored, rule: str, members: dict[str, str]) -> Pattern:
    """`rule` found one pattern among these names, with exactly these members (by name)
    and roles; each member carries a reason of the rule that names the pattern and its
    role, and is flagged."""
    found = _touching(scored, rule, tuple(members))
    assert len(found) == 1, (rule, [p.title for p in found])
    pattern = found[0]
    by_address = {address(n): n for n in members}
    got = {by_address.get(a, a): r for a, r in _members(scored, pattern).items()}
    assert got == members, (pattern.title, got)
    for who, role in pattern.members.items():
        name = by_address[str(scored.flows.addresses[who])]
        held = scored.raw.get(who, {}).get(rule)
        assert held is not None, (rule, name)
        assert (held.pattern, held.role) == (pattern.key, role), (name, held)
        assert held.detail.startswith(role.replace("_", " ") + " "), (name, held.detail)
        assert pattern.title in held.detail, (name, held.detail)
        assert scored.risk[who] >= FLAG, (name, role, scored.risk[who], held)
    return pattern


def assert_no_pattern(scored: Scored, rule: str, *names: str) -> None:
    """`rule` found no pattern with any of these names as a member, nor gave them a
    reason."""
    assert not _touching(scored, rule, names), [p.title for p in _touching(scored, rule,
                                                                            names)]
    held = {n: reason(scored, n, rule) for n in names}
    assert not any(held.values()), {n: r.detail for n, r in held.items() if r}


def assert_hit(scored: Scored, rule: str, name: str) -> Reason:
    """An address rule's finding on `name`, which flags it."""
    held = reason(scored, name, rule)
    assert held is not None, (rule, name)
    assert risk(scored, name) >= FLAG, (name, risk(scored, name), held)
    return held


def assert_unflagged(scored: Scored, *names: str) -> None:
    """None of these addresses reaches the flag threshold."""
    high = {n: (risk(scored, n), sorted(scored.raw.get(index(scored.flows, n), {})))
            for n in names if risk(scored, n) >= FLAG}
    assert not high, high


@functools.cache
def benign_scored() -> Scored:
    """benign(), scored once per session (read-only: tests must not change it)."""
    return score(benign())


def ratio(share: float, at_least: int) -> tuple[int, int]:
    """(part, whole), the smallest with part / whole == share exactly (as a float) and
    part >= at_least: counts that sit exactly on a configured share."""
    exact = Fraction(str(share))
    times = -(-at_least // max(exact.numerator, 1))
    part, whole = exact.numerator * times, exact.denominator * times
    assert part / whole == share
    return part, whole
