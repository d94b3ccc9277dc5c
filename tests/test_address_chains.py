"""One address across chains (issue 22, part 4): the address report lists every chain the
address is active on, its tokens there with risk and reasons, and its bridge transfers in
and out with exact amounts; the HTML page has a section per chain and a picture joining
them by the bridge transfers. Rows are written directly (tests/support/crosschain.py)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from models import BridgeTransfer, Token
from monitor.amounts import scaled, shown
from monitor.reports import html
from monitor.reports.address import address_report
from monitor.reports.bridges import bridge_item
from monitor.reports.profile import address_profile
from support.crosschain import (
    ALICE,
    ARB_TOKEN,
    ARBITRUM,
    BASE,
    BOB,
    BRIDGED_RECEIVED,
    BRIDGED_SENT,
    ETH_TOKEN,
    ETHEREUM,
    FAN_IN_REASON,
    LINKED_GUID,
    OP,
    OP_TOKEN,
    PAID_REASON,
    PENDING_DIGEST,
    PENDING_FEE,
    PENDING_SENT,
    ROSE,
    RUTH,
    write_cross_chain,
)

BRIDGE_FIELDS = ("protocol", "message_id", "status", "source_chain_id", "source_tx_hash",
                 "sender", "destination_chain_id", "destination_tx_hash", "recipient",
                 "amount_sent", "amount_received", "sent_at", "received_at")


def _checksummed(address: str) -> str:
    from monitor.addresses import checksum

    return checksum(address)


def test_the_report_lists_both_chains_and_the_bridge_transfers_both_ways(
    pg_url: str, make_sessions: Any
) -> None:
    sessions = make_sessions(pg_url)
    write_cross_chain(sessions)
    with sessions() as session:
        report = address_report(session, ALICE)

    # Both chains where ALICE did something, by chain id; not OP, where her pending send
    # has not arrived (and it was not hers to receive).
    assert [(c["chain_id"], c["name"]) for c in report["chains"]] == [
        (ETHEREUM, "ethereum"), (ARBITRUM, "arbitrum")]
    by_chain = {c["chain_id"]: c["tokens"] for c in report["chains"]}
    [eth], [arb] = by_chain[ETHEREUM], by_chain[ARBITRUM]
    assert (arb["token"].lower(), arb["risk"], arb["risk_score"], arb["severity"]) == (
        ARB_TOKEN, 82, 82, "high")
    assert [r["rule"] for r in arb["reasons"]] == [FAN_IN_REASON["rule"]]
    assert arb["reasons"][0]["evidence"] == FAN_IN_REASON["evidence"]
    assert arb["in_value"] == "6000" and arb["scored"] is True
    assert (eth["token"].lower(), eth["risk"], eth["reasons"][0]["rule"]) == (
        ETH_TOKEN, 35, PAID_REASON["rule"])
    assert eth["out_value"] == "7"  # 7,000,000 base units, 6 decimals

    # The keys the report had before chains keep their meaning: every scored token.
    assert [t["token"].lower() for t in report["tokens"]] == [ETH_TOKEN, ARB_TOKEN]
    assert "risk" not in report["tokens"][0] and report["address"] == _checksummed(ALICE)

    # Newest first: the pending CCTP v2 burn on Ethereum, then the linked OFT bridge from
    # Arbitrum into Ethereum, each with exact amounts scaled by its side's decimals.
    assert report["bridge_transfer_count"] == 2
    pending, linked = report["bridge_transfers"]
    assert all(set(BRIDGE_FIELDS) <= set(item) for item in (pending, linked))
    assert linked == {
        "protocol": "layerzero-oft", "message_id": LINKED_GUID, "status": "linked",
        "source_chain_id": ARBITRUM, "source_token": _checksummed(ARB_TOKEN),
        "source_tx_hash": f"0x{0xA110:064x}", "sender": _checksummed(ALICE),
        "destination_chain_id": ETHEREUM, "destination_token": _checksummed(ETH_TOKEN),
        "destination_tx_hash": f"0x{0xE490:064x}", "recipient": _checksummed(ALICE),
        "amount_sent": "123456789012.345678901234567891",
        "amount_received": "123456789012.345678", "symbol": "USDY",
        "sent_at": "2026-03-01T12:30:00Z", "received_at": "2026-03-01T12:33:00Z"}
    assert linked["amount_sent"] == scaled(BRIDGED_SENT, 18)
    assert linked["amount_received"] == scaled(BRIDGED_RECEIVED, 6)
    assert (pending["status"], pending["protocol"], pending["message_id"]) == (
        "pending", "cctp-v2", PENDING_DIGEST)
    assert (pending["source_chain_id"], pending["destination_chain_id"]) == (ETHEREUM, OP)
    assert (pending["sender"], pending["recipient"]) == (_checksummed(ALICE), _checksummed(BOB))
    assert (pending["destination_tx_hash"], pending["received_at"]) == (None, None)
    # Not received yet: what the send says will arrive, in the source token's decimals.
    assert pending["amount_sent"] == scaled(PENDING_SENT, 6) == "5000000.123456"
    assert pending["amount_received"] == scaled(PENDING_SENT - PENDING_FEE, 6)


def test_a_chain_reached_only_by_a_bridge_receipt_is_listed(pg_url: str,
                                                            make_sessions: Any) -> None:
    """ROSE has no transfer and no score row: her receipt on OP lists OP with its token,
    not scored yet; RUTH's on Base (no chains row, no registered token) lists Base bare."""
    sessions = make_sessions(pg_url)
    write_cross_chain(sessions)
    with sessions() as session:
        rose, ruth = address_report(session, ROSE), address_report(session, RUTH)
    [chain] = rose["chains"]
    assert (chain["chain_id"], chain["name"]) == (OP, "op")
    [token] = chain["tokens"]
    assert (token["token"].lower(), token["risk"], token["reasons"], token["scored"]) == (
        OP_TOKEN, None, [], False)
    assert token["in_value"] is None and rose["tokens"] == []
    [received] = rose["bridge_transfers"]
    assert (received["recipient"], received["amount_received"]) == (_checksummed(ROSE), "2.5")
    assert ruth["chains"] == [{"chain_id": BASE, "name": None, "tokens": []}]
    [received] = ruth["bridge_transfers"]
    # Base's token is not registered: the amount received stays in base units.
    assert (received["destination_token"], received["amount_received"]) == (None, "9000000")


