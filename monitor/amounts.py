"""Token amounts: exact sums in the database, and how they are written for machines and
for people.

Amounts are uint256 base units and exact everywhere: never floats in storage or reports.
Reports for programs (JSON, CSV) carry `scaled` strings; everything a person reads (HTML
pages, tables, the goAML description) carries `grouped` ones, with the same digits; a
rule's sentence quotes `units`, rounded from the floats scoring computes with.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnExpressionArgument, Float, cast, func
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement


def scaled(value: int, decimals: int) -> str:
    """Exact decimal string of base units: 1234500 with 6 decimals -> '1.2345'.

    Integer arithmetic: Decimal would round a uint256 to its 28-digit context precision."""
    sign, value = ("-", -value) if value < 0 else ("", value)
    whole, fraction = divmod(value, 10**decimals)
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{decimals}d}".rstrip("0")


def grouped(text: str) -> str:
    """A `scaled` string for people, grouped by thousands: '147915.12759' ->
    '147,915.12759' (the digits are left as they are: the value stays exact)."""
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, fraction = digits.partition(".")
    return f"{sign}{int(whole):,}{dot}{fraction}"


def shown(value: int, decimals: int) -> str:
    """Base units as a person reads them: exact, scaled, grouped by thousands."""
    return grouped(scaled(value, decimals))


def units(value: float) -> str:
    """Token units in a rule's sentence, from scoring's floats: 12,500.5 (to the cent)."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def exact_sum(session: Session, amount: ColumnExpressionArgument[Any]) -> ColumnElement[Any]:
    """An aggregate of `amount` (a uint256 column) that `total` reads back exactly.

    Postgres adds NUMERIC(78,0) exactly in SQL. SQLite stores amounts as text and its SUM
    goes through 8-byte floats, so there the aggregate gathers the group's amounts and
    `total` adds the integers."""
    if session.get_bind().dialect.name == "postgresql":
        return func.sum(amount)
    return func.group_concat(amount, ",")


def total(summed: Any) -> int:
    """The exact integer an `exact_sum` aggregate stands for (0 for an empty group)."""
    if summed is None:
        return 0
    if isinstance(summed, str):
        return sum(int(part) for part in summed.split(","))
    return int(summed)


def ordering_sum(session: Session, amount: ColumnExpressionArgument[Any]) -> ColumnElement[Any]:
    """An aggregate to ORDER BY the sum of `amount`: exact on Postgres; on SQLite a float
    sum, fine for ranking (`exact_sum` gives the values shown)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.sum(amount)
    return func.sum(cast(amount, Float))
