"""Settings: a YAML file overlaid by AMLMON_* environment variables (docs/configuration.md).

The file is `--config FILE`, else `$AMLMON_CONFIG`, else `config/monitor.yaml` when it
exists. Environment variables win over the file; secrets are read only from the
environment. Settings are built by entry points and passed down, never at import time.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
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
        description="JSON-RPC endpoints of one chain, tried in order with failover",
    )
    chain_id: int | None = Field(
        None, ge=1, le=MAX_CHAIN_ID,
        description="EIP-155 chain id; default: ask the node (eth_chainId)"
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
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("rpc_urls")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            _check_http_url(url)
        return value

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


def _check_http_url(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{redact_url(url)!r} is not an http(s) URL")


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
