"""A labelled RWA token history drawn independently of amlmon's detection thresholds.

Written without reading `config/rules.yaml`, `monitor/scoring/` or the injectors of
`monitor/sim/generate.py`: every size, ratio, amount and time span below is drawn from a
wide range taken from how such tokens are held and how laundering looks in published
typologies, never from where a rule starts to fire. A benchmark on it measures detection
on data the rules were not written against (issue 14 §4).

Benign population (`population.py`, `venues.py`), and where each range comes from:
- Subscriptions: lognormal, median 20,000 units, sigma 1.5 (100 to 3M): tokenized funds
  span retail products with minimums of $20-$500 (Franklin BENJI, Ondo USDY) to qualified
  purchasers' tickets; 40% in the launch window, the rest over the period, as funds stay
  open for subscriptions. Half subscribe again, one to three times, 10-100% of the first.
- Big investors: 2M-40M units, log-uniform, one per 100 investors (at least two): BlackRock
  BUIDL's minimum is $5M and its largest holders hold tens of millions.
- Holding: 55% hold and leave after a lognormal 75 days (sigma 0.45, 14-400): treasury and
  money-market tokens are cash management, redeemed when the cash is needed, after weeks to
  months; 30% of exits come in two steps. Exits: 50% a redemption transferred to the issuer,
  who burns at day's end, 15% a redemption burnt from the holder by the agent (both are
  in use), 15% sold on the pool, 10% through an exchange, 10% to another investor.
- Trading: 20% trade on the DEX pool or with the market maker at 0.05-1.5 trades a day
  (log-uniform), 17% keep an exchange account (0.05-0.6 moves a day; deposits in up to six
  top-ups the same day), 8% trade directly or through the OTC desk (0.01-0.15 a day); as
  many secondary buyers (lognormal median 5,000 units) arrive from the pool or an exchange,
  as in retail-open tokens such as USDY: secondary trading is a minority of holders.
- Exchanges: three omnibus hot wallets with 0.2M-20M units each, a cold wallet each (10-40%
  of the hot balance moved to cold nightly, refilled every 3-7 days), and a deposit address
  per customer swept to the hot wallet within minutes to hours: custodial practice.
- Market maker: 25-100 trades a day against the pool and the exchanges (lognormal, median
  15,000 units): RWA pools are thin and kept in line by one or two arbitrage desks.
- Distributions: every 30 days to every holder of record, pro rata at 3.5%-5.5% a year,
  minted to the paying agent and paid out within hours: T-bill and money-market yields of
  2023-2025; BUIDL and BENJI distribute monthly or daily, bonds pay coupons.
- Payroll: one payer per 200 investors, 5-40 staff paid every 14, 15 or 30 days, lognormal
  median 4,000 units (800-25,000), +-2%: the common pay cadences; 30% of staff cash out.
- OTC desk: block trades passed whole from seller to buyer within 15 min-4 h (the desk's
  spread is settled in cash).

Laundering (`laundering.py`), every participant labelled with its role. Each typology gets
`cases_per_typology` cases from the full range and as many near misses from its small,
slow or weak end. Ranges:
- Value: 10,000-1M units log-uniform (near misses 3,000-50,000): mule networks move tens to
  hundreds of thousands, professional launderers millions (FATF, Professional Money
  Laundering, 2018; Europol EMMA).
- Funding: 55% an exchange withdrawal, 25% a subscription paid with illicit money (a mint:
  placement), 20% a holding bought 20-80 days before: FATF virtual-asset red flags (2020).
- Fan sizes: fan-in and fan-out 3-60, mules and gather/scatter groups 3-40, dispersals 5-80,
  log-uniform (near misses 3-4): mule networks in FATF/Egmont case studies run from a handful
  to dozens of accounts.
- Time spans: log-uniform from minutes to weeks (near misses days to weeks): hacks are
  laundered within minutes (Chainalysis, Elliptic on bridge exploits), fraud proceeds through
  mule networks over days to weeks.
- Forwarding: 60%-100% of what arrives (near misses 65%-80%): mules and layering wallets keep
  a commission or leave dust (Europol EMMA); a cycle loses 0-15% a hop (fees), a near miss
  5-20% over 9-12 members and 1-4 days a hop.
- Cycles: 3-12 members, 1-4 rounds: round-tripping and wash trading return value to its
  origin through a few to a dozen wallets (FATF trade-based laundering, Chainalysis on wash
  trading).
- Peel chains: 4-25 hops (near misses 4-8), each peeling 1-20% (near misses 20-35%) to a
  new address or a cash-out and forwarding the rest within a minute to a day; 0-30% of hops
  (near misses 40-80%) receive a 1-10% top-up: Chainalysis' descriptions of peel chains.
- Pass-through chains: 2-8 intermediaries (near misses 2-3, each holding 12 h-3 days):
  layering through chains of fresh wallets (FATF, Elliptic).
- Mint then dispersal: 1-10 times a case value minted to a new address and spread within
  minutes to days: the minting exploits of 2022 (Ankr aBNBc) dispersed within minutes.
- Structuring: 5-60 transfers (near misses 3-6) of 75%-99.9% of a 10,000-unit reporting
  threshold (near misses 75%-90%), half at round figures, over 1-30 days, from one source or
  by 3-15 smurfs: the US currency transaction report threshold (31 CFR 1010.311) and the
  $9,000-$9,900 deposits in FinCEN structuring cases.
- Dormant reactivation: silent for 55%-90% of the window (near misses 30%-45%), then a
  dispersal to 3-30 new addresses (near misses 2-3) or a pass-through of fresh funds within
  minutes to hours (near misses 1-3 days): "sleeper" accounts reactivated for mule activity.

Benign look-alikes (`History.lookalikes`): big investors, the exchanges' hot wallets and
deposit addresses (exchange sweeps), the paying agent (distribution runs), the pool and the
market maker, payroll payers and the OTC desk: the venues above, so the look-alikes are the
population's own busiest addresses.
"""

