"""The fund-flow picture of an address report: its counterparties and the evidence path.

Direct flows are the profile's exact totals with its largest counterparties; the transfers
behind each reason's evidence are added even when they do not touch the address (a peel
chain, the hop to a sanctioned wallet), so the laundering path is drawn in full and
highlighted. The layout is networkx's spring layout with the address pinned in the centre,
seeded so the same data always gives the same picture.

Across chains (`chains_graph`), an address is one node per chain: each chain is a labelled
region holding the address and its largest counterparties there, and each bridge transfer
is a dashed edge from the sender's node on the source chain to the recipient's node on the
destination chain, labelled with its protocol and exact amount.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BridgeTransfer, Token, Transfer
from monitor.addresses import ZERO, checksum
from monitor.amounts import scaled, shown
from monitor.reports.profile import Flow

WIDTH, HEIGHT, MARGIN = 960, 560, 70
MAX_EVIDENCE_TX = 400


@dataclass
class Node:
    address: str
    label: str
    x: float
    y: float
    role: str  # subject | counterparty | mint_burn
    on_path: bool


@dataclass
class Edge:
    source: Node
    target: Node
    value: str  # exact, scaled by decimals
    transfers: int
    width: float
    on_path: bool
    # A bridge edge's label ("layerzero-oft 1,000 USDY"); None for a transfer edge.
    bridge: str | None = None
    status: str = ""  # a bridge edge's status: linked, pending or unmatched
    # Sideways offset of the curve's middle, in pixels: edges between the same two nodes
    # (a U-turn back, two tokens) bend apart instead of drawing over each other.
    bend: float = 0.0

    def _ends(self) -> tuple[float, float, float, float, float, float]:
        dx, dy = self.target.x - self.source.x, self.target.y - self.source.y
        length = math.hypot(dx, dy) or 1.0
        r1 = 16 if self.source.role == "subject" else 9
        r2 = (16 if self.target.role == "subject" else 9) + 4
        x1, y1 = self.source.x + dx / length * r1, self.source.y + dy / length * r1
        x2, y2 = self.target.x - dx / length * r2, self.target.y - dy / length * r2
        # The control point of a bent edge: the middle, moved `2 * bend` across the line
        # (a quadratic curve passes half as far from the chord as its control point).
        cx = (x1 + x2) / 2 - dy / length * 2 * self.bend
        cy = (y1 + y2) / 2 + dx / length * 2 * self.bend
        return x1, y1, cx, cy, x2, y2

    @property
    def path(self) -> str:
        """A line from rim to rim, so arrowheads are not hidden under circles; bent when
        another edge joins the same two nodes."""
        x1, y1, cx, cy, x2, y2 = self._ends()
        if not self.bend:
            return f"M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}"
        return f"M{x1:.1f},{y1:.1f} Q{cx:.1f},{cy:.1f} {x2:.1f},{y2:.1f}"

    @property
    def middle(self) -> tuple[float, float]:
        """Where the edge's label goes: the middle of the line or curve."""
        x1, y1, cx, cy, x2, y2 = self._ends()
        return (x1 + 2 * cx + x2) / 4, (y1 + 2 * cy + y2) / 4


@dataclass
class Group:
    """A labelled region of the picture: one chain of a cross-chain picture."""

    label: str
    x: float
    y: float
    width: float
    height: float


@dataclass
class FlowGraph:
    width: int = WIDTH
    height: int = HEIGHT
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    omitted: int = 0  # counterparties left out to keep the picture readable
    groups: list[Group] = field(default_factory=list)


def flow_graph(session: Session, token: Token, address: str, flows: list[Flow],
               counterparties: int, evidence: set[str],
               max_counterparties: int = 20) -> FlowGraph:
    """The address's largest counterparties (`flows`, largest first, from
    profile.activity; `counterparties` in all) and the transfers cited as evidence."""
    where = (Transfer.chain_id == token.chain_id, Transfer.token_id == token.id)
    kept = flows[:max_counterparties]
    edges: dict[tuple[str, str], list[int]] = {}  # (from, to) -> [value, count, on_path]
    for flow in kept:
        if flow.received_count:
            edges[(flow.address, address)] = [flow.received, flow.received_count, 0]
        if flow.sent_count:
            edges[(address, flow.address)] = [flow.sent, flow.sent_count, 0]
    if evidence:
        path_rows = session.execute(
            select(Transfer.from_address, Transfer.to_address, Transfer.amount)
            .where(*where, Transfer.tx_hash.in_(sorted(evidence)[:MAX_EVIDENCE_TX]))
        ).all()
        aggregated = set(edges)  # direct edges already carry their full totals
        for sender, receiver, value in path_rows:
            entry = edges.setdefault((sender, receiver), [0, 0, 1])
            entry[2] = 1
            if (sender, receiver) not in aggregated:
                entry[0] += int(value)
                entry[1] += 1

    graph = nx.DiGraph()
    graph.add_node(address)
    for (sender, receiver), (value, count, on_path) in edges.items():
        graph.add_edge(sender, receiver, value=value, count=count, on_path=bool(on_path))
    return _draw(graph, address, token.decimals, counterparties - len(kept))