def test_an_address_never_seen_has_no_chains(pg_url: str, make_sessions: Any) -> None:
    sessions = make_sessions(pg_url)
    write_cross_chain(sessions)
    with sessions() as session:
        report = address_report(session, "0x" + "5" * 40)
        page = html.address_page(session, "0x" + "5" * 40)
    assert (report["chains"], report["tokens"], report["bridge_transfers"]) == ([], [], [])
    assert "No transfer of a registered token touches this address." in page


def test_bridge_item_is_the_one_shape(pg_url: str, make_sessions: Any) -> None:
    """GET /api/v1/bridge-transfers and the address report build items alike."""
    sessions = make_sessions(pg_url)
    write_cross_chain(sessions)
    with sessions() as session:
        row = session.scalars(select(BridgeTransfer).where(
            BridgeTransfer.message_id == LINKED_GUID)).one()
        tokens = {t.id: t for t in session.scalars(select(Token))}
        item = bridge_item(row, tokens)
        bare = bridge_item(row, {})  # tokens unknown: base units, no token, no symbol
    assert [k for k in item if k in BRIDGE_FIELDS] == list(BRIDGE_FIELDS)
    assert (bare["amount_sent"], bare["amount_received"]) == (str(BRIDGED_SENT),
                                                              str(BRIDGED_RECEIVED))
    assert (bare["source_token"], bare["destination_token"], bare["symbol"]) == (None, None, None)


def test_the_page_has_a_section_per_chain_and_draws_the_bridges(pg_url: str,
                                                                make_sessions: Any) -> None:
    sessions = make_sessions(pg_url)
    # A chain name is configuration, shown on a page: it is escaped like everything else.
    write_cross_chain(sessions, op_name="<b>op</b>")
    with sessions() as session:
        page = html.address_page(session, ALICE)
        profile = address_profile(session, ALICE)

    for chain_id, name in ((ETHEREUM, "ethereum"), (ARBITRUM, "arbitrum")):
        assert f'<section class="chain" id="chain-{chain_id}">' in page
        assert f"{name} (chain {chain_id})" in page
    assert "<b>op</b>" not in page and "&lt;b&gt;op&lt;/b&gt; (chain 10)" in page

    [across] = re.findall(r'<svg class="flow chains".*?</svg>', page, re.DOTALL)
    groups = re.findall(r'<g class="chain-group">.*?<text[^>]*>([^<]*)</text>', across,
                        re.DOTALL)
    assert groups == ["ethereum · chain 1", "arbitrum · chain 42161",
                      "&lt;b&gt;op&lt;/b&gt; · chain 10"]
    assert across.count('class="edge bridge linked"') == 1
    assert across.count('class="edge bridge pending"') == 1
    assert 'stroke-dasharray="9 5"' in across and 'stroke-dasharray="3 4"' in across
    labels = re.findall(r'<text class="bridge-label"[^>]*>([^<]*)</text>', across)
    assert sorted(labels) == sorted([
        f"layerzero-oft {shown(BRIDGED_SENT, 18)} USDY",
        f"cctp-v2 {shown(PENDING_SENT, 6)} USDY, pending"])
    # The subject is one node per chain it is active on; BOB waits on OP.
    assert across.count('<g class="node subject">') == 2
    assert "0xB0b0…b0b0" in across or "0xb0b0" in across.lower()

    # The bridge table: both transfers, both tx hashes (full in the title), exact amounts
    # grouped for people.
    [table] = re.findall(r'<table class="bridges">.*?</table>', page, re.DOTALL)
    for tx in (0xA110, 0xE490, 0xE510):
        assert f'title="0x{tx:064x}"' in table
    assert "123,456,789,012.345678901234567891 USDY" in table
    assert "123,456,789,012.345678 USDY" in table
    assert "not received yet" in table

    # Each token still has its own card with reasons and evidence.
    assert FAN_IN_REASON["detail"] in page and FAN_IN_REASON["evidence"][0] in page

    # The profile (GET /api/v1/addresses/{address}) carries the same chains and bridges.
    assert [c["chain_id"] for c in profile["chains"]] == [ETHEREUM, ARBITRUM]
    assert [b["message_id"] for b in profile["bridge_transfers"]] == [PENDING_DIGEST,
                                                                      LINKED_GUID]


