import re
from pathlib import Path

import pytest
import yaml

from monitor.settings import ConfigError, Settings, load_settings
from support.cli import assert_one_line_error, run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "monitor.example.yaml"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("AMLMON_") and name != "AMLMON_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no config/monitor.yaml here


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_defaults_need_no_server() -> None:
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.confirmations == 12
    assert settings.rpc_urls == []
    assert settings.chain_id is None


def test_yaml_file_then_environment_overrides(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, "confirmations: 3\nrpc_urls: [http://a]\npoll_interval_seconds: 1\n")
    assert load_settings(path).confirmations == 3
    monkeypatch.setenv("AMLMON_CONFIRMATIONS", "0")
    monkeypatch.setenv("AMLMON_RPC_URLS", "http://x:1, https://y:2")
    settings = load_settings(path)
    assert settings.confirmations == 0
    assert settings.rpc_urls == ["http://x:1", "https://y:2"]
    assert settings.poll_interval_seconds == 1


def test_amlmon_config_variable_and_default_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AMLMON_CONFIG", str(write(tmp_path, "api_port: 9001\n")))
    assert load_settings().api_port == 9001
    monkeypatch.delenv("AMLMON_CONFIG")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "monitor.yaml").write_text("api_port: 9002\n")
    assert load_settings().api_port == 9002


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("bogus_key: 1\n", {}, r"^invalid config: bogus_key: unknown setting"),
        ("confirmations: many\n", {}, r"^invalid config: confirmations: .*integer"),
        ("", {"AMLMON_CONFIRMATIONS": "-1"},
         r"^invalid config: confirmations: .*AMLMON_CONFIRMATIONS"),
        ("rpc_urls: [ftp://x]\n", {}, r"^invalid config: rpc_urls: 'ftp://x' is not an http"),
        ("", {"AMLMON_DATABASE_URL": "localhost"},
         r"^invalid config: database_url: '…#[0-9a-f]{6}' is not a database URL"),
        ("read_database_url: 'replica:5432'\n", {},
         r"^invalid config: read_database_url: '…#[0-9a-f]{6}' is not a database URL"),
        ("webhook_url: hooks.example/T0\n", {},
         r"^invalid config: webhook_url: '…#[0-9a-f]{6}' is not an http\(s\) URL"),
        ("", {"AMLMON_CHAIN_ID": str(2**63 - 36)}, r"^invalid config: chain_id: .*less than"),
        ("api_port: 70000\n", {}, r"^invalid config: api_port"),
        ("webhook_secret: s3cret\n", {}, r"^webhook_secret: secrets are read only from the env"),
        ("- a\n- b\n", {}, r"must hold a mapping"),
        ("a: [\n", {}, r"line \d+ is not valid YAML"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path, monkeypatch, text, env, expected) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    assert re.search(expected, message), message


# Credentials in every place a URL setting can hold them; none may appear in an error.
SECRET = "S3cretPW"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("database_url", f"postgres//amlmon:{SECRET}@db/amlmon"),
        ("database_url", f"postgresql://amlmon:{SECRET}@db:notaport/amlmon"),
        ("read_database_url", f"replica:{SECRET}@db"),
        ("rpc_urls", f"wss://mainnet.infura.io/v3/{SECRET}"),
        ("rpc_urls", f"mainnet.example/rpc?apikey={SECRET}"),
        ("rpc_urls", f"ftp://user:{SECRET}@node.example/"),
        ("webhook_url", f"hooks.slack.com/services/{SECRET}"),
    ],
)
def test_errors_never_echo_a_url(tmp_path: Path, monkeypatch, capsys, key: str,
                                 value: str) -> None:
    from_file = write(tmp_path, f"{key}: {value!r}\n" if key != "rpc_urls" else
                      f"rpc_urls: [{value!r}]\n")
    with pytest.raises(ConfigError) as info:
        load_settings(from_file)
    assert str(info.value).startswith(f"invalid config: {key}: ")
    assert SECRET not in str(info.value)
    # Built directly, pydantic's own error text must not hold the value either.
    with pytest.raises(ValueError) as direct:
        Settings(**{key: [value] if key == "rpc_urls" else value})
    assert SECRET not in str(direct.value)
    # The CLI's config error, from the environment.
    monkeypatch.setenv(f"AMLMON_{key.upper()}", value)
    result = run_cli(capsys, "token", "list")
    assert_one_line_error(result, f"invalid config: {key}: ")
    assert SECRET not in result.err + result.out


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")


