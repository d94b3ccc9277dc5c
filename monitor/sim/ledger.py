"""The event book of a simulated history and the balance ledger that settles it.

Events are of two kinds. *Strict* events (laundering cases) must happen exactly as drawn:
the ledger refuses to settle a history in which one would overdraw. *Background* events
(the benign population) shrink to what the sender can spare, where "spare" leaves every
address enough for its strict events still to come, so benign activity can never starve a
case of the funds it was given.

Each event carries a *grain*: its timestamp is floored to a multiple of it when settled.
Replay makes one block per distinct timestamp, and a block costs far more to replay than a
transfer within it, so flows whose exact second does not matter share coarse blocks while
fast cases keep minute resolution. Flooring with one grain keeps a flow's order; flows
that share a grain-crossing dependency are strict and funded by reservations instead.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass

from monitor.addresses import ZERO
from monitor.sim.history import SimTransfer

MINUTE, HOUR, DAY = 60, 3600, 86400
BACKGROUND_GRAIN = 2 * HOUR  # where the exact hour of a benign move does not matter


@dataclass(frozen=True, slots=True)
class Event:
    t: int
    seq: int
    sender: str
    receiver: str
    amount: int | None  # None: a share of what the sender can spare (background only)
    share: float
    kind: str  # mint | burn | transfer
    strict: bool
    grain: int


class Book:
    """Seeded random draws, fresh addresses and the events of one history."""

    def __init__(self, seed: int, decimals: int, start: int, days: int) -> None:
        self.rng = random.Random(seed)
        self.unit = 10**decimals
        self.start = start
        self.days = days
        self.events: list[Event] = []

    @property
    def end(self) -> int:
        return self.start + self.days * DAY

    def address(self) -> str:
        return "0x" + f"{self.rng.getrandbits(160):040x}"

    def units(self, value: float) -> int:
        """Token units (float) to base units, at least one."""
        return max(int(value * self.unit), 1)

    def loguniform(self, low: float, high: float) -> float:
        return math.exp(self.rng.uniform(math.log(low), math.log(high)))

    def count(self, low: int, high: int) -> int:
        """A size from low to high inclusive, log-uniform: small groups are the common ones."""
        return min(int(self.loguniform(low, high + 1)), high)

    def lognormal(self, median: float, sigma: float, low: float, high: float) -> float:
        return min(max(self.rng.lognormvariate(math.log(median), sigma), low), high)

    def split(self, total: int, parts: int, sigma: float = 0.5) -> list[int]:
        """`total` in `parts` uneven positive pieces that sum to it exactly."""
        weights = [self.rng.lognormvariate(0, sigma) for _ in range(parts)]
        scale = sum(weights)
        pieces = [max(int(total * w / scale), 1) for w in weights]
        pieces[-1] += total - sum(pieces)
        if pieces[-1] < 1:  # rounding pushed the last piece under one unit: even pieces
            pieces = [total // parts] * parts
            pieces[-1] += total - sum(pieces)
        return pieces

    def business_time(self, day: int) -> int:
        """A time on `day` or the next weekday, within European and US office hours."""
        while (self.start + day * DAY) // DAY % 7 in (2, 3):  # 1970-01-01 was a Thursday
            day += 1
        hour = min(max(self.rng.gauss(14, 3), 7), 21)
        return self.start + day * DAY + int(hour * HOUR)

    def any_time(self, day: float) -> int:
        """A time on `day` for venues open around the clock, busier in the afternoon UTC."""
        hour = self.rng.gauss(15, 5) % 24
        return self.start + int(day) * DAY + int(hour * HOUR)

    def add(self, t: int, sender: str, receiver: str, amount: int | None, *,
            kind: str = "transfer", strict: bool = False, grain: int = BACKGROUND_GRAIN,
            share: float = 1.0) -> None:
        if strict and amount is None:
            raise ValueError("a strict event needs an exact amount")
        if t >= self.end and not strict:
            return  # a sweep or a weekend's move pushed past the window: it happens later
        self.events.append(Event(t, len(self.events), sender, receiver, amount, share, kind,
                                 strict, grain))

    def mint(self, t: int, receiver: str, amount: int, *, strict: bool = False,
             grain: int = BACKGROUND_GRAIN) -> None:
        self.add(t, ZERO, receiver, amount, kind="mint", strict=strict, grain=grain)

    def burn(self, t: int, holder: str, amount: int | None, *, share: float = 1.0) -> None:
        self.add(t, holder, ZERO, amount, kind="burn", share=share)

    def strict_outflow(self, address: str) -> int:
        """Everything `address` must pay out in strict events: what a venue funding cases
        must hold from the start."""
        return sum(e.amount or 0 for e in self.events if e.strict and e.sender == address)


def settle(book: Book) -> list[SimTransfer]:
    """The book's events in time order through a balance ledger.

    Raises RuntimeError when a strict event would overdraw: a case the generator failed
    to fund, which no replay could carry out.
    """
    order = sorted(book.events, key=lambda e: (e.t - e.t % e.grain, e.seq))
    reserves = _reserves(order)
    position: dict[str, int] = defaultdict(int)  # index of the address's next strict event
    balances: dict[str, int] = defaultdict(int)
    out = []
    for e in order:
        amount = e.amount or 0
        if e.kind != "mint":
            if e.strict:
                if balances[e.sender] < amount:
                    raise RuntimeError(f"strict transfer of {amount} at {e.t} overdraws "
                                       f"{e.sender}, which holds {balances[e.sender]}")
            else:
                own = reserves.get(e.sender)
                spare = balances[e.sender] - (own[position[e.sender]] if own else 0)
                amount = int(spare * e.share) if e.amount is None else min(amount, spare)
                if amount <= 0:
                    continue
            balances[e.sender] -= amount
        if e.kind != "burn":
            balances[e.receiver] += amount
        if e.strict:
            position[e.sender] += 1
            position[e.receiver] += 1
        out.append(SimTransfer(e.t - e.t % e.grain, e.sender, e.receiver, amount, e.kind))
    return out


def _reserves(order: list[Event]) -> dict[str, list[int]]:
    """address -> before each of its strict events (and after the last), the balance it
    must keep so that all of its strict events still to come can be paid."""
    deltas: dict[str, list[int]] = defaultdict(list)
    for e in order:
        if e.strict:
            deltas[e.sender].append(-(e.amount or 0))
            deltas[e.receiver].append(e.amount or 0)
    reserves = {}
    for address, steps in deltas.items():
        need = [0] * (len(steps) + 1)
        for i in range(len(steps) - 1, -1, -1):
            need[i] = max(0, need[i + 1] - steps[i])
        reserves[address] = need
    return reserves
