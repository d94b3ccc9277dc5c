"""HTML reports: one self-contained page each (inline CSS, inline SVG, no external assets),
so an investigator can save, print or attach it to a case file as it was seen."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from models import Token
from monitor.addresses import checksum
from monitor.amounts import grouped
from monitor.labels.store import address_labels
from monitor.reports.address import address_chains, chain_names
from monitor.reports.bridges import address_bridge_transfers, bridge_item, bridge_tokens
from monitor.reports.flowgraph import chains_graph, flow_graph
from monitor.reports.profile import Flow, token_entries
from monitor.timefmt import now_iso

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}

# Autoescape everything: reason details and labels can carry watchlist text from outside.
_loader = PackageLoader("monitor.reports", "templates")
_env = Environment(
    loader=_loader,
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# Every amount on a page is read by a person: grouped by thousands (monitor.amounts).
_env.filters["amount"] = grouped

# The flagged page's only script. Served as it is in the file, so its hash, computed here
# once, is what the Content-Security-Policy allows: no other script can run on a report,
# even one smuggled past escaping.
SORT_SCRIPT = _loader.get_source(_env, "sort.js")[0]


def script_hash(script: str) -> str:
    """A CSP source admitting exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


# Every report page: inline styles, data: images (the favicon), our one script, nothing
# fetched, never framed (a report is a case file, not a widget).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    f"script-src {script_hash(SORT_SCRIPT)}; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def default_link(item: dict[str, Any]) -> str:
    return f"/api/v1/reports/address/{item['address']}?format=html"


def flagged_page(report: dict[str, Any],
                 link: Callable[[dict[str, Any]], str] = default_link) -> str:
    """The flagged report as a sortable table, each address linking to its own report."""
    return "".join(flagged_chunks(report["items"], len(report["items"]),
                                  report.get("min_risk", 0), report["generated_at"], link))


def flagged_chunks(items: Iterable[dict[str, Any]], count: int, min_risk: int,
                   generated_at: str,
                   link: Callable[[dict[str, Any]], str] = default_link,
                   shares: str = "") -> Iterator[str]:
    """flagged_page as it renders, for items read page by page (count: how many there are;
    shares: the flagged share per token, in words)."""
    return _env.get_template("flagged.html.j2").generate(
        items=items, count=count, min_risk=min_risk, generated_at=generated_at,
        severity_rank=SEVERITY_RANK, link=link, sort_script=SORT_SCRIPT, shares=shares)


def default_address_link(address: str) -> str:
    return f"/api/v1/reports/address/{address}?format=html"


def default_pattern_link(pattern_id: int) -> str:
    return f"/api/v1/patterns/{pattern_id}?format=html"


def pattern_page(session: Session, pattern_id: int,
                 address_link: Callable[[str], str] = default_address_link) -> str:
    """The whole pattern: its sentence, the picture of its flows with every member's role,
    the members with their risk (linked to their address pages) and its transfers."""
    from monitor.reports.patterns import pattern_picture, pattern_report

    return _env.get_template("pattern.html.j2").render(
        p=pattern_report(session, pattern_id), graph=pattern_picture(session, pattern_id),
        address_link=address_link, generated_at=now_iso())


def address_page(session: Session, address: str, transfers: int = 200,
                 pattern_link: Callable[[int], str] = default_pattern_link) -> str:
    """The address on every chain it is active on: per chain, per token risk, reasons with
    evidence, flow picture, counterparties and timeline; across chains, its bridge
    transfers and a picture joining its chains by them."""
    chains = address_chains(session, address)
    rows, bridge_count = address_bridge_transfers(session, address)
    bridge_token_map = bridge_tokens(session, rows)
    bridges = [bridge_item(row, bridge_token_map) for row in rows]
    cards: dict[int, list[dict[str, Any]]] = {}
    activities: dict[int, list[tuple[Token, list[Flow], int]]] = {}
    for token, found, entry in token_entries(session, address, transfers, 25):
        reasons = entry["score"]["reasons"] if entry["score"] else []
        entry["evidence"] = {tx for reason in reasons for tx in reason["evidence"]}
        entry["graph"] = flow_graph(session, token, address, found.flows,
                                    found.counterparties, entry["evidence"])
        cards.setdefault(token.chain_id, []).append(entry)
        activities.setdefault(token.chain_id, []).append(
            (token, found.flows, found.counterparties))
    seen = {c["chain_id"] for c in chains} | {
        chain for row in rows for chain in (row.source_chain_id, row.destination_chain_id)
        if chain is not None}
    names = chain_names(session, seen)
    across = None
    if len(chains) > 1 or rows:
        across = chains_graph(address, [c["chain_id"] for c in chains], activities, rows,
                              bridge_token_map, names)
    for chain in chains:
        chain["cards"] = cards.get(chain["chain_id"], [])
        # Counted where the side's event is stored, as address_chains lists chains.
        chain["bridged_out"] = sum(
            1 for b in bridges if (b["sender"] or "").lower() == address
            and b["source_tx_hash"] and b["source_chain_id"] == chain["chain_id"])
        chain["bridged_in"] = sum(
            1 for b in bridges if (b["recipient"] or "").lower() == address
            and b["destination_tx_hash"] and b["destination_chain_id"] == chain["chain_id"])
    return _env.get_template("address.html.j2").render(
        address=checksum(address), chains=chains, labels=address_labels(session, address),
        bridges=bridges, bridge_count=bridge_count, across=across, chain_names=names,
        generated_at=now_iso(), pattern_link=pattern_link)
