"""The RWA token of the demo and the tests: its compiled artifact, deployment and agent calls.

`RWAToken.vy` is compiled by `scripts/compile_contracts.py` into the committed
`RWAToken.json`, so running amlmon needs no compiler. Agent calls go out as raw
`eth_sendTransaction` from an unlocked account of a development node (anvil): the demo and
the simulator replay send thousands of them, and web3's contract layer would dominate.
"""

from __future__ import annotations

import json
import time
from functools import cache
from importlib import resources
from typing import Any

import httpx
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

# Agent functions and their ABI argument types.
FUNCTIONS: dict[str, list[str]] = {
    "transfer": ["address", "uint256"],
    "mint": ["address", "uint256"],
    "batchMint": ["address[]", "uint256[]"],
    "burn": ["address", "uint256"],
    "forcedTransfer": ["address", "address", "uint256"],
    "batchForcedTransfer": ["address[]", "address[]", "uint256[]"],
    "setAddressFrozen": ["address", "bool"],
    "freezePartialTokens": ["address", "uint256"],
    "unfreezePartialTokens": ["address", "uint256"],
    "recoveryAddress": ["address", "address", "address"],
    "pause": [],
    "unpause": [],
    "addAgent": ["address"],
}
# One transaction's worth of batch items; ~25k gas each fits anvil's default 30M block.
MAX_BATCH = 1000


@cache
def load_artifact() -> dict[str, Any]:
    """ABI and bytecode of RWAToken, from the committed JSON."""
    text = resources.files(__package__).joinpath("RWAToken.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def calldata(function: str, *args: Any) -> str:
    types = FUNCTIONS[function]
    selector = function_signature_to_4byte_selector(f"{function}({','.join(types)})")
    return "0x" + (selector + encode(types, list(args))).hex()


def deploy_token(url: str, name: str, symbol: str, decimals: int, sender: str | None = None) -> str:
    """Deploy RWAToken from an unlocked account (default: the node's first); its address."""
    from web3 import Web3  # slow to import; only deployments need it

    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    account = Web3.to_checksum_address(sender) if sender else w3.eth.accounts[0]
    artifact = load_artifact()
    contract = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = contract.constructor(name, symbol, decimals).transact({"from": account})
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=60)
    if receipt["status"] != 1 or not receipt["contractAddress"]:
        raise RuntimeError(f"deploying {symbol} failed in tx {tx.hex()}")
    return str(receipt["contractAddress"]).lower()


class TokenAgent:
    """Sends agent transactions to a deployed RWAToken on a development node."""

    def __init__(self, url: str, address: str, agent: str, gas: int = 29_000_000) -> None:
        self.url = url
        self.address = address.lower()
        self.agent = agent.lower()
        self.gas = gas
        self._http = httpx.Client(timeout=120)
        self._id = 0

    def close(self) -> None:
        self._http.close()

    def rpc(self, method: str, *params: Any) -> Any:
        self._id += 1
        body = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}
        reply = self._http.post(self.url, json=body).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one JSON-RPC batch, run in order by the node; results in order."""
        body = []
        for method, params in calls:
            self._id += 1
            body.append({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        answer = self._http.post(self.url, json=body).json()
        if not isinstance(answer, list):  # the node refused the batch as a whole
            error = answer.get("error", answer) if isinstance(answer, dict) else answer
            raise RuntimeError(f"batch of {len(body)} calls refused: {error}")
        replies = {r["id"]: r for r in answer}
        results = []
        for request in body:
            reply = replies[request["id"]]
            if "error" in reply:
                raise RuntimeError(f"{request['method']}: {reply['error'].get('message')}")
            results.append(reply["result"])
        return results

    def send(self, function: str, *args: Any, sender: str | None = None) -> str:
        """One call; returns the tx hash. With automine the receipt exists on return."""
        return str(self.rpc("eth_sendTransaction", self.transaction(function, *args,
                                                                    sender=sender)))

    def transaction(
        self, function: str, *args: Any, sender: str | None = None, gas: int | None = None
    ) -> dict[str, str]:
        return {"from": sender or self.agent, "to": self.address,
                "data": calldata(function, *args), "gas": hex(gas or self.gas)}

    def check(self, tx: str, timeout: float = 30.0) -> None:
        """Wait for the receipt (automine can lag the reply slightly); raise if reverted."""
        deadline = time.monotonic() + timeout
        while (receipt := self.rpc("eth_getTransactionReceipt", tx)) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"transaction {tx} was not mined within {timeout} s")
            time.sleep(0.01)
        if int(receipt["status"], 16) != 1:
            raise RuntimeError(f"transaction {tx} reverted")
