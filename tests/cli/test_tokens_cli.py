import json
from collections.abc import Iterator

import pytest

from monitor.settings import MAX_CHAIN_ID
from support.anvil import Anvil, free_port, run_anvil
from support.cli import assert_one_line_error, run_cli, run_cli_process
from support.stub_token import BEYOND_THE_SCHEMA, install_metadata_stub
from support.token import deploy

BUIDL = "0x7712c34205737192402172409a8F7ccef8aA2AEc"


@pytest.fixture
def cli_db(any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AMLMON_DATABASE_URL", any_db_url)
    monkeypatch.delenv("AMLMON_RPC_URLS", raising=False)
    return any_db_url


def test_add_and_list(cli_db: str, capsys) -> None:
    result = run_cli(capsys, "token", "add", "--chain-id", "1", "--address", BUIDL,
                     "--name", "BlackRock USD Institutional Digital Liquidity Fund",
                     "--symbol", "BUIDL", "--decimals", "6", "--standard", "erc3643",
                     "--start-block", "19000000")
    assert result.code == 0, result.err
    assert BUIDL in result.out
    listed = run_cli(capsys, "token", "list", "--format", "json")
    assert listed.code == 0
    rows = json.loads(listed.out)
    assert rows == [{
        "id": rows[0]["id"], "chain_id": 1, "address": BUIDL,
        "name": "BlackRock USD Institutional Digital Liquidity Fund", "symbol": "BUIDL",
        "decimals": 6, "standard": "erc3643", "start_block": 19000000, "synced_block": None,
    }]
    table = run_cli(capsys, "token", "list")
    assert table.code == 0 and "BUIDL" in table.out


def test_same_address_on_another_chain_is_a_different_token(cli_db: str, capsys) -> None:
    for chain in ("1", "137"):
        assert run_cli(capsys, "token", "add", "--chain-id", chain, "--address", BUIDL,
                       "--decimals", "6").code == 0
    assert len(json.loads(run_cli(capsys, "token", "list", "--format", "json").out)) == 2


def test_duplicate_is_refused(cli_db: str, capsys) -> None:
    assert run_cli(capsys, "token", "add", "--chain-id", "1", "--address", BUIDL,
                   "--decimals", "6").code == 0
    # Same address in lower case is the same token.
    again = run_cli(capsys, "token", "add", "--chain-id", "1", "--address", BUIDL.lower(),
                    "--decimals", "6")
    assert_one_line_error(again, "already registered on chain 1")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--chain-id", "31337", "--address", "0xZZ"], "must be 40 hex digits"),
        (["--chain-id", "31337", "--address", "7712c34205737192402172409a8f7ccef8aa2aec"],
         "must start with 0x"),
        (["--chain-id", "31337", "--address", "0x" + "g" * 40], "non-hex"),
        (["--chain-id", "31337", "--address", BUIDL[:-1] + "C"], "invalid EIP-55 checksum"),
        (["--chain-id", "0", "--address", BUIDL], "--chain-id"),
        (["--chain-id", "one", "--address", BUIDL], "--chain-id"),
        (["--address", BUIDL], "Missing option '--chain-id'"),
        (["--chain-id", "1"], "Missing option '--address'"),
        (["--chain-id", "1", "--address", BUIDL, "--decimals", "78"], "--decimals"),
        (["--chain-id", "1", "--address", BUIDL, "--start-block", "-5"], "--start-block"),
        (["--chain-id", "1", "--address", BUIDL, "--standard", "erc721"], "--standard"),
        (["--chain-id", "1", "--address", BUIDL, "--bogus"], "No such option"),
        # Chain ids fit the BIGINT column within EIP-2294's bound; SQLite overflowed before.
        (["--chain-id", "99999999999999999999999", "--address", BUIDL], "--chain-id"),
        (["--chain-id", str(MAX_CHAIN_ID + 1), "--address", BUIDL], "--chain-id"),
        (["--chain-id", "1", "--address", BUIDL, "--start-block", str(2**63)], "--start-block"),
        (["--chain-id", "1", "--address", BUIDL, "--decimals", "6", "--symbol", "S" * 33],
         "symbol is 33 characters long; the limit is 32"),
        (["--chain-id", "1", "--address", BUIDL, "--decimals", "6", "--name", "N" * 129],
         "name is 129 characters long; the limit is 128"),
    ],
)
def test_bad_input_is_one_line(cli_db: str, capsys, args: list[str], fragment: str) -> None:
    assert_one_line_error(run_cli(capsys, "token", "add", *args), fragment)
    assert json.loads(run_cli(capsys, "token", "list", "--format", "json").out) == []


