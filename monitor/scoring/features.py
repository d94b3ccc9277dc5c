"""Per-address features of one token, computed with numpy over the whole flow arrays.

Each feature is a column of one matrix (addresses × features); rules read columns by
name, the anomaly model reads the matrix. Windows are configurable; the defaults (24 h,
7 d, whole history) come from config/rules.yaml. No per-row Python loops: everything is
sorting, bincount, searchsorted and reduceat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor.scoring.flows import Flows, unique_ints

HOUR = 3600
DAY = 86400


@dataclass
class Features:
    names: list[str]
    matrix: np.ndarray  # float64, n_addresses × len(names); row 0 (zero address) unused
    # Event-level helpers the rules share.
    first_seen: np.ndarray  # int64 per address
    last_seen: np.ndarray
    recv_new: np.ndarray  # bool per transfer: the receiver's first appearance
    send_first: np.ndarray  # bool per transfer: the sender's first outgoing transfer
    hold_seconds: np.ndarray  # float per transfer: time since the sender last received (nan)
    last_receipt: np.ndarray  # int per transfer: index of that receipt (-1 if none)
    # Token units per address over its whole history: rules running on a neighbourhood's
    # transfers (an incremental run) must not judge an address by the part they see.
    in_value: np.ndarray
    out_value: np.ndarray
    bought_value: np.ndarray  # received from other holders (mints excluded)
    active_days: np.ndarray  # distinct UTC days with a transfer

    def column(self, name: str) -> np.ndarray:
        return self.matrix[:, self.names.index(name)]

    def restricted(self, rows: np.ndarray, n_transfers: int) -> Features:
        """These features as seen by rules running on `flows.subset(rows)`: per-address
        arrays as they are, per-transfer ones cut to `rows` (receipt indices renumbered;
        -1 where the receipt is outside)."""
        local = np.full(n_transfers, -1, dtype=np.int64)
        local[rows] = np.arange(rows.size)
        receipt = self.last_receipt[rows]
        receipt = np.where(receipt >= 0, local[np.maximum(receipt, 0)], -1)
        return Features(self.names, self.matrix, self.first_seen, self.last_seen,
                        self.recv_new[rows], self.send_first[rows], self.hold_seconds[rows],
                        receipt, self.in_value, self.out_value, self.bought_value,
                        self.active_days)

    def update(self, flows: Flows, old_n: int, touched: np.ndarray,
               thresholds: dict[str, float], windows: dict[str, int],
               rewritten: np.ndarray | None = None) -> None:
        """Bring the features up to date after `flows` grew from `old_n` transfers.

        Every per-address feature depends only on the address's own transfers (and, for
        age, on the latest time), so only the `touched` addresses (those in the new
        transfers) are recomputed, over their own transfers; per-transfer helpers of old
        transfers look only backwards in time and keep their values, except where an old
        row was rewritten in place (a bridge transfer linked or unlinked after it was
        read): the `rewritten` addresses (among `touched`) gained or lost a row, so the
        helpers that read their rows (a receiver's first receipt; a sender's first send,
        holding time and receipt) are taken again from the recomputation.
        """
        n_a = flows.n_addresses
        grown = n_a - self.matrix.shape[0]
        if grown > 0:
            self.matrix = np.vstack((self.matrix, np.zeros((grown, self.matrix.shape[1]))))
            self.first_seen = np.r_[self.first_seen, np.full(grown, _NEVER_FIRST)]
            self.last_seen = np.r_[self.last_seen, np.full(grown, _NEVER_LAST)]
            self.in_value, self.out_value, self.bought_value, self.active_days = (
                np.r_[v, np.zeros(grown, dtype=v.dtype)] for v in (
                    self.in_value, self.out_value, self.bought_value, self.active_days))
        rows = flows.rows_touching(touched)
        now = int(flows.t.max()) if flows.n else 0
        part = compute(flows.subset(rows), thresholds, windows, now=now)
        self.matrix[touched] = part.matrix[touched]
        self.first_seen[touched] = part.first_seen[touched]
        self.last_seen[touched] = part.last_seen[touched]
        for name in ("in_value", "out_value", "bought_value", "active_days"):
            getattr(self, name)[touched] = getattr(part, name)[touched]
        age = self.names.index("age_days")
        real = self.first_seen != _NEVER_FIRST
        self.matrix[real, age] = np.maximum(now - self.first_seen[real], 0) / DAY
        if rewritten is not None and rewritten.size:
            mine = np.zeros(n_a, dtype=bool)
            mine[rewritten] = True
            old = rows < old_n
            as_receiver = old & mine[flows.dst[rows]]
            as_sender = old & mine[flows.src[rows]]
            self.recv_new[rows[as_receiver]] = part.recv_new[as_receiver]
            self.send_first[rows[as_sender]] = part.send_first[as_sender]
            self.hold_seconds[rows[as_sender]] = part.hold_seconds[as_sender]
            receipt = part.last_receipt[as_sender]
            self.last_receipt[rows[as_sender]] = np.where(receipt >= 0,
                                                          rows[np.maximum(receipt, 0)], -1)
        new = np.searchsorted(rows, np.arange(old_n, flows.n))  # new transfers all touch
        receipt = part.last_receipt[new]
        self.recv_new = np.r_[self.recv_new, part.recv_new[new]]
        self.send_first = np.r_[self.send_first, part.send_first[new]]
        self.hold_seconds = np.r_[self.hold_seconds, part.hold_seconds[new]]
        self.last_receipt = np.r_[self.last_receipt,
                                  np.where(receipt >= 0, rows[np.maximum(receipt, 0)], -1)]


def event_keys(group: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(group, time) packed into sorted int64 keys, for sliding_max_count."""
    key = group.astype(np.int64) * (1 << 40) + t
    key.sort()
    return key


