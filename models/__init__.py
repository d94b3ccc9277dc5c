"""The database schema: SQLAlchemy 2.0 declarative models. Alembic migrations follow it."""

from models.alerts import ALERT_STATUSES, CLOSED_STATUSES, Alert, AlertEvent, Notification
from models.audit import AuditEvent
from models.auth import ROLES, ApiKey
from models.base import Base, utcnow
from models.bridges import (
    BRIDGE_PROTOCOLS,
    BRIDGE_SIDES,
    BRIDGE_STATUSES,
    Bridge,
    BridgeEvent,
    BridgeTransfer,
)
from models.cases import (
    CASE_OUTCOMES,
    CASE_PRIORITIES,
    CASE_STATUSES,
    Case,
    CaseAddress,
    CaseAlert,
    CaseNote,
    CasePattern,
    Suppression,
)
from models.chain import TOKEN_STANDARDS, Block, Chain, IngestCursor, Token
from models.labels import LABELS, MODEL_STATUSES, Label, RankerModel
from models.patterns import PATTERN_STATUSES, Pattern, PatternMember, PatternTransfer
from models.scoring import SEVERITIES, AddressScore, DirtyAddress, ScoreRun
from models.transfers import ZERO_ADDRESS, ComplianceEvent, Transfer
from models.types import UINT256_MAX, Uint256
from models.watchlist import WATCHLIST_CATEGORIES, Watchlist, WatchlistEntry, WatchlistImport

__all__ = [
    "ALERT_STATUSES", "BRIDGE_PROTOCOLS", "BRIDGE_SIDES", "BRIDGE_STATUSES",
    "CASE_OUTCOMES", "CASE_PRIORITIES", "CASE_STATUSES", "CLOSED_STATUSES",
    "LABELS", "MODEL_STATUSES", "PATTERN_STATUSES", "ROLES", "SEVERITIES",
    "TOKEN_STANDARDS",
    "UINT256_MAX", "WATCHLIST_CATEGORIES", "ZERO_ADDRESS",
    "AddressScore", "Alert", "AlertEvent", "ApiKey", "AuditEvent", "Base", "Block", "Bridge",
    "BridgeEvent", "BridgeTransfer", "Case",
    "CaseAddress", "CaseAlert", "CaseNote", "CasePattern", "Chain",
    "ComplianceEvent", "DirtyAddress", "IngestCursor", "Label", "Notification", "Pattern",
    "PatternMember", "PatternTransfer", "RankerModel", "ScoreRun", "Suppression", "Token",
    "Transfer", "Uint256", "Watchlist", "WatchlistEntry", "WatchlistImport", "utcnow",
]
