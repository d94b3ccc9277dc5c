"""watchlist_exposure: direct and indirect exposure to listed (sanctioned, mixer, …) addresses.

Direct: an address sent to or received from a listed address; the detail gives the value
and its share of the address's flow. Indirect: value-weighted taint propagated up to
`max_hops` hops in both directions — the share of an address's inflow that came from
listed addresses through its counterparties (each hop weighted by the share of the
intermediary's own inflow that was tainted, times `hop_decay`), and likewise for
outflow reaching listed addresses. Category weights (sanctioned far above exchange)
scale the score. The path address → … → listed address is reported with the transfers
along it as evidence. A listed address that transacts is itself a hit.

`non_kyc_recipient` (same module): on a permissioned token, when a `kyc_investor`
allowlist exists, value moving to an address outside it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from monitor.addresses import checksum
from monitor.scoring.config import FixedScore, WatchlistExposure
from monitor.scoring.context import Context, Hit
from monitor.scoring.flows import Flows, search_sorted, unique_ints
from monitor.scoring.rules import scale
from monitor.watchlist.service import Listing

# EIP-55 forms, remembered: every exposed address's path is spelled out on every run,
# and hashing the same addresses again cost most of an incremental run with a watchlist.
_checksummed = functools.lru_cache(maxsize=1 << 18)(checksum)


def detect(ctx: Context[WatchlistExposure]) -> list[Hit]:
    p, f = ctx.params, ctx.flows

    def who(address: int) -> str:
        return _checksummed(str(f.addresses[address]))

    weights = p.category_weights
    listed = {
        a: max((weights.get(listing.category, 0.0), listing) for listing in entries)
        for a, entries in ctx.listings.items()
        if entries and max(weights.get(e.category, 0.0) for e in entries) > 0
    }
    if not listed or f.n == 0:
        return []
    held, moved = _exposure(ctx, listed)
    down, up = held.down.best, held.up.best
    hits = []
    for address, (weight, listing) in listed.items():
        if (address not in held.hits or held.touched is None
                or address in held.touched):  # its transfers are its hit
            idx = f.touching(address)
            detail = (f"is listed on {listing.list_name} ({listing.category}"
                      f"{': ' + listing.label if listing.label else ''}) and made "
                      f"{idx.size} transfer(s)")
            hit = (Hit(address, 100 * weight, detail, ctx.evidence(idx),
                       list_name=listing.list_name, category=listing.category,
                       listed=who(address)) if idx.size else None)
            held.hits[address] = hit
        if (hit := held.hits[address]) is not None:
            hits.append(hit)
    exposed = np.flatnonzero(np.maximum(down, up) >= p.min_exposure)
    for address in set(held.hits) - set(exposed.tolist()) - set(listed):
        del held.hits[address]
    # A route is checked against each run's new rows only while it is looked at: one of
    # this run's directions, or of an address no longer exposed, is let go.
    routes, held.routes = held.routes, {}
    for address in exposed.tolist():
        if address == 0 or address in listed:
            continue
        downstream = bool(down[address] >= up[address])
        route = held.route(f, routes.get((address, downstream)), address, downstream,
                           int(p.max_hops))
        if address in held.hits and not moved[address] and route.kept:
            hit = held.hits[address]
        else:
            hit = held.hits[address] = (None if route.path is None else _hit(
                ctx, address, downstream, float(max(down[address], up[address])), route,
                listed, who))
        if hit is not None:
            hits.append(hit)
    return hits


def _hit(ctx: Context[WatchlistExposure], address: int, downstream: bool, exposure: float,
         route: Route, listed: Mapping[int, tuple[float, Listing]],
         who: Callable[[int], str]) -> Hit:
    p, f = ctx.params, ctx.flows
    assert route.path is not None
    path, rows = route.path, route.rows
    direction = "received from" if downstream else "sent to"
    target_weight, target = listed[path[-1]]
    hops = len(path) - 1
    value = float(f.amount[rows[0]]) if rows.size else 0.0
    detail = (
        f"{exposure:.0%} of its {'inflow' if downstream else 'outflow'} "
        f"is {'directly' if hops == 1 else f'{hops} hops'} {direction} "
        f"{target.category} address {who(path[-1])} ({target.list_name}"
        f"{': ' + target.label if target.label else ''}); path "
        f"{' → '.join(who(a) for a in path)}; {ctx.amount(value)} on the first leg"
    )
    score = (scale(exposure, p.min_exposure, 0.5, floor=55, cap=98) * target_weight
             * p.hop_decay ** (hops - 1))
    if hops == 1:
        score = max(score, 80 * target_weight)  # any direct contact with a listed address
    return Hit(address, score, detail, ctx.evidence(rows), list_name=target.list_name,
               category=target.category, listed=who(path[-1]))


def detect_non_kyc(ctx: Context[FixedScore]) -> list[Hit]:
    """Value to addresses outside the token's KYC allowlist (permissioned tokens only)."""
    f = ctx.flows
    allowed = {a for a, entries in ctx.listings.items()
               if any(e.category == "kyc_investor" for e in entries)}
    if not allowed or not ctx.stats.permissioned:
        return []
    ok = np.zeros(f.n_addresses, dtype=bool)
    ok[list(allowed)] = True
    ok[0] = True
    for a, entries in ctx.listings.items():  # known service wallets are not investors
        if any(e.category in ("exchange", "bridge") for e in entries):
            ok[a] = True
    rows = np.flatnonzero(~ok[f.dst] & (f.dst != 0))
    hits = []
    for address in np.unique(f.dst[rows]):
        idx = rows[f.dst[rows] == address]
        detail = (f"received {ctx.amount(f.amount[idx].sum())} in {idx.size} transfer(s) but is "
                  f"not on the token's KYC investor allowlist")
        hits.append(Hit(int(address), float(ctx.params.score), detail, ctx.evidence(idx)))
    return hits


