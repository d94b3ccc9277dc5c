"""API keys: shown once at creation, stored as a salted hash, revocable.

A key is `amk_<prefix>_<secret>`: the prefix finds the row without a table scan, the
secret (32 random bytes) is checked against SHA-256(salt + secret) in constant time.
Keys are machine-generated and high-entropy, so a fast hash is enough (slow password
hashes defend guessable secrets and would cost every API request tens of milliseconds).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiKey
from models.auth import ROLES
from monitor import audit
from monitor.errors import Conflict, NotFound, UserError
from monitor.timefmt import iso

LAST_USED_RESOLUTION = timedelta(minutes=1)
# viewer < investigator < supervisor < admin
RANK = {role: rank for rank, role in enumerate(ROLES)}


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def create_key(session: Session, name: str, role: str,
               actor: str = audit.SYSTEM) -> tuple[ApiKey, str]:
    """A new key; the plaintext is returned once and never stored. Audited by name and
    role: neither the key nor its hash goes into the audit log."""
    name = name.strip()
    if not name or len(name) > 128:
        raise UserError("key name must be 1-128 characters")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise Conflict(f"an API key named {name!r} already exists")
    prefix, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_hex(16)
    key = ApiKey(name=name, role=role, prefix=prefix, salt=salt, key_hash=_digest(salt, secret))
    session.add(key)
    session.flush()
    audit.record(session, actor, "key.create", "key", name, after=_audited(key))
    return key, f"amk_{prefix}_{secret}"


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, name: str, actor: str = audit.SYSTEM) -> ApiKey:
    """Revoke a key (again: nothing changes, nothing is audited)."""
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise NotFound(f"no API key named {name!r}")
    if key.revoked_at is None:
        before = _audited(key)
        key.revoked_at = datetime.now(UTC)
        audit.record(session, actor, "key.revoke", "key", name, before=before,
                     after=_audited(key))
    return key


def _audited(key: ApiKey) -> dict[str, str | None]:
    """What the audit log keeps of a key: never the secret, its hash, salt or prefix."""
    return {"name": key.name, "role": key.role, "revoked_at": iso(key.revoked_at)}


def authenticate(session: Session, presented: str) -> ApiKey | None:
    """The active key matching `presented`, or None."""
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "amk":
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.key_hash, _digest(key.salt, parts[2])):
        return None
    now = datetime.now(UTC)
    # Coarse on purpose: a write per request would turn every read into a transaction.
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
    return key
