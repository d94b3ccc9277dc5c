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
from collections.abc import Mapping

import numpy as np
from scipy import sparse

from monitor.addresses import checksum
from monitor.scoring.config import FixedScore, WatchlistExposure
from monitor.scoring.context import Context, Hit
from monitor.scoring.flows import Flows, unique_ints
from monitor.scoring.rules import scale

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
    n_a = f.n_addresses
    flow = _pairs(ctx).matrix(n_a)
    inflow = np.asarray(flow.sum(axis=0)).ravel()
    outflow = np.asarray(flow.sum(axis=1)).ravel()
    seed = np.zeros(n_a)
    for address, (weight, _) in listed.items():
        seed[address] = weight
    # Downstream taint: share of each address's inflow coming from tainted senders.
    share_in = sparse.diags(1.0 / np.maximum(inflow, 1e-12)) @ flow.T  # row a: from whom
    share_out = sparse.diags(1.0 / np.maximum(outflow, 1e-12)) @ flow  # row a: to whom
    down = _propagate(share_in, seed, p.max_hops, p.hop_decay)
    up = _propagate(share_out, seed, p.max_hops, p.hop_decay)
    forward = flow
    backward = flow.T.tocsr()
    hits = []
    for address, (weight, listing) in listed.items():
        idx = f.touching(address)
        if idx.size:
            detail = (f"is listed on {listing.list_name} ({listing.category}"
                      f"{': ' + listing.label if listing.label else ''}) and made "
                      f"{idx.size} transfer(s)")
            hits.append(Hit(address, 100 * weight, detail, ctx.evidence(idx),
                            list_name=listing.list_name, category=listing.category,
                            listed=who(address)))
    # numpy's integers now; the name held a Python int in the loop above
    for address in np.flatnonzero(np.maximum(down, up) >= p.min_exposure):  # type: ignore[assignment]
        if address == 0 or address in listed:
            continue
        direction = "received from" if down[address] >= up[address] else "sent to"
        exposure = max(down[address], up[address])
        path = _path(backward if direction == "received from" else forward, int(address),
                     listed, int(p.max_hops))
        if path is None:
            continue
        target_weight, target = listed[path[-1]]
        rows = _path_rows(f, path, direction == "received from")
        hops = len(path) - 1
        value = float(f.amount[rows[0]]) if rows.size else 0.0
        route = " → ".join(who(int(a)) for a in path)
        detail = (
            f"{exposure:.0%} of its {'inflow' if direction == 'received from' else 'outflow'} "
            f"is {'directly' if hops == 1 else f'{hops} hops'} {direction} "
            f"{target.category} address {who(int(path[-1]))} ({target.list_name}"
            f"{': ' + target.label if target.label else ''}); path {route}; "
            f"{ctx.amount(value)} on the first leg"
        )
        score = (scale(exposure, p.min_exposure, 0.5, floor=55, cap=98) * target_weight
                 * p.hop_decay ** (hops - 1))
        if hops == 1:
            score = max(score, 80 * target_weight)  # any direct contact with a listed address
        hits.append(Hit(int(address), score, detail, ctx.evidence(rows),
                        list_name=target.list_name, category=target.category,
                        listed=who(int(path[-1]))))
    return hits


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


def _propagate(share: sparse.csr_matrix, seed: np.ndarray, hops: int, decay: float) -> np.ndarray:
    """max over h of decay^(h-1) × (share^h seed): the strongest taint within `hops` hops."""
    best = np.zeros_like(seed)
    level = seed
    for h in range(1, int(hops) + 1):
        level = share @ level
        best = np.maximum(best, level * decay ** (h - 1))
    return np.minimum(best, 1.0)


def _path(adjacency: sparse.csr_matrix, start: int, listed: Mapping[int, object],
          max_hops: int) -> list[int] | None:
    """Shortest route start → … → listed along `adjacency` (breadth first, on the sparse
    matrix itself: building a graph object of every transfer costs more than scoring)."""
    parents = {start: -1}
    frontier = [start]
    for _ in range(max_hops):
        following = []
        for node in frontier:
            for nxt in adjacency.indices[adjacency.indptr[node]:adjacency.indptr[node + 1]]:
                nxt = int(nxt)
                if nxt in parents:
                    continue
                parents[nxt] = node
                if nxt in listed:
                    path = [nxt]
                    while parents[path[-1]] != -1:
                        path.append(parents[path[-1]])
                    return path[::-1]
                following.append(nxt)
        frontier = following
    return None


class Pairs:
    """The token's transfers between holders summed per (sender, receiver) pair: the
    matrix exposure propagates over. An incremental run keeps it (`Context.shared["kept"]`)
    and adds the rows appended since, instead of summing every transfer again each block;
    each pair's sum adds its rows one by one in row order however many runs it took, so
    the matrix is the one a full evaluation builds, to the last bit."""

    def __init__(self) -> None:
        self.n = 0  # rows summed
        self.keys = np.zeros(0, dtype=np.int64)  # sender << 32 | receiver, ascending
        self.sums = np.zeros(0)

    def advance(self, f: Flows) -> None:
        src, dst, amount = f.src[self.n:], f.dst[self.n:], f.amount[self.n:]
        real = (src != 0) & (dst != 0)
        key = src[real].astype(np.int64) * (1 << 32) + dst[real]
        fresh = unique_ints(key)
        at = np.searchsorted(self.keys, fresh)
        known = at < self.keys.size
        known[known] = self.keys[at[known]] == fresh[known]
        if not known.all():
            self.keys = np.insert(self.keys, at[~known], fresh[~known])
            self.sums = np.insert(self.sums, at[~known], 0.0)
        np.add.at(self.sums, np.searchsorted(self.keys, key), amount[real])  # in row order
        self.n = f.n

    def matrix(self, n_a: int) -> sparse.csr_matrix:
        senders = self.keys >> 32
        indptr = np.searchsorted(senders, np.arange(n_a + 1))
        return sparse.csr_matrix((self.sums, self.keys & 0xFFFFFFFF, indptr), shape=(n_a, n_a))


def _pairs(ctx: Context[WatchlistExposure]) -> Pairs:
    """The pair sums of ctx.flows: those an incremental run kept, grown, or new ones."""
    kept = ctx.shared.get("kept")
    pairs = kept.get("exposure_pairs") if kept is not None else None
    if not isinstance(pairs, Pairs) or pairs.n > ctx.flows.n:
        pairs = Pairs()
    pairs.advance(ctx.flows)
    if kept is not None:
        kept["exposure_pairs"] = pairs
    return pairs


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