def sliding_max_count(key: np.ndarray, window: int, n_groups: int) -> np.ndarray:
    """For each group, the most events within any `window` seconds (keys from event_keys,
    sorted once and shared by every window)."""
    out = np.zeros(n_groups, dtype=np.int64)
    if key.size == 0:
        return out
    ends = np.searchsorted(key, key + window, side="right")
    counts = ends - np.arange(key.size)
    np.maximum.at(out, key >> 40, counts)
    return out


_NEVER_FIRST = np.iinfo(np.int64).max
_NEVER_LAST = np.iinfo(np.int64).min


def compute(flows: Flows, thresholds: dict[str, float], windows: dict[str, int],
            now: int | None = None) -> Features:
    """Features of every address of `flows`; ages are measured at `now` (default: the
    latest transfer)."""
    n_a = flows.n_addresses
    src, dst, t, amount = flows.src, flows.dst, flows.t, flows.amount
    real_src = src != 0
    real_dst = dst != 0

    both = np.concatenate((src, dst))
    both_t = np.concatenate((t, t))
    first_seen = np.full(n_a, _NEVER_FIRST, dtype=np.int64)
    last_seen = np.full(n_a, _NEVER_LAST, dtype=np.int64)
    np.minimum.at(first_seen, both, both_t)
    np.maximum.at(last_seen, both, both_t)
    recv_new = _first_occurrence(dst) & (t == first_seen[dst])
    send_first = _first_occurrence(src)
    hold, last_receipt = _hold_seconds(flows)

    cols: dict[str, np.ndarray] = {}
    cols["in_count"] = np.bincount(dst[real_src | real_dst], minlength=n_a).astype(float)
    cols["out_count"] = np.bincount(src, minlength=n_a).astype(float)
    in_value = np.bincount(dst, weights=amount, minlength=n_a)
    out_value = np.bincount(src, weights=amount, minlength=n_a)
    cols["log_in_value"] = np.log1p(in_value)
    cols["log_out_value"] = np.log1p(out_value)
    cols["in_counterparties"] = _unique_pairs(dst, src, n_a)
    cols["out_counterparties"] = _unique_pairs(src, dst, n_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["pass_through"] = np.where(in_value > 0, np.minimum(out_value / in_value, 1.5), 0.0)
    median_hold = _median_by_group(src[real_src], hold[real_src], n_a)
    cols["log_median_hold_hours"] = np.log1p(np.nan_to_num(median_hold / HOUR, nan=1e4))
    threshold = thresholds.get("reporting_threshold", 0.0)
    if threshold > 0:
        near = (amount >= thresholds["band"] * threshold) & (amount < threshold)
        cols["share_just_below_threshold"] = _share(src, near, n_a)
    else:
        cols["share_just_below_threshold"] = np.zeros(n_a)
    round_unit = thresholds["round_unit"]
    is_round = (amount >= round_unit) & (np.mod(amount, round_unit) == 0)
    cols["round_amount_share"] = _share(src, is_round, n_a)
    total = cols["in_count"] + cols["out_count"]
    lifetime = np.maximum(last_seen - first_seen, HOUR).astype(float)
    keys = event_keys(both[both != 0], both_t[both != 0])
    for label, seconds in windows.items():
        peak = sliding_max_count(keys, seconds, n_a)
        cols[f"max_transfers_{label}"] = peak.astype(float)
        expected = np.maximum(total * seconds / lifetime, 1.0)
        cols[f"burstiness_{label}"] = np.log1p(peak / expected)
    if now is None:
        now = int(t.max()) if flows.n else 0
    cols["age_days"] = np.maximum(now - first_seen, 0) / DAY
    cols["max_gap_days"] = _max_gap(both, both_t, n_a) / DAY
    mint_in = np.bincount(dst[~real_src], weights=amount[~real_src], minlength=n_a)
    burn_out = np.bincount(src[~real_dst], weights=amount[~real_dst], minlength=n_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["share_from_mints"] = np.where(in_value > 0, mint_in / in_value, 0.0)
        cols["share_to_burns"] = np.where(out_value > 0, burn_out / out_value, 0.0)
    names = list(cols)
    matrix = np.column_stack([cols[name] for name in names]) if names else np.zeros((n_a, 0))
    bought_value = np.bincount(dst[real_src], weights=amount[real_src], minlength=n_a)
    days = unique_ints(both.astype(np.int64) * (1 << 32) + both_t // DAY)
    active_days = np.bincount(days >> 32, minlength=n_a)
    return Features(names, matrix, first_seen, last_seen, recv_new, send_first, hold,
                    last_receipt, in_value, out_value, bought_value, active_days)


def _first_occurrence(who: np.ndarray) -> np.ndarray:
    """True for the first transfer (in stored order) that involves `who[i]` in that role."""
    _, first = np.unique(who, return_index=True)
    mask = np.zeros(who.size, dtype=bool)
    mask[first] = True
    return mask


def _hold_seconds(flows: Flows) -> tuple[np.ndarray, np.ndarray]:
    """Per transfer: seconds since the sender's latest receipt before it (nan if none), and
    the index of that receipt (-1)."""
    src, dst, t = flows.src, flows.dst, flows.t
    recv_key = dst.astype(np.int64) * (1 << 40) + t
    order = np.argsort(recv_key, kind="stable")
    recv_sorted = recv_key[order]
    send_key = src.astype(np.int64) * (1 << 40) + t
    pos = np.searchsorted(recv_sorted, send_key, side="right") - 1
    hold = np.full(src.size, np.nan)
    ok = pos >= 0
    same = np.zeros(src.size, dtype=bool)
    same[ok] = (recv_sorted[pos[ok]] >> 40) == src[ok]
    hold[same] = (send_key[same] - recv_sorted[pos[same]]).astype(float)
    hold[src == 0] = np.nan
    receipt = np.full(src.size, -1, dtype=np.int64)
    receipt[same] = order[pos[same]]
    receipt[src == 0] = -1
    return hold, receipt


def _unique_pairs(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    if a.size == 0:
        return np.zeros(n)
    pairs = unique_ints(a.astype(np.int64) * (1 << 32) + b)
    return np.bincount(pairs >> 32, minlength=n).astype(float)


def _share(group: np.ndarray, flag: np.ndarray, n: int) -> np.ndarray:
    total = np.bincount(group, minlength=n).astype(float)
    hits = np.bincount(group[flag], minlength=n).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, hits / total, 0.0)


def _median_by_group(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    keep = ~np.isnan(values)
    group, values = group[keep], values[keep]
    if group.size == 0:
        return out
    order = np.lexsort((values, group))
    group, values = group[order], values[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], group.size]
    mids = (starts + ends - 1) / 2
    low, high = np.floor(mids).astype(int), np.ceil(mids).astype(int)
    out[group[starts]] = (values[low] + values[high]) / 2
    return out


def _max_gap(group: np.ndarray, t: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    if group.size == 0:
        return out
    order = np.lexsort((t, group))
    g, tt = group[order], t[order]
    gaps = np.diff(tt).astype(float)
    same = g[1:] == g[:-1]
    np.maximum.at(out, g[1:][same], gaps[same])
    return out
