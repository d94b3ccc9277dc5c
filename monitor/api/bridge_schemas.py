"""Responses of /api/v1/bridge-transfers (the shared types are monitor.api.schemas')."""

from __future__ import annotations

from pydantic import Field

from monitor.api.schemas import BridgeTransferOut, Out


class BridgeTransferPage(Out):
    items: list[BridgeTransferOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at "
                                                "the end")
