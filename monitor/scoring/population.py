"""What "large", "busy", "long" and "rare" mean for one token: its population yardsticks.

Rules judge an address against the token's own distribution, never against figures
chosen for one data set: a transfer is large when few of the token's transfers are
larger; a wallet is a service wallet (exchange, custodian, market maker, paying agent)
when it deals with far more counterparties than the token's addresses usually do, for
longer than a laundering burst lasts; a silence is long when few of the token's holders
were ever silent that long; a pair that transacts several times within a day is unusual
when few of the token's senders ever do.
They are measured once per full run and kept in the scoring state, so an incremental run
judges by the same yardsticks (monitor.scoring.incremental).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from monitor.scoring.config import RulesConfig
from monitor.scoring.features import Features
from monitor.scoring.flows import Flows, unique_ints


@dataclass
class Yardsticks:
    secondary_amounts: np.ndarray  # sorted amounts of the transfers between holders
    service_degree: float  # counterparties from which an address is a service wallet
    service_lifetime: float  # ...over at least this many seconds, first to last transfer,
    service_days: int  # ...on at least this many distinct days
    long_silence: float  # seconds: population.silence_quantile of holders' longest silences
    silence_rank: float  # that quantile
    # burst_share[k]: share of the token's senders whose busiest split window (rules
    # split_transfers.window_seconds) to one receiver held at least k transfers (k >= 1);
    # counted apart for payments into service wallets (deposits), which are split far
    # more often than payments between holders.
    burst_share: np.ndarray
    deposit_burst_share: np.ndarray
    in_band_share: float  # share of transfers in the structuring band
    permissioned: bool
    # amount_quantile's results: the yardsticks are fixed between full runs, and an
    # incremental run asks for the same quantile every block.
    _quantiles: dict[float, float] = field(default_factory=dict, repr=False, compare=False)

    def amount_quantile(self, q: float) -> float:
        """The `q` quantile (numpy's linear) of the secondary amounts."""
        if q not in self._quantiles:
            self._quantiles[q] = float(np.quantile(self.secondary_amounts, q))
        return self._quantiles[q]

    def service(self, feats: Features) -> np.ndarray:
        """Bool per address: a service wallet (exchange, custodian, market maker, pool):
        far more counterparties than the token's addresses have, dealt with day after day
        for longer than a laundering burst lasts. A hub that collects from fifty mules over
        a fortnight, or a holder who wakes up after months to pay them in an afternoon, has
        the counterparties of an exchange, not its life."""
        lifetime = np.maximum(feats.last_seen - feats.first_seen, 0)
        return ((degree(feats) >= self.service_degree) & (lifetime >= self.service_lifetime)
                & (feats.active_days >= self.service_days))

    def burst_rarity(self, count: np.ndarray | int,
                     deposit: np.ndarray | bool = False) -> np.ndarray:
        """Share of the token's senders that ever made `count` transfers to one receiver
        (of the same kind: a service wallet or not) within the split window, per element."""
        held = np.r_[self.burst_share, np.zeros(64)][:64]
        deposits = np.r_[self.deposit_burst_share, np.zeros(64)][:64]
        at = np.minimum(count, 63)
        return np.where(deposit, deposits[at], held[at])


def sides(stats: Yardsticks, flows: Flows, feats: Features) -> tuple[np.ndarray, np.ndarray]:
    """(service wallets, deposit addresses), bool per address, over the whole token.

    A deposit address pays nothing but service wallets (at least 99% of what it sends
    to holders): an exchange's per-customer address swept to its hot wallet, or a
    holder cashing out. Its forwards are deposits, not layering, and payments into it
    are deposits to a service. The zero address counts as a service wallet."""
    wallets = stats.service(feats)
    wallets[0] = False
    real = flows.dst != 0
    sent = np.bincount(flows.src[real], weights=flows.amount[real],
                       minlength=flows.n_addresses)
    to_wallets = np.bincount(flows.src[real], weights=flows.amount[real] * wallets[flows.dst[real]],
                             minlength=flows.n_addresses)
    deposits = (sent > 0) & (to_wallets >= 0.99 * sent) & ~wallets
    wallets[0] = True
    deposits[0] = False
    return wallets, deposits


@dataclass
class HeldSides:
    """population.sides kept up to date by an incremental run: what each address sent to
    holders and to service wallets, over the first `n` transfers."""

    n: int
    wallets: np.ndarray  # stats.service of the features then (zero address False)
    sent: np.ndarray
    to_wallets: np.ndarray

    @classmethod
    def build(cls, stats: Yardsticks, flows: Flows, feats: Features) -> HeldSides:
        wallets = stats.service(feats)
        wallets[0] = False
        real = flows.dst != 0
        sent = np.bincount(flows.src[real], weights=flows.amount[real],
                           minlength=flows.n_addresses).astype(float)
        to_wallets = np.bincount(flows.src[real],
                                 weights=flows.amount[real] * wallets[flows.dst[real]],
                                 minlength=flows.n_addresses).astype(float)
        return cls(flows.n, wallets, sent, to_wallets)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        deposits = (self.sent > 0) & (self.to_wallets >= 0.99 * self.sent) & ~self.wallets
        wallets = self.wallets.copy()
        wallets[0] = True
        deposits[0] = False
        return wallets, deposits

    def advance(self, stats: Yardsticks, flows: Flows, feats: Features) -> None:
        """Count the transfers appended since (rows `n`..): the sums grow by the new rows
        (bincount adds in row order, and so does this), and the senders to an address
        whose wallet status flipped are summed again over their own sends."""
        grown = flows.n_addresses - self.sent.size
        if grown > 0:
            self.sent = np.r_[self.sent, np.zeros(grown)]
            self.to_wallets = np.r_[self.to_wallets, np.zeros(grown)]
            self.wallets = np.r_[self.wallets, np.zeros(grown, dtype=bool)]
        wallets = stats.service(feats)
        wallets[0] = False
        flipped = np.flatnonzero(wallets != self.wallets)
        src, dst = flows.src[self.n:], flows.dst[self.n:]
        amount = flows.amount[self.n:]
        real = dst != 0
        np.add.at(self.sent, src[real], amount[real])
        again = np.zeros(flows.n_addresses, dtype=bool)
        if flipped.size:
            again[flows.src[flows.rows_touching(flipped)]] = True
            again[0] = False
        add = real & ~again[src]
        np.add.at(self.to_wallets, src[add], amount[add] * wallets[dst[add]])
        senders = np.flatnonzero(again)
        if senders.size:
            rows = flows.rows_touching(senders)
            rows = rows[again[flows.src[rows]] & (flows.dst[rows] != 0)]
            self.to_wallets[senders] = np.bincount(
                flows.src[rows], weights=flows.amount[rows] * wallets[flows.dst[rows]],
                minlength=flows.n_addresses)[senders]
        self.wallets = wallets
        self.n = flows.n


def degree(feats: Features) -> np.ndarray:
    return feats.column("in_counterparties") + feats.column("out_counterparties")


def measure(flows: Flows, feats: Features, config: RulesConfig,
            permissioned: bool) -> Yardsticks:
    p = config.population
    real = (flows.src != 0) & (flows.dst != 0)
    secondary = np.sort(flows.amount[real])
    deg = degree(feats)[1:]
    active = deg[deg > 0]
    median = float(np.median(active)) if active.size else 0.0
    service = p.service_min_factor * median if active.size else np.inf
    # Holders' longest silences, among addresses that were active more than once.
    gaps = feats.column("max_gap_days")[1:] * 86400.0
    gaps = gaps[gaps > 0]
    structuring = config.rules.structuring
    threshold = structuring.reporting_threshold
    band = ((flows.amount >= structuring.band * threshold) & (flows.amount < threshold))[real]
    stats = Yardsticks(
        secondary_amounts=secondary,
        service_degree=service, service_lifetime=float(p.service_min_lifetime_seconds),
        service_days=p.service_min_active_days,
        long_silence=float(np.quantile(gaps, p.silence_quantile)) if gaps.size else np.inf,
        silence_rank=p.silence_quantile,
        burst_share=np.ones(2), deposit_burst_share=np.ones(2),
        in_band_share=float(band.mean()) if band.size else 0.0,
        permissioned=permissioned,
    )
    wallets, deposits = sides(stats, flows, feats)
    service_side = wallets | deposits
    window = int(config.rules.split_transfers.window_seconds)
    payers = real & ~service_side[flows.src]
    stats.burst_share = _burst_share(flows, payers & ~service_side[flows.dst], window)
    stats.deposit_burst_share = _burst_share(flows, payers & service_side[flows.dst], window)
    return stats


def pair_bursts(flows: Flows, rows: np.ndarray, window: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (sender, receiver) pair among `rows`: the most transfers it made within any
    `window` seconds. Returns (senders, receivers, counts)."""
    pair = flows.src[rows].astype(np.int64) * (1 << 32) + flows.dst[rows]
    pairs, group = np.unique(pair, return_inverse=True)
    key = np.sort((group.astype(np.int64) << 40) + flows.t[rows])
    counts = np.searchsorted(key, key + window, side="right") - np.arange(key.size)
    best = np.zeros(pairs.size, dtype=np.int64)
    np.maximum.at(best, key >> 40, counts)
    return pairs >> 32, pairs & 0xFFFFFFFF, best


def _burst_share(flows: Flows, real: np.ndarray, window: int) -> np.ndarray:
    rows = np.flatnonzero(real)
    if rows.size == 0:
        return np.ones(2)
    senders, _, counts = pair_bursts(flows, rows, window)
    per_sender = np.zeros(flows.n_addresses, dtype=np.int64)
    np.maximum.at(per_sender, senders, counts)
    n_senders = unique_ints(senders).size
    hist = np.bincount(per_sender[per_sender > 0])
    # share[k] = senders whose busiest pair burst holds >= k transfers / all senders
    at_least = np.cumsum(hist[::-1])[::-1]
    return at_least / max(n_senders, 1)
