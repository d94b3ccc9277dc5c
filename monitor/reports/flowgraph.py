"""The fund-flow picture of an address report: its counterparties and the evidence path.

Direct flows are the profile's exact totals with its largest counterparties; the transfers
behind each reason's evidence are added even when they do not touch the address (a peel
chain, the hop to a sanctioned wallet), so the laundering path is drawn in full and
highlighted. The layout is networkx's spring layout with the address pinned in the centre,
seeded so the same data always gives the same picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Token, Transfer
from monitor.addresses import ZERO, checksum
from monitor.amounts import scaled
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

    @property
    def path(self) -> str:
        """A straight line from rim to rim, so arrowheads are not hidden under circles."""
        dx, dy = self.target.x - self.source.x, self.target.y - self.source.y
        length = math.hypot(dx, dy) or 1.0
        r1 = 16 if self.source.role == "subject" else 9
        r2 = (16 if self.target.role == "subject" else 9) + 4
        x1, y1 = self.source.x + dx / length * r1, self.source.y + dy / length * r1
        x2, y2 = self.target.x - dx / length * r2, self.target.y - dy / length * r2
        return f"M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}"


@dataclass
class FlowGraph:
    width: int = WIDTH
    height: int = HEIGHT
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    omitted: int = 0  # counterparties left out to keep the picture readable


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
