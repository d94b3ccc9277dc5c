"""EIP-55 checksums written out in monitor.addresses equal eth_utils' reference ones."""

from __future__ import annotations

import random

import pytest
from eth_utils import to_checksum_address

from monitor.addresses import checksum, parse_address


def test_checksum_equals_eth_utils_on_random_and_edge_addresses() -> None:
    draw = random.Random(23)
    addresses = ["0x" + "0" * 40, "0x" + "f" * 40, "0x" + "ab" * 20]
    addresses += ["0x" + draw.randbytes(20).hex() for _ in range(2000)]
    for address in addresses:
        assert checksum(address) == to_checksum_address(address)
        assert checksum("0x" + address[2:].upper()) == to_checksum_address(address)
        assert parse_address(checksum(address)) == address


@pytest.mark.parametrize("bad", ["0x1234", "ab" * 20, "0x" + "g" * 40])
def test_checksum_refuses_what_is_no_address(bad: str) -> None:
    with pytest.raises(ValueError, match="40 hex digits"):
        checksum(bad)
