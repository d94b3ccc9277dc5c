"""Per-address features of one token, computed with numpy over the whole flow arrays.

Each feature is a column of one matrix (addresses × features); rules read columns by
name, the anomaly model reads the matrix. Windows are configurable; the defaults (24 h,
7 d, whole history) come from config/rules.yaml. No per-row Python loops: everything is
sorting, bincount, searchsorted and reduceat.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.scoring.flows import Flows, _append, search_sorted, unique_ints

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
    # What an in-place update needs beyond the features (Tally), built on the first update.
    tally: Any = field(default=None, repr=False, compare=False)
    # population.HeldSides of an incremental run (service wallets, deposit addresses).
    held_sides: Any = field(default=None, repr=False, compare=False)

    def column(self, name: str) -> np.ndarray:
        return self.matrix[:, self.names.index(name)]

    def restricted(self, rows: np.ndarray, n_transfers: int) -> Features:
        """These features as seen by rules running on `flows.subset(rows)`: per-address
        arrays as they are, per-transfer ones cut to `rows` (receipt indices renumbered;
        -1 where the receipt is outside)."""
        receipt = self.last_receipt[rows]
        # `rows` is ascending: a receipt's local index by binary search, not through an
        # array the size of the whole token.
        at = np.minimum(np.searchsorted(rows, receipt), max(rows.size - 1, 0))
        inside = (receipt >= 0) & (rows[at] == receipt) if rows.size else receipt < -1
        receipt = np.where(inside, at, -1)
        return Features(self.names, self.matrix, self.first_seen, self.last_seen,
                        self.recv_new[rows], self.send_first[rows], self.hold_seconds[rows],
                        receipt, self.in_value, self.out_value, self.bought_value,
                        self.active_days)

    def update(self, flows: Flows, old_n: int, touched: np.ndarray,
               thresholds: dict[str, float], windows: dict[str, int],
               rewritten: np.ndarray | None = None) -> None:
        """Bring the features up to date after `flows` grew from `old_n` transfers.

        In place, from per-address running state (Tally): sums and counts grow by the new
        transfers, counterparties by pairs never seen, the largest gap and active days by
        the new times, the busiest windows from the address's transfers within the longest
        window before its new ones, the median holding time from the sender's holding
        times (kept sorted for busy senders). So a block costs its own transfers, not its
        addresses' histories. Equal to `compute` on the whole flows; when the times run
        backwards (an older transfer arrived) or old rows were rewritten (a bridge link),
        the touched addresses are recomputed over their own transfers instead.
        """
        n_a = flows.n_addresses
        self._grow(n_a)
        rewrites = rewritten is not None and bool(rewritten.size)
        if not rewrites and (self.tally is None or self.tally.n != old_n):
            self.tally = Tally.build(flows, thresholds, old_n)
        tally = self.tally
        fast = (not rewrites and flows.n > old_n and tally is not None and tally.n == old_n
                and tally.monotone)
        if fast:
            new_t = flows.t[old_n:]
            fast = bool(new_t[0] >= tally.max_t and (np.diff(new_t) >= 0).all())
        if fast:
            self._advance(flows, old_n, thresholds, windows)
        else:
            self._recompute(flows, old_n, touched, thresholds, windows, rewritten)
            self.tally = None  # built again, over the rows as they are, on the next update
        now = int(flows.t.max()) if flows.n else 0
        age = self.names.index("age_days")
        real = self.first_seen != _NEVER_FIRST
        self.matrix[real, age] = np.maximum(now - self.first_seen[real], 0) / DAY

    def _grow(self, n_a: int) -> None:
        grown = n_a - self.matrix.shape[0]
        if grown > 0:
            self.matrix = np.vstack((self.matrix, np.zeros((grown, self.matrix.shape[1]))))
            self.first_seen = np.r_[self.first_seen, np.full(grown, _NEVER_FIRST)]
            self.last_seen = np.r_[self.last_seen, np.full(grown, _NEVER_LAST)]
            self.in_value, self.out_value, self.bought_value, self.active_days = (
                np.r_[v, np.zeros(grown, dtype=v.dtype)] for v in (
                    self.in_value, self.out_value, self.bought_value, self.active_days))
            if self.tally is not None:
                self.tally.grow(n_a)

    def _advance(self, flows: Flows, old_n: int, thresholds: dict[str, float],
                 windows: dict[str, int]) -> None:
        """The in-place update for transfers appended in time order (see update)."""
        tally: Tally = self.tally
        col = {name: k for k, name in enumerate(self.names)}
        m = self.matrix
        s, d = flows.src[old_n:], flows.dst[old_n:]
        tt, amt = flows.t[old_n:], flows.amount[old_n:]
        k = s.size
        # Per-transfer helpers of the new rows, against the counts before them.
        send_first = np.zeros(k, dtype=bool)
        recv_first = np.zeros(k, dtype=bool)
        seen_s: set[int] = set()
        seen_d: set[int] = set()
        for i in range(k):
            si, di = int(s[i]), int(d[i])
            if si not in seen_s:
                seen_s.add(si)
                send_first[i] = tally.n_sent[si] == 0
            if di not in seen_d:
                seen_d.add(di)
                recv_first[i] = tally.n_recv[di] == 0
        # Holding times: a send's latest receipt at or before its time (ties: the latest
        # row) may be a new row; so for the new rows and the old ones at the first new
        # time (a receipt at the same second comes after them).
        r0 = int(np.searchsorted(flows.t, tt[0], side="left"))
        hold, receipt = _holds_from(flows, r0)
        retimed = set()
        if r0 < old_n:
            stale = np.flatnonzero(self.last_receipt[r0:old_n] != receipt[:old_n - r0])
            if stale.size:
                self.hold_seconds[r0 + stale] = hold[stale]
                self.last_receipt[r0 + stale] = receipt[stale]
                retimed = set(flows.src[r0 + stale].tolist())
        hold, receipt = hold[old_n - r0:], receipt[old_n - r0:]
        # Sums and counts, in row order as bincount adds them.
        real_s, real_d = s != 0, d != 0
        np.add.at(self.in_value, d, amt)
        np.add.at(self.out_value, s, amt)
        np.add.at(self.bought_value, d[real_s], amt[real_s])
        np.add.at(tally.mint_in, d[~real_s], amt[~real_s])
        np.add.at(tally.burn_out, s[~real_d], amt[~real_d])
        np.add.at(tally.n_recv, d, 1)
        np.add.at(tally.n_sent, s, 1)
        np.add.at(m[:, col["in_count"]], d[real_s | real_d], 1.0)
        np.add.at(m[:, col["out_count"]], s, 1.0)
        threshold = thresholds.get("reporting_threshold", 0.0)
        if threshold > 0:
            near = (amt >= thresholds["band"] * threshold) & (amt < threshold)
            np.add.at(tally.near_hits, s[near], 1)
        unit = thresholds["round_unit"]
        is_round = (amt >= unit) & (np.mod(amt, unit) == 0)
        np.add.at(tally.round_hits, s[is_round], 1)
        # Distinct counterparties: pairs never seen before.
        for key in np.unique(s.astype(np.int64) * (1 << 32) + d).tolist():
            if tally.has_pair(key):
                continue
            tally.add_pair(key)
            m[key >> 32, col["out_counterparties"]] += 1.0
            m[key & 0xFFFFFFFF, col["in_counterparties"]] += 1.0
        # Times: first and last seen, the largest gap, active days.
        both = np.concatenate((s, d))
        both_t = np.concatenate((tt, tt))
        order = np.lexsort((both_t, both))
        who, when = both[order], both_t[order]
        starts = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])
        addresses = who[starts]
        before_last = self.last_seen[addresses].copy()
        had = before_last != _NEVER_LAST
        lengths = np.diff(np.r_[starts, who.size])
        first_of = np.zeros(who.size, dtype=bool)
        first_of[starts] = True
        base = np.repeat(np.where(had, before_last, 0), lengths)
        base_ok = np.repeat(had, lengths)
        prev = np.where(first_of, np.where(base_ok, base, when), np.r_[0, when[:-1]])
        group = np.repeat(np.arange(addresses.size), lengths)
        newest_gap = np.zeros(addresses.size)
        np.maximum.at(newest_gap, group, (when - prev).astype(float))
        days = when // DAY
        last_day = np.repeat(np.where(had, before_last // DAY, -1), lengths)
        fresh_day = (days > last_day) & (first_of | (days != np.r_[-1, days[:-1]]))
        added_days = np.add.reduceat(fresh_day.astype(np.int64), starts)
        self.first_seen[addresses] = np.minimum(self.first_seen[addresses], when[starts])
        self.last_seen[addresses] = np.maximum(self.last_seen[addresses],
                                               when[starts + lengths - 1])
        real = addresses != 0
        a = addresses[real]
        first_new = when[starts][real]
        m[a[~had[real]], col["log_median_hold_hours"]] = np.log1p(1e4)  # no holding time yet
        gap_col = col["max_gap_days"]
        m[a, gap_col] = np.maximum(m[a, gap_col], newest_gap[real] / DAY)
        self.active_days[a] += added_days[real]
        # Per-transfer helpers of the new rows (grown in place: capacity doubles).
        self.recv_new = _append(self.recv_new, recv_first & (tt == self.first_seen[d]))
        self.send_first = _append(self.send_first, send_first)
        self.hold_seconds = _append(self.hold_seconds, np.where(s == 0, np.nan, hold))
        self.last_receipt = _append(self.last_receipt, np.where(s == 0, -1, receipt))
        # Busiest windows: from the address's transfers within the longest window before
        # its first new one.
        longest = max(windows.values()) if windows else 0
        for address, first in zip(a.tolist(), first_new.tolist(), strict=True):
            times = tally.recent_times(flows, address, first - longest)
            for label, seconds in windows.items():
                c = col[f"max_transfers_{label}"]
                lo = int(np.searchsorted(times, first - seconds, side="left"))
                if lo < times.size:
                    ends = np.searchsorted(times, times[lo:] + seconds, side="right")
                    best = float((ends - np.arange(lo, times.size)).max())
                    if best > m[address, c]:
                        m[address, c] = best
        # Columns derived from the sums and counts, for the addresses in the new rows.
        in_value, out_value = self.in_value[a], self.out_value[a]
        m[a, col["log_in_value"]] = np.log1p(in_value)
        m[a, col["log_out_value"]] = np.log1p(out_value)
        with np.errstate(divide="ignore", invalid="ignore"):
            m[a, col["pass_through"]] = np.where(
                in_value > 0, np.minimum(out_value / in_value, 1.5), 0.0)
            m[a, col["share_from_mints"]] = np.where(in_value > 0, tally.mint_in[a] / in_value,
                                                     0.0)
            m[a, col["share_to_burns"]] = np.where(out_value > 0,
                                                   tally.burn_out[a] / out_value, 0.0)
            sends = tally.n_sent[a].astype(float)
            if threshold > 0:
                m[a, col["share_just_below_threshold"]] = np.where(
                    sends > 0, tally.near_hits[a].astype(float) / sends, 0.0)
            m[a, col["round_amount_share"]] = np.where(
                sends > 0, tally.round_hits[a].astype(float) / sends, 0.0)
        total = m[a, col["in_count"]] + m[a, col["out_count"]]
        lifetime = np.maximum(self.last_seen[a] - self.first_seen[a], HOUR).astype(float)
        for label, seconds in windows.items():
            expected = np.maximum(total * seconds / lifetime, 1.0)
            m[a, col[f"burstiness_{label}"]] = np.log1p(
                m[a, col[f"max_transfers_{label}"]] / expected)
        # Median holding time of the senders with a new holding time.
        senders = np.union1d(s[(s != 0) & ~np.isnan(hold)],
                             np.array(sorted(retimed), dtype=np.int64))
        for sender in senders.tolist():
            if sender in retimed:  # an old holding time changed: read them all again
                tally.holds.pop(sender, None)
            median = tally.median_hold(flows, self.hold_seconds, sender,
                                       hold[(s == sender) & ~np.isnan(hold)])
            m[sender, col["log_median_hold_hours"]] = np.log1p(
                np.nan_to_num(median / HOUR, nan=1e4))
        tally.n = flows.n
        tally.max_t = int(tt[-1])

    def _recompute(self, flows: Flows, old_n: int, touched: np.ndarray,
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
        rows = flows.rows_touching(touched)
        now = int(flows.t.max()) if flows.n else 0
        part = compute(flows.subset(rows), thresholds, windows, now=now)
        self.matrix[touched] = part.matrix[touched]
        self.first_seen[touched] = part.first_seen[touched]
        self.last_seen[touched] = part.last_seen[touched]
        for name in ("in_value", "out_value", "bought_value", "active_days"):
            getattr(self, name)[touched] = getattr(part, name)[touched]
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
        self.recv_new = _append(self.recv_new, part.recv_new[new])
        self.send_first = _append(self.send_first, part.send_first[new])
        self.hold_seconds = _append(self.hold_seconds, part.hold_seconds[new])
        self.last_receipt = _append(self.last_receipt,
                                    np.where(receipt >= 0, rows[np.maximum(receipt, 0)], -1))


def _holds_from(flows: Flows, r0: int) -> tuple[np.ndarray, np.ndarray]:
    """_hold_seconds for rows r0.. of flows whose times never decrease: per row, seconds
    since the sender's latest receipt at or before its time (ties: the latest row) and
    that receipt's row; nan and -1 for none. Receipts before r0 come from the index."""
    src, dst, t = flows.src[r0:], flows.dst[r0:], flows.t[r0:]
    k = src.size
    hold = np.full(k, np.nan)
    receipt = np.full(k, -1, dtype=np.int64)
    last_at = np.searchsorted(t, t, side="right") - 1  # the last row at or before
    by_dst: dict[int, list[int]] = {}
    for i, di in enumerate(dst.tolist()):
        by_dst.setdefault(di, []).append(i)
    for i, si in enumerate(src.tolist()):
        if si == 0:
            continue
        mine = by_dst.get(si, [])
        at = bisect.bisect_right(mine, int(last_at[i])) - 1
        if at >= 0:
            found = r0 + mine[at]
        else:
            rows = flows.received(si)
            before = bisect.bisect_left(rows, r0) - 1
            if before < 0:
                continue
            found = int(rows[before])
        receipt[i] = found
        hold[i] = float(int(t[i]) - int(flows.t[found]))
    return hold, receipt


