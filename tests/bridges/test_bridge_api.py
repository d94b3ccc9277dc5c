"""GET /api/v1/bridge-transfers on the real app over HTTP: authenticated, filtered, paged,
bad parameters answered 422 with a message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from monitor import db
from monitor.addresses import checksum
from monitor.amounts import scaled
from monitor.api.app import create_app
from monitor.apikeys import create_key
from monitor.bridges.linking import BridgeRef, write_events
from monitor.bridges.registry import add_bridge
from monitor.chain.bridge_decode import BridgeRecord
from monitor.settings import Settings
from monitor.tokens import add_token
from support.api import client, serve_app

ALICE, BOB, CAROL = ("0x" + c * 20 for c in ("a1", "b2", "c3"))
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _history(sessions: sessionmaker[Session]) -> None:
    """Three OFT messages 1 -> 8453: two linked, one pending; one of them Carol's."""
    refs = {}
    with db.transaction(sessions) as session:
        for chain, eid in ((1, 30101), (8453, 30184)):
            token = add_token(session, chain_id=chain, address="0x" + "0d" * 20, decimals=18)
            bridge = add_bridge(session, chain_id=chain, address=token.address,
                                protocol="layerzero-oft", endpoint_id=eid)
            refs[chain] = {bridge.address: BridgeRef(bridge.id, bridge.protocol, eid,
                                                     token.address)}
    oft = "0x" + "0d" * 20
    times = {n: T0 + timedelta(seconds=n) for n in range(1, 20)}

    def record(block: int, side: str, key: int, who: str, amount: int) -> BridgeRecord:
        return BridgeRecord(block, "0x" + f"{block:064x}", "0x" + f"{block:064x}", 0, oft,
                            "layerzero-oft", side, "0x" + f"{key:064x}",
                            30184 if side == "source" else 30101, who, None, amount,
                            amount if side == "source" else None)

    with db.transaction(sessions) as session:
        write_events(session, 1, refs[1], [record(1, "source", 1, ALICE, 2**255),
                                           record(2, "source", 2, ALICE, 3),
                                           record(3, "source", 3, CAROL, 4)], times)
        write_events(session, 8453, refs[8453], [record(5, "destination", 1, BOB, 2**255),
                                                 record(6, "destination", 2, BOB, 3)], times)


def test_bridge_transfers_api(pg_url: str, make_sessions) -> None:
    sessions = make_sessions(pg_url)
    _history(sessions)
    with db.transaction(sessions) as session:
        _, key = create_key(session, "viewer-key", "viewer")
    settings = Settings(database_url=pg_url, rules_file=None)
    with serve_app(create_app(settings, sessions)) as base, client(base, key) as http:
        with client(base) as anonymous:
            assert anonymous.get("/api/v1/bridge-transfers").status_code == 401
        page = http.get("/api/v1/bridge-transfers").json()
        assert page["next_cursor"] is None
        items = page["items"]
        assert [i["message_id"][-1] for i in items] == ["3", "2", "1"]
        assert set(items[0]) == {
            "protocol", "message_id", "status", "source_chain_id", "source_tx_hash", "sender",
            "destination_chain_id", "destination_tx_hash", "recipient", "amount_sent",
            "amount_received", "sent_at", "received_at", "source_token", "destination_token",
            "symbol"}
        first = items[2]
        assert (first["status"], first["amount_sent"], first["amount_received"]) == (
            "linked", scaled(2**255, 18), scaled(2**255, 18))
        assert (first["sender"], first["recipient"]) == (checksum(ALICE), checksum(BOB))
        assert (first["source_chain_id"], first["destination_chain_id"]) == (1, 8453)
        assert first["sent_at"] == "2026-03-01T00:00:01Z"
        assert items[0]["status"] == "pending" and items[0]["received_at"] is None

        statuses = http.get("/api/v1/bridge-transfers", params={"status": "pending"}).json()
        assert [i["sender"] for i in statuses["items"]] == [checksum(CAROL)]
        bobs = http.get("/api/v1/bridge-transfers", params={"address": checksum(BOB)}).json()
        assert len(bobs["items"]) == 2
        # Paged by the database: follow next_cursor to the end.
        seen, cursor = [], None
        while True:
            params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            reply = http.get("/api/v1/bridge-transfers", params=params).json()
            seen += [i["message_id"] for i in reply["items"]]
            cursor = reply["next_cursor"]
            if cursor is None:
                break
        assert seen == [i["message_id"] for i in items]

        for params in ({"status": "lost"}, {"address": "0x12"}, {"limit": 0},
                       {"limit": 501}, {"cursor": "-1"}):
            bad = http.get("/api/v1/bridge-transfers", params=params)
            assert bad.status_code == 422, params
            assert bad.json()["error"], params
