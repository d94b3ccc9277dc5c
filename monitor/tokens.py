"""The registry of watched token contracts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Chain, Token
from monitor.errors import Conflict, UserError
from monitor.settings import Settings


def ensure_chain(session: Session, chain_id: int) -> Chain:
    chain = session.get(Chain, chain_id)
    if chain is None:
        chain = Chain(chain_id=chain_id)
        session.add(chain)
        session.flush()
    return chain


def add_token(
    session: Session,
    *,
    chain_id: int,
    address: str,
    name: str | None = None,
    symbol: str | None = None,
    decimals: int = 18,
    standard: str = "erc20",
    start_block: int = 0,
) -> Token:
    """Register a token (address already validated, lower-case). Refuses duplicates."""
    existing = session.scalar(
        select(Token).where(Token.chain_id == chain_id, Token.address == address)
    )
    if existing is not None:
        raise Conflict(f"token {address} is already registered on chain {chain_id} "
                        f"(id {existing.id})")
    ensure_chain(session, chain_id)
    token = Token(
        chain_id=chain_id, address=address, name=name, symbol=symbol, decimals=decimals,
        standard=standard, start_block=start_block,
    )
    session.add(token)
    session.flush()
    return token


def resolve_metadata(
    settings: Settings, chain_id: int, address: str, name: str | None, symbol: str | None,
    decimals: int | None,
) -> tuple[str | None, str | None, int | None]:
    """Fill what the user left out from the contract itself, when a node is configured."""
    if not settings.rpc_urls or None not in (name, symbol, decimals):
        return name, symbol, decimals
    # web3 costs a second of start-up: load it only when a token is registered.
    from monitor.chain.metadata import connect, read_metadata

    meta = read_metadata(connect(settings.rpc_urls[0], settings.rpc_timeout_seconds), address)
    if meta.chain_id != chain_id:
        raise UserError(f"the configured node serves chain {meta.chain_id}, not {chain_id}")
    return (name if name is not None else meta.name,
            symbol if symbol is not None else meta.symbol,
            decimals if decimals is not None else meta.decimals)


def list_tokens(session: Session, chain_id: int | None = None) -> Sequence[Token]:
    query = select(Token).order_by(Token.chain_id, Token.id)
    if chain_id is not None:
        query = query.where(Token.chain_id == chain_id)
    return session.scalars(query).all()


def find_token(session: Session, address: str, chain_id: int | None = None) -> Token:
    """The registered token with this address; ambiguous across chains needs a chain id."""
    query = select(Token).where(Token.address == address)
    if chain_id is not None:
        query = query.where(Token.chain_id == chain_id)
    found = session.scalars(query).all()
    if not found:
        raise UserError(f"token {address} is not registered")
    if len(found) > 1:
        raise UserError(f"token {address} is registered on several chains; pass --chain-id")
    return found[0]
