"""/api/v1 tokens, API keys and watchlists: reading is for every role, changing for admins."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from models import ApiKey, Token
from monitor.addresses import checksum
from monitor.api.auth import Caller, admin, viewer
from monitor.api.guard import GuardedRoute, body_limit
from monitor.api.schemas import (
    ERRORS,
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyOut,
    Text,
    TokenCreate,
    TokenList,
    TokenOut,
    WatchlistImported,
    WatchlistList,
)
from monitor.apikeys import create_key, list_keys, revoke_key
from monitor.db import transaction
from monitor.errors import UserError
from monitor.scoring import queue
from monitor.timefmt import iso
from monitor.tokens import add_token, list_tokens, resolve_metadata
from monitor.watchlist.parsers import ListFormat, ListFormatError
from monitor.watchlist.service import import_list, summaries

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=GuardedRoute)
Name = Annotated[str, Text(128, 1), Path(description="Name")]
RESCREEN_STATUS = "/api/v1/tokens"  # each token's rescreen_pending
MAX_LIST_BYTES = 64 * 1024 * 1024  # the full OFAC SDN_ADVANCED.XML is about 100 MB unzipped; lists
# bigger than this belong on the command line, not in one HTTP request.


def token_json(token: Token, rescreen_pending: bool = False) -> dict[str, Any]:
    return {
        "id": token.id, "chain_id": token.chain_id, "address": checksum(token.address),
        "name": token.name, "symbol": token.symbol, "decimals": token.decimals,
        "standard": token.standard, "start_block": token.start_block,
        "synced_block": token.synced_block, "created_at": iso(token.created_at),
        "rescreen_pending": rescreen_pending,
    }


@router.get("/tokens", tags=["tokens"], response_model=TokenList)
def get_tokens(request: Request, _: Annotated[Caller, Depends(viewer)]) -> dict[str, Any]:
    """Registered token contracts. `rescreen_pending`: a watchlist change (or a reorg) is
    waiting for the token's next scoring run to screen it again."""
    with request.app.state.read_sessions() as session:
        pending = queue.pending_tokens(session)
        return {"items": [token_json(t, t.id in pending) for t in list_tokens(session)]}


@router.post("/tokens", status_code=201, tags=["tokens"], response_model=TokenOut)
def post_token(request: Request, body: TokenCreate,
               caller: Annotated[Caller, Depends(admin)]) -> dict[str, Any]:
    """Register a token contract; name, symbol and decimals are read from the contract when
    left out and a node is configured (decimals default to 18 otherwise)."""
    name, symbol, decimals = resolve_metadata(request.app.state.settings, body.chain_id,
                                              body.address, body.name, body.symbol,
                                              body.decimals)
    with transaction(request.app.state.sessions) as session:
        token = add_token(session, chain_id=body.chain_id, address=body.address, name=name,
                          symbol=symbol, decimals=18 if decimals is None else decimals,
                          standard=body.standard, start_block=body.start_block,
                          actor=caller.name)
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
             caller: Annotated[Caller, Depends(admin)]) -> dict[str, Any]:
    """A new key. `key` is shown in this response only; only a salted hash is stored."""
    with transaction(request.app.state.sessions) as session:
        key, secret = create_key(session, body.name, body.role, actor=caller.name)
        return {**key_json(key), "key": secret}


@router.delete("/keys/{name}", tags=["keys"], response_model=KeyOut)
def delete_key(request: Request, name: Name,
               caller: Annotated[Caller, Depends(admin)]) -> dict[str, Any]:
    """Revoke a key; it is refused from the next request on."""
    with transaction(request.app.state.sessions) as session:
        return key_json(revoke_key(session, name, actor=caller.name))


@router.get("/watchlists", tags=["watchlists"], response_model=WatchlistList)
def get_watchlists(
    request: Request,
    _: Annotated[Caller, Depends(viewer)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[Annotated[str, Text(128, 1)] | None,
                      Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Imported watchlists by name, with their size and what the last import changed."""
    with request.app.state.read_sessions() as session:
        rows = summaries(session, limit + 1, cursor)
    page = rows[:limit]
    return {"items": [{**row, "updated_at": iso(row["updated_at"])} for row in page],
            "next_cursor": page[-1]["name"] if len(rows) > limit else None}


@router.put("/watchlists/{name}", tags=["watchlists"], response_model=WatchlistImported,
            status_code=202, openapi_extra=body_limit(MAX_LIST_BYTES), responses={
                200: {"model": WatchlistImported,
                      "description": "Imported; nothing changed, so nothing to re-screen"},
                202: {"model": WatchlistImported, "description": "Imported; the re-screen "
                      "of every token is queued (`Location`: where to watch it)"}})
def put_watchlist(
    request: Request,
    response: Response,
    name: Name,
    caller: Annotated[Caller, Depends(admin)],
    content: Annotated[str, Body(media_type="text/plain",
                                 description="The list file: OFAC SDN XML, CSV, text or JSON")],
    category: Annotated[str, Query(max_length=32)] = "sanctioned",
    format: ListFormat = ListFormat.auto,
) -> dict[str, Any]:
    """Replace a watchlist with the uploaded file (atomically). When that changes what is
    listed, every token is marked for re-screening and the answer is 202: the stored history
    is screened again in the background (the daemon's `score` job, or `amlmon api`'s own
    re-screen task), not in this request. `GET /api/v1/tokens` shows each token's
    `rescreen_pending` until that run has committed, alerts included."""
    if "\x00" in content:
        raise UserError("body: contains NUL characters")
    with tempfile.TemporaryDirectory(prefix="amlmon-list-") as folder:
        path = FilePath(folder) / "upload"
        path.write_text(content, encoding="utf-8")
        try:
            with transaction(request.app.state.sessions) as session:
                result = import_list(session, path, name, category, fmt=format,
                                     source="api upload", actor=caller.name)
                tokens = len(list_tokens(session))
        except ListFormatError as exc:  # it names the file: here that is the request body
            raise UserError(str(exc).replace(str(path), "body")) from None
    answer: dict[str, Any] = {
        "name": result.list_name, "format": str(result.format), "entries": result.total,
        "added": len(result.added), "removed": len(result.removed), "changed": result.changed,
        "warnings": result.warnings[:100],
    }
    if not result.screening_changes:
        response.status_code = 200
        return answer
    response.headers["Location"] = RESCREEN_STATUS
    rescreen_soon = request.app.state.rescreen_soon
    if rescreen_soon is not None:
        rescreen_soon()
    return {**answer, "rescreen": {"tokens": tokens, "status": RESCREEN_STATUS}}
