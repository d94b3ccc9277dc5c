"""chain_hopping: funds that cross a bridge and move on at once, to obscure the trail.

Read from the linked bridge transfers of the token (monitor.scoring.bridges: each burn or
mint row of one is an edge from its sender to its recipient and carries both sides' facts):

- *bridged on*: an origin bridges to a hop on chain B, and the hop bridges at least
  `min_forwarded` of what it received on to chain C within `window_seconds`;
- *U-turn*: the same, back to the origin's chain;
- *bridge and spread*: an origin bridges to a different address, new on chain B (first
  seen at most `fresh_seconds` before the receipt), which pays at least `min_forwarded` of
  it to at least `min_recipients` distinct addresses there within `window_seconds`.

A hop that bridged on more than `max_hop_legs` legs within the window after the first
receipt, or received more than that within the window before the second send, is a
bridging service (an exchange's or desk's wallet passing customers' funds on), not a relay.
The bridged amount must be at least the `amount_quantile` of the token's transfers between
holders (the token's own yardstick: dust bridged to test a route is not a pattern). A
market maker or treasury rebalancing its own inventory bridges to itself (the same
address on both sides) on a schedule: an address that did so on at least `habit_days`
distinct days in both directions is following a routine, and its round trips through
itself are not patterns (a change of hands still is).

Roles: the origin (on the first bridge's source token), the hop (on the middle token) and
the destination (the last bridge's recipient, or each address the spread paid). Every
token the pattern touches finds it from its own rows and the same facts; a member gets its
reason on the token where it acted, and the others are recorded as foreign members. The
sentence names both chains and both sides' transaction hashes; the evidence lists them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from monitor.addresses import checksum
from monitor.amounts import units
from monitor.scoring.config import ChainHopping
from monitor.scoring.context import Context
from monitor.scoring.flows import Flows
from monitor.scoring.legs import Leg
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.rules import duration, scale, share

DAY = 86400


def detect(ctx: Context[ChainHopping]) -> list[Pattern]:
    f, p = ctx.flows, ctx.params
    rows = np.flatnonzero(f.bridge >= 0)
    if rows.size == 0:
        return []
    held = {f.legs[int(f.bridge[r])].id: int(r) for r in rows.tolist()}
    amounts = ctx.stats.secondary_amounts
    floor = ctx.stats.amount_quantile(p.amount_quantile) if amounts.size else 0.0
    found: dict[str, Pattern] = {}
    for row in rows.tolist():
        leg = f.legs[int(f.bridge[row])]
        candidates = [_hop(ctx, first, second, held, floor) for first, second in
                      [(leg, nxt) for nxt in leg.onward] + [(prev, leg) for prev in leg.previous]]
        candidates.append(_spread(ctx, leg, row, floor))
        for pattern in candidates:
            if pattern is not None and pattern.key not in found and anchored(pattern,
                                                                             ctx.focus):
                found[pattern.key] = pattern
    return list(found.values())


def _hop(ctx: Context[ChainHopping], first: Leg, second: Leg, held: dict[int, int],
         floor: float) -> Pattern | None:
    f, p = ctx.flows, ctx.params
    elapsed = second.sent_at - first.received_at
    if not 0 <= elapsed <= p.window_seconds or first.amount_received <= 0:
        return None
    forwarded = second.amount_sent / first.amount_received
    mine = [held[leg.id] for leg in (first, second) if leg.id in held]
    if forwarded < p.min_forwarded or not mine or f.amount[mine[0]] < floor:
        return None
    # An exchange or bridging desk passes many customers' bridges on: not a relay.
    if first.n_onward > p.max_hop_legs or second.n_previous > p.max_hop_legs:
        return None
    origin, hop, destination = first.sender, first.recipient, second.recipient
    anchor = (_ends(f, first, held[first.id])[1] if first.id in held
              else _ends(f, second, held[second.id])[0])
    if origin == hop == destination and _routine(ctx, anchor, p.habit_days):
        return None
    u_turn = second.destination_chain == first.source_chain
    speed = 1.0 - elapsed / p.window_seconds
    # A round trip through one's own address hands nothing over: weaker than a relay.
    hands = len({origin, hop, destination})
    score = (75 if u_turn else 70) + 15 * speed - (15 if hands == 1 else 0)
    onto = (f"back to chain {second.destination_chain}" if u_turn
            else f"on to chain {second.destination_chain}")
    title = (
        f"chain hopping: {checksum(origin)} bridged {_amount(first)} from chain "
        f"{first.source_chain} (tx {first.source_tx}) to {checksum(hop)} on chain "
        f"{first.destination_chain} (tx {first.destination_tx}), which within "
        f"{duration(elapsed)} bridged {units(_sent(second))} ({share(forwarded)}) {onto} "
        f"to {checksum(destination)} (tx {second.source_tx} → {second.destination_tx})"
    )
    roles = [(origin, "origin", first.source_token), (hop, "hop", first.destination_token),
             (destination, "destination", second.destination_token)]
    key = f"chain_hopping:{hop}:{first.id}:{second.id}"
    index: dict[str, int] = {}
    for leg in (first, second):
        if leg.id in held:  # this token's row of the leg: its ends' indices
            index[leg.sender], index[leg.recipient] = _ends(f, leg, held[leg.id])
    evidence = (first.source_tx, first.destination_tx, second.source_tx,
                second.destination_tx)
    return _pattern(ctx, key, anchor, roles, index, mine, score, title, evidence)


def _spread(ctx: Context[ChainHopping], leg: Leg, row: int, floor: float) -> Pattern | None:
    f, p = ctx.flows, ctx.params
    spread = leg.spread
    if (spread is None or leg.recipient == leg.sender or leg.amount_received <= 0
            or spread.settled
            or len(spread.recipients) < p.min_recipients or f.amount[row] < floor):
        return None
    paid = spread.amount / leg.amount_received
    if paid < p.min_forwarded:
        return None
    hop = leg.recipient
    sender, recipient = _ends(f, leg, row)
    index = {leg.sender: sender, hop: recipient}
    rows = [row]
    if leg.destination_token == f.token_id:
        positions = set(spread.positions)
        for r in f.sent(recipient).tolist():
            if (int(f.block[r]), int(f.log[r])) in positions:
                rows.append(r)
                index[str(f.addresses[f.dst[r]])] = int(f.dst[r])
    n = len(spread.recipients)
    title = (
        f"chain hopping: {checksum(leg.sender)} bridged {_amount(leg)} from chain "
        f"{leg.source_chain} (tx {leg.source_tx}) to {checksum(hop)}, new on chain "
        f"{leg.destination_chain} (tx {leg.destination_tx}), which within "
        f"{duration(spread.last - leg.received_at)} paid "
        f"{units(spread.amount / 10.0 ** leg.destination_decimals)} ({share(paid)}) to "
        f"{n} addresses there"
    )
    score = scale(n, p.min_recipients, 4 * p.min_recipients, floor=60, cap=85)
    roles = [(leg.sender, "origin", leg.source_token), (hop, "hop", leg.destination_token),
             *((a, "destination", leg.destination_token) for a in spread.recipients)]
    key = f"chain_hopping:{hop}:{leg.id}:spread"
    return _pattern(ctx, key, recipient, roles, index, rows, score, title,
                    (leg.source_tx, leg.destination_tx))


def _pattern(ctx: Context[ChainHopping], key: str, anchor: int,
             roles: list[tuple[str, str, int]], index: dict[str, int], rows: list[int],
             score: float, title: str, evidence: tuple[str, ...]) -> Pattern:
    """The pattern as this token sees it: members that acted here (by index) get reasons
    here; the others are foreign. An address with several roles (a self round trip)
    takes the first it plays on this token."""
    token = ctx.flows.token_id
    members: dict[int, str] = {}
    foreign: list[tuple[str, str, int]] = []
    placed: set[str] = set()
    for address, role, acted_on in roles:
        if acted_on == token and address in index and address not in placed:
            members[index[address]] = role
            placed.add(address)
    for address, role, acted_on in roles:
        if address not in placed:
            foreign.append((address, role, acted_on))
            placed.add(address)
    pattern = build(ctx, "chain_hopping", anchor, members, rows, score, title)
    return replace(pattern, key=key, foreign=tuple(foreign),
                   evidence=tuple(dict.fromkeys(evidence)))


def _ends(f: Flows, leg: Leg, row: int) -> tuple[int, int]:
    """The leg's (sender, recipient) as address indices, from its row on this token: an
    edge between them, or a self-bridge's burn or mint (the owner on one end)."""
    src, dst = int(f.src[row]), int(f.dst[row])
    if leg.sender == leg.recipient:
        owner = src or dst
        return owner, owner
    return src, dst


def _routine(ctx: Context[ChainHopping], address: int, days: int) -> bool:
    """Whether the address bridged to itself on at least `days` distinct days in each
    direction, by its rows on this token (a market maker's or treasury's rebalancing
    schedule)."""
    f = ctx.flows
    token, name = f.token_id, str(f.addresses[address])
    out: set[int] = set()
    back: set[int] = set()
    for row in f.touching(address).tolist():
        if f.bridge[row] < 0:
            continue
        leg = f.legs[int(f.bridge[row])]
        if leg.sender == name == leg.recipient:
            (out if leg.source_token == token else back).add(leg.sent_at // DAY)
    return len(out) >= days and len(back) >= days


def _amount(leg: Leg) -> str:
    return units(leg.amount_sent / 10.0 ** leg.source_decimals)


def _sent(leg: Leg) -> float:
    return leg.amount_sent / 10.0 ** leg.source_decimals