def pattern_graph(anchor: str, roles: dict[str, str],
                  transfers: list[tuple[str, str, int]], decimals: int) -> FlowGraph:
    """A pattern's own flows: its transfers (sender, receiver, base units) summed per
    pair, every member labelled with its role, the anchor in the centre. All of it is the
    pattern, so all of it is drawn as its path."""
    graph = nx.DiGraph()
    graph.add_node(anchor)
    for sender, receiver, value in transfers:
        if graph.has_edge(sender, receiver):
            graph[sender][receiver]["value"] += value
            graph[sender][receiver]["count"] += 1
        else:
            graph.add_edge(sender, receiver, value=value, count=1, on_path=True)
    return _draw(graph, anchor, decimals, 0, roles)


def _draw(graph: nx.DiGraph, subject: str, decimals: int, omitted: int,
          roles: dict[str, str] | None = None) -> FlowGraph:
    picture = FlowGraph(omitted=max(0, omitted))
    if graph.number_of_nodes() == 1:
        positions = {subject: (0.0, 0.0)}
    else:
        undirected = graph.to_undirected()
        positions = nx.spring_layout(undirected, seed=7, pos={subject: (0.0, 0.0)},
                                     fixed=[subject], k=1.2 / math.sqrt(len(graph)),
                                     iterations=200)
    xs = [float(p[0]) for p in positions.values()]
    ys = [float(p[1]) for p in positions.values()]
    # Scale around the pinned subject so it stays in the middle of the canvas.
    span_x = max(max(abs(x) for x in xs), 1e-9)
    span_y = max(max(abs(y) for y in ys), 1e-9)
    half_w, half_h = WIDTH / 2 - MARGIN, HEIGHT / 2 - MARGIN / 2
    on_path_nodes = {n for u, v, d in graph.edges(data=True) if d["on_path"] for n in (u, v)}
    nodes: dict[str, Node] = {}
    for name, (x, y) in positions.items():
        role = "subject" if name == subject else "mint_burn" if name == ZERO else "counterparty"
        label = "mint / burn" if name == ZERO else f"{checksum(name)[:6]}…{name[-4:]}"
        if roles and name in roles:
            label = f"{roles[name].replace('_', ' ')} {label}"
        nodes[name] = Node(checksum(name), label, WIDTH / 2 + float(x) / span_x * half_w,
                           HEIGHT / 2 + float(y) / span_y * half_h, role, name in on_path_nodes)
    largest = max((d["value"] for *_, d in graph.edges(data=True)), default=0) or 1
    for sender, receiver, data in graph.edges(data=True):
        share = math.sqrt(data["value"] / largest)
        picture.edges.append(Edge(nodes[sender], nodes[receiver],
                                  scaled(data["value"], decimals), data["count"],
                                  round(1.0 + 9.0 * share, 2), data["on_path"]))
    # Path edges last, so they are drawn on top.
    picture.edges.sort(key=lambda e: e.on_path)
    picture.nodes = sorted(nodes.values(), key=lambda n: n.role == "subject")
    return picture


# The cross-chain picture: chains side by side, three to a row, each a cell this large.
CELL_WIDTH, CELL_HEIGHT, CELLS_PER_ROW = 360, 380, 3
MAX_NODES_PER_CHAIN = 10  # besides the address itself: more would not leave room for labels
MAX_BRIDGE_EDGES = 40  # after summing the transfers between the same two nodes
BRIDGE_WIDTH = 2.5
ChainKey = int | None  # None: the far side of a bridge transfer whose chain is not known yet
NodeKey = tuple[ChainKey, str]  # (chain, address); a placeholder text when it is not known


def _bridge_ends(row: BridgeTransfer) -> tuple[NodeKey, NodeKey]:
    return ((row.source_chain_id, row.sender or "sender not known yet"),
            (row.destination_chain_id, row.recipient or "awaiting receipt"))


def _bridge_value(row: BridgeTransfer, tokens: Mapping[int, Token],
                  ) -> tuple[int, Token | None, str]:
    """What a bridge edge shows of one transfer: the amount sent (the source token's), or
    the amount received while the send is not stored; which it is, for summing alike."""
    if row.amount_sent is not None:
        token_id, value, which = row.source_token_id, int(row.amount_sent), "sent"
    else:
        token_id, value, which = row.destination_token_id, int(row.amount_received or 0), "received"
    return value, tokens.get(token_id) if token_id is not None else None, which


