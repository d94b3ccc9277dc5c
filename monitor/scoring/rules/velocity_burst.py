"""velocity_burst: an address that is normally quiet makes a burst of transfers.

Measured against the address's own baseline: its busiest window must hold at least
`min_transfers` and be `min_factor` times its usual rate — its other transfers spread
over its active days of `active_hours_per_day` hours. Busy hubs have a high baseline and
do not trip it. A burst that pays out tokens minted to the address just before (an
issuer's coupon or dividend run) is issuance business, not velocity;
mint_then_dispersal watches its suspicious form.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.config import VelocityBurst
from monitor.scoring.context import Context, Hit
from monitor.scoring.features import Features
from monitor.scoring.rules import address_ranges, best_windows, duration, scale

# Events (a transfer counts for its sender and its receiver) judged at a time: each
# address's events are all in one chunk of addresses, so the windows are the same, and the
# sorting temporaries (~200 B an event) stay bounded instead of growing with the token
# (575 MiB of a full run's peak at 2.8M transfers).
CHUNK_EVENTS = 1 << 21


def detect(ctx: Context[VelocityBurst]) -> list[Hit]:
    f = ctx.flows
    events = np.bincount(f.src, minlength=f.n_addresses) + np.bincount(
        f.dst, minlength=f.n_addresses)
    events[0] = 0
    total = ctx.features.column("in_count") + ctx.features.column("out_count")
    hits: list[Hit] = []
    for lo, hi in address_ranges(events, CHUNK_EVENTS):
        hits.extend(_detect_range(ctx, lo, hi, total))
    return hits


def _detect_range(ctx: Context[VelocityBurst], lo: int, hi: int,
                  total: np.ndarray) -> list[Hit]:
    """`detect` for the addresses lo <= a < hi (`total`: transfers per address)."""
    p, f = ctx.params, ctx.flows
    window = int(p.window_seconds)
    sent = np.flatnonzero((f.src >= lo) & (f.src < hi))
    got = np.flatnonzero((f.dst >= lo) & (f.dst < hi))
    who = np.concatenate((f.src[sent], f.dst[got]))
    when = np.concatenate((f.t[sent], f.t[got]))
    rows = np.concatenate((sent, got))
    real = (who != 0) & ctx.wanted(who)
    who, when, rows = who[real], when[real], rows[real]
    groups, counts, slices = best_windows(who, when, window)
    # Baseline per active hour: transfers cluster in working hours on active days, so an
    # average over the whole lifetime would make every busy day look like a burst.
    active_days = ctx.features.active_days
    hits = []
    for address, count, sl in zip(groups, counts, slices, strict=True):
        if count < p.min_transfers:
            continue
        rest = total[address] - count
        active_hours = max(active_days[address] * p.active_hours_per_day * 3600 / window, 1)
        expected = max(rest / active_hours, p.baseline_floor)
        factor = count / expected
        if factor < p.min_factor:
            continue
        idx = rows[sl]
        if _distributes_fresh_mint(ctx, int(address), idx):
            continue
        detail = (
            f"made {count} transfers within {duration(window)} against a baseline of "
            f"{rest:.0f} transfers in the rest of the history ({factor:.0f}x its usual rate)"
        )
        score = scale(factor, p.min_factor, 10 * p.min_factor, floor=55)
        hits.append(Hit(int(address), score, detail, ctx.evidence(idx)))
    return hits


def may_hit(feats: Features, p: VelocityBurst, windows: dict[str, int],
            addresses: np.ndarray) -> np.ndarray:
    """Bool per address: whether `detect` can find a burst for it over its whole history,
    judged from its features as `detect` judges its rows (the busiest window's count is the
    feature of the same window, its days are its active days); True where no feature
    window is the rule's. An incremental run need not give the rule a hub's history when
    this is False (monitor.scoring.incremental)."""
    window = int(p.window_seconds)
    label = next((name for name, seconds in windows.items() if int(seconds) == window), None)
    if label is None:
        return np.ones(addresses.size, dtype=bool)
    count = feats.column(f"max_transfers_{label}")[addresses]
    total = (feats.column("in_count") + feats.column("out_count"))[addresses]
    active_hours = np.maximum(
        feats.active_days[addresses] * p.active_hours_per_day * 3600 / window, 1)
    expected = np.maximum((total - count) / active_hours, p.baseline_floor)
    # A hair of leeway: a factor this close to the bar is left to `detect` itself.
    return (count >= p.min_transfers) & (count / expected >= p.min_factor * (1 - 1e-9))


def _distributes_fresh_mint(ctx: Context[VelocityBurst], address: int, idx: np.ndarray) -> bool:
    f = ctx.flows
    sent = idx[f.src[idx] == address]
    if sent.size == 0:
        return False
    start = f.t[idx].min()
    got = f.received(address)
    got = got[(f.src[got] == 0) & (f.t[got] <= start)
              & (f.t[got] >= start - ctx.params.mint_lookback_seconds)]
    minted = f.amount[got].sum()
    return bool(minted >= 0.5 * f.amount[sent].sum())
