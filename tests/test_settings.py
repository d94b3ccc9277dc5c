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