def chains_graph(subject: str, active: Sequence[int],
                 activities: Mapping[int, Sequence[tuple[Token, Sequence[Flow], int]]],
                 bridges: Sequence[BridgeTransfer], tokens: Mapping[int, Token],
                 names: Mapping[int, str | None]) -> FlowGraph:
    """The address on every chain it is active on (`active`, in order), with its largest
    counterparties per token there (`activities`: chain -> (token, flows largest first,
    counterparties in all)), and its bridge transfers (`bridges`, newest first; `tokens`
    holds their tokens) as edges between chains. `names`: chain names by id."""
    # Bridge transfers between the same two nodes by the same protocol, status and token
    # make one edge, their amounts summed exactly.
    summed: dict[tuple[NodeKey, NodeKey, str, str, int | None, str], list[Any]] = {}
    for row in bridges:
        value, token, which = _bridge_value(row, tokens)
        source, destination = _bridge_ends(row)
        key = (source, destination, row.protocol, row.status,
               token.id if token is not None else None, which)
        if key not in summed and len(summed) >= MAX_BRIDGE_EDGES:
            continue
        entry = summed.setdefault(key, [0, 0, token])
        entry[0] += value
        entry[1] += 1

    chains: list[ChainKey] = list(active)
    far = {end[0] for key in summed for end in key[:2]} - set(chains)
    chains += sorted(c for c in far if c is not None) + ([None] if None in far else [])
    picture = FlowGraph(omitted=0)
    columns = min(len(chains), CELLS_PER_ROW) or 1
    cell_width = max(CELL_WIDTH, 2 * CELL_WIDTH / columns)  # never narrower than two cells
    picture.width = int(columns * cell_width)
    picture.height = int(math.ceil(len(chains) / columns) * CELL_HEIGHT)
    centres: dict[ChainKey, tuple[float, float]] = {}
    for index, chain in enumerate(chains):
        x, y = index % columns * cell_width, index // columns * CELL_HEIGHT
        name = names.get(chain) if chain is not None else None
        label = ("other side not known yet" if chain is None
                 else f"{name} · chain {chain}" if name else f"chain {chain}")
        picture.groups.append(Group(label, x + 6, y + 6, cell_width - 12, CELL_HEIGHT - 12))
        centres[chain] = (x + cell_width / 2, y + CELL_HEIGHT / 2 + 10)

    # Per chain: the bridge ends first (they are why the picture exists), then the largest
    # counterparties of each token, as many as leave the cell readable.
    members: dict[ChainKey, list[str]] = {chain: [] for chain in chains}
    for source, destination, *_ in summed:
        for chain, address in (source, destination):
            # The address itself is its chain's centre, not one of the others.
            if (address != subject or chain not in active) and address not in members[chain]:
                members[chain].append(address)
    transfer_edges: list[tuple[NodeKey, NodeKey, int, int, Token, int]] = []
    for chain in active:
        held = activities.get(chain, [])
        room = max(MAX_NODES_PER_CHAIN - len(members[chain]), 0)
        each = room // len(held) if held else 0
        for token, flows, counterparties in held:
            kept = [flow for flow in flows if flow.address != subject][:each]
            picture.omitted += max(counterparties - len(kept), 0)
            largest = max((max(f.received, f.sent) for f in kept), default=0) or 1
            for flow in kept:
                if flow.address not in members[chain]:
                    members[chain].append(flow.address)
                here, there = (chain, subject), (chain, flow.address)
                if flow.received_count:
                    transfer_edges.append((there, here, flow.received, flow.received_count,
                                           token, largest))
                if flow.sent_count:
                    transfer_edges.append((here, there, flow.sent, flow.sent_count, token,
                                           largest))

    nodes = _place(subject, active, members, centres, summed)
    for (sender, receiver, value, count, token, largest) in transfer_edges:
        picture.edges.append(Edge(nodes[sender], nodes[receiver], scaled(value, token.decimals),
                                  count, round(1.0 + 5.0 * math.sqrt(value / largest), 2),
                                  False))
    for (source, destination, protocol, status, _, which), (value, count, token) in \
            summed.items():
        amount = shown(value, token.decimals) if token is not None else f"{value:,} base units"
        symbol = f" {token.symbol}" if token is not None and token.symbol else ""
        label = (f"{protocol} {'received ' if which == 'received' else ''}{amount}{symbol}"
                 + (f" ({count} transfers)" if count > 1 else "")
                 + ("" if status == "linked" else f", {status}"))
        picture.edges.append(Edge(nodes[source], nodes[destination],
                                  scaled(value, token.decimals) if token else str(value), count,
                                  BRIDGE_WIDTH, False, bridge=label, status=status))
    _bend(picture.edges, list(nodes.values()))
    picture.nodes = sorted(nodes.values(), key=lambda n: n.role == "subject")
    return picture


