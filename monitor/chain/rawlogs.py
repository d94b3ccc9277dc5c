"""eth_getLogs replies read straight from their bytes when they hold only plain transfers.

Nearly every reply of a backfill is a run of well-formed, lower-case ERC-20 Transfers in
the node's own fixed layout. For those, one strict regular expression over the reply
finds every field at once, and one pass over the captured columns checks that they are
lower-case hex. The grammar accepts a strict subset of JSON: the JSON-RPC envelope with an
integer id, then logs whose keys come in one of the known node layouts (anvil/reth, geth),
each value a lower-case hex string of the exact length `decode_logs` checks, three topics
with the Transfer signature and zero-padded addresses, `"removed":false`, no whitespace
and no escapes. The matches must tile the result array exactly (their lengths add up to
it), so nothing between them is skipped.

Anything else (another event, a 4-topic or 2-topic Transfer, `removed:true`, a missing,
extra or reordered key, upper-case or escaped hex, a short data field, an error reply)
makes `parse_reply` return None, and the reply is parsed by orjson and decoded by
`decode_logs` exactly as before: the fast path never decides what is malformed or
skipped, it only recognises replies in which nothing is.
"""

from __future__ import annotations

import re

from monitor.chain import events
from monitor.chain.decode import LogsReply

__all__ = ["LAYOUTS", "LogsReply", "parse_reply"]

# A JSON-RPC success envelope as nodes write it; the result array runs to the final "]}".
_ENVELOPE = re.compile(r'\{"jsonrpc":"2\.0","id":(?:0|[1-9][0-9]{0,17}),"result":\[')
# The values' characters are checked after the match, a column at a time (bytes.translate
# in C), which is about half the cost of character classes in the pattern: "." and
# [^"] here, hex digits below.
_QUANTITY = r'"0x([^"]+)"'
_HASH = r'"(0x.{64})"'
_PADDED = r'"0x000000000000000000000000(.{40})"'
_HEX_AND_X = b"0123456789abcdefx"
_WITH_0X = 3  # groups that keep their "0x" (token, block hash, tx hash): one x each
_VALUES = {
    "address": r'"(0x.{40})"',
    "topics": rf'\["{events.TRANSFER}",{_PADDED},{_PADDED}\]',
    "data": r'"0x(.{64})"',
    "blockHash": _HASH,
    "blockNumber": _QUANTITY,
    "blockTimestamp": _QUANTITY,
    "transactionHash": _HASH,
    "transactionIndex": _QUANTITY,
    "logIndex": _QUANTITY,
    "removed": "false",
}
# The groups each layout yields, by name (topics: sender, then receiver).
_GROUPS = {
    "address": ("token",), "topics": ("sender", "receiver"), "data": ("amount",),
    "blockHash": ("block_hash",), "blockNumber": ("number",),
    "blockTimestamp": ("timestamp",), "transactionHash": ("tx_hash",),
    "transactionIndex": ("tx_index",), "logIndex": ("index",), "removed": (),
}
_VARIABLE = ("number", "timestamp", "tx_index", "index")  # the quantities' hex digits
# The columns LogsReply builds TransferRecords from, in its order.
_RECORD = ("number", "block_hash", "tx_hash", "index", "token", "sender", "receiver", "amount")

# Key orders seen from nodes: alloy's (anvil, reth), with and without blockTimestamp, and
# go-ethereum's, with blockTimestamp (1.16+) and without.
LAYOUTS: tuple[tuple[str, ...], ...] = (
    ("address", "topics", "data", "blockHash", "blockNumber", "blockTimestamp",
     "transactionHash", "transactionIndex", "logIndex", "removed"),
    ("address", "topics", "data", "blockHash", "blockNumber", "transactionHash",
     "transactionIndex", "logIndex", "removed"),
    ("address", "topics", "data", "blockNumber", "transactionHash", "transactionIndex",
     "blockHash", "blockTimestamp", "logIndex", "removed"),
    ("address", "topics", "data", "blockNumber", "transactionHash", "transactionIndex",
     "blockHash", "logIndex", "removed"),
)


class _Layout:
    """One key order: its log pattern, where each group lands in findall's tuples, and
    the characters of a log outside its variable-length quantities."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        body = ",".join(f'"{key}":{_VALUES[key]}' for key in keys)
        # Each log but the last carries the comma after it; parse_reply's tiling check
        # makes sure the last one ends the array and every comma precedes the next log.
        self.pattern = re.compile(r"\{" + body + r"\}(?:,|\Z)")
        names = [name for key in keys for name in _GROUPS[key]]
        self.index = {name: i for i, name in enumerate(names)}
        self.variable = tuple(self.index[name] for name in _VARIABLE if name in self.index)
        # A sample log with one-digit quantities: its length less those digits.
        sample = "{" + ",".join(f'"{key}":{_SAMPLE[key]}' for key in keys) + "}"
        if self.pattern.fullmatch(sample) is None:  # pragma: no cover - a wrong table
            raise AssertionError(f"layout {keys} does not match its own sample")
        self.fixed = len(sample) - len(self.variable)


_SAMPLE = {
    "address": f'"0x{"ab" * 20}"',
    "topics": f'["{events.TRANSFER}","0x{"0" * 24}{"cd" * 20}","0x{"0" * 24}{"ef" * 20}"]',
    "data": f'"0x{"01" * 32}"',
    "blockHash": f'"0x{"23" * 32}"',
    "blockNumber": '"0x1"',
    "blockTimestamp": '"0x1"',
    "transactionHash": f'"0x{"45" * 32}"',
    "transactionIndex": '"0x1"',
    "logIndex": '"0x1"',
    "removed": "false",
}
_LAYOUTS = tuple(_Layout(keys) for keys in LAYOUTS)


def _layout_of(text: str, start: int, end: int) -> _Layout | None:
    """The layout whose pattern the first log matches (the tiling check covers the rest)."""
    for layout in _LAYOUTS:
        if layout.pattern.match(text, start, end) is not None:
            return layout
    return None


def parse_reply(body: bytes) -> LogsReply | None:
    """The reply's transfers' fields if it is an all-plain-Transfer eth_getLogs success
    in a known layout, else None (then orjson and `decode_logs` read it, as always)."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return None
    envelope = _ENVELOPE.match(text)
    if envelope is None:
        return None
    start = envelope.end()
    end = len(text) - 2
    if text.endswith("\n"):  # go-ethereum ends its replies with one
        end -= 1
    if end < start or text[end:end + 2] != "]}":
        return None
    if end == start:
        return LogsReply(body, ())
    if text[end - 1] != "}":  # a comma before "]": the last log must end the array
        return None
    layout = _layout_of(text, start, end)
    if layout is None:
        return None
    rows: list[tuple[str, ...]] = layout.pattern.findall(text, start, end)
    n = len(rows)
    if not n:
        return None
    columns = list(zip(*rows, strict=True))
    # The matches tile the array iff their lengths add up to it: each is the fixed
    # characters, its variable-length quantities, and a comma for all but the last.
    variable = sum(sum(map(len, columns[i])) for i in layout.variable)
    if n * layout.fixed + variable + n - 1 != end - start:
        return None
    # Every value lower-case hex: nothing but hex digits and the x of each "0x" kept.
    values = "".join(map("".join, columns)).encode("ascii")
    if values.translate(None, _HEX_AND_X) or values.count(b"x") != _WITH_0X * n:
        return None
    index = layout.index
    return LogsReply(body, tuple(columns[index[name]] for name in _RECORD))