# Senders with more holding times than this keep them sorted in the Tally.
_SORTED_HOLDS = 512


@dataclass
class Tally:
    """Per-address running state for Features.update, over the first `n` transfers."""

    n: int
    max_t: int
    monotone: bool  # times never decrease in row order
    n_sent: np.ndarray  # int64: rows sent (bincount of src)
    n_recv: np.ndarray  # int64: rows received
    mint_in: np.ndarray  # float: received from the zero address
    burn_out: np.ndarray  # float: sent to it
    near_hits: np.ndarray  # int64: sends just below the reporting threshold
    round_hits: np.ndarray  # int64: round sends
    pairs: np.ndarray  # sorted distinct (src << 32 | dst) of the first rows
    added_pairs: set[int] = field(default_factory=set)
    holds: dict[int, np.ndarray] = field(default_factory=dict)  # busy sender -> sorted

    @classmethod
    def build(cls, flows: Flows, thresholds: dict[str, float], n: int) -> Tally:
        """Over the first `n` rows of `flows` (one pass, once after a full run)."""
        n_a = flows.n_addresses
        src, dst, t, amount = flows.src[:n], flows.dst[:n], flows.t[:n], flows.amount[:n]
        monotone = bool((np.diff(t) >= 0).all())
        if not monotone:  # the update recomputes instead: nothing else is needed
            empty = np.zeros(0, dtype=np.int64)
            return cls(n, 0, False, empty, empty, empty, empty, empty, empty, empty)
        real_src, real_dst = src != 0, dst != 0
        threshold = thresholds.get("reporting_threshold", 0.0)
        if threshold > 0:
            near = (amount >= thresholds["band"] * threshold) & (amount < threshold)
            near_hits = np.bincount(src[near], minlength=n_a)
        else:
            near_hits = np.zeros(n_a, dtype=np.int64)
        unit = thresholds["round_unit"]
        is_round = (amount >= unit) & (np.mod(amount, unit) == 0)
        return cls(
            n=n, max_t=int(t.max()) if n else int(np.iinfo(np.int64).min), monotone=True,
            n_sent=np.bincount(src, minlength=n_a), n_recv=np.bincount(dst, minlength=n_a),
            mint_in=np.bincount(dst[~real_src], weights=amount[~real_src],
                                minlength=n_a).astype(float),  # int64 when none
            burn_out=np.bincount(src[~real_dst], weights=amount[~real_dst],
                                 minlength=n_a).astype(float),
            near_hits=near_hits, round_hits=np.bincount(src[is_round], minlength=n_a),
            pairs=unique_ints(src.astype(np.int64) * (1 << 32) + dst))

    def grow(self, n_a: int) -> None:
        grown = n_a - self.n_sent.size
        if grown <= 0:
            return
        for name in ("n_sent", "n_recv", "mint_in", "burn_out", "near_hits", "round_hits"):
            held = getattr(self, name)
            setattr(self, name, np.r_[held, np.zeros(grown, dtype=held.dtype)])

    def has_pair(self, key: int) -> bool:
        at = int(np.searchsorted(self.pairs, key))
        return (at < self.pairs.size and int(self.pairs[at]) == key) or key in self.added_pairs

    def add_pair(self, key: int) -> None:
        self.added_pairs.add(key)
        if len(self.added_pairs) > max(65536, self.pairs.size // 8):
            self.pairs = unique_ints(np.r_[self.pairs, np.fromiter(self.added_pairs, np.int64)])
            self.added_pairs.clear()

    @staticmethod
    def recent_times(flows: Flows, address: int, since: int) -> np.ndarray:
        """Times (ascending) of `address`'s transfers at or after `since`, each role once
        (a transfer to itself twice); rows are in time order, so a binary search finds
        where they start."""
        parts = []
        for rows in (flows.sent(address), flows.received(address)):
            start = bisect.bisect_left(rows, since, key=lambda r: flows.t[r])
            parts.append(flows.t[rows[start:]])
        return np.sort(np.concatenate(parts))

    def median_hold(self, flows: Flows, hold_seconds: np.ndarray, sender: int,
                    new: np.ndarray) -> float:
        """Median of `sender`'s holding times (the new ones, `new`, already in
        `hold_seconds`); a busy sender's are kept sorted."""
        held = self.holds.get(sender)
        if held is None:
            values = hold_seconds[flows.sent(sender)]
            values = np.sort(values[~np.isnan(values)])
            if values.size > _SORTED_HOLDS:
                self.holds[sender] = values
        else:
            added = np.sort(new)
            values = self.holds[sender] = np.insert(held, np.searchsorted(held, added), added)
        if values.size == 0:
            return float("nan")
        mid = (values.size - 1) / 2
        return float((values[int(np.floor(mid))] + values[int(np.ceil(mid))]) / 2)


def event_keys(group: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(group, time) packed into sorted int64 keys, for sliding_max_count."""
    key = group.astype(np.int64) * (1 << 40) + t
    key.sort()
    return key


def address_events(flows: Flows, wanted: np.ndarray | None = None) -> np.ndarray:
    """Every address's events (a transfer sent or received; the zero address's aside, and
    with `wanted`, a bool per address, only those addresses') as address << 40 | time,
    sorted: by address, then time."""
    parts = []
    for who in (flows.src, flows.dst):
        mine = (who != 0) if wanted is None else (who != 0) & wanted[who]
        parts.append(who[mine].astype(np.int64) * (1 << 40) + flows.t[mine])
    keys = np.concatenate(parts)
    keys.sort()
    return keys


def sliding_max_count(key: np.ndarray, window: int, n_groups: int) -> np.ndarray:
    """For each group, the most events within any `window` seconds (sorted keys from
    address_events or event_keys, shared by every window)."""
    out = np.zeros(n_groups, dtype=np.int64)
    # A chunk of keys at a time: the temporaries (five arrays the size of the keys) stay
    # bounded on a big token; each window's end is looked up in all the keys.
    for start in range(0, key.size, SLIDING_CHUNK):
        part = key[start:start + SLIDING_CHUNK]
        ends = np.searchsorted(key, part + window, side="right")
        np.maximum.at(out, part >> 40, ends - np.arange(start, start + part.size))
    return out


SLIDING_CHUNK = 1 << 21
EVENT_TIME = (1 << 40) - 1  # an address event's time: its key's low bits


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

    first_seen = np.full(n_a, _NEVER_FIRST, dtype=np.int64)
    last_seen = np.full(n_a, _NEVER_LAST, dtype=np.int64)
    for who in (src, dst):
        np.minimum.at(first_seen, who, t)
        np.maximum.at(last_seen, who, t)
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
    median_hold = _median_hold(src[real_src], hold[real_src], n_a)
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
    # The busiest windows, the largest gaps and the active days are read from them.
    keys = address_events(flows)
    for label, seconds in windows.items():
        peak = sliding_max_count(keys, seconds, n_a)
        cols[f"max_transfers_{label}"] = peak.astype(float)
        expected = np.maximum(total * seconds / lifetime, 1.0)
        cols[f"burstiness_{label}"] = np.log1p(peak / expected)
    if now is None:
        now = int(t.max()) if flows.n else 0
    cols["age_days"] = np.maximum(now - first_seen, 0) / DAY
    # The zero address (mints' sender, burns' receiver) is not in the keys.
    zero_t = np.sort(np.concatenate((t[~real_src], t[~real_dst])))
    max_gap, active_days = _gaps_and_days(keys, n_a)
    if zero_t.size > 1:
        max_gap[0] = float(np.diff(zero_t).max())
    active_days[0] = unique_ints(zero_t // DAY).size
    cols["max_gap_days"] = max_gap / DAY
    mint_in = np.bincount(dst[~real_src], weights=amount[~real_src], minlength=n_a)
    burn_out = np.bincount(src[~real_dst], weights=amount[~real_dst], minlength=n_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["share_from_mints"] = np.where(in_value > 0, mint_in / in_value, 0.0)
        cols["share_to_burns"] = np.where(out_value > 0, burn_out / out_value, 0.0)
    names = list(cols)
    matrix = np.column_stack([cols[name] for name in names]) if names else np.zeros((n_a, 0))
    bought_value = np.bincount(dst[real_src], weights=amount[real_src], minlength=n_a)
    return Features(names, matrix, first_seen, last_seen, recv_new, send_first, hold,
                    last_receipt, in_value, out_value, bought_value, active_days)


def _first_occurrence(who: np.ndarray) -> np.ndarray:
    """True for the first transfer (in stored order) that involves `who[i]` in that role."""
    first = np.full(int(who.max()) + 1 if who.size else 0, who.size, dtype=np.int64)
    np.minimum.at(first, who, np.arange(who.size))  # a pass, not np.unique's sort
    mask = np.zeros(who.size, dtype=bool)
    mask[first[first < who.size]] = True
    return mask


def _hold_seconds(flows: Flows) -> tuple[np.ndarray, np.ndarray]:
    """Per transfer: seconds since the sender's latest receipt before it (nan if none), and
    the index of that receipt (-1)."""
    src, dst, t = flows.src, flows.dst, flows.t
    recv_key = dst.astype(np.int64) * (1 << 40) + t
    order = np.argsort(recv_key, kind="stable")
    recv_sorted = recv_key[order]
    send_key = src.astype(np.int64) * (1 << 40) + t
    pos = search_sorted(recv_sorted, send_key, side="right") - 1
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


def _median_hold(group: np.ndarray, hold: np.ndarray, n: int) -> np.ndarray:
    """Per group, the median of its holding times (whole seconds, nan where none; nan for
    a group without any)."""
    out = np.full(n, np.nan)
    keep = ~np.isnan(hold)
    # Whole seconds below 2^40 beside the group: one integer sort, not a lexsort of two.
    keys = group[keep].astype(np.int64) * (1 << 40) + hold[keep].astype(np.int64)
    if keys.size == 0:
        return out
    keys.sort()
    group, values = keys >> 40, (keys & EVENT_TIME).astype(float)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], group.size]
    mids = (starts + ends - 1) / 2
    low, high = np.floor(mids).astype(int), np.ceil(mids).astype(int)
    out[group[starts]] = (values[low] + values[high]) / 2
    return out


def _gaps_and_days(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per address, the largest gap (seconds) between consecutive events and the distinct
    UTC days with one, from the sorted (address << 40 | time) keys, a chunk at a time."""
    gaps = np.zeros(n)
    days = np.zeros(n, dtype=np.int64)
    before = -1  # the day key ending the previous chunk
    for start in range(0, keys.size, SLIDING_CHUNK):
        part = keys[start:start + SLIDING_CHUNK + 1]  # one key past: the gap across
        group = part >> 40
        same = group[1:] == group[:-1]
        np.maximum.at(gaps, group[1:][same], np.diff(part)[same].astype(float))
        day = group[:SLIDING_CHUNK] << 32 | (part[:SLIDING_CHUNK] & EVENT_TIME) // DAY
        new = np.empty(day.size, dtype=bool)
        new[0] = day[0] != before
        np.not_equal(day[1:], day[:-1], out=new[1:])
        days += np.bincount(day[new] >> 32, minlength=n)
        before = int(day[-1])
    return gaps, days
