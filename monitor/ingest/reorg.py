"""Find where the node's chain left the one we stored."""

from __future__ import annotations

from collections.abc import Mapping


def find_fork(stored: Mapping[int, str], node: Mapping[int, str]) -> int | None:
    """First block that differs, given stored and node hashes by number.

    Returns the block after the highest common one, or None when no stored block in
    the window is still on the node's chain (a reorg deeper than the window).
    """
    for number in sorted(stored, reverse=True):
        if node.get(number) == stored[number]:
            return number + 1
    return None
