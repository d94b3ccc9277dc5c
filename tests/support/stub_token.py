"""Contracts on a test anvil node whose metadata the repo's RWA token cannot have: its
constructor caps name and symbol at 64 and 32 characters, and no deployment can answer
with, say, a NUL in its symbol. Compiled from Vyper and installed with anvil_setCode."""

from __future__ import annotations

import json
import secrets

import vyper

from support.anvil import Anvil

# (name, symbol, decimals) a contract answers that the tokens table cannot store, and the
# error registering it gives.
BEYOND_THE_SCHEMA = [
    ("N" * 129, "OK", 6, "the contract's name is 129 characters long; the limit is 128"),
    ("Fine", "S" * 33, 6, "the contract's symbol is 33 characters long; the limit is 32"),
    ("Fine", "A\x00B", 6, "the contract's symbol contains NUL characters"),
    ("Fine", "OK", 200, "the contract's decimals is 200; it must be 0 to 77"),
]


def _literal(text: str) -> str:
    # Vyper string literals take Python-style escapes; json.dumps writes NUL as \u0000,
    # which Vyper does not read, so write it as \x00.
    return json.dumps(text).replace("\\u0000", "\\x00")


def install_metadata_stub(node: Anvil, name: str, symbol: str, decimals: int) -> str:
    """The address of a fresh contract answering name(), symbol() and decimals() so."""
    source = f"""
@external
@view
def name() -> String[{max(len(name), 1)}]:
    return {_literal(name)}

@external
@view
def symbol() -> String[{max(len(symbol), 1)}]:
    return {_literal(symbol)}

@external
@view
def decimals() -> uint8:
    return {decimals}
"""
    runtime = vyper.compile_code(source, output_formats=["bytecode_runtime"])["bytecode_runtime"]
    address = "0x" + secrets.token_hex(20)
    node.rpc("anvil_setCode", address, runtime)
    return address
