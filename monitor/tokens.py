"""The registry of watched token contracts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, String, select
from sqlalchemy.orm import Session

from models import Chain, Token
from monitor import audit
from monitor.errors import Conflict, UserError
from monitor.settings import Settings


# What the tokens table stores (models/chain.py). The CLI's options and the API's body use
# the same numbers; check_metadata covers what they cannot see: values read from a contract.
def _length(column: ColumnElement[Any]) -> int:
    assert isinstance(column.type, String) and column.type.length is not None
    return column.type.length


NAME_MAX = _length(Token.__table__.c.name)
SYMBOL_MAX = _length(Token.__table__.c.symbol)
DECIMALS_MAX = 77  # the column's CHECK: 10**77 is the largest power of ten a uint256 holds
MAX_BLOCK = 2**63 - 1  # start_block is a BIGINT


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
    actor: str = audit.SYSTEM,
) -> Token:
    """Register a token (address already validated, lower-case). Refuses duplicates.
    Audited as `token.add` by `actor`."""
    check_metadata(name, symbol, decimals)
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
    audit.record(session, actor, "token.add", "token", token.id, after={
        "chain_id": chain_id, "address": address, "name": name, "symbol": symbol,
        "decimals": decimals, "standard": standard, "start_block": start_block})
    return token


def resolve_metadata(
    settings: Settings, chain_id: int, address: str, name: str | None, symbol: str | None,
    decimals: int | None,
) -> tuple[str | None, str | None, int | None]:
    """Fill what the user left out from the contract itself, when a node is configured."""
    urls = settings.urls_of(chain_id)
    if not urls or None not in (name, symbol, decimals):
        return name, symbol, decimals
    # web3 costs a second of start-up: load it only when a token is registered.
    from monitor.chain.metadata import read_metadata

    meta = read_metadata(urls[0], settings.rpc_timeout_seconds, address)
    if meta.chain_id != chain_id:
        raise UserError(f"the configured node serves chain {meta.chain_id}, not {chain_id}")
    read = (meta.name if name is None else None, meta.symbol if symbol is None else None,
            meta.decimals if decimals is None else None)
    check_metadata(*read, source="the contract's")
    return (name if name is not None else meta.name,
            symbol if symbol is not None else meta.symbol,
            decimals if decimals is not None else meta.decimals)


def check_metadata(name: str | None, symbol: str | None, decimals: int | None,
                   source: str = "") -> None:
    """UserError naming the field when a value does not fit the tokens table; `source` says
    where it came from ("the contract's"), so the user knows to give that field instead."""
    whose = f"{source} " if source else ""
    hint = " (give it explicitly instead)" if source else ""
    for field, value, limit in (("name", name, NAME_MAX), ("symbol", symbol, SYMBOL_MAX)):
        if value is None:
            continue
        if len(value) > limit:
            raise UserError(f"{whose}{field} is {len(value)} characters long; the limit is "
                            f"{limit}{hint}")
        if "\x00" in value:  # Postgres text cannot hold NUL
            raise UserError(f"{whose}{field} contains NUL characters{hint}")
    if decimals is not None and not 0 <= decimals <= DECIMALS_MAX:
        raise UserError(f"{whose}decimals is {decimals}; it must be 0 to {DECIMALS_MAX}{hint}")


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
