"""The benign institutions around an RWA token, each also a look-alike of some typology.

Exchanges and custodians (omnibus hot and cold wallets, a deposit address per customer swept
to the hot wallet: a fan-in), a DEX pool and a market maker (many counterparties, fast in
and out), an OTC desk (client funds passed straight through), the issuer's paying agent
(monthly distributions to every holder: a fan-out right after a mint), payroll payers (the
same recipients paid on a cadence) and big but ordinary investors. Where each range comes
from is written in `monitor/sim/independent.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.sim.ledger import DAY, HOUR, MINUTE, Book


@dataclass
class Exchange:
    hot: str
    cold: str
    deposits: dict[str, str] = field(default_factory=dict)  # customer -> deposit address


@dataclass
class Venues:
    issuer: str  # subscriptions are minted by the agent; redemptions come back here, then burn
    exchanges: list[Exchange]
    pool: str  # a DEX pool of the token against a stablecoin
    market_maker: str
    otc_desk: str
    distributor: str  # the issuer's paying agent for coupons and dividends
    payers: list[str] = field(default_factory=list)
    big_investors: list[str] = field(default_factory=list)
    lookalikes: dict[str, str] = field(default_factory=dict)

    @property
    def hubs(self) -> list[str]:
        wallets = [w for e in self.exchanges for w in (e.hot, e.cold)]
        return [self.issuer, *wallets, self.pool, self.market_maker, self.otc_desk,
                self.distributor, *self.payers]

    @property
    def cash_outs(self) -> list[str]:
        """Where laundered value leaves for fiat or other assets: a swap or an exchange."""
        return [self.pool, *(e.hot for e in self.exchanges)]


def open_venues(book: Book, scale: float, holdings: dict[str, tuple[int, int, int]]) -> Venues:
    """The venues with their launch inventories (omnibus subscriptions, pool liquidity);
    the exchanges' omnibus holdings go into `holdings`, for distributions."""
    venues = Venues(book.address(), [Exchange(book.address(), book.address()) for _ in range(3)],
                    book.address(), book.address(), book.address(), book.address())
    launch = book.start + 6 * HOUR
    for exchange in venues.exchanges:
        omnibus = book.units(book.lognormal(1.5e6 * scale, 0.5, 2e5, 2e7))
        book.mint(launch, exchange.hot, omnibus)
        holdings[exchange.hot] = (omnibus, 0, book.days)
        venues.lookalikes[exchange.hot] = "exchange_sweep"
    book.mint(launch, venues.pool, book.units(book.loguniform(5e5, 3e6) * scale))
    book.mint(launch, venues.market_maker, book.units(book.loguniform(2e5, 1e6) * scale))
    book.mint(launch, venues.otc_desk, book.units(book.loguniform(5e4, 3e5) * scale))
    venues.lookalikes.update({venues.pool: "market_maker", venues.market_maker: "market_maker",
                              venues.otc_desk: "otc_desk", venues.distributor: "distribution"})
    return venues


def deposit(book: Book, venues: Venues, exchange: Exchange, customer: str, day: int,
            share: float, pieces: int = 1) -> None:
    """A customer's deposit, in `pieces` transfers the same day when topping up, swept on."""
    if day >= book.days:
        return
    address = exchange.deposits.get(customer)
    if address is None:
        address = exchange.deposits[customer] = book.address()
        venues.lookalikes[address] = "exchange_sweep"
    t = book.business_time(day)
    for i in range(pieces):
        # Each top-up takes a share of what is left, so the pieces shrink as they go.
        book.add(t + i * book.rng.randrange(5 * MINUTE, 3 * HOUR), customer, address, None,
                 share=share if i == 0 else book.rng.uniform(0.1, 0.5))
    # Exchanges sweep deposit addresses to the hot wallet within minutes to hours.
    book.add(t + pieces * 3 * HOUR + book.rng.randrange(10 * MINUTE, 8 * HOUR), address,
             exchange.hot, None)


def withdraw(book: Book, exchange: Exchange, customer: str, day: float, amount: int) -> None:
    if day < book.days:
        book.add(book.any_time(day), exchange.hot, customer, amount)


def run_exchanges(book: Book, venues: Venues) -> None:
    """Treasury moves of each exchange: nightly hot -> cold, and cold -> hot refills."""
    for exchange in venues.exchanges:
        refill = book.rng.randrange(3, 8)
        for day in range(1, book.days):
            t = book.start + day * DAY + 2 * HOUR
            book.add(t, exchange.hot, exchange.cold, None, share=book.rng.uniform(0.1, 0.4))
            if day % refill == 0:
                book.add(t + 8 * HOUR, exchange.cold, exchange.hot, None,
                         share=book.rng.uniform(0.3, 0.7))