def test_secret_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("AMLMON_WEBHOOK_SECRET", "s3cret")
    settings = load_settings()
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_example_config_documents_every_setting() -> None:
    text = EXAMPLE.read_text()
    documented = set(re.findall(r"^#? ?([a-z_]+):", text, flags=re.MULTILINE))
    assert documented == set(Settings.model_fields), (
        f"undocumented: {set(Settings.model_fields) - documented}, "
        f"unknown: {documented - set(Settings.model_fields)}"
    )
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"


def test_example_config_is_valid_and_equals_defaults(tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    assert load_settings(EXAMPLE) == Settings()
    assert set(data) <= set(Settings.model_fields)


# -- chains ------------------------------------------------------------------------------

CHAINS = """
confirmations: 3
chains:
  - {chain_id: 1, name: ethereum, rpc_urls: ["http://a", "http://b"]}
  - {chain_id: 42161, name: arbitrum, rpc_urls_env: ARB_URLS, confirmations: 0,
     poll_interval_seconds: 0.5, reorg_window_blocks: 64, getlogs_initial_range: 7,
     getlogs_max_range: 70, rpc_requests_per_second: 9}
"""


def test_chains_resolve_with_top_level_defaults_and_urls_from_the_environment(
        tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CHAINS))
    eth, arb = settings.chain_list({"ARB_URLS": "http://x:1, https://y:2"})
    assert (eth.chain_id, eth.name, eth.rpc_urls, eth.key) == (
        1, "ethereum", ("http://a", "http://b"), "chains.0")
    # Left out: the top-level key (set to 3 here), else the built-in default.
    assert (eth.confirmations, eth.poll_interval_seconds, eth.reorg_window_blocks,
            eth.getlogs_initial_range, eth.getlogs_max_range,
            eth.rpc_requests_per_second) == (3, 2.0, 128, 50, 10000, None)
    assert (arb.chain_id, arb.name, arb.rpc_urls, arb.label) == (
        42161, "arbitrum", ("http://x:1", "https://y:2"), "42161")
    assert (arb.confirmations, arb.poll_interval_seconds, arb.reorg_window_blocks,
            arb.getlogs_initial_range, arb.getlogs_max_range,
            arb.rpc_requests_per_second) == (0, 0.5, 64, 7, 70, 9)


def test_the_one_chain_shorthand_is_a_list_of_one(monkeypatch) -> None:
    monkeypatch.setenv("AMLMON_RPC_URLS", "http://a")
    monkeypatch.setenv("AMLMON_CONFIRMATIONS", "0")
    (chain,) = load_settings().chain_list()
    assert (chain.chain_id, chain.name, chain.rpc_urls, chain.confirmations) == (
        None, "default", ("http://a",), 0)
    assert chain.with_chain_id(31337).name == "chain-31337"
    monkeypatch.setenv("AMLMON_CHAIN_ID", "5")
    (chain,) = load_settings().chain_list()
    assert (chain.chain_id, chain.name) == (5, "chain-5")
    assert chain.with_chain_id(5) == chain


