"""The database schema: SQLAlchemy 2.0 declarative models. Alembic migrations follow it."""

from models.alerts import ALERT_STATUSES, CLOSED_STATUSES, Alert, AlertEvent, Notification
from models.auth import ROLES, ApiKey
from models.base import Base, utcnow
from models.chain import TOKEN_STANDARDS, Block, Chain, IngestCursor, Token
from models.patterns import PATTERN_STATUSES, Pattern, PatternMember, PatternTransfer
from models.scoring import SEVERITIES, AddressScore, DirtyAddress, ScoreRun
from models.transfers import ZERO_ADDRESS, ComplianceEvent, Transfer
from models.types import UINT256_MAX, Uint256
from models.watchlist import WATCHLIST_CATEGORIES, Watchlist, WatchlistEntry, WatchlistImport

__all__ = [
    "ALERT_STATUSES", "CLOSED_STATUSES", "PATTERN_STATUSES", "ROLES", "SEVERITIES",
    "TOKEN_STANDARDS",
    "UINT256_MAX", "WATCHLIST_CATEGORIES", "ZERO_ADDRESS",
    "AddressScore", "Alert", "AlertEvent", "ApiKey", "Base", "Block", "Chain",
    "ComplianceEvent", "DirtyAddress", "IngestCursor", "Notification", "Pattern",
    "PatternMember", "PatternTransfer", "ScoreRun", "Token",
    "Transfer", "Uint256", "Watchlist", "WatchlistEntry", "WatchlistImport", "utcnow",
]
