"""POST /api/v1/tokens: chain ids and metadata, given or read from the contract, are held
to the schema's limits with a 4xx naming the field (Postgres answered a bare 500)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from monitor import db
from monitor.api.app import create_app
from monitor.apikeys import create_key
from monitor.settings import MAX_CHAIN_ID, Settings
from support.anvil import Anvil, run_anvil
from support.api import client, serve_app
from support.stub_token import BEYOND_THE_SCHEMA, install_metadata_stub

BUIDL = "0x7712c34205737192402172409a8F7ccef8aA2AEc"


@dataclass
class Served:
    http: httpx.Client
    node: Anvil


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with run_anvil() as anvil:
        yield anvil


@pytest.fixture
def served(pg_url: str, node: Anvil) -> Iterator[Served]:
    engine = db.make_engine(pg_url)
    try:
        sessions = db.session_factory(engine)
        with db.transaction(sessions) as session:
            key = create_key(session, "admin", "admin")[1]
        settings = Settings(database_url=pg_url, rules_file=None, rpc_urls=[node.url])
        with serve_app(create_app(settings, sessions)) as base, client(base, key) as http:
            yield Served(http, node)
    finally:
        engine.dispose()


def tokens(served: Served) -> list[dict[str, object]]:
    reply = served.http.get("/api/v1/tokens")
    assert reply.status_code == 200
    return list(reply.json()["items"])


GIVEN = {"name": "Fine", "symbol": "FINE", "decimals": 6}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"chain_id": MAX_CHAIN_ID + 1, **GIVEN}, "chain_id"),
        ({"chain_id": 99999999999999999999999, **GIVEN}, "chain_id"),
        ({"chain_id": 0, **GIVEN}, "chain_id"),
        ({"chain_id": 1, **GIVEN, "symbol": "S" * 33}, "symbol"),
        ({"chain_id": 1, **GIVEN, "name": "N" * 129}, "name"),
        ({"chain_id": 1, **GIVEN, "decimals": 78}, "decimals"),
        ({"chain_id": 1, **GIVEN, "start_block": 2**63}, "start_block"),
    ],
)
def test_given_values_beyond_the_schema_are_422_naming_the_field(
    served: Served, body: dict[str, object], field: str
) -> None:
    reply = served.http.post("/api/v1/tokens", json={"address": BUIDL, **body})
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"].startswith(f"{field}:"), reply.text
    assert tokens(served) == []


def test_the_largest_chain_id_is_accepted(served: Served) -> None:
    reply = served.http.post("/api/v1/tokens",
                             json={"chain_id": MAX_CHAIN_ID, "address": BUIDL, **GIVEN})
    assert reply.status_code == 201, reply.text
    assert [t["chain_id"] for t in tokens(served)] == [MAX_CHAIN_ID]


@pytest.mark.parametrize(("name", "symbol", "decimals", "message"), BEYOND_THE_SCHEMA)
def test_contract_metadata_beyond_the_schema_is_400_naming_the_field(
    served: Served, name: str, symbol: str, decimals: int, message: str
) -> None:
    address = install_metadata_stub(served.node, name, symbol, decimals)
    reply = served.http.post("/api/v1/tokens", json={"chain_id": 31337, "address": address})
    assert reply.status_code == 400, reply.text
    assert reply.json() == {"error": f"{message} (give it explicitly instead)"}
    assert tokens(served) == []
    # Given explicitly, the contract's values are not needed and the token registers.
    fixed = served.http.post("/api/v1/tokens", json={"chain_id": 31337, "address": address,
                                                     **GIVEN})
    assert fixed.status_code == 201, fixed.text