def _place(subject: str, active: Sequence[int], members: Mapping[ChainKey, list[str]],
           centres: Mapping[ChainKey, tuple[float, float]],
           summed: Mapping[tuple[NodeKey, NodeKey, str, str, int | None, str], Any],
           ) -> dict[NodeKey, Node]:
    """Each chain's nodes: the address in its cell's centre, the others on an ellipse
    around it, each bridge end in the free slot facing the chain across the bridge."""
    peers: dict[NodeKey, ChainKey] = {}
    for source, destination, *_ in summed:
        peers.setdefault(source, destination[0])
        peers.setdefault(destination, source[0])
    placed: dict[NodeKey, Node] = {}
    for chain, others in members.items():
        cx, cy = centres[chain]
        if chain in active:
            placed[(chain, subject)] = Node(checksum(subject), "this address", cx, cy,
                                            "subject", False)
        elif len(others) == 1:  # a far side's lone node: the middle of its cell
            placed[(chain, others[0])] = _node(others[0], cx, cy)
            continue
        # The slots facing the chains the address itself bridges with stay clear (there
        # are that many more), so its bridge edges leave the cell without crossing a node.
        own = ({d[0] for s, d, *_ in summed if s == (chain, subject)}
               | {s[0] for s, d, *_ in summed if d == (chain, subject)}) - {chain}
        slots = max(len(others) + len(own), 6)
        angles = [-math.pi / 2 + 2 * math.pi * k / slots for k in range(slots)]
        free = list(range(slots))
        clear = ({_facing(free, angles, (cx, cy), centres[peer]) for peer in own}
                 if chain in active else set())
        ordered = sorted(others, key=lambda a: (chain, a) not in peers)  # bridge ends first
        for address in ordered:
            peer = peers.get((chain, address))
            if peer is not None and peer != chain:
                slot = _facing(free, angles, (cx, cy), centres[peer])
            else:
                slot = next((k for k in free if k not in clear), free[0])
            free.remove(slot)
            rx, ry = CELL_WIDTH / 2 - 62, CELL_HEIGHT / 2 - 72
            placed[(chain, address)] = _node(address, cx + rx * math.cos(angles[slot]),
                                             cy + ry * math.sin(angles[slot]))
    return placed


def _facing(free: list[int], angles: list[float], centre: tuple[float, float],
            towards: tuple[float, float]) -> int:
    """The free slot whose angle around `centre` points nearest `towards`."""
    want = math.atan2(towards[1] - centre[1], towards[0] - centre[0])
    return min(free, key=lambda k: abs(math.remainder(angles[k] - want, 2 * math.pi)))


def _node(address: str, x: float, y: float) -> Node:
    if not address.startswith("0x"):  # a side not stored yet
        return Node(address, address, x, y, "unknown", False)
    label = "mint / burn" if address == ZERO else f"{checksum(address)[:6]}…{address[-4:]}"
    return Node(checksum(address), label, x, y, "mint_burn" if address == ZERO else
                "counterparty", False)


def _bend(edges: list[Edge], nodes: list[Node]) -> None:
    """Bend edges apart where several join the same two nodes, and bend a straight edge
    that would run through a node it does not join (a bridge from the first chain to the
    third passes the second chain's address otherwise)."""
    between: dict[frozenset[int], list[Edge]] = {}
    for edge in edges:
        between.setdefault(frozenset((id(edge.source), id(edge.target))), []).append(edge)
    for group in between.values():
        first = group[0]
        for k, edge in enumerate(group):
            offset = (k - (len(group) - 1) / 2) * 26
            # Offsets are across the first edge's direction: a reversed edge's "left" is
            # the other side, so its sign flips to land where the offset means.
            edge.bend = offset if edge.source is first.source else -offset
    for edge in edges:
        if edge.bend:
            continue
        x1, y1, x2, y2 = edge.source.x, edge.source.y, edge.target.x, edge.target.y
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        for node in nodes:
            if node is edge.source or node is edge.target:
                continue
            along = ((node.x - x1) * (x2 - x1) + (node.y - y1) * (y2 - y1)) / length
            across = abs((node.x - x1) * (y2 - y1) - (node.y - y1) * (x2 - x1)) / length
            if 0 < along < length and across < 24:
                edge.bend = min(0.15 * length, CELL_HEIGHT / 2 - 80)  # inside the cells
                break