def test_the_picture_sums_bridges_exactly_and_keeps_u_turns_apart() -> None:
    """Two sends between the same nodes are one edge with their exact sum; a U-turn back
    bends the other way; a receipt whose send is unknown comes from a placeholder on a
    box of its own; the address's own slot towards the other chain stays clear."""
    from models import BridgeTransfer as Row
    from monitor.reports.flowgraph import chains_graph
    from monitor.reports.profile import Flow

    one = Token(id=1, chain_id=1, address=ETH_TOKEN, symbol="USDY", decimals=18)
    two = Token(id=2, chain_id=2, address=ARB_TOKEN, symbol="USDY", decimals=18)

    def send(source: int, destination: int, amount: int) -> Row:
        return Row(protocol="layerzero-oft", status="linked", source_chain_id=source,
                   source_token_id=source, sender=ALICE, destination_chain_id=destination,
                   destination_token_id=destination, recipient=ALICE, amount_sent=amount,
                   source_tx_hash="0x1", destination_tx_hash="0x2")

    receipt = Row(protocol="cctp-v1", status="pending", destination_chain_id=2,
                  destination_token_id=2, recipient=ALICE, amount_received=5 * 10**18,
                  destination_tx_hash="0x3")
    flows = {1: [(one, [Flow("0x" + f"{k:02x}" * 20, 10**18 * k, 0, 1, 0)
                        for k in range(1, 12)], 30)]}
    graph = chains_graph(ALICE, [1, 2], flows,
                         [send(1, 2, 2**200 + 1), send(1, 2, 2**200 + 2), send(2, 1, 7),
                          receipt], {1: one, 2: two}, {1: "ethereum", 2: "arbitrum"})
    assert [g.label for g in graph.groups] == ["ethereum · chain 1", "arbitrum · chain 2",
                                               "other side not known yet"]
    bridges = {e.bridge: e for e in graph.edges if e.bridge}
    there = bridges[f"layerzero-oft {shown(2**201 + 3, 18)} USDY (2 transfers)"]
    back = bridges["layerzero-oft 0.000000000000000007 USDY"]
    assert there.value == scaled(2**201 + 3, 18) and there.transfers == 2
    # Opposite directions, the same sign: each bends to its own left, so they part.
    assert there.bend and there.bend == back.bend and there.path != back.path
    unknown = bridges["cctp-v1 received 5 USDY, pending"]
    assert (unknown.source.role, unknown.source.label) == ("unknown", "sender not known yet")
    assert len([n for n in graph.nodes if n.role == "subject"]) == 2
    subject = next(n for n in graph.nodes if n.role == "subject" and n.x < 360)
    # Nothing sits between the address and the chain it bridges to (east of it).
    assert not [n for n in graph.nodes if n.role == "counterparty" and n.x > subject.x
                and abs(n.y - subject.y) < 20 and n.x < 360]
    assert graph.omitted == 30 - 10 and graph.width <= 1080


def test_the_cli_writes_the_same_report(pg_url: str, make_sessions: Any, capsys: Any,
                                        monkeypatch: Any, tmp_path: Any) -> None:
    import json

    from support.cli import run_cli

    write_cross_chain(make_sessions(pg_url))
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)
    result = run_cli(capsys, "report", "address", ALICE)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert [c["chain_id"] for c in report["chains"]] == [ETHEREUM, ARBITRUM]
    assert [b["message_id"] for b in report["bridge_transfers"]] == [PENDING_DIGEST,
                                                                     LINKED_GUID]
    page = tmp_path / "alice.html"
    result = run_cli(capsys, "report", "address", ALICE, "--format", "html", "--output",
                     str(page))
    assert result.code == 0, result.err
    assert page.read_text().count('class="edge bridge ') == 2
