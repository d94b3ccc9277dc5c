"""/api/v1/labels: list (viewer), import a source (investigator); audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from monitor.api.auth import Caller, investigator, viewer
from monitor.api.guard import GuardedRoute, body_limit
from monitor.api.label_schemas import LabelImport, LabelImported, LabelPage
from monitor.api.schemas import ERRORS, Address
from monitor.db import transaction
from monitor.errors import UserError
from monitor.labels import csvfile, store

router = APIRouter(prefix="/api/v1/labels", tags=["labels"], responses=ERRORS,
                   route_class=GuardedRoute)
MAX_BODY_BYTES = 8 * 1024 * 1024  # 20,000 labels with notes


@router.get("", response_model=LabelPage)
def list_labels(
    request: Request,
    _: Annotated[Caller, Depends(viewer)],
    source: Annotated[str | None, Query(max_length=store.SOURCE_MAX,
                                        description="Only this source")] = None,
    address: Annotated[Address | None, Query(description="Only this address")] = None,
    label: Annotated[str | None, Query(pattern="^(laundering|legitimate)$",
                                       description="Only this label")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,18}$",
                                        description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Labels newest first. Follow `next_cursor` until it is null."""
    with request.app.state.read_sessions() as session:
        rows = store.list_labels(session, source=source, address=address, label=label,
                                 before_id=int(cursor) if cursor else None, limit=limit + 1)
        page = rows[:limit]
        return {"items": [store.view(row) for row in page],
                "next_cursor": str(page[-1].id) if len(rows) > limit else None}


@router.post("", response_model=LabelImported, openapi_extra=body_limit(MAX_BODY_BYTES))
def import_labels(request: Request, body: LabelImport,
                  caller: Annotated[Caller, Depends(investigator)]) -> dict[str, Any]:
    """Make `labels` the labels of `source`, replacing what it held, atomically. A label
    never flags an address: rankers train on labels (`amlmon model train`). The key's name
    is the actor."""
    source = store.validate_source(body.source)
    rows: list[csvfile.LabelRow] = []
    seen: dict[tuple[str, int | None], int] = {}
    for n, item in enumerate(body.labels):
        row = csvfile.check(item.address, item.label, item.chain_id, item.confidence,
                            item.note, f"labels[{n}]")
        if (row.address, row.chain_id) in seen:
            raise UserError(f"labels[{n}]: {item.address} is already labelled at "
                            f"labels[{seen[row.address, row.chain_id]}]")
        seen[row.address, row.chain_id] = n
        rows.append(row)
    with transaction(request.app.state.sessions) as session:
        result = store.replace_source(session, source, rows, caller.name)
    return {"source": result.source, "total": result.total, "added": result.added,
            "removed": result.removed, "changed": result.changed,
            "laundering": result.laundering, "legitimate": result.legitimate}
