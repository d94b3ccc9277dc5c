"""The registry of bridge contracts: add, list, remove (audited, as tokens are), and the
config file's `bridges:` entries made rows at start-up (sync_config_bridges).

Data functions take the caller's session and never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from models import Bridge, BridgeEvent, Token
from monitor import audit
from monitor.bridges import protocols
from monitor.db import transaction
from monitor.errors import Conflict, NotFound, UserError
from monitor.tokens import MAX_BLOCK, ensure_chain

log = logging.getLogger(__name__)


def resolve_endpoint_id(protocol: str, chain_id: int, endpoint_id: int | None) -> int:
    """The given endpoint id (checked against the protocol's range), else the mainnet
    table's; UserError asking for --endpoint-id when neither is there."""
    if protocol not in protocols.PROTOCOLS:
        raise UserError(f"unknown bridge protocol {protocol!r}; one of "
                        f"{', '.join(protocols.PROTOCOLS)}")
    if endpoint_id is None:
        endpoint_id = protocols.mainnet_endpoint_id(protocol, chain_id)
        if endpoint_id is None:
            raise UserError(f"chain {chain_id} is not in the {protocol} table of mainnet ids; "
                            "pass --endpoint-id (the protocol's own id of that chain)")
    limit = protocols.MAX_ENDPOINT_ID[protocol]
    if not 0 <= endpoint_id <= limit:
        raise UserError(f"endpoint id {endpoint_id} is out of range for {protocol} "
                        f"(0 to {limit})")
    return endpoint_id


def add_bridge(
    session: Session,
    *,
    chain_id: int,
    address: str,
    protocol: str,
    endpoint_id: int | None = None,
    token: str | None = None,
    start_block: int = 0,
    actor: str = audit.SYSTEM,
) -> Bridge:
    """Register a bridge contract (addresses validated, lower-case). Refuses duplicates.

    `token` is the registered token the bridge moves on that chain; None means, for a
    LayerZero OFT, the bridge itself when it is a registered token (an OFT is the token;
    an OFT adapter names its token with --token). Audited as `bridge.add` by `actor`."""
    endpoint = resolve_endpoint_id(protocol, chain_id, endpoint_id)
    if not 0 <= start_block <= MAX_BLOCK:
        raise UserError(f"start block {start_block} is out of range (0 to {MAX_BLOCK})")
    existing = session.scalar(
        select(Bridge).where(Bridge.chain_id == chain_id, Bridge.address == address))
    if existing is not None:
        raise Conflict(f"bridge {address} is already registered on chain {chain_id} "
                       f"(id {existing.id})")
    token_id = _token_id(session, chain_id, address, protocol, token)
    ensure_chain(session, chain_id)
    bridge = Bridge(chain_id=chain_id, address=address, protocol=protocol,
                    endpoint_id=endpoint, token_id=token_id, start_block=start_block)
    session.add(bridge)
    session.flush()
    audit.record(session, actor, "bridge.add", "bridge", bridge.id, after=view(session, bridge))
    return bridge


def _token_id(session: Session, chain_id: int, address: str, protocol: str,
              token: str | None) -> int | None:
    if token is None and protocol != protocols.LAYERZERO_OFT:
        return None
    found = session.scalar(select(Token.id).where(
        Token.chain_id == chain_id, Token.address == (token or address)))
    if found is None and token is not None:
        raise UserError(f"token {token} is not registered on chain {chain_id}; register it "
                        "with `amlmon token add` first")
    return found


def list_bridges(session: Session, chain_id: int | None = None) -> Sequence[Bridge]:
    query = select(Bridge).order_by(Bridge.chain_id, Bridge.id)
    if chain_id is not None:
        query = query.where(Bridge.chain_id == chain_id)
    return session.scalars(query).all()


def remove_bridge(session: Session, *, chain_id: int, address: str,
                  actor: str = audit.SYSTEM) -> None:
    """Unregister a bridge: its events go, and the transfers they made are recomputed from
    what remains (a transfer neither of whose sides is left is deleted). Audited."""
    from monitor.bridges import linking  # linking imports this module's neighbours

    bridge = session.scalar(
        select(Bridge).where(Bridge.chain_id == chain_id, Bridge.address == address))
    if bridge is None:
        raise NotFound(f"no bridge {address} is registered on chain {chain_id}")
    before = view(session, bridge)
    linking.lock(session)
    keys: set[tuple[str, str]] = {(str(protocol), str(mid)) for protocol, mid in session.execute(
        select(BridgeEvent.protocol, BridgeEvent.message_id).where(
        BridgeEvent.bridge_id == bridge.id))}
    session.execute(delete(BridgeEvent).where(BridgeEvent.bridge_id == bridge.id))
    session.delete(bridge)
    session.flush()
    linking.refresh(session, keys)
    audit.record(session, actor, "bridge.remove", "bridge", before["id"], before=before)


def sync_config_bridges(session: Session, entries: Sequence[Any],
                        actor: str = audit.SYSTEM) -> list[Bridge]:
    """Register the config file's `bridges:` entries (Settings.bridges) that are not yet
    registered; returns those added. An entry already registered with another protocol
    or endpoint id is refused naming it: the config and the table must not disagree."""
    added = []
    for n, entry in enumerate(entries):
        where = f"bridges[{n}]"
        existing = session.scalar(select(Bridge).where(
            Bridge.chain_id == entry.chain_id, Bridge.address == entry.address))
        if existing is None:
            try:
                added.append(add_bridge(
                    session, chain_id=entry.chain_id, address=entry.address,
                    protocol=entry.protocol, endpoint_id=entry.endpoint_id, token=entry.token,
                    start_block=entry.start_block, actor=actor))
            except UserError as exc:
                raise UserError(f"{where}: {exc}") from None
            continue
        endpoint = resolve_endpoint_id(entry.protocol, entry.chain_id, entry.endpoint_id)
        if (existing.protocol, existing.endpoint_id) != (entry.protocol, endpoint):
            raise UserError(
                f"{where}: bridge {entry.address} on chain {entry.chain_id} is registered as "
                f"{existing.protocol} endpoint {existing.endpoint_id}, the config says "
                f"{entry.protocol} endpoint {endpoint}; `amlmon bridge remove` it first")
    return added


def sync_settings(sessions: sessionmaker[Session], settings: Any) -> list[Bridge]:
    """Start-up step of `ingest`, `run` and the demo: register `settings.bridges` (one
    transaction; UserError naming the entry when one is refused)."""
    entries = list(getattr(settings, "bridges", None) or [])
    if not entries:
        return []
    with transaction(sessions) as session:
        added = sync_config_bridges(session, entries)
    for bridge in added:
        log.info("registered bridge %s on chain %s from the config file (%s, endpoint id %s)",
                 bridge.address, bridge.chain_id, bridge.protocol, bridge.endpoint_id)
    return added


def view(session: Session, bridge: Bridge) -> dict[str, Any]:
    """The recorded fields of a bridge (audit rows, `bridge list --format json`)."""
    token = session.get(Token, bridge.token_id) if bridge.token_id is not None else None
    return {"id": bridge.id, "chain_id": bridge.chain_id, "address": bridge.address,
            "protocol": bridge.protocol, "endpoint_id": bridge.endpoint_id,
            "token": token.address if token else None, "start_block": bridge.start_block,
            "synced_block": bridge.synced_block}
