"""Settings: a YAML file overlaid by AMLMON_* environment variables (docs/configuration.md).

The file is `--config FILE`, else `$AMLMON_CONFIG`, else `config/monitor.yaml` when it
exists. Environment variables win over the file; secrets are read only from the
environment. Settings are built by entry points and passed down, never at import time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from monitor.redact import redact_url

ENV_PREFIX = "AMLMON_"
# AMLMON_REPORTING_ENTITY__LOCATION__CITY sets reporting_entity.location.city.
NESTED = "__"
DEFAULT_CONFIG_FILE = Path("config/monitor.yaml")
SECRET_KEYS = frozenset({"webhook_secret"})
# EIP-2294's bound, floor(MAX_UINT64 / 2) - 36, so that a signature's v (chain id * 2 + 35) fits
# 64 bits; it also fits the BIGINT chain id columns. Token registration (CLI and API) and
# `chain_id` here all use it.
MAX_CHAIN_ID = 2**63 - 37


class ConfigError(Exception):
    """Invalid or unreadable configuration; the message is one line naming the bad key."""


def default_goaml_schema() -> Path:
    """goAMLSchema.xsd in the `shared/` folder beside the repository (where the project's
    conformance data lives; CI lays it there too)."""
    return Path(__file__).resolve().parents[2] / "shared/conformance/goaml/goAMLSchema.xsd"


class ReportLocation(BaseModel):
    """The reporting entity's address: goAML's `location` (t_address)."""

    model_config = ConfigDict(extra="forbid")

    address_type: str = Field(
        "-", description="goAML contact type code of the address (the FIU's lookup; - unknown)")
    address: str | None = Field(None, description="Street and number, at most 100 characters")
    town: str | None = Field(None, description="Town or district; optional")
    city: str | None = Field(None, description="City")
    zip: str | None = Field(None, description="Postal code, at most 10 characters; optional")
    country_code: str | None = Field(None, description="ISO 3166-1 alpha-2 country code")
    state: str | None = Field(None, description="State or province; optional")


# A price per token contract, in the local currency; exact decimals (quote them in YAML so
# that no float ever stands between the file and the Decimal).
Price = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class ReportingEntity(BaseModel):
    """Who files goAML suspicious-transaction reports, as the FIU registered it. Unset keys
    are refused by name when a report is exported, not at start-up: only exports need them."""

    model_config = ConfigDict(extra="forbid")

    rentity_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="The reporting entity's id at the FIU (goAML "
        "rentity_id)")
    rentity_branch: str | None = Field(
        None, description="Branch of the reporting entity (goAML rentity_branch)")
    reporting_user_code: str | None = Field(
        None, description="goAML user code of the person who files the reports, 4-50 "
        "characters")
    currency_code_local: str | None = Field(
        None, description="ISO 4217 code of the local currency, e.g. EUR (goAML "
        "currency_code_local); amount_local is in it")
    location: ReportLocation = Field(
        default_factory=ReportLocation, description="The reporting entity's address")
    indicators: list[str] = Field(
        default_factory=lambda: ["-"],
        description="goAML report indicator codes of every STR (the FIU's lookup; - unknown)")
    transmode_code: str = Field(
        "-", description="goAML conduction type code of a token transfer (the FIU's lookup; "
        "- unknown)")
    funds_code: str = Field(
        "-", description="goAML funds type code of both sides of a token transfer (the FIU's "
        "lookup; - unknown)")
    prices: dict[str, Price] = Field(
        default_factory=dict,
        description="Price of one whole token in the local currency, by token contract "
        "address; an export may give others")

    @field_validator("prices")
    @classmethod
    def _token_addresses(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        from monitor.addresses import parse_address

        return {parse_address(address): price for address, price in value.items()}


# A chain's name is a job id (`ingest:<name>`) and a `--chain` argument: a short token, and
# never all digits, so that `--chain 1` always means a chain id.
_CHAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The ingest options every chain has; a chain entry that leaves one out takes the top-level
# setting of the same name (whose default is the built-in one).
CHAIN_OPTIONS = ("confirmations", "poll_interval_seconds", "reorg_window_blocks",
                 "getlogs_initial_range", "getlogs_max_range", "rpc_requests_per_second")
SHORTHAND_KEY = "rpc_urls"  # where a one-chain configuration's errors point


def _split_url_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ChainSettings(BaseModel):
    """One entry of `chains:`: a chain this process follows."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    chain_id: int = Field(ge=1, le=MAX_CHAIN_ID, description="EIP-155 chain id")
    name: str = Field(description="Short name: letters, digits, _ . -; not all digits")
    rpc_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="JSON-RPC endpoints, tried in order with failover")
    rpc_urls_env: str | None = Field(
        None, description="Name of an environment variable holding the comma-separated URLs "
        "(keeps provider keys out of files)")
    confirmations: int | None = Field(None, ge=0, description="Default: the top-level key")
    poll_interval_seconds: float | None = Field(
        None, gt=0, description="Default: the top-level key")
    reorg_window_blocks: int | None = Field(None, ge=1, description="Default: the top-level key")
    getlogs_initial_range: int | None = Field(
        None, ge=1, description="Default: the top-level key")
    getlogs_max_range: int | None = Field(None, ge=1, description="Default: the top-level key")
    rpc_requests_per_second: float | None = Field(
        None, gt=0, description="Default: the top-level key (none: no limit)")

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _CHAIN_NAME.fullmatch(value) or value.isdigit():
            raise ValueError(f"{value!r} is not a chain name (1-64 letters, digits, _ . -, "
                             "not all digits)")
        return value

    @field_validator("rpc_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        return _split_url_list(value)

    @field_validator("rpc_urls")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        return _check_http_urls(value)

    @field_validator("rpc_urls_env")
    @classmethod
    def _check_env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value


class BridgeSettings(BaseModel):
    """One entry of `bridges:`: a bridge contract registered from the config file."""

    model_config = ConfigDict(extra="forbid")

    chain_id: int = Field(ge=1, le=MAX_CHAIN_ID, description="Chain the contract is on")
    address: str = Field(description="The bridge contract (OFT, NTT manager, CCTP contract)")
    protocol: Literal["layerzero-oft", "wormhole-ntt", "cctp-v1", "cctp-v2"] = Field(
        description="Bridge protocol")
    endpoint_id: int | None = Field(
        None, ge=0, description="The protocol's own id of that chain (LayerZero EID, Wormhole "
        "chain id, CCTP domain); null: from the shipped mainnet table")
    token: str | None = Field(
        None, description="The registered token contract the bridge moves on that chain; "
        "null: for layerzero-oft the bridge address itself")
    start_block: int = Field(0, ge=0, description="First block to ingest its events from")

    @field_validator("address", "token")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        from monitor.addresses import parse_address

        return None if value is None else parse_address(value)


class SparkSettings(BaseModel):
    """`amlmon score --engine spark`: where and how the Spark runner runs
    (monitor.scoring.spark; the `spark` extra)."""

    model_config = ConfigDict(extra="forbid")

    master: str = Field(
        "local[2]",
        description="Spark master URL: local[N] on this machine, spark://host:7077, yarn, "
        "k8s://…; --spark-master overrides it")
    app_name: str = Field("amlmon-score", description="The Spark application's name")
    shuffle_partitions: int = Field(
        8, ge=1, description="spark.sql.shuffle.partitions of the run's SQL")
    shards: int = Field(
        8, ge=1, description="Shards the rules run on (applyInPandas groups)")
    conf: dict[str, str] = Field(
        default_factory=dict,
        description="Extra Spark configuration, e.g. {spark.driver.memory: 4g}")


@dataclass(frozen=True)
class ChainConfig:
    """One chain as every caller uses it: the entry's keys with the top-level defaults filled
    in and the URLs read (`Settings.chain_list()`)."""

    chain_id: int | None  # None only for the one-chain shorthand without chain_id: ask the node
    name: str
    rpc_urls: tuple[str, ...]
    confirmations: int
    poll_interval_seconds: float
    reorg_window_blocks: int
    getlogs_initial_range: int
    getlogs_max_range: int
    rpc_requests_per_second: float | None
    key: str  # the config key the chain came from, for errors: chains.0, or rpc_urls

    @property
    def label(self) -> str:
        """The `chain` label of its metrics: the chain id, as before there were names."""
        return str(self.chain_id)

    def with_chain_id(self, chain_id: int) -> ChainConfig:
        """The shorthand once the node said which chain it serves (named chain-<id>)."""
        name = f"chain-{chain_id}" if self.chain_id is None else self.name
        return replace(self, chain_id=chain_id, name=name)


class Settings(BaseSettings):
    """Every setting of amlmon. Each one is documented in config/monitor.example.yaml."""

    # URLs carry passwords and API keys: a validation error must not echo the value.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid",
                                      hide_input_in_errors=True,
                                      env_nested_delimiter=NESTED)

    database_url: str = Field(
        "sqlite:///amlmon.db",
        description="SQLAlchemy URL; the default is an embedded SQLite file, production uses "
        "postgresql+psycopg://user@host/db",
    )
    read_database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of a read replica for the API's investigator reads "
        "(reports, address profiles, alert and token lists); null: everything uses "
        "database_url",
    )
    rpc_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="JSON-RPC endpoints of one chain, tried in order with failover (the "
        "one-chain shorthand of `chains`)",
    )
    chain_id: int | None = Field(
        None, ge=1, le=MAX_CHAIN_ID,
        description="EIP-155 chain id of rpc_urls' chain; default: ask the node (eth_chainId)"
    )
    confirmations: int = Field(
        12, ge=0, description="Blocks behind the head that count as final; 0 follows the head"
    )
    poll_interval_seconds: float = Field(
        2.0, gt=0, description="Seconds between polls of the head once caught up"
    )
    score_interval_seconds: float = Field(
        60.0, gt=0, description="`amlmon run`: incremental scoring of new data every N seconds"
    )
    retrain_interval_seconds: float = Field(
        21600.0, gt=0,
        description="`amlmon run`: retrain the rankers whose labels changed, then a full "
                    "scoring run (refits the IsolationForest) every N seconds",
    )
    notify_interval_seconds: float = Field(
        30.0, gt=0, description="`amlmon run`: webhook outbox delivery every N seconds"
    )
    reorg_window_blocks: int = Field(
        128, ge=1, description="Recent block hashes kept; the deepest reorg handled exactly"
    )
    rpc_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one JSON-RPC request")
    rpc_max_retries: int = Field(
        5, ge=1, description="Attempts per request across all endpoints before giving up"
    )
    rpc_requests_per_second: float | None = Field(
        None, gt=0, description="Client-side request rate limit; unset for none"
    )
    getlogs_initial_range: int = Field(
        50, ge=1,
        description="Blocks per eth_getLogs request to start with; grows up to 4x per reply "
        "toward ~10k logs per reply"
    )
    getlogs_max_range: int = Field(
        10000, ge=1, description="Largest eth_getLogs block range the adaptive fetcher grows to"
    )
    chains: list[ChainSettings] = Field(
        default_factory=list,
        description="The chains to follow, each with its own nodes and ingest options; "
        "empty: the one chain of rpc_urls/chain_id",
    )
    bridges: list[BridgeSettings] = Field(
        default_factory=list, description="Bridge contracts to ingest, besides `bridge add`")
    bridge_unmatched_after_seconds: float = Field(
        3600.0, gt=0,
        description="A burn with no mint (or a mint with no known source) older than this "
        "becomes unmatched and raises an integrity alert",
    )
    spark: SparkSettings = Field(
        default_factory=SparkSettings,
        description="The Spark runner of `amlmon score --engine spark`",
    )
    snapshot_dir: Path | None = Field(
        None,
        description="Directory of the tokens' scoring snapshots (Arrow IPC files of their "
        "transfers): full runs read the history from them instead of the database; unset "
        "for none",
    )
    rules_file: Path | None = Field(
        Path("config/rules.yaml"),
        description="Rule thresholds and scoring parameters (YAML); defaults when absent",
    )
    api_host: str = Field("127.0.0.1", description="Address the HTTP API binds to")
    api_port: int = Field(8000, ge=1, le=65535, description="Port of the HTTP API and /metrics")
    metrics_port: int | None = Field(
        None, ge=1, le=65535,
        description="Extra port serving only /metrics (for `amlmon ingest`); unset for none",
    )
    webhook_url: str | None = Field(None, description="Where alert notifications are POSTed")
    webhook_format: Literal["json", "slack"] = Field(
        "json", description="Webhook payload: generic JSON or Slack-compatible"
    )
    webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key for the webhook signature; environment only"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Minimum level of log lines"
    )
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="json: one event per line; console: for humans; auto: json unless a tty"
    )
    reporting_entity: ReportingEntity = Field(
        default_factory=ReportingEntity,
        description="Who files goAML suspicious-transaction reports, and token prices",
    )
    goaml_schema: Path = Field(
        default_factory=default_goaml_schema,
        description="The goAML XML schema every exported report is validated against",
    )

    @field_validator("rpc_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        return _split_url_list(value)

    @field_validator("chains")
    @classmethod
    def _check_chains(cls, value: list[ChainSettings],
                      info: ValidationInfo) -> list[ChainSettings]:
        if value and (info.data.get("rpc_urls") or info.data.get("chain_id") is not None):
            raise ValueError("rpc_urls and chain_id are the one-chain shorthand: with chains, "
                             "give the URLs in each entry and remove them (or AMLMON_RPC_URLS, "
                             "AMLMON_CHAIN_ID)")
        ids: dict[int, int] = {}
        names: dict[str, int] = {}
        for index, chain in enumerate(value):
            if chain.chain_id in ids:
                raise ValueError(f"chains.{index}.chain_id: chain id {chain.chain_id} is "
                                 f"already chains.{ids[chain.chain_id]}")
            if chain.name in names:
                raise ValueError(f"chains.{index}.name: chain name {chain.name!r} is already "
                                 f"chains.{names[chain.name]}")
            if chain.rpc_urls and chain.rpc_urls_env:
                raise ValueError(f"chains.{index}.rpc_urls: give rpc_urls or rpc_urls_env, "
                                 "not both")
            if not chain.rpc_urls and not chain.rpc_urls_env:
                raise ValueError(f"chains.{index}.rpc_urls: chain {chain.name} has no RPC URL "
                                 "(give rpc_urls or rpc_urls_env)")
            ids[chain.chain_id] = names[chain.name] = index
        return value

    @field_validator("rpc_urls")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        return _check_http_urls(value)

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_http_url(value)
        return value

    @field_validator("database_url", "read_database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # Every command that reads settings also opens the database: no extra import cost.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(f"{redact_url(value)!r} is not a database URL (e.g. "
                             "postgresql+psycopg://user@host/db or sqlite:///amlmon.db)") from None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    def chain_list(self, environ: Mapping[str, str] | None = None) -> list[ChainConfig]:
        """Every chain to follow, resolved: URLs read (rpc_urls_env from `environ`, default
        the process environment), options defaulted to the top-level keys. The one caller
        of `chains`, `rpc_urls` and `chain_id`. ConfigError naming the key when a chain has
        no URL, or when no chain is configured at all."""
        env = os.environ if environ is None else environ
        if not self.chains:
            if not self.rpc_urls:
                raise ConfigError("no chain configured: set chains in the config file, or "
                                  "rpc_urls (AMLMON_RPC_URLS) for one chain")
            name = f"chain-{self.chain_id}" if self.chain_id is not None else "default"
            return [self._chain(self.chain_id, name, self.rpc_urls, {}, SHORTHAND_KEY)]
        return [self._chain(c.chain_id, c.name, _entry_urls(c, f"chains.{i}", env),
                            c.model_dump(include=set(CHAIN_OPTIONS)), f"chains.{i}")
                for i, c in enumerate(self.chains)]

    def urls_of(self, chain_id: int, environ: Mapping[str, str] | None = None) -> list[str]:
        """The RPC URLs configured for one chain (the shorthand's for any id: its node is
        asked which chain it serves); [] when none is configured for it."""
        if not self.chains:
            return list(self.rpc_urls)
        env = os.environ if environ is None else environ
        return next((_entry_urls(c, f"chains.{i}", env) for i, c in enumerate(self.chains)
                     if c.chain_id == chain_id), [])

    def _chain(self, chain_id: int | None, name: str, urls: list[str],
               options: dict[str, Any], key: str) -> ChainConfig:
        merged = {option: getattr(self, option) if options.get(option) is None
                  else options[option] for option in CHAIN_OPTIONS}
        return ChainConfig(chain_id=chain_id, name=name, rpc_urls=tuple(urls), key=key,
                           **merged)

    def all_rpc_urls(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Every RPC URL the settings name, including those held by rpc_urls_env variables
        that are set: what log scrubbing must know. Never raises."""
        env = os.environ if environ is None else environ
        urls = list(self.rpc_urls)
        for chain in self.chains:
            urls += chain.rpc_urls
            if chain.rpc_urls_env:
                urls += _split_url_list(env.get(chain.rpc_urls_env, ""))
        return urls

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init arguments; the environment overrides it.
        return (env_settings, init_settings)


def _entry_urls(chain: ChainSettings, key: str, env: Mapping[str, str]) -> list[str]:
    if chain.rpc_urls_env is None:
        if not chain.rpc_urls:
            raise ConfigError(f"invalid config: {key}.rpc_urls: chain {chain.name} has no RPC "
                              "URL (give rpc_urls or rpc_urls_env)")
        return chain.rpc_urls
    urls: list[str] = _split_url_list(env.get(chain.rpc_urls_env, ""))
    if not urls:
        raise ConfigError(f"invalid config: {key}.rpc_urls_env: chain {chain.name}: the "
                          f"environment variable {chain.rpc_urls_env} is not set or empty")
    try:
        return _check_http_urls(urls)
    except ValueError as exc:
        raise ConfigError(f"invalid config: {key}.rpc_urls_env: chain {chain.name}: {exc} "
                          f"(from {chain.rpc_urls_env})") from None


def _check_http_url(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{redact_url(url)!r} is not an http(s) URL")


def _check_http_urls(urls: list[str]) -> list[str]:
    for url in urls:
        _check_http_url(url)
    return urls


def config_path(explicit: Path | None, environ: dict[str, str] | None = None) -> Path | None:
    """Which config file applies, or None for environment and defaults only."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if env.get("AMLMON_CONFIG"):
        return Path(env["AMLMON_CONFIG"])
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def read_config_file(path: Path) -> dict[str, Any]:
    """The YAML mapping of a config file; ConfigError on anything else."""
    import yaml  # only when there is a file: 15 ms of every start-up otherwise

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config file {path}{where} is not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings")
    for key in data:
        if key in SECRET_KEYS:
            raise ConfigError(
                f"{key}: secrets are read only from the environment "
                f"({ENV_PREFIX}{str(key).upper()}), remove it from {path}"
            )
    return data


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from file, environment and explicit overrides (highest)."""
    path = config_path(config_file)
    data = read_config_file(path) if path is not None else {}
    try:
        settings = Settings(**data)
        return settings.model_copy(update=overrides) if overrides else settings
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None


def _describe(exc: ValidationError, path: Path | None) -> str:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "settings"
    message = str(error["msg"]).removeprefix("Value error, ")
    variable = ENV_PREFIX + NESTED.join(_field_path(error["loc"])).upper()
    source = f"{variable} or {path}" if path else variable
    if error["type"] == "extra_forbidden":
        message, source = "unknown setting", str(path)
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    if message.startswith(key + "."):  # a list's validator names the entry's key itself
        return f"invalid config: {message} (from {source}){more}"
    return f"invalid config: {key}: {message} (from {source}){more}"


def _field_path(loc: tuple[int | str, ...]) -> list[str]:
    """The leading parts of an error's location that name (nested) settings fields: those
    an environment variable can set, AMLMON_A__B."""
    path: list[str] = []
    model: Any = Settings
    for part in loc:
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            break
        path.append(str(part))
        model = fields[part].annotation
    return path or ["settings"]
