"""Patterns: laundering networks as a whole, with their members and roles.

A graph typology (fan-in, fan-out, scatter-gather, gather-scatter, cycle, peel chain,
pass-through chain, split transfers, mint-then-dispersal) finds a *pattern*: the
addresses that take part, each with a role, the transfers that make it, its value, time
span, a score and a sentence. Every member then gets a reason of the pattern's rule id
that names its role and the pattern ("feeder 7 of 23 of a fan-in into 0x…"), scored by
the pattern's strength and the role's weight (config `patterns.role_weights`), so the
members of a strong pattern are flagged with it, not only its hub.

A pattern is identified across runs by its key: typology, anchor address (the hub, the
source, the first hop, the lowest cycle member) and the chain position of its first
transfer. A pattern that grows (one more feeder) keeps its key; one that a reorg or a
changed history no longer supports disappears, and persistence retires it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.scoring.context import Context, Hit


@dataclass(frozen=True)
class Pattern:
    typology: str
    key: str
    anchor: int  # address index
    members: dict[int, str]  # address index -> role, in presentation order
    positions: tuple[tuple[int, int], ...]  # (block, log) of its transfers, chain order
    score: float  # 0-100
    title: str  # "a fan-in of 23 feeders into 0x… (361,507 within 9 h)"
    value: float  # token units moved by its transfers (exact sums come from the database)
    start: int  # unix seconds of its first and last transfer
    end: int
    evidence: tuple[str, ...]  # tx hashes, earliest first (capped, as every reason's)
    # Members that act on another token (a chain_hopping origin or destination on the
    # other chain): (address, role, token id). They are stored and reported with the
    # pattern but get their reasons from that token's own run, where they acted.
    foreign: tuple[tuple[str, str, int], ...] = ()

    def member_detail(self, address: int) -> str:
        """The member's view: its role, its place among the members of that role."""
        role = self.members[address]
        same = [a for a, r in self.members.items() if r == role]
        if len(same) == 1:
            return f"{role.replace('_', ' ')} of {self.title}"
        return f"{role.replace('_', ' ')} {same.index(address) + 1} of {len(same)} of {self.title}"


def build(ctx: Context[Any], typology: str, anchor: int, members: dict[int, str],
          rows: np.ndarray | list[int], score: float, title: str) -> Pattern:
    """A pattern from the transfer rows (indices into ctx.flows) that make it. Service
    wallets (exchanges, custodians, the issuer, by the token's yardstick) are left out of
    the members: they deal with the pattern's addresses as they deal with everyone."""
    f = ctx.flows
    service = ctx.service()
    members = {a: r for a, r in members.items() if a == anchor or not service[a]}
    rows = np.unique(np.asarray(rows, dtype=np.int64))
    order = rows[np.lexsort((f.log[rows], f.block[rows]))]
    first = order[0]
    key = f"{typology}:{f.addresses[anchor]}:{int(f.block[first])}:{int(f.log[first])}"
    return Pattern(
        typology=typology, key=key, anchor=int(anchor),
        members={int(a): r for a, r in members.items() if a != 0},
        positions=tuple(zip(f.block[order].tolist(), f.log[order].tolist(), strict=True)),
        score=float(min(max(score, 0.0), 100.0)), title=title,
        value=float(f.amount[order].sum()), start=int(f.t[order].min()),
        end=int(f.t[order].max()), evidence=ctx.evidence(order),
    )


def member_hits(pattern: Pattern, role_weights: dict[str, float]) -> list[Hit]:
    """One hit per member: the pattern's score weighted by the member's role."""
    return [Hit(address, pattern.score * role_weights.get(role, 1.0),
                pattern.member_detail(address), pattern.evidence, pattern.key, role)
            for address, role in pattern.members.items()]


def anchored(pattern: Pattern, focus: np.ndarray | None) -> bool:
    """Whether the pattern's anchor is among the wanted addresses (None: all are). An
    incremental run recomputes the patterns anchored in its neighbourhood, where it
    sees every transfer the anchor made (monitor.scoring.incremental)."""
    return focus is None or bool(focus[pattern.anchor])
