"""Request bodies and responses of /api/v1/labels (the shared types are
monitor.api.schemas')."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from monitor.api.schemas import Address, LabelOut, Out, Strict, Text
from monitor.labels.csvfile import CHAIN_ID_MAX, NOTE_MAX
from monitor.labels.store import SOURCE_MAX

MAX_LABELS = 20_000  # per request; a larger source is imported with the CLI


class LabelIn(Strict):
    address: Address
    label: Literal["laundering", "legitimate"]
    chain_id: Annotated[int, Field(ge=1, le=CHAIN_ID_MAX)] | None = Field(
        None, description="null: the address on every chain")
    confidence: Annotated[float, Field(ge=0, le=1)] = 1.0
    note: Annotated[str, Text(NOTE_MAX)] | None = None


class LabelImport(Strict):
    """A source's labels: they replace whatever the source held, atomically."""

    source: Annotated[str, Text(SOURCE_MAX, 1)] = Field(
        description="The source's name (alert:… and case:… are the outcomes')")
    labels: list[LabelIn] = Field(min_length=1, max_length=MAX_LABELS)


class LabelImported(Out):
    source: str
    total: int
    added: int
    removed: int
    changed: int
    laundering: int
    legitimate: int


class LabelPage(Out):
    items: list[LabelOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at "
                                                "the end")
