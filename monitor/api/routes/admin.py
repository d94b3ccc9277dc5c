"""/api/v1 tokens, API keys and watchlists: reading is for every role, changing for admins."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request

from models import ApiKey, Token
from monitor import jobs
from monitor.addresses import checksum
from monitor.api.auth import Caller, admin, viewer
from monitor.api.guard import GuardedRoute, body_limit
from monitor.api.schemas import (
    ERRORS,
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyOut,
    TokenCreate,
    TokenList,
    TokenOut,
    WatchlistImported,
    WatchlistList,
    text,
)
from monitor.apikeys import create_key, list_keys, revoke_key
from monitor.db import transaction
from monitor.errors import UserError
from monitor.timefmt import iso
from monitor.tokens import add_token, list_tokens, resolve_metadata
from monitor.watchlist.parsers import ListFormat
from monitor.watchlist.service import import_list, summaries

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=GuardedRoute)
Name = Annotated[text(128, 1), Path(description="Name")]  # type: ignore[valid-type]
MAX_LIST_BYTES = 64 * 1024 * 1024  # the full OFAC SDN_ADVANCED.XML is about 100 MB unzipped; lists
# bigger than this belong on the command line, not in one HTTP request.


def token_json(token: Token) -> dict[str, Any]:
    return {
        "id": token.id, "chain_id": token.chain_id, "address": checksum(token.address),
        "name": token.name, "symbol": token.symbol, "decimals": token.decimals,
        "standard": token.standard, "start_block": token.start_block,
        "synced_block": token.synced_block, "created_at": iso(token.created_at),
    }


@router.get("/tokens", tags=["tokens"], response_model=TokenList)
def get_tokens(request: Request, _: Annotated[Caller, Depends(viewer)]) -> dict[str, Any]:
    """Registered token contracts."""
    with request.app.state.read_sessions() as session:
        return {"items": [token_json(t) for t in list_tokens(session)]}


@router.post("/tokens", status_code=201, tags=["tokens"], response_model=TokenOut)
def post_token(request: Request, body: TokenCreate,
               _: Annotated[Caller, Depends(admin)]) -> dict[str, Any]:
    """Register a token contract; name, symbol and decimals are read from the contract when
    left out and a node is configured (decimals default to 18 otherwise)."""
    name, symbol, decimals = resolve_metadata(request.app.state.settings, body.chain_id,
                                              body.address, body.name, body.symbol,
                                              body.decimals)
    with transaction(request.app.state.sessions) as session:
        token = add_token(session, chain_id=body.chain_id, address=body.address, name=name,
                          symbol=symbol, decimals=18 if decimals is None else decimals,
                          standard=body.standard, start_block=body.start_block)
        return token_json(token)


def key_json(key: ApiKey) -> dict[str, Any]:
    return {"name": key.name, "role": key.role, "prefix": key.prefix,
            "created_at": iso(key.created_at), "last_used_at": iso(key.last_used_at),
            "revoked_at": iso(key.revoked_at)}


@router.get("/keys", tags=["keys"], response_model=KeyList)
def get_keys(request: Request, _: Annotated[Caller, Depends(admin)]) -> dict[str, Any]:
    """API keys (never their secrets)."""
    with request.app.state.sessions() as session:
        return {"items": [key_json(k) for k in list_keys(session)]}


@router.post("/keys", status_code=201, tags=["keys"], response_model=KeyCreated)
def post_key(request: Request, body: KeyCreate,
             _: Annotated[Caller, Depends(admin)]) -> dict[str, Any]:
    """A new key. `key` is shown in this response only; only a salted hash is stored."""
    with transaction(request.app.state.sessions) as session:
        key, secret = create_key(session, body.name, body.role)
        return {**key_json(key), "key": secret}


@router.delete("/keys/{name}", tags=["keys"], response_model=KeyOut)
def delete_key(request: Request, name: Name,
               _: Annotated[Caller, Depends(admin)]) -> dict[str, Any]:
    """Revoke a key; it is refused from the next request on."""
    with transaction(request.app.state.sessions) as session:
        return key_json(revoke_key(session, name))


@router.get("/watchlists", tags=["watchlists"], response_model=WatchlistList)
def get_watchlists(request: Request, _: Annotated[Caller, Depends(viewer)]) -> dict[str, Any]:
    """Imported watchlists with their size and what the last import changed."""
    with request.app.state.read_sessions() as session:
        return {"items": [{**row, "updated_at": iso(row["updated_at"])}
                          for row in summaries(session)]}


@router.put("/watchlists/{name}", tags=["watchlists"], response_model=WatchlistImported,
            openapi_extra=body_limit(MAX_LIST_BYTES))
def put_watchlist(
    request: Request,
    name: Name,
    _: Annotated[Caller, Depends(admin)],
    content: Annotated[str, Body(media_type="text/plain",
                                 description="The list file: OFAC SDN XML, CSV, text or JSON")],
    category: Annotated[str, Query(max_length=32)] = "sanctioned",
    format: ListFormat = ListFormat.auto,
    rescreen: bool = True,
) -> dict[str, Any]:
    """Replace a watchlist with the uploaded file (atomically), then re-screen the stored
    history against it, as `amlmon watchlist import` does."""
    if "\x00" in content:
        raise UserError("the list file contains NUL characters")
    with tempfile.TemporaryDirectory(prefix="amlmon-list-") as folder:
        path = FilePath(folder) / "upload"
        path.write_text(content, encoding="utf-8")
        with transaction(request.app.state.sessions) as session:
            result = import_list(session, path, name, category, fmt=format, source="api upload")
    answer: dict[str, Any] = {
        "name": result.list_name, "format": str(result.format), "entries": result.total,
        "added": len(result.added), "removed": len(result.removed), "changed": result.changed,
        "warnings": result.warnings[:100],
    }
    if rescreen and result.screening_changes:
        summary = jobs.score_and_alert(request.app.state.sessions, request.app.state.settings)
        answer["rescreen"] = {"tokens": len(summary.runs), "alerts_created": summary.alerts_created,
                              "alerts_updated": summary.alerts_updated}
    return answer
