"""Addresses given on the command line: validated once, with the option's name in the error."""

from __future__ import annotations

from monitor.addresses import parse_address
from monitor.errors import UserError


def address_option(value: str, option: str) -> str:
    """The address, lower-case; UserError naming `option` when it is not one."""
    try:
        return parse_address(value)
    except ValueError as exc:
        raise UserError(f"{option}: {exc}") from None