def test_chains_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("AMLMON_CHAINS", '[{"chain_id": 10, "name": "op", "rpc_urls": '
                       '"http://o1,http://o2"}]')
    (chain,) = load_settings().chain_list()
    assert (chain.chain_id, chain.name, chain.rpc_urls) == (10, "op", ("http://o1", "http://o2"))


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("chains:\n  - {chain_id: 1, name: a, rpc_urls: [http://a]}\n"
         "  - {chain_id: 1, name: b, rpc_urls: [http://b]}\n", {},
         r"^invalid config: chains\.1\.chain_id: chain id 1 is already chains\.0 \(from "),
        ("chains:\n  - {chain_id: 1, name: a, rpc_urls: [http://a]}\n"
         "  - {chain_id: 2, name: a, rpc_urls: [http://b]}\n", {},
         r"^invalid config: chains\.1\.name: chain name 'a' is already chains\.0"),
        ("chains:\n  - {chain_id: 1, name: a}\n", {},
         r"^invalid config: chains\.0\.rpc_urls: chain a has no RPC URL"),
        ("chains:\n  - {chain_id: 1, name: a, rpc_urls: [http://a], rpc_urls_env: X}\n", {},
         r"^invalid config: chains\.0\.rpc_urls: give rpc_urls or rpc_urls_env, not both"),
        ("chains:\n  - {chain_id: 1, name: '42', rpc_urls: [http://a]}\n", {},
         r"^invalid config: chains\.0\.name: '42' is not a chain name"),
        ("chains:\n  - {chain_id: 0, name: a, rpc_urls: [http://a]}\n", {},
         r"^invalid config: chains\.0\.chain_id: .*greater than or equal to 1"),
        ("chains:\n  - {chain_id: 1, name: a, rpc_urls: [http://a], confirmations: -1}\n", {},
         r"^invalid config: chains\.0\.confirmations: "),
        ("chains:\n  - {chain_id: 1, name: a, rpc_urls: [http://a], color: red}\n", {},
         r"^invalid config: chains\.0\.color: unknown setting"),
        ("chains:\n  - {chain_id: 1, name: a, rpc_urls: [http://a]}\n",
         {"AMLMON_RPC_URLS": "http://b"},
         r"^invalid config: chains: rpc_urls and chain_id are the one-chain shorthand"),
        ("bridges:\n  - {chain_id: 1, address: '0x12', protocol: layerzero-oft}\n", {},
         r"^invalid config: bridges\.0\.address: "),
        ("bridges:\n  - {chain_id: 1, address: '0x" + "ab" * 20 + "', protocol: hop}\n", {},
         r"^invalid config: bridges\.0\.protocol: "),
        ("bridge_unmatched_after_seconds: 0\n", {},
         r"^invalid config: bridge_unmatched_after_seconds: "),
    ],
)
def test_bad_chains_are_one_line_naming_the_key(tmp_path, monkeypatch, text, env,
                                                expected) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert "\n" not in str(info.value)
    assert re.search(expected, str(info.value)), str(info.value)


def test_urls_held_by_an_environment_variable_are_checked_when_used(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "chains:\n  - {chain_id: 1, name: eth, "
                                             "rpc_urls_env: ETH_URLS}\n"))
    with pytest.raises(ConfigError, match=r"^invalid config: chains\.0\.rpc_urls_env: chain "
                       r"eth: the environment variable ETH_URLS is not set or empty$"):
        settings.chain_list({})
    with pytest.raises(ConfigError, match="ETH_URLS is not set or empty"):
        settings.chain_list({"ETH_URLS": " , "})
    with pytest.raises(ConfigError) as info:
        settings.chain_list({"ETH_URLS": f"mainnet.example/v3/{SECRET}"})
    assert str(info.value).startswith("invalid config: chains.0.rpc_urls_env: chain eth: ")
    assert SECRET not in str(info.value)
    # Log scrubbing knows them all, the variable's too.
    assert settings.all_rpc_urls({"ETH_URLS": "http://k/1,http://k/2"}) == [
        "http://k/1", "http://k/2"]


def test_no_chain_at_all_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"^no chain configured: set chains .* or rpc_urls"):
        load_settings().chain_list()


def test_a_chain_url_never_appears_in_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "chains:\n  - {chain_id: 1, name: a, rpc_urls: "
                                      f"['mainnet.example/v3/{SECRET}']}}\n"))
    assert str(info.value).startswith("invalid config: chains.0.rpc_urls: ")
    assert SECRET not in str(info.value)


def test_bridges_are_normalised(tmp_path: Path) -> None:
    address = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"  # EIP-55: checked, then lower-cased
    settings = load_settings(write(tmp_path, f"bridges:\n  - {{chain_id: 1, address: '{address}'"
                                             ", protocol: cctp-v1, endpoint_id: 0}\n"))
    (bridge,) = settings.bridges
    assert (bridge.address, bridge.protocol, bridge.endpoint_id, bridge.token,
            bridge.start_block) == (address.lower(), "cctp-v1", 0, None, 0)
    assert settings.bridge_unmatched_after_seconds == 3600.0


def test_urls_of_one_chain_for_token_metadata(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CHAINS))
    assert settings.urls_of(1) == ["http://a", "http://b"]
    assert settings.urls_of(42161, {"ARB_URLS": "http://x"}) == ["http://x"]
    assert settings.urls_of(10) == []
    assert Settings(rpc_urls=["http://n"]).urls_of(10) == ["http://n"]  # the node is asked