_LOW = 0xFFFFFFFF  # a pair key is row << 32 | column


_SPLICED = 256  # more new pairs than this at once (a full run's): np.insert


class _Side:
    """One direction of the token's pair sums: rows are the addresses whose share is
    measured (receivers, for taint received; senders, for taint sent), columns their
    counterparties. Kept as a CSR matrix (row pointers, columns, each pair's sum of its
    transfers added one by one in row order: however many runs it took, the sum a full
    evaluation makes, to the last bit) with the pairs' keys (row << 32 | column,
    ascending); per row its total, each hop's taint and the strongest of them."""

    def __init__(self, hops: int) -> None:
        self.keys = np.zeros(0, dtype=np.int64)
        self.sums = np.zeros(0)
        self.columns = np.zeros(0, dtype=np.int32)
        self.ptr = np.zeros(1, dtype=np.int64)
        self.total = np.zeros(0)
        self.levels = [np.zeros(0) for _ in range(hops)]
        self.best = np.zeros(0)
        # Per pair array, the buffer its last splice left behind, written by the next.
        self._spare: dict[str, np.ndarray] = {}

    def _spliced(self, name: str, at: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The pair array `name` with `values` spliced in at `at` (ascending). A block's
        few are written into the buffer the previous splice left (with room to grow), so
        the copy lands on pages already mapped: a fresh array each block cost 10^7
        transfers' pair arrays ~0.1 s of page faults. A full run's many: np.insert."""
        held = getattr(self, name)
        if at.size > _SPLICED:
            self._spare.pop(name, None)
            return np.insert(held, at, values)
        size = held.size + at.size
        spare = self._spare.get(name)
        if spare is None or spare.size < size:
            spare = np.empty(size + size // 16 + 1024, dtype=held.dtype)
        out = spare[:size]
        before = 0
        for k, position in enumerate(at.tolist()):
            out[before + k:position + k] = held[before:position]
            out[position + k] = values[k]
            before = position
        out[before + at.size:] = held[before:]
        self._spare[name] = held if held.base is None else held.base
        return out

    def add(self, key: np.ndarray, value: np.ndarray, n_a: int) -> np.ndarray:
        """Add transfers (their pair keys and values, in row order) among `n_a` addresses;
        the keys new here."""
        grow = n_a + 1 - self.ptr.size
        if grow > 0:
            self.ptr = np.r_[self.ptr, np.full(grow, self.ptr[-1])]
            self.total, self.best = (np.r_[a, np.zeros(grow)] for a in (self.total, self.best))
            self.levels = [np.r_[level, np.zeros(grow)] for level in self.levels]
        fresh = unique_ints(key)
        at = np.searchsorted(self.keys, fresh)
        known = at < self.keys.size
        known[known] = self.keys[at[known]] == fresh[known]
        new = fresh[~known]
        if new.size:
            at = at[~known]
            self.keys = self._spliced("keys", at, new)
            self.sums = self._spliced("sums", at, np.zeros(new.size))
            self.columns = self._spliced("columns", at, (new & _LOW).astype(np.int32))
            self.ptr[1:] += np.cumsum(np.bincount(new >> 32, minlength=n_a))
        # Added in row order, as a full evaluation adds them.
        np.add.at(self.sums, search_sorted(self.keys, key), value)
        return new

    def segments(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row pointers, pair positions) of `rows`, in their order: a CSR of those rows."""
        lo = self.ptr[rows]
        counts = self.ptr[rows + 1] - lo
        ptr = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        return ptr, np.arange(ptr[-1]) + np.repeat(lo - ptr[:-1], counts)

    def counterparties(self, rows: np.ndarray) -> np.ndarray:
        return self.columns[self.segments(rows)[1]]

    def dot(self, rows: np.ndarray | None, x: np.ndarray, shares: bool = True) -> np.ndarray:
        """Per row (of `rows`; None: every row): its pair sums times `x` of their
        counterparties, summed in column order by scipy's CSR product one row at a time,
        then (with `shares`) divided by the row's total. A row's result does not depend on
        which other rows are computed with it, so a block's few rows get what a full
        evaluation gives them."""
        if rows is None:
            matrix = sparse.csr_matrix((self.sums, self.columns, self.ptr),
                                       shape=(self.ptr.size - 1, x.size), copy=False)
        else:
            ptr, at = self.segments(rows)
            matrix = sparse.csr_matrix((self.sums[at], self.columns[at], ptr),
                                       shape=(rows.size, x.size))
        raw = np.asarray(matrix @ x)
        if not shares:
            return raw
        return raw / np.maximum(self.total if rows is None else self.total[rows], 1e-12)

    def spread(self, seed: np.ndarray, changed: np.ndarray | None, other: _Side,
               decay: float) -> np.ndarray:
        """Propagate `seed` over this side's shares, hop by hop: every row (`changed` None)
        or only what rows whose pairs changed can move (those rows, then at each hop the
        rows dealing with a row whose taint moved, read from `other`); past `_WHOLE` of
        the rows, the whole matrix at once. The rows whose strongest taint moved."""
        n_a = seed.size
        start = np.zeros(n_a, dtype=bool)
        start[slice(None) if changed is None else changed] = True
        dirty, region = start, start.copy()
        self.total[start] = self._rows(start, np.ones(n_a), shares=False)
        previous = seed
        for hop, level in enumerate(self.levels):
            values = self._rows(dirty, previous)
            if dirty.all():
                moved = np.flatnonzero(values != level)
                level[:] = values
            else:
                rows = np.flatnonzero(dirty)
                moved = rows[values != level[rows]]
                level[rows] = values
            previous = level
            if hop + 1 < len(self.levels):
                dirty = start.copy()
                if moved.size > _WHOLE * n_a:
                    dirty[:] = True
                else:
                    dirty[other.counterparties(moved)] = True
                region |= dirty
        rows = np.flatnonzero(region)
        best = np.zeros(rows.size)
        for hop, level in enumerate(self.levels):
            best = np.maximum(best, level[rows] * decay ** hop)
        best = np.minimum(best, 1.0)
        moved = rows[best != self.best[rows]]
        self.best[rows] = best
        return moved

    def _rows(self, dirty: np.ndarray, x: np.ndarray, shares: bool = True) -> np.ndarray:
        """`dot` of the rows marked in `dirty`: the whole matrix when they are many."""
        count = int(np.count_nonzero(dirty))
        if count > _WHOLE * dirty.size:
            values = self.dot(None, x, shares)
            return values if count == dirty.size else values[dirty]
        return self.dot(np.flatnonzero(dirty), x, shares)


# Past this share of the rows, a hop multiplies the whole matrix rather than gathering
# its rows: a hub whose taint moved reaches most of the token.
_WHOLE = 1 / 16


@dataclass
class Route:
    """A breadth-first route from an exposed address to a listed one (None: none within
    the hops), the largest transfer of each leg, and what the search depended on: the
    addresses whose counterparties it read before its last level (`inner`) and on its
    last (`last`: there a new counterparty changes the route only if it is listed), and
    the legs (sender << 32 | receiver)."""

    path: list[int] | None
    rows: np.ndarray
    inner: np.ndarray
    last: np.ndarray
    legs: np.ndarray
    kept: bool = False  # held from an earlier run, nothing it read having changed


class Exposure:
    """The exposure of every address to the listed ones, kept by a long-lived process
    between runs (`Context.shared["kept"]`) and advanced by the rows appended since:
    the pair sums both ways, each hop's taint, and the hits and routes found. A block
    recomputes the taint only of the rows its transfers can move (whose pair sums
    changed, then hop by hop whoever deals with a row whose taint moved), the route of
    an exposed address only when a pair was added where its search read or a transfer
    joined one of its legs, and its hit only when one of the two moved: each row's
    taint is computed as a full evaluation computes it, so the hits are the same."""

    def __init__(self, listed: dict[int, tuple[float, Listing]],
                 params: WatchlistExposure) -> None:
        self.listed, self.params = listed, params
        self.n = 0  # rows summed
        self.down, self.up = _Side(int(params.max_hops)), _Side(int(params.max_hops))
        self.hits: dict[int, Hit | None] = {}
        self.routes: dict[tuple[int, bool], Route] = {}
        self.touched: set[int] | None = None  # addresses in the rows last added (None: all)
        # Per side (True: down), bool per address: given a new pair; given one with a
        # listed address.
        self.paired: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
        self.legs: set[int] = set()  # pairs (sender << 32 | receiver) given a transfer
        self.listed_mask = np.zeros(0, dtype=bool)

    def advance(self, f: Flows) -> np.ndarray:
        """Add the rows appended since the last run; bool per address: its exposure (taint
        received or sent) moved."""
        first = self.n == 0
        src, dst, amount = f.src[self.n:], f.dst[self.n:], f.amount[self.n:]
        self.touched = None if first else set(np.concatenate((src, dst)).tolist())
        real = (src != 0) & (dst != 0)
        s, r = src[real].astype(np.int64), dst[real].astype(np.int64)
        n_a = f.n_addresses
        self.listed_mask = np.zeros(n_a, dtype=bool)
        self.listed_mask[list(self.listed)] = True
        for downstream, side, key in ((True, self.down, r << 32 | s),
                                      (False, self.up, s << 32 | r)):
            new = side.add(key, amount[real], n_a)
            paired, to_listed = np.zeros(n_a, dtype=bool), np.zeros(n_a, dtype=bool)
            paired[new >> 32] = True
            to_listed[(new >> 32)[self.listed_mask[new & _LOW]]] = True
            self.paired[downstream] = (paired, to_listed)
        # A first run searches every route: no leg needs checking.
        self.legs = set() if first else set((s << 32 | r).tolist())
        self.n = f.n
        seed = np.zeros(n_a)
        for address, (weight, _) in self.listed.items():
            seed[address] = weight
        decay = float(self.params.hop_decay)
        moved = np.zeros(n_a, dtype=bool)
        moved[self.down.spread(seed, None if first else unique_ints(r), self.up, decay)] = True
        moved[self.up.spread(seed, None if first else unique_ints(s), self.down, decay)] = True
        if first:
            moved[:] = True
        return moved

    def route(self, f: Flows, held: Route | None, address: int, downstream: bool,
              max_hops: int) -> Route:
        """The route from `address` to a listed address (`held`: the one the last run
        found, if any): taint received is followed back through senders, taint sent on
        through receivers."""
        paired, to_listed = self.paired[downstream]
        if held is not None and self.touched is not None and not (
                paired[held.inner].any() or to_listed[held.last].any()
                or any(leg in self.legs for leg in held.legs.tolist())):
            held.kept = True
            self.routes[(address, downstream)] = held
            return held
        side = self.down if downstream else self.up
        path, inner, last = _search(side, address, self.listed_mask, max_hops)
        rows = _path_rows(f, path, downstream) if path else np.zeros(0, dtype=np.int64)
        ends = np.array(path or [], dtype=np.int64)
        legs = (ends[1:] << 32 | ends[:-1]) if downstream else (ends[:-1] << 32 | ends[1:])
        route = Route(path, rows, inner, last, legs)
        if inner.size + last.size <= _KEPT_READ:  # a search through a hub read too much
            self.routes[(address, downstream)] = route
        return route


# Routes whose search read more addresses than this are searched again when needed
# rather than kept: a route through a hub reads the hub's every counterparty.
_KEPT_READ = 1 << 16


def _exposure(ctx: Context[WatchlistExposure], listed: dict[int, tuple[float, Listing]],
              ) -> tuple[Exposure, np.ndarray]:
    """The exposure of ctx.flows (an incremental run's kept one, advanced, or a new one)
    and, per address, whether it moved."""
    kept = ctx.shared.get("kept")
    held = kept.get("exposure") if kept is not None else None
    if (not isinstance(held, Exposure) or held.n > ctx.flows.n or held.listed != listed
            or held.params != ctx.params):
        held = Exposure(listed, ctx.params)
    moved = held.advance(ctx.flows)
    if kept is not None:
        kept["exposure"] = held
    return held, moved


def _search(side: _Side, start: int, listed: np.ndarray, max_hops: int,
            ) -> tuple[list[int] | None, np.ndarray, np.ndarray]:
    """Shortest route start → … → listed through `side`'s counterparties, breadth first
    (each level's counterparties in order, the first to reach an address its parent),
    and the addresses whose counterparties it read: before the level it stopped on, and
    on that level (with no route found, all of them before). A level is read in growing
    runs of its addresses, stopping at the run that reaches a listed address: past a hub
    a level holds the hub's every counterparty, and the route is usually found among the
    first."""
    seen = np.zeros(listed.size, dtype=bool)
    parent = np.full(listed.size, -1, dtype=np.int64)
    seen[start] = True
    frontier = np.array([start], dtype=np.int64)
    read: list[np.ndarray] = []
    for _ in range(max_hops):
        following, level = [], []
        lo, run = 0, 64
        while lo < frontier.size:
            chunk = frontier[lo:lo + run]
            ptr, at = side.segments(chunk)
            reached = side.columns[at].astype(np.int64)
            by = np.repeat(np.arange(chunk.size), np.diff(ptr))
            new = ~seen[reached]
            reached, by = reached[new], by[new]
            _, first = np.unique(reached, return_index=True)
            first.sort()
            reached, by = reached[first], by[first]
            hit = listed[reached]
            if hit.any():
                k = int(np.argmax(hit))
                level.append(chunk[:by[k] + 1])
                path = [int(reached[k])]
                node = int(chunk[by[k]])
                while node != -1:
                    path.append(node)
                    node = int(parent[node])
                return path[::-1], _joined(read), np.concatenate(level)
            level.append(chunk)
            seen[reached] = True
            parent[reached] = chunk[by]
            following.append(reached)
            lo, run = lo + run, run * 4
        read.extend(level)
        frontier = np.concatenate(following) if following else frontier[:0]
        if frontier.size == 0:
            break
    return None, _joined(read), np.zeros(0, dtype=np.int64)


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _largest(f: Flows, sender: int, receiver: int) -> int | None:
    """The pair's largest transfer (the first of equal ones); a path through a hub reads
    the other end's few rows, not the hub's (Flows.between)."""
    rows = f.between(sender, receiver)
    return int(rows[np.argmax(f.amount[rows])]) if rows.size else None


def _path_rows(f: Flows, path: list[int], downstream: bool) -> np.ndarray:
    rows = []
    for a, b in zip(path, path[1:], strict=False):
        sender, receiver = (b, a) if downstream else (a, b)
        row = _largest(f, sender, receiver)
        if row is not None:
            rows.append(row)
    return np.array(rows, dtype=np.int64)
