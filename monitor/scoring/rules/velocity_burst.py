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
from monitor.scoring.flows import unique_ints
from monitor.scoring.rules import best_windows, duration, scale


def detect(ctx: Context[VelocityBurst]) -> list[Hit]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    window = int(p.window_seconds)
    # Events per address: each transfer counts for its sender and its receiver.
    who = np.concatenate((f.src, f.dst))
    when = np.concatenate((f.t, f.t))
    rows = np.concatenate((np.arange(f.n), np.arange(f.n)))
    real = (who != 0) & ctx.wanted(who)
    groups, counts, slices = best_windows(who[real], when[real], window)
    total = feats.column("in_count") + feats.column("out_count")
    # Baseline per active hour: transfers cluster in working hours on active days, so an
    # average over the whole lifetime would make every busy day look like a burst.
    day_pairs = unique_ints(who[real].astype(np.int64) * (1 << 32) + when[real] // 86400)
    active_days = np.bincount(day_pairs >> 32, minlength=f.n_addresses)
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
        idx = rows[real][sl]
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
