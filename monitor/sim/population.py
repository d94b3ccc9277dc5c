"""The benign holders of an RWA token and what they do with it.

Most subscribe at issuance and hold for months, then redeem or sell in one or two moves;
some trade on the pool or with the market maker; some keep an exchange account they top
up in several transfers on one day; some trade among themselves directly or through the
OTC desk; others arrive later by buying on the secondary market. Where each range comes
from is written in `monitor/sim/independent.py`.
"""

from __future__ import annotations

from monitor.sim.ledger import Book
from monitor.sim.venues import Venues, deposit, run_otc_trade, withdraw

Holdings = dict[str, tuple[int, int, int]]  # address -> (principal, first day, last day held)


def populate(book: Book, venues: Venues, count: int, holdings: Holdings) -> list[str]:
    """`count` primary investors and as many secondary buyers; their addresses."""
    investors = []
    for _ in range(count):
        investor = book.address()
        investors.append(investor)
        # A launch window takes a large part of the subscriptions; the rest trickle in.
        day = book.rng.randrange(0, 3) if book.rng.random() < 0.4 else \
            book.rng.randrange(0, max(int(book.days * 0.9), 1))
        principal = book.units(book.lognormal(20_000, 1.5, 100, 3e6))
        book.mint(book.business_time(day), investor, principal)
        for _ in range(book.rng.choice((0, 0, 0, 0, 1, 1, 2, 3))):  # follow-on subscriptions
            later = book.rng.randrange(day, book.days)
            book.mint(book.business_time(later), investor,
                      int(principal * book.rng.uniform(0.1, 1.0)))
        last = _behave(book, venues, investor, day, principal, investors)
        holdings[investor] = (principal, day, last)
    for _ in range(count):
        buyer = book.address()
        investors.append(buyer)
        day = book.rng.randrange(1, book.days)
        principal = book.units(book.lognormal(5_000, 1.3, 50, 5e5))
        if book.rng.random() < 0.5:
            book.add(book.any_time(day), venues.pool, buyer, principal)
        else:
            withdraw(book, book.rng.choice(venues.exchanges), buyer, day, principal)
        last = _behave(book, venues, buyer, day + 1, principal, investors)
        holdings[buyer] = (principal, day, last)
    return investors


def _behave(book: Book, venues: Venues, investor: str, day: int, principal: int,
            others: list[str]) -> int:
    """Schedule the investor's moves after `day`; the last day it holds a position."""
    style = book.rng.random()
    if style < 0.55:
        return _hold_then_exit(book, venues, investor, day, others)
    if style < 0.75:
        _trade_on_pool(book, venues, investor, day, principal)
    elif style < 0.92:
        _use_exchange(book, venues, investor, day, principal)
    else:
        _trade_directly(book, venues, investor, day, principal, others)
    return book.days


def _hold_then_exit(book: Book, venues: Venues, investor: str, day: int,
                    others: list[str]) -> int:
    """Months of silence, then a redemption or a sale, sometimes in two steps."""
    exit_day = day + int(book.lognormal(75, 0.45, 14, 400))
    if exit_day >= book.days:
        return book.days
    steps = [(exit_day, book.rng.uniform(0.2, 0.7))] if book.rng.random() < 0.3 else []
    steps.append((exit_day + (book.rng.randrange(3, 40) if steps else 0), 1.0))
    for step_day, share in steps:
        if step_day >= book.days:
            return book.days
        route = book.rng.random()
        t = book.business_time(step_day)
        if route < 0.5:  # redeem with the issuer, who burns it the same evening
            book.add(t, investor, venues.issuer, None, share=share)
        elif route < 0.65:  # redeemed by the agent burning from the holder
            book.burn(t, investor, None, share=share)
        elif route < 0.8:
            book.add(t, investor, venues.pool, None, share=share)
        elif route < 0.9:
            deposit(book, venues, book.rng.choice(venues.exchanges), investor, step_day, share)
        elif (buyer := book.rng.choice(others)) != investor:
            book.add(t, investor, buyer, None, share=share)
    return steps[-1][0]


def _trade_on_pool(book: Book, venues: Venues, investor: str, day: int, principal: int) -> None:
    """Buys and sells now and then, on the pool or straight with the market maker."""
    rate = book.loguniform(0.05, 1.5)  # trades a day
    t = float(day)
    while (t := t + book.rng.expovariate(rate)) < book.days:
        venue = venues.pool if book.rng.random() < 0.7 else venues.market_maker
        if book.rng.random() < 0.5:
            size = book.units(book.lognormal(principal / book.unit * 0.2, 0.8, 10, 1e6))
            book.add(book.any_time(t), venue, investor, size)
        else:
            book.add(book.any_time(t), investor, venue, None, share=book.rng.uniform(0.1, 0.6))


def _use_exchange(book: Book, venues: Venues, investor: str, day: int, principal: int) -> None:
    """An exchange account: deposits (often topped up in a few transfers the same day)
    and withdrawals back to the wallet."""
    exchange = book.rng.choice(venues.exchanges)
    rate = book.loguniform(0.05, 0.6)
    t = float(day)
    while (t := t + book.rng.expovariate(rate)) < book.days:
        if book.rng.random() < 0.5:
            pieces = book.rng.choice((1, 1, 1, 2, 2, 3, 4, 6))
            deposit(book, venues, exchange, investor, int(t), book.rng.uniform(0.1, 0.8), pieces)
        else:
            size = book.units(book.lognormal(principal / book.unit * 0.3, 0.8, 10, 1e6))
            withdraw(book, exchange, investor, t, size)


def _trade_directly(book: Book, venues: Venues, investor: str, day: int, principal: int,
                    others: list[str]) -> None:
    """Secondary trades with other investors, directly or as a block through the OTC desk."""
    rate = book.loguniform(0.01, 0.15)
    t = float(day)
    while (t := t + book.rng.expovariate(rate)) < book.days:
        other = book.rng.choice(others)
        if other == investor:
            continue
        if book.rng.random() < 0.5:
            book.add(book.business_time(int(t)), investor, other, None,
                     share=book.rng.uniform(0.05, 0.5))
        else:
            size = book.units(book.lognormal(principal / book.unit * 0.4, 0.6, 100, 5e6))
            seller, buyer = (investor, other) if book.rng.random() < 0.5 else (other, investor)
            run_otc_trade(book, venues, seller, buyer, int(t), size)
