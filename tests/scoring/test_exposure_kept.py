"""watchlist_exposure's kept state (rules.watchlist_exposure.Exposure) against a fresh
computation, step by step: a long-lived process advances the pair sums, each hop's taint,
the routes and the hits by the rows a block adds, and recomputes only what those rows can
move. After every step the taint of every address, hop by hop, must be a fresh
computation's to the last bit, and so must every hit; the test also checks that the kept
state did reuse most of what it held (else it proves nothing about the reuse)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from monitor.scoring import evaluate, population
from monitor.scoring.config import DEFAULTS
from monitor.scoring.flows import Flows
from monitor.scoring.rules import watchlist_exposure
from monitor.scoring.rules.watchlist_exposure import Exposure
from monitor.watchlist.service import Listing
from support.flows import history_flows, hub_heavy

SDN = [Listing("sdn", "sanctioned", None)]
MIXER = [Listing("mixers", "mixer", "tumbler")]


def _exposure(flows: Flows, listings: dict[int, list[Listing]],
              kept: dict[str, object]) -> list[watchlist_exposure.Hit]:
    feats = evaluate.compute_features(flows, DEFAULTS)
    stats = population.measure(flows, feats, DEFAULTS, False)
    ctxs = evaluate.contexts(flows, feats, DEFAULTS, stats, listings, kept=kept)
    return watchlist_exposure.detect(ctxs["watchlist_exposure"])


def _by_address(hits: list[watchlist_exposure.Hit]) -> dict[int, watchlist_exposure.Hit]:
    found = {hit.address: hit for hit in hits}
    assert len(found) == len(hits)  # one hit per address
    return found


@pytest.mark.parametrize("seed", [5, 23])
def test_kept_taint_routes_and_hits_equal_a_fresh_computation_after_every_step(
        seed: int) -> None:
    history = hub_heavy(seed)
    total = len(history.transfers)
    numbering: list[str] = []
    start = int(total * 0.5)
    first = history_flows(history, start, numbering)
    rng = random.Random(seed)
    # Holders and one hub: taint crosses the hubs, so a block moves far-away rows.
    hub = next(a for a, name in enumerate(first.addresses) if str(name).endswith("e" * 38))
    chosen = rng.sample(range(1, first.n_addresses), 5) + [hub]
    listings = {a: (MIXER if k % 2 else SDN) for k, a in enumerate(chosen)}
    kept: dict[str, object] = {}
    _exposure(first, listings, kept)
    # Steps of one transfer, a block's few, and a busy block's many.
    sizes = [1, 3, 10, 40] * 6
    count, kept_routes, searched = start, 0, 0
    for size in sizes:
        count = min(count + size, total)
        flows = history_flows(history, count, numbering)
        held_before = kept["exposure"]
        mine = _by_address(_exposure(flows, listings, kept))
        fresh: dict[str, object] = {}
        theirs = _by_address(_exposure(flows, listings, fresh))
        held, made = kept["exposure"], fresh["exposure"]
        assert isinstance(held, Exposure) and isinstance(made, Exposure)
        assert held is held_before  # advanced, not rebuilt
        for name in ("down", "up"):
            mine_side, their_side = getattr(held, name), getattr(made, name)
            assert np.array_equal(mine_side.keys, their_side.keys)
            assert np.array_equal(mine_side.sums, their_side.sums)
            assert np.array_equal(mine_side.total, their_side.total)
            for level, theirs_level in zip(mine_side.levels, their_side.levels, strict=True):
                assert np.array_equal(level, theirs_level)
            assert np.array_equal(mine_side.best, their_side.best)
        assert mine == theirs
        kept_routes += sum(route.kept for route in held.routes.values())
        searched += sum(not route.kept for route in held.routes.values())
    assert len(mine) > 10  # exposure crossed the hub: many addresses are exposed
    assert kept_routes > searched, (kept_routes, searched)


def test_a_list_change_starts_the_exposure_again() -> None:
    history = hub_heavy(5)
    numbering: list[str] = []
    flows = history_flows(history, len(history.transfers) // 2, numbering)
    kept: dict[str, object] = {}
    _exposure(flows, {3: SDN}, kept)
    before = kept["exposure"]
    hits = _by_address(_exposure(flows, {3: MIXER}, kept))
    assert kept["exposure"] is not before
    assert hits == _by_address(_exposure(flows, {3: MIXER}, {}))
    assert {hit.category for hit in hits.values()} == {"mixer"}


def _plain_search(side: watchlist_exposure._Side, start: int, listed: set[int],
                  max_hops: int) -> list[int] | None:
    """Breadth first, one address and one counterparty at a time: the reference."""
    parents = {start: -1}
    frontier = [start]
    for _ in range(max_hops):
        following = []
        for node in frontier:
            for nxt in side.columns[side.ptr[node]:side.ptr[node + 1]].tolist():
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


def test_the_search_in_runs_finds_the_route_a_plain_breadth_first_search_finds() -> None:
    history = hub_heavy(9)
    flows = history_flows(history, len(history.transfers), [])
    rng = random.Random(9)
    listed = set(rng.sample(range(1, flows.n_addresses), 3))
    kept: dict[str, object] = {}
    _exposure(flows, {a: SDN for a in listed}, kept)
    held = kept["exposure"]
    assert isinstance(held, Exposure)
    mask = np.zeros(flows.n_addresses, dtype=bool)
    mask[list(listed)] = True
    found = 0
    for start in range(1, flows.n_addresses):
        if start in listed:
            continue
        for side in (held.down, held.up):
            for hops in (1, 2, 3):
                path, inner, last = watchlist_exposure._search(side, start, mask, hops)
                assert path == _plain_search(side, start, listed, hops)
                found += path is not None
                assert np.r_[inner, last][0] == start
    assert found > flows.n_addresses  # routes of every length were compared


@pytest.mark.parametrize("size, added", [(0, 0), (0, 3), (9, 0), (9, 4), (2000, 40),
                                         (2000, 300)])
def test_pairs_are_spliced_in_as_np_insert_places_them(size: int, added: int) -> None:
    """A block's new pairs go in slice by slice, into the buffer the previous splice left
    (_Side._spliced), a full run's by np.insert: block after block the same arrays,
    repeated and end positions included."""
    rng = np.random.default_rng(size + added)
    side = watchlist_exposure._Side(1)
    expected = {"keys": np.sort(rng.integers(0, 50, size)).astype(np.int64)}
    expected["sums"], expected["columns"] = expected["keys"] * 0.5, expected["keys"] // 2
    for name, array in expected.items():
        setattr(side, name, array.copy())
    for _ in range(4):
        new = np.sort(rng.integers(-5, 55, added)).astype(np.int64)
        at = np.searchsorted(side.keys, new)
        for name, values in (("keys", new), ("sums", new * 0.25), ("columns", new // 3)):
            spliced = side._spliced(name, at, values.astype(expected[name].dtype))
            expected[name] = np.insert(expected[name], at, values)
            assert spliced.dtype == expected[name].dtype
            assert np.array_equal(spliced, expected[name])
            setattr(side, name, spliced)
