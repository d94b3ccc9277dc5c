"""Read a token contract's ERC-20 metadata (decimals, symbol, name) through web3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import Web3Exception

from monitor.errors import UserError
from monitor.redact import redact_url, scrub, secrets_of

# name()/symbol() return string on most tokens and bytes32 on some early ones (MKR, SAI).
_STRING_ABI = [
    {"name": fn, "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "string"}]}
    for fn in ("name", "symbol")
]
_BYTES32_ABI = [
    {"name": fn, "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "bytes32"}]}
    for fn in ("name", "symbol")
]
_DECIMALS_ABI = [
    {"name": "decimals", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint8"}]}
]


@dataclass(frozen=True)
class TokenMetadata:
    chain_id: int
    name: str | None
    symbol: str | None
    decimals: int | None


def read_metadata(rpc_url: str, timeout: float, address: str) -> TokenMetadata:
    """Chain id and whatever of decimals/symbol/name the contract at `address` answers."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    try:
        chain_id = w3.eth.chain_id
        target = Web3.to_checksum_address(address)
        if not w3.eth.get_code(target):
            raise UserError(f"no contract deployed at {target} on chain {chain_id}")
    except (Web3Exception, OSError, ValueError) as exc:
        # requests quotes the URL's path and query, where providers put API keys.
        reason = _one_line(scrub(str(exc), secrets_of(rpc_url))) or type(exc).__name__
        raise UserError(f"cannot read token metadata from the node {redact_url(rpc_url)}: "
                        f"{reason}") from None
    return TokenMetadata(
        chain_id=chain_id,
        name=_text(w3, target, "name"),
        symbol=_text(w3, target, "symbol"),
        decimals=_call(w3, target, _DECIMALS_ABI, "decimals"),
    )


def _text(w3: Web3, address: ChecksumAddress, fn: str) -> str | None:
    value: str | None = _call(w3, address, _STRING_ABI, fn)
    if value is None:
        raw: bytes | None = _call(w3, address, _BYTES32_ABI, fn)
        value = raw.rstrip(b"\0").decode("utf-8", "replace") if raw else None
    return value or None


def _call(w3: Web3, address: ChecksumAddress, abi: list[dict[str, Any]], fn: str) -> Any:
    # A token without an optional metadata function is normal; only its value is missing.
    try:
        return w3.eth.contract(address=address, abi=abi).functions[fn]().call()
    except (Web3Exception, ValueError, OverflowError):
        return None


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else ""