def test_unmigrated_database_says_what_to_do(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert_one_line_error(run_cli(capsys, "token", "list"), "amlmon db upgrade")


def test_bad_address_end_to_end_in_a_real_process(tmp_path) -> None:
    env = {"AMLMON_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    assert run_cli_process("db", "upgrade", env=env).code == 0
    result = run_cli_process("token", "add", "--chain-id", "31337", "--address", "0xZZ", env=env)
    assert_one_line_error(result, "0xZZ")


def test_help_everywhere(capsys) -> None:
    for args in (["--help"], ["db", "--help"], ["db", "upgrade", "--help"], ["token", "--help"],
                 ["token", "add", "--help"], ["token", "list", "--help"]):
        result = run_cli(capsys, *args)
        assert result.code == 0 and "Usage:" in result.out, args


def test_db_upgrade_on_a_new_sqlite_file(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", f"sqlite:///{tmp_path / 'sub' / 'new.db'}")
    result = run_cli(capsys, "db", "upgrade")
    assert result.code == 0 and "at revision" in result.out
    assert run_cli(capsys, "token", "list").code == 0


def test_db_upgrade_unreachable_postgres(monkeypatch, capsys) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", "postgresql://nobody:pw@127.0.0.1:1/none")
    result = run_cli(capsys, "db", "upgrade")
    assert_one_line_error(result, "database error")
    assert "pw" not in result.err


def test_metadata_is_read_from_the_contract(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", sqlite_url)
    with run_anvil() as node:
        token = deploy(node, name="Futian Digital Bond", symbol="FTID", decimals=2)
        monkeypatch.setenv("AMLMON_RPC_URLS", node.url)
        result = run_cli(capsys, "token", "add", "--chain-id", "31337", "--address", token.address)
        assert result.code == 0, result.err
        wrong_chain = run_cli(capsys, "token", "add", "--chain-id", "1", "--address",
                              token.address)
        not_a_contract = run_cli(capsys, "token", "add", "--chain-id", "31337", "--address",
                                 "0x" + "12" * 20)
    rows = json.loads(run_cli(capsys, "token", "list", "--format", "json").out)
    assert [(r["name"], r["symbol"], r["decimals"]) for r in rows] == [
        ("Futian Digital Bond", "FTID", 2)
    ]
    assert_one_line_error(wrong_chain, "serves chain 31337, not 1")
    assert_one_line_error(not_a_contract, "no contract deployed")


def test_largest_chain_id_is_accepted(cli_db: str, capsys) -> None:
    result = run_cli(capsys, "token", "add", "--chain-id", str(MAX_CHAIN_ID), "--address", BUIDL,
                     "--decimals", "6", "--start-block", str(2**63 - 1))
    assert result.code == 0, result.err
    assert run_cli(capsys, "token", "list", "--chain-id", str(MAX_CHAIN_ID + 1)).code != 0
    listed = run_cli(capsys, "token", "list", "--chain-id", str(MAX_CHAIN_ID), "--format", "json")
    assert [row["chain_id"] for row in json.loads(listed.out)] == [MAX_CHAIN_ID]


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with run_anvil() as anvil:
        yield anvil


@pytest.mark.parametrize(("name", "symbol", "decimals", "fragment"), BEYOND_THE_SCHEMA)
def test_contract_metadata_beyond_the_schema_is_refused(
    cli_db: str, node: Anvil, monkeypatch: pytest.MonkeyPatch, capsys,
    name: str, symbol: str, decimals: int, fragment: str,
) -> None:
    address = install_metadata_stub(node, name, symbol, decimals)
    monkeypatch.setenv("AMLMON_RPC_URLS", node.url)
    result = run_cli(capsys, "token", "add", "--chain-id", "31337", "--address", address)
    assert_one_line_error(result, fragment)
    assert "give it explicitly" in result.err
    assert json.loads(run_cli(capsys, "token", "list", "--format", "json").out) == []


def test_given_metadata_overrides_what_the_contract_cannot_store(
    cli_db: str, node: Anvil, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    address = install_metadata_stub(node, "Fine", "S" * 40, 200)
    monkeypatch.setenv("AMLMON_RPC_URLS", node.url)
    result = run_cli(capsys, "token", "add", "--chain-id", "31337", "--address", address,
                     "--symbol", "SHORT", "--decimals", "6")
    assert result.code == 0, result.err
    rows = json.loads(run_cli(capsys, "token", "list", "--format", "json").out)
    assert [(r["name"], r["symbol"], r["decimals"]) for r in rows] == [("Fine", "SHORT", 6)]


def test_an_unreachable_node_is_named_without_its_key(
    cli_db: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v3/K3yInPath0123456789?apikey=K3yInQuery"
    monkeypatch.setenv("AMLMON_RPC_URLS", url)
    result = run_cli(capsys, "token", "add", "--chain-id", "1", "--address", BUIDL)
    assert_one_line_error(result, "cannot read token metadata from the node http://127.0.0.1:")
    assert "K3yIn" not in result.err
