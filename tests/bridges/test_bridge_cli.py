"""`amlmon bridge add|list|remove|transfers` on both database backends; the config file's
bridges; linking written straight from records (CCTP v2's content keys in order)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Alert, AuditEvent, Bridge, BridgeTransfer
from monitor import db
from monitor.addresses import checksum
from monitor.bridges.integrity import expire_unmatched
from monitor.bridges.linking import BridgeRef, write_events
from monitor.bridges.registry import add_bridge, sync_config_bridges, sync_settings
from monitor.chain.bridge_decode import BridgeRecord
from monitor.errors import UserError
from monitor.settings import BridgeSettings, Settings
from monitor.tokens import add_token
from support.cli import assert_one_line_error, run_cli

USDY = "0x96F6eF951840721AdBF46Ac996b59E0235CB985C"
ALICE, BOB = "0x" + "a1" * 20, "0x" + "b2" * 20
ALICE_CS = checksum(ALICE)


@pytest.fixture
def cli_db(any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AMLMON_DATABASE_URL", any_db_url)
    monkeypatch.delenv("AMLMON_RPC_URLS", raising=False)
    return any_db_url


@pytest.fixture
def sessions(cli_db: str) -> Iterator[sessionmaker[Session]]:
    engine = db.make_engine(cli_db)
    yield db.session_factory(engine)
    engine.dispose()


def test_add_list_remove_with_the_mainnet_table(cli_db: str, sessions, capsys) -> None:
    added = run_cli(capsys, "bridge", "add", "--chain-id", "5000", "--address", USDY,
                    "--protocol", "layerzero-oft", "--start-block", "100")
    assert added.code == 0, added.err
    assert "endpoint id 30181" in added.out  # Mantle's EID, from the table
    listed = json.loads(run_cli(capsys, "bridge", "list", "--format", "json").out)
    assert listed == [{"id": listed[0]["id"], "chain_id": 5000, "address": USDY,
                       "protocol": "layerzero-oft", "endpoint_id": 30181, "token": None,
                       "start_block": 100, "synced_block": None}]
    assert "layerzero-oft" in run_cli(capsys, "bridge", "list").out
    again = run_cli(capsys, "bridge", "add", "--chain-id", "5000", "--address", USDY.lower(),
                    "--protocol", "layerzero-oft")
    assert_one_line_error(again, "already registered on chain 5000")
    removed = run_cli(capsys, "bridge", "remove", "--chain-id", "5000", "--address", USDY)
    assert removed.code == 0, removed.err
    assert json.loads(run_cli(capsys, "bridge", "list", "--format", "json").out) == []
    assert_one_line_error(run_cli(capsys, "bridge", "remove", "--chain-id", "5000",
                                  "--address", USDY), "no bridge")
    with sessions() as session:
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "bridge").order_by(AuditEvent.id)).all()
    assert actions == ["bridge.add", "bridge.remove"]


@pytest.mark.parametrize(("args", "fragment"), [
    (["--chain-id", "31337", "--address", USDY, "--protocol", "layerzero-oft"],
     "pass --endpoint-id"),
    (["--chain-id", "1", "--address", "0x12", "--protocol", "cctp-v1"], "--address"),
    (["--chain-id", "1", "--address", USDY, "--protocol", "hop"], "--protocol"),
    (["--chain-id", "31337", "--address", USDY, "--protocol", "wormhole-ntt",
      "--endpoint-id", "70000"], "out of range for wormhole-ntt"),
    (["--chain-id", "1", "--address", USDY, "--protocol", "cctp-v1", "--token", USDY],
     "is not registered on chain 1"),
])
def test_bad_input_is_one_line(cli_db: str, capsys, args: list[str], fragment: str) -> None:
    assert_one_line_error(run_cli(capsys, "bridge", "add", *args), fragment)


def test_config_bridges_are_registered_once_and_must_agree(sessions) -> None:
    entries = [BridgeSettings(chain_id=1, address=USDY, protocol="layerzero-oft"),
               BridgeSettings(chain_id=31337, address=ALICE, protocol="cctp-v2",
                              endpoint_id=77, start_block=5)]
    settings = Settings(database_url="sqlite://", rules_file=None, bridges=entries)
    assert len(sync_settings(sessions, settings)) == 2
    with db.transaction(sessions) as session:
        assert sync_config_bridges(session, entries) == []
        found = {b.chain_id: (b.protocol, b.endpoint_id, b.start_block)
                 for b in session.scalars(select(Bridge))}
    assert found == {1: ("layerzero-oft", 30101, 0), 31337: ("cctp-v2", 77, 5)}
    clash = [BridgeSettings(chain_id=1, address=USDY, protocol="wormhole-ntt")]
    with db.transaction(sessions) as session, pytest.raises(UserError, match=r"bridges\[0\]"):
        sync_config_bridges(session, clash)
    unknown = [BridgeSettings(chain_id=999, address=BOB, protocol="cctp-v1")]
    with db.transaction(sessions) as session, pytest.raises(UserError, match="--endpoint-id"):
        sync_config_bridges(session, unknown)


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _record(block: int, index: int, bridge: str, protocol: str, side: str, key: str,
            address: str, amount: int, peer: int, counterparty: str | None = None,
            received: int | None = None) -> BridgeRecord:
    return BridgeRecord(block, "0x" + f"{block:064x}", "0x" + f"{block * 100 + index:064x}",
                        index, bridge, protocol, side, key, peer, address, counterparty,
                        amount, received)


def _setup(sessions: sessionmaker[Session]) -> dict[int, dict[str, BridgeRef]]:
    refs: dict[int, dict[str, BridgeRef]] = {}
    with db.transaction(sessions) as session:
        for chain, eid, domain in ((1, 30101, 0), (8453, 30184, 6)):
            token = add_token(session, chain_id=chain, address=ALICE.replace("a1", "c3"),
                              decimals=6)
            oft = add_bridge(session, chain_id=chain, address=token.address,
                             protocol="layerzero-oft", endpoint_id=eid)
            cctp = add_bridge(session, chain_id=chain, address="0x" + f"{chain:040x}",
                              protocol="cctp-v2", endpoint_id=domain, token=token.address)
            refs[chain] = {b.address: BridgeRef(b.id, b.protocol, b.endpoint_id, token.address)
                           for b in (oft, cctp)}
    return refs


def test_records_link_on_both_backends_and_cctp_v2_twins_pair_in_order(sessions) -> None:
    refs = _setup(sessions)
    oft1, cctp1 = list(refs[1])
    oft2, cctp2 = list(refs[8453])
    guid = "0x" + "99" * 32
    twin = "v2:" + "ab" * 24  # two identical CCTP v2 burns: the same content key
    times = {n: T0 + timedelta(minutes=n) for n in range(1, 40)}
    with db.transaction(sessions) as session:
        write_events(session, 1, refs[1], [
            _record(1, 0, oft1, "layerzero-oft", "source", guid, ALICE, 2**100 + 1, 30184,
                    received=2**100),
            _record(2, 0, cctp1, "cctp-v2", "source", twin, ALICE, 10**6, 6, BOB),
            _record(3, 0, cctp1, "cctp-v2", "source", twin, ALICE, 10**6, 6, BOB),
        ], times)
    with db.transaction(sessions) as session:
        write_events(session, 8453, refs[8453], [
            _record(10, 1, oft2, "layerzero-oft", "destination", guid, BOB, 2**100, 30101),
            _record(11, 0, cctp2, "cctp-v2", "destination", twin, BOB, 10**6 - 7, 0, ALICE),
        ], times)
    with sessions() as session:
        rows = {r.message_id: r for r in session.scalars(select(BridgeTransfer))}
    assert set(rows) == {guid, twin + "#1", twin + "#2"}
    assert rows[guid].status == rows[twin + "#1"].status == "linked"
    assert int(rows[guid].amount_sent) == 2**100 + 1
    assert int(rows[guid].amount_received) == 2**100
    # The first receipt pairs with the first burn; the second burn waits for its own.
    assert rows[twin + "#1"].source_block == 2
    assert int(rows[twin + "#1"].amount_received) == 10**6 - 7
    assert rows[twin + "#2"].status == "pending" and rows[twin + "#2"].recipient == BOB
    # Written again (a replayed batch): nothing new, the same keys.
    with db.transaction(sessions) as session:
        assert write_events(session, 1, refs[1], [
            _record(3, 0, cctp1, "cctp-v2", "source", twin, ALICE, 10**6, 6, BOB)], times) == 0
    with sessions() as session:
        assert len(session.scalars(select(BridgeTransfer)).all()) == 3


def test_transfers_read_paths(sessions, capsys) -> None:
    refs = _setup(sessions)
    oft1, _ = list(refs[1])
    oft2, _ = list(refs[8453])
    times = {n: T0 + timedelta(minutes=n) for n in range(1, 40)}
    with db.transaction(sessions) as session:
        write_events(session, 1, refs[1], [
            _record(1, 0, oft1, "layerzero-oft", "source", "0x" + "01" * 32, ALICE, 5, 30184,
                    received=5),
            _record(2, 0, oft1, "layerzero-oft", "source", "0x" + "02" * 32, BOB, 7, 30184,
                    received=7)], times)
        write_events(session, 8453, refs[8453], [
            _record(3, 0, oft2, "layerzero-oft", "destination", "0x" + "01" * 32, BOB, 5,
                    30101)], times)
    out = run_cli(capsys, "bridge", "transfers", "--format", "json")
    assert out.code == 0, out.err
    items = json.loads(out.out)["items"]
    assert [i["message_id"] for i in items] == ["0x" + "02" * 32, "0x" + "01" * 32]
    assert items[1] == {
        "protocol": "layerzero-oft", "message_id": "0x" + "01" * 32, "status": "linked",
        "source_chain_id": 1, "source_tx_hash": "0x" + f"{100:064x}", "sender": ALICE_CS,
        "destination_chain_id": 8453, "destination_tx_hash": "0x" + f"{300:064x}",
        "recipient": checksum(BOB), "amount_sent": "0.000005", "amount_received": "0.000005",
        "source_token": checksum(oft1), "destination_token": checksum(oft2), "symbol": None,
        "sent_at": "2026-01-01T00:01:00Z", "received_at": "2026-01-01T00:03:00Z"}
    linked = json.loads(run_cli(capsys, "bridge", "transfers", "--status", "linked",
                                "--format", "json").out)["items"]
    assert [i["status"] for i in linked] == ["linked"]
    mine = json.loads(run_cli(capsys, "bridge", "transfers", "--address", ALICE_CS,
                              "--format", "json").out)["items"]
    assert [i["message_id"] for i in mine] == ["0x" + "01" * 32]
    assert "pending" in run_cli(capsys, "bridge", "transfers").out
    assert_one_line_error(run_cli(capsys, "bridge", "transfers", "--address", "0xnope"),
                          "--address")
    assert_one_line_error(run_cli(capsys, "bridge", "transfers", "--status", "lost"),
                          "--status")


def test_a_token_registered_after_its_bridge_still_carries_the_alert(sessions) -> None:
    oft = "0x" + "0f" * 20
    with db.transaction(sessions) as session:
        bridge = add_bridge(session, chain_id=1, address=oft, protocol="layerzero-oft")
        assert bridge.token_id is None  # not a registered token yet
        write_events(session, 1, {oft: BridgeRef(bridge.id, bridge.protocol, 30101, None)}, [
            _record(1, 0, oft, "layerzero-oft", "source", "0x" + "42" * 32, ALICE, 9, 30184,
                    received=9)], {1: T0})
    with db.transaction(sessions) as session:
        token = add_token(session, chain_id=1, address=oft, decimals=18)
    settings = Settings(database_url="sqlite://", rules_file=None)
    assert expire_unmatched(sessions, settings, now=T0 + timedelta(hours=2)) == 1
    with sessions() as session:
        [alert] = session.scalars(select(Alert)).all()
        row = session.scalars(select(BridgeTransfer)).one()
    assert (alert.token_id, alert.address, alert.rule) == (token.id, ALICE, "bridge_unmatched")
    assert row.status == "unmatched" and row.source_token_id == token.id
    # No chain of the destination is known (no bridge with EID 30184): the wall clock ruled.
    assert row.destination_chain_id is None
