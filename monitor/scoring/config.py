"""Rule thresholds and scoring parameters: typed models with defaults, overridden by
config/rules.yaml.

Every parameter is documented, with its meaning, in config/rules.yaml; a test keeps the
file equal to these defaults. A rules file with an unknown key, a value of the wrong type
or out of range, or a path that does not exist is refused with one line that names the
key. Amounts are in token units (scaled by the token's decimals), times in seconds.
Structure bounds (cycle lengths, fan sizes, hop shapes, windows) are configuration with
defaults that cover real-world ranges; what counts as "large", "busy", "long" or "rare"
is measured on each token's own population (monitor.scoring.population).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from monitor.settings import ConfigError

HOUR, DAY = 3600, 86400

Share = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]
Seconds = Annotated[int, Field(gt=0)]
Count = Annotated[int, Field(ge=1)]
Score = Annotated[float, Field(ge=0, le=100)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


log = logging.getLogger(__name__)
# Keys a rules file of an earlier version may still set, and what took their place: read
# and ignored with a warning, so that an upgrade does not refuse a working file.
RETIRED = {"split_transfers": {"max_sender_share": "rare_share (graded, never a switch)"}}


def _without_retired(data: Any, rule: str) -> Any:
    retired = RETIRED.get(rule, {})
    if not isinstance(data, dict):
        return data
    for key in sorted(set(data) & set(retired)):
        log.warning("rules file: rules.%s.%s is retired (ignored): see %s", rule, key,
                    retired[key])
    return {k: v for k, v in data.items() if k not in retired}


class Alerts(Strict):
    min_risk: Score = 50
    min_reason_score: Score = 50


class Population(Strict):
    service_min_factor: Positive = 10
    service_min_lifetime_seconds: Seconds = 30 * DAY
    service_min_active_days: Count = 10
    silence_quantile: Share = 0.9


# The roles a member plays in a pattern (monitor.scoring.patterns, docs/rules.md).
ROLES = ("source", "feeder", "mule", "intermediary", "collector", "recipient", "hop",
         "cycle_member", "hub", "origin", "destination")


def _role(name: str) -> str:
    if name not in ROLES:
        raise ValueError(f"unknown role {name!r} (one of {', '.join(ROLES)})")
    return name


Role = Annotated[str, AfterValidator(_role)]


class Patterns(Strict):
    role_weights: dict[Role, Share] = Field(
        default_factory=lambda: {
            "source": 1.0, "collector": 1.0, "hub": 1.0, "cycle_member": 1.0, "hop": 0.95,
            "mule": 0.95, "intermediary": 0.95, "feeder": 0.9, "recipient": 0.85,
            "origin": 1.0, "destination": 0.85})


class Structuring(Strict):
    reporting_threshold: Annotated[float, Field(ge=0)] = 10000
    band: Annotated[float, Field(gt=0, lt=1)] = 0.75
    window_seconds: Seconds = 30 * DAY
    min_transfers: Count = 3
    min_share: Share = 0.5
    min_lift: Positive = 3


class SplitTransfers(Strict):
    window_seconds: Seconds = DAY
    min_transfers: Annotated[int, Field(ge=2)] = 2
    rare_share: Annotated[float, Field(gt=0, le=1)] = 0.05
    fade_decades: Annotated[float, Field(gt=0)] = 1.0
    min_score: Score = 10
    habit_days: Annotated[int, Field(ge=2)] = 3

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, data: Any) -> Any:
        return _without_retired(data, "split_transfers")


class FanOut(Strict):
    window_seconds: Seconds = 30 * DAY
    min_recipients: Annotated[int, Field(ge=2)] = 3
    min_new_share: Share = 0.6


class FanIn(Strict):
    window_seconds: Seconds = 30 * DAY
    min_feeders: Annotated[int, Field(ge=2)] = 3
    fresh_seconds: Seconds = 14 * DAY
    max_feeder_transfers: Count = 4
    min_dedication: Share = 0.8


class ScatterGather(Strict):
    max_mule_counterparties: Count = 3
    window_seconds: Seconds = 7 * DAY
    min_intermediaries: Annotated[int, Field(ge=2)] = 3
    min_source_share: Share = 0.5


class GatherScatter(Strict):
    min_counterparties: Annotated[int, Field(ge=2)] = 4
    max_lifetime_seconds: Seconds = 30 * DAY
    min_forwarded: Share = 0.7
    phase_share: Annotated[float, Field(gt=0.5, le=1)] = 0.8


class PeelChain(Strict):
    min_carry: Share = 0.5
    max_hold_seconds: Seconds = 7 * DAY
    min_hops: Annotated[int, Field(ge=2)] = 3
    max_hop_receipts: Count = 4
    max_hop_sends: Annotated[int, Field(ge=2)] = 4


class Cycle(Strict):
    max_counterparties: Annotated[int, Field(ge=2)] = 6
    min_length: Annotated[int, Field(ge=2)] = 3
    max_length: Annotated[int, Field(ge=2)] = 12
    window_seconds: Seconds = 30 * DAY
    amount_tolerance: Share = 0.5

    @model_validator(mode="after")
    def _lengths(self) -> Cycle:
        if self.max_length < self.min_length:
            raise ValueError("max_length must be at least min_length")
        return self


class RapidPassThrough(Strict):
    max_hold_seconds: Seconds = 3 * DAY
    min_chain: Annotated[int, Field(ge=2)] = 2
    min_cycles: Count = 2
    min_forwarded: Share = 0.5
    min_quick_share: Share = 0.6
    match_low: Share = 0.5
    max_counterparties: Annotated[int, Field(ge=2)] = 6


class VelocityBurst(Strict):
    window_seconds: Seconds = HOUR
    min_transfers: Count = 12
    min_factor: Positive = 8
    baseline_floor: Positive = 0.5
    mint_lookback_seconds: Seconds = 2 * DAY
    active_hours_per_day: Annotated[float, Field(gt=0, le=24)] = 10


class DormantReactivation(Strict):
    min_dormant_seconds: Seconds = 30 * DAY
    burst_seconds: Seconds = 7 * DAY
    min_new_recipients: Annotated[int, Field(ge=2)] = 2
    forward_hold_seconds: Seconds = 3 * DAY
    min_forwarded: Share = 0.8


class NewAddressLargeValue(Strict):
    quantile: Share = 0.99


class MintThenDispersal(Strict):
    window_seconds: Seconds = 30 * DAY
    min_recipients: Annotated[int, Field(ge=2)] = 3
    min_share: Share = 0.6
    min_new_share: Share = 0.6


class ChainHopping(Strict):
    window_seconds: Seconds = 2 * DAY
    min_forwarded: Share = 0.8
    amount_quantile: Share = 0.5
    min_recipients: Annotated[int, Field(ge=2)] = 3
    fresh_seconds: Seconds = 14 * DAY
    habit_days: Annotated[int, Field(ge=2)] = 3
    max_hop_legs: Count = 4


class FixedScore(Strict):
    score: Score


class WatchlistExposure(Strict):
    category_weights: dict[str, Share] = Field(default_factory=lambda: {
        "sanctioned": 1.0, "mixer": 0.9, "scam": 0.8, "bridge": 0.3, "exchange": 0.1,
        "other": 0.5, "kyc_investor": 0.0})
    max_hops: Count = 3
    hop_decay: Share = 0.7
    min_exposure: Share = 0.05


class Anomaly(Strict):
    n_estimators: Count = 200
    max_samples: Literal["auto"] | Annotated[int, Field(ge=2)] = "auto"
    contamination: Literal["auto"] | Annotated[float, Field(gt=0, le=0.5)] = "auto"
    random_state: int = 7
    min_addresses: Count = 50
    explain_above: Share = 0.8
    fit_sample: Annotated[int, Field(ge=256)] = 100_000


class LearnedRanker(Strict):
    """The ranker trained on labels (monitor.ranker): when it trains, how it fits, and
    which of its scores become reasons."""

    min_labels: Count = 20
    folds: Annotated[int, Field(ge=2, le=20)] = 5
    min_score: Score = 20
    explain_features: Annotated[int, Field(ge=1, le=10)] = 3
    demote_below: Annotated[float, Field(ge=0, lt=1)] = 0.5
    max_iter: Count = 300
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 0.1
    max_leaf_nodes: Annotated[int, Field(ge=2)] = 31
    min_samples_leaf: Count = 20
    l2_regularization: Annotated[float, Field(ge=0)] = 0.0
    calibration: Literal["isotonic", "sigmoid"] = "sigmoid"
    random_state: int = 7


class Rules(Strict):
    structuring: Structuring = Structuring()
    split_transfers: SplitTransfers = SplitTransfers()
    fan_out: FanOut = FanOut()
    fan_in: FanIn = FanIn()
    scatter_gather: ScatterGather = ScatterGather()
    gather_scatter: GatherScatter = GatherScatter()
    peel_chain: PeelChain = PeelChain()
    cycle: Cycle = Cycle()
    rapid_pass_through: RapidPassThrough = RapidPassThrough()
    velocity_burst: VelocityBurst = VelocityBurst()
    dormant_reactivation: DormantReactivation = DormantReactivation()
    new_address_large_value: NewAddressLargeValue = NewAddressLargeValue()
    mint_then_dispersal: MintThenDispersal = MintThenDispersal()
    chain_hopping: ChainHopping = ChainHopping()
    frozen_address_activity: FixedScore = FixedScore(score=90)
    watchlist_exposure: WatchlistExposure = WatchlistExposure()
    non_kyc_recipient: FixedScore = FixedScore(score=60)
    anomaly: Anomaly = Anomaly()
    learned_ranker: LearnedRanker = LearnedRanker()


RULE_IDS = tuple(Rules.model_fields)


class RulesConfig(Strict):
    flag_min_risk: Score = 50
    min_score_change: Annotated[float, Field(ge=0, le=100)] = 5
    alerts: Alerts = Alerts()
    feature_windows: dict[str, Seconds] = Field(
        default_factory=lambda: {"1h": HOUR, "24h": DAY, "7d": 7 * DAY})
    round_unit: Positive = 1000
    weights: dict[str, Share] = Field(default_factory=lambda: {"anomaly": 0.45})
    population: Population = Population()
    patterns: Patterns = Patterns()
    rules: Rules = Rules()

    @model_validator(mode="after")
    def _weights_name_rules(self) -> RulesConfig:
        unknown = sorted(set(self.weights) - set(RULE_IDS))
        if unknown:
            raise ValueError(f"weights: unknown rule id {unknown[0]!r}")
        return self

    def weight(self, rule: str) -> float:
        return self.weights.get(rule, 1.0)


DEFAULTS = RulesConfig()


# The `rules_file` setting's default: used when present, the built-in defaults otherwise
# (an image or a working directory without the repository's config/). Any other path
# must exist.
DEFAULT_FILE = Path("config/rules.yaml")


def load_rules_config(path: Path | None) -> RulesConfig:
    """The defaults overlaid by the YAML file at `path` (None: the defaults alone)."""
    if path is None or (path == DEFAULT_FILE and not path.exists()):
        return DEFAULTS
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"rules file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"rules file {path} cannot be read: {exc}") from None
    import yaml  # only when a file is read: every command's start-up pays for the import

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"rules file {path} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"rules file {path}: the top level must be a mapping")
    return parse(data, str(path))


def parse(data: dict[str, Any], source: str = "rules") -> RulesConfig:
    """The defaults with `data` laid over them: mappings merge key by key (a file that sets
    one weight keeps the others), except feature_windows, which a file gives whole."""
    merged = _overlay(DEFAULTS.model_dump(mode="json"), data)
    try:
        return RulesConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(f"rules file {source}: {_first_error(exc)}") from None


def _overlay(base: Any, update: Any) -> Any:
    if not isinstance(base, dict) or not isinstance(update, dict):
        return update
    out = dict(base)
    for key, value in update.items():
        out[key] = value if key == "feature_windows" else _overlay(base.get(key), value)
    return out


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown setting {where}"
    value = error.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict | list) else ""
    return f"{where}: {message.lower() if message[:1].isupper() else message}{shown}"