def run_market_maker(book: Book, venues: Venues, scale: float) -> None:
    """The market maker arbitrages the pool against the exchanges all day, every day."""
    mm = venues.market_maker
    for day in range(1, book.days):
        for _ in range(int(book.loguniform(25, 100) * min(scale, 3))):
            t = book.any_time(day)
            size = book.units(book.lognormal(15_000, 1.0, 200, 500_000))
            move = book.rng.random()
            if move < 0.4:
                book.add(t, venues.pool, mm, size)
            elif move < 0.8:
                book.add(t, mm, venues.pool, size)
            elif move < 0.9:
                deposit(book, venues, book.rng.choice(venues.exchanges), mm, day,
                        book.rng.uniform(0.05, 0.3))
            else:
                withdraw(book, book.rng.choice(venues.exchanges), mm, day, size)


def run_distributions(book: Book, venues: Venues, holdings: dict[str, tuple[int, int, int]]
                      ) -> None:
    """Monthly distributions (a tokenized fund's dividend, a bond's coupon) by the paying
    agent to every address holding on the record date, pro rata to its holding.

    `holdings`: address -> (principal, first day held, last day held).
    """
    rate = book.rng.uniform(0.035, 0.055)  # a money-market or short-bond yield, annual
    for record in range(30, book.days - 1, 30):
        payees = [(a, p) for a, (p, first, last) in holdings.items() if first < record <= last]
        amounts = [(a, max(int(p * rate / 12), 1)) for a, p in payees]
        if not amounts:
            continue
        t = book.business_time(record)
        book.mint(t, venues.distributor, sum(x for _, x in amounts))
        # One multisend, or a few: the run lands in one or two blocks.
        for address, amount in amounts:
            book.add(t + HOUR + book.rng.randrange(2 * HOUR), venues.distributor, address, amount)


def run_payroll(book: Book, venues: Venues, investors: list[str], payers: int) -> None:
    """Companies paying a fixed staff on a cadence out of tokenized treasury holdings."""
    for _ in range(payers):
        payer = book.address()
        venues.payers.append(payer)
        venues.lookalikes[payer] = "payroll"
        staff = [book.address() for _ in range(book.count(5, 40))]
        investors.extend(staff)
        pay = {a: book.units(book.lognormal(4_000, 0.5, 800, 25_000)) for a in staff}
        cadence = book.rng.choice((14, 15, 30))
        for day in range(book.rng.randrange(1, cadence), book.days - 1, cadence):
            t = book.business_time(day)
            total = sum(pay.values())
            book.mint(t - DAY, payer, int(total * book.rng.uniform(1.0, 1.1)))
            for address, amount in pay.items():
                book.add(t, payer, address, int(amount * book.rng.uniform(0.98, 1.02)))
                if book.rng.random() < 0.3:  # some staff cash out within the week
                    later = day + book.rng.randrange(1, 7)
                    deposit(book, venues, book.rng.choice(venues.exchanges), address, later,
                            book.rng.uniform(0.5, 1.0))


def run_big_investors(book: Book, venues: Venues, count: int,
                      holdings: dict[str, tuple[int, int, int]]) -> None:
    """Institutions subscribing millions and holding, as BUIDL's and BENJI's largest do."""
    for _ in range(count):
        investor = book.address()
        venues.big_investors.append(investor)
        venues.lookalikes[investor] = "big_investor"
        day = book.rng.randrange(0, max(book.days // 10, 1))
        principal = book.units(book.loguniform(2e6, 4e7))
        book.mint(book.business_time(day), investor, principal)
        holdings[investor] = (principal, day, book.days)
        move = book.rng.random()
        later = book.rng.randrange(day + 1, book.days) if day + 1 < book.days else book.days
        if move < 0.3:  # a second subscription
            book.mint(book.business_time(later), investor,
                      int(principal * book.rng.uniform(0.2, 1.0)))
        elif move < 0.6:  # a partial redemption
            book.add(book.business_time(later), investor, venues.issuer,
                     int(principal * book.rng.uniform(0.1, 0.4)))


def run_otc_trade(book: Book, venues: Venues, seller: str, buyer: str, day: int,
                  amount: int) -> None:
    """A block trade through the OTC desk: the seller's tokens go on to the buyer within
    minutes to hours (the desk's spread is paid in cash, so the tokens pass whole)."""
    if day >= book.days:
        return
    t = book.business_time(day)
    book.add(t, seller, venues.otc_desk, amount, grain=15 * MINUTE)
    book.add(t + book.rng.randrange(15 * MINUTE, 4 * HOUR), venues.otc_desk, buyer, amount,
             grain=15 * MINUTE)


def burn_redemptions(book: Book, venues: Venues) -> None:
    """The issuer burns what came back for redemption at the end of each business day."""
    for day in range(1, book.days):
        book.burn(book.start + day * DAY + 21 * HOUR, venues.issuer, None)
