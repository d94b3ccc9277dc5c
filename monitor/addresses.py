"""EVM address parsing. Stored lower-case; shown EIP-55 checksummed."""

from __future__ import annotations

import functools
import re

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
ZERO = "0x" + "0" * 40  # the sender of a mint, the receiver of a burn


def parse_address(text: str) -> str:
    """Validate a user-supplied address and return it lower-case.

    Mixed-case input must carry a valid EIP-55 checksum: a typo in one character
    of a mixed-case address is caught instead of silently watching the wrong account.
    """
    value = text.strip()
    if not value.startswith(("0x", "0X")):
        raise ValueError(f"address {text!r} must start with 0x")
    value = "0x" + value[2:]
    if len(value) != 42:
        raise ValueError(f"address {text!r} must be 40 hex digits after 0x, got {len(value) - 2}")
    if not _HEX_ADDRESS.match(value):
        raise ValueError(f"address {text!r} contains non-hex characters")
    digits = value[2:]
    mixed = digits != digits.lower() and digits != digits.upper()
    if mixed and not _is_checksum(value):
        raise ValueError(
            f"address {text!r} has an invalid EIP-55 checksum "
            f"(expected {checksum(value)})"
        )
    return value.lower()


@functools.lru_cache(maxsize=1 << 16)
def checksum(address: str) -> str:
    """EIP-55 form of a stored address, for reports, tables and reasons' sentences.
    Written out rather than eth_utils' to_checksum_address, which validates and converts
    on the way and costs ~15x as much: a full run of a big token names 10^5 addresses."""
    if not _HEX_ADDRESS.match(address):
        raise ValueError(f"address {address!r} must be 0x and 40 hex digits")
    # Imported on first use: ingest never checksums.
    from eth_hash.auto import keccak

    digits = address[2:].lower()
    nibbles = keccak(digits.encode()).hex()
    return "0x" + "".join(c.upper() if n in "89abcdef" else c
                          for c, n in zip(digits, nibbles, strict=False))


def _is_checksum(address: str) -> bool:
    from eth_utils import is_checksum_address

    return bool(is_checksum_address(address))