from __future__ import annotations

from monitor.sim.draft import Draft
from monitor.sim.history import History
from monitor.sim.laundering import THRESHOLD_UNITS, TYPOLOGIES
from monitor.sim.ledger import Book, settle
from monitor.sim.population import populate
from monitor.sim.venues import (
    burn_redemptions,
    open_venues,
    run_big_investors,
    run_distributions,
    run_exchanges,
    run_market_maker,
    run_payroll,
)

START = 1_767_571_200  # 2026-01-05T00:00:00Z, a Monday: business days start the window

INDEPENDENT_TYPOLOGIES = tuple(TYPOLOGIES)


def generate_independent(seed: int, *, investors: int = 400, days: int = 120,
                         cases_per_typology: int = 3, decimals: int = 6) -> History:
    """A seeded history: the benign population of `investors` holders over `days`, and per
    typology `cases_per_typology` laundering cases plus as many near misses."""
    book = Book(seed, decimals, START, days)
    scale = investors / 400
    holdings: dict[str, tuple[int, int, int]] = {}
    venues = open_venues(book, scale, holdings)
    holders = populate(book, venues, investors, holdings)
    run_big_investors(book, venues, max(2, investors // 100), holdings)
    run_payroll(book, venues, holders, max(1, investors // 200))
    run_exchanges(book, venues)
    run_market_maker(book, venues, scale)
    run_distributions(book, venues, holdings)
    burn_redemptions(book, venues)
    cases = []
    for rule, draw in TYPOLOGIES.items():
        for i in range(2 * cases_per_typology):
            near = i >= cases_per_typology
            draft = Draft(book, venues, rule, near)
            cases.append(draft.place(draw(draft, near)))
    # The venues cases withdraw from hold what those withdrawals need from the start.
    for hub in venues.hubs:
        if need := book.strict_outflow(hub):
            book.mint(START, hub, need, strict=True)
    return History(
        decimals=decimals, start=START, issuer=venues.issuer,
        reporting_threshold=THRESHOLD_UNITS * 10**decimals, transfers=settle(book),
        cases=cases, benign_hubs=frozenset(venues.hubs),
        investors=frozenset(holders + venues.big_investors), lookalikes=dict(venues.lookalikes),
    )
