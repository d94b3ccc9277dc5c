"""One laundering case being drawn: its transfers in seconds from its own start, and the
role of every participant; placed in the history's window when complete.

Every transfer of a case is strict (see `monitor/sim/ledger.py`): it happens exactly as
drawn, funded by the case's own inflows or by the venue it withdraws from.
"""

from __future__ import annotations

import statistics

from monitor.addresses import ZERO
from monitor.sim.history import Case
from monitor.sim.ledger import DAY, HOUR, MINUTE, Book
from monitor.sim.venues import Venues

_GRAINS = (MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 2 * HOUR)


class Draft:
    def __init__(self, book: Book, venues: Venues, rule: str, near_miss: bool) -> None:
        self.book = book
        self.rng = book.rng
        self.venues = venues
        self.rule = rule
        self.near_miss = near_miss
        self.roles: dict[str, str] = {}
        self.moves: list[tuple[float, str, str, int]] = []  # (seconds, from, to, amount)

    def fresh(self, role: str) -> str:
        address = self.book.address()
        self.roles[address] = role
        return address

    def move(self, dt: float, sender: str, receiver: str, amount: int) -> None:
        self.moves.append((dt, sender, receiver, amount))

    def mint(self, dt: float, receiver: str, amount: int) -> None:
        self.move(dt, ZERO, receiver, amount)

    def delay(self, low: float, high: float) -> float:
        """Seconds, log-uniform: as likely minutes as hours as days within the range."""
        return self.book.loguniform(low, high)

    def value(self) -> int:
        """What the case moves, in base units (see `independent.py` for the ranges)."""
        units = self.book.loguniform(3e3, 5e4) if self.near_miss else \
            self.book.loguniform(1e4, 1e6)
        return self.book.units(units)

    def fund(self, who: str, amount: int, dt: float) -> None:
        """Bring `amount` to `who` before `dt`: an exchange withdrawal, a subscription
        paid with dirty money (a mint), or an old holding (a subscription months ago)."""
        how = self.rng.random()
        if how < 0.55:
            hot = self.rng.choice(self.venues.exchanges).hot
            self.move(dt - self.delay(10 * MINUTE, 2 * DAY), hot, who, amount)
        elif how < 0.8:
            self.mint(dt - self.delay(MINUTE, DAY), who, amount)
        else:
            self.mint(dt - self.delay(20 * DAY, 80 * DAY), who, amount)

    def cash_out(self, who: str, amount: int, dt: float) -> None:
        """Out through a swap on the pool or an exchange, in one to three pieces."""
        venue = self.rng.choice(self.venues.cash_outs)
        for piece in self.book.split(amount, min(self.rng.choice((1, 1, 2, 3)), amount)):
            dt += self.delay(MINUTE, 6 * HOUR)
            self.move(dt, who, venue, piece)

    def place(self, description: str) -> Case:
        """Write the case into the book at a random time in the window; its Case."""
        book = self.book
        first = min(dt for dt, *_ in self.moves)
        span = max(dt for dt, *_ in self.moves) - first
        room = (book.days - 2) * DAY
        # A case longer than the window (a slow near miss in a short history) is compressed.
        squeeze = min(1.0, room / span) if span else 1.0
        offset = book.start + DAY + self.rng.uniform(0, room - span * squeeze)
        times = sorted({(dt - first) * squeeze for dt, *_ in self.moves})
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        # Blocks as coarse as the case's own rhythm allows: replay pays per block.
        typical = statistics.median(gaps) if gaps else DAY
        grain = max([g for g in _GRAINS if g <= typical / 2] or [MINUTE])
        order = sorted(range(len(self.moves)), key=lambda i: (self.moves[i][0], i))
        for i in order:
            dt, sender, receiver, amount = self.moves[i]
            t = int(offset + (dt - first) * squeeze)
            if sender == ZERO:
                book.mint(t, receiver, amount, strict=True, grain=grain)
            else:
                book.add(t, sender, receiver, amount, strict=True, grain=grain)
        return Case(rule=self.rule, actors=frozenset(self.roles), description=description,
                    roles=dict(self.roles), near_miss=self.near_miss)
