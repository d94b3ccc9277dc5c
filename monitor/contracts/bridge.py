"""Bridged tokens of the demo and the tests, on development nodes (anvil): deployment,
holders' calls, and a relayer that delivers each message on the peer chain.

- `OFTToken.vy`: a LayerZero-OFT-like token (OFTSent / OFTReceived);
- `NTTToken.vy`: a token that is its own Wormhole NTT manager (TransferSent ×2 /
  TransferRedeemed);
- `CCTPToken.vy`: a USDC-like token that is its own CCTP v1 TokenMessenger and
  MessageTransmitter (DepositForBurn / MessageReceived).

They emit the protocols' real events, so amlmon ingests and links them exactly as it does
the real contracts; only the off-chain part (DVNs, guardians, attesters) is replaced by
the trusted relayer here, which reads the sends on one node and calls the receiving
function on the other. Calls go out as raw eth_sendTransaction from unlocked or
impersonated accounts, as for the RWA token (monitor/contracts/__init__.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from monitor.bridges import protocols
from monitor.contracts import TokenAgent

FUNCTIONS: dict[str, list[str]] = {
    "transfer": ["address", "uint256"],
    "mint": ["address", "uint256"],
    "send": ["uint32", "address", "uint256"],
    "lzReceive": ["bytes32", "uint32", "address", "uint256"],
    "nttTransfer": ["uint256", "uint16", "bytes32"],
    "redeem": ["bytes32", "address", "uint256"],
    "depositForBurn": ["uint256", "uint32", "bytes32", "address"],
    "receiveBurn": ["uint32", "uint64", "bytes32", "address", "uint256", "bytes32"],
    "received": ["bytes32"],
    "redeemed": ["bytes32"],
    "rawLog": ["bytes32[]", "bytes"],  # NTTToken: any log, for malformed-event tests
}
# CCTP v2 reuses v1's function names with other arguments: keyed apart here.
FUNCTIONS_V2: dict[str, list[str]] = {
    "depositForBurn": ["uint256", "uint32", "bytes32", "address", "bytes32", "uint256",
                       "uint32"],
    "receiveBurn": ["uint32", "bytes32", "bytes32", "address", "uint256", "bytes32", "uint256",
                    "uint256"],
}


# Packet(bytes32 indexed guid, uint32 dstEid, address toAddress, uint256 amountReceivedLD):
# OFTToken's stand-in for the LayerZero endpoint's packet, read by the relayer only.
OFT_PACKET = "0x404e5e957bcb2210199675cd53ec88526c09c69206f24d016bf0da82ebd471d8"


@cache
def load_artifact(contract: str) -> dict[str, Any]:
    """ABI and bytecode of OFTToken, NTTToken or CCTPToken, from the committed JSON."""
    text = resources.files(__package__).joinpath(f"{contract}.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def calldata(function: str, *args: Any, v2: bool = False) -> str:
    types = (FUNCTIONS_V2 if v2 else FUNCTIONS)[function]
    selector = function_signature_to_4byte_selector(f"{function}({','.join(types)})")
    return "0x" + (selector + encode(types, list(args))).hex()


def _deploy(url: str, contract: str, args: list[Any], sender: str | None) -> str:
    from web3 import Web3  # slow to import; only deployments need it

    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    account = Web3.to_checksum_address(sender) if sender else w3.eth.accounts[0]
    artifact = load_artifact(contract)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(*args).transact({"from": account})
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=60)
    if receipt["status"] != 1 or not receipt["contractAddress"]:
        raise RuntimeError(f"deploying {contract} failed in tx {tx.hex()}")
    return str(receipt["contractAddress"]).lower()


def deploy_oft(url: str, name: str, symbol: str, decimals: int, eid: int,
               sender: str | None = None, fee_bps: int = 0) -> str:
    """Deploy an OFTToken whose LayerZero endpoint id is `eid` (the deployer is its owner
    and relayer; default: the node's first account); its address."""
    return _deploy(url, "OFTToken", [name, symbol, decimals, eid, fee_bps], sender)


def deploy_ntt(url: str, name: str, symbol: str, decimals: int, wormhole_chain_id: int,
               sender: str | None = None) -> str:
    """Deploy an NTTToken (token and NTT manager) on Wormhole chain `wormhole_chain_id`."""
    return _deploy(url, "NTTToken", [name, symbol, decimals, wormhole_chain_id], sender)


def deploy_cctp(url: str, name: str, symbol: str, decimals: int, domain: int,
                sender: str | None = None) -> str:
    """Deploy a CCTPToken (token, v1 TokenMessenger and MessageTransmitter) of `domain`."""
    return _deploy(url, "CCTPToken", [name, symbol, decimals, domain], sender)


def deploy_cctp_v2(url: str, name: str, symbol: str, decimals: int, domain: int,
                   sender: str | None = None) -> str:
    """Deploy a CCTPv2Token (token, v2 TokenMessenger and MessageTransmitter) of `domain`."""
    return _deploy(url, "CCTPv2Token", [name, symbol, decimals, domain], sender)


@dataclass(frozen=True)
class Sent:
    """One send: the protocol's key (guid, digest, or CCTP nonce) and the transaction."""

    key: str
    tx: str
    nonce: int | None = None  # CCTP only


class BridgeAgent:
    """Owner (relayer) and holders' calls on one deployed bridged token; `agent` is its
    owner, which also relays."""

    def __init__(self, url: str, address: str, agent: str) -> None:
        self.url = url
        self.address = address.lower()
        self.agent = agent.lower()
        self._node = TokenAgent(url, address, agent)  # JSON-RPC and receipt checks

    def close(self) -> None:
        self._node.close()

    def rpc(self, method: str, *params: Any) -> Any:
        return self._node.rpc(method, *params)

    def check(self, tx: str, timeout: float = 30.0) -> None:
        self._node.check(tx, timeout)

    def call(self, function: str, *args: Any, sender: str | None = None,
             value: int = 0, v2: bool = False) -> str:
        """Send one call from `sender` (impersonated on anvil; default the owner), wait
        for it to succeed; the tx hash."""
        holder = (sender or self.agent).lower()
        own = holder == self.agent
        if not own:
            self.rpc("anvil_impersonateAccount", holder)
            self.rpc("anvil_setBalance", holder, hex(10**20))
        try:
            tx = {"from": holder, "to": self.address,
                  "data": calldata(function, *args, v2=v2),
                  "gas": hex(2_000_000)}
            if value:
                tx["value"] = hex(value)
            sent = str(self.rpc("eth_sendTransaction", tx))
        finally:
            if not own:
                self.rpc("anvil_stopImpersonatingAccount", holder)
        self.check(sent)
        return sent

    def mint(self, to: str, amount: int) -> str:
        return self.call("mint", to, amount)

    def transfer(self, sender: str, to: str, amount: int) -> str:
        return self.call("transfer", to, amount, sender=sender)

    def send(self, dst_eid: int, to: str, amount: int, sender: str | None = None) -> Sent:
        """OFT: burn here, to be credited to `to` on `dst_eid`; the guid and tx."""
        tx = self.call("send", dst_eid, to, amount, sender=sender)
        return Sent(self._topic(tx, protocols.OFT_SENT, 1), tx)

    def ntt_transfer(self, recipient_chain: int, to: str, amount: int,
                     sender: str | None = None, fee: int = 0) -> Sent:
        """NTT: burn here, to be minted to `to` on Wormhole chain `recipient_chain`; the
        digest and tx. `fee` is paid in native currency, as NTT's delivery price is."""
        tx = self.call("nttTransfer", amount, recipient_chain, _word(to), sender=sender,
                       value=fee)
        return Sent(self._topic(tx, protocols.NTT_TRANSFER_SENT_DIGEST, 1), tx)

    def deposit_for_burn(self, destination_domain: int, to: str, amount: int,
                         sender: str | None = None) -> Sent:
        """CCTP v1: burn here, to be minted to `to` on `destination_domain`; the nonce."""
        tx = self.call("depositForBurn", amount, destination_domain, _word(to), self.address,
                       sender=sender)
        topic = self._topic(tx, protocols.CCTP_V1_DEPOSIT_FOR_BURN, 1)
        return Sent(topic, tx, int(topic, 16))

    def deposit_for_burn_v2(self, destination_domain: int, to: str, amount: int,
                            max_fee: int = 0, sender: str | None = None) -> Sent:
        """CCTP v2: burn here, to be minted to `to` on `destination_domain` less a fee of
        at most `max_fee`; no on-chain key exists (Circle assigns the nonce), so `key` is
        the transaction hash."""
        tx = self.call("depositForBurn", amount, destination_domain, _word(to), self.address,
                       b"\0" * 32, max_fee, 2000, sender=sender, v2=True)
        return Sent(tx, tx)

    def _topic(self, tx: str, topic0: str, index: int) -> str:
        receipt = self.rpc("eth_getTransactionReceipt", tx)
        for entry in receipt["logs"]:
            if entry["topics"][0].lower() == topic0 and entry["address"].lower() == self.address:
                return str(entry["topics"][index]).lower()
        raise RuntimeError(f"no event {topic0} in tx {tx}")

    def is_delivered(self, function: str, key: str) -> bool:
        data = calldata(function, bytes.fromhex(key.removeprefix("0x")))
        reply = self.rpc("eth_call", {"to": self.address, "data": data},
                         "latest")
        return int(str(reply), 16) != 0


def _word(address: str) -> bytes:
    return bytes.fromhex(address.lower().removeprefix("0x").rjust(64, "0"))


def _logs(agent: BridgeAgent, topic0: str, since_block: int) -> list[dict[str, Any]]:
    return list(agent.rpc("eth_getLogs", {"address": agent.address, "topics": [topic0],
                                          "fromBlock": hex(since_block), "toBlock": "latest"}))


def relay(src_url: str, dst_url: str, src_oft: str, dst_oft: str, since_block: int = 0,
          owner: str | None = None, skip: set[str] | None = None) -> list[tuple[str, str]]:
    """Deliver every OFTSent of `src_oft` (from `since_block`) addressed to `dst_oft`'s
    endpoint id and not delivered yet: lzReceive on the destination with the amount to
    receive. Returns (guid, destination tx) of each delivery; `skip` holds guids left
    undelivered on purpose (a test's lost message)."""
    src = BridgeAgent(src_url, src_oft, owner or _first_account(src_url))
    dst = BridgeAgent(dst_url, dst_oft, owner or _first_account(dst_url))
    try:
        dst_eid = int(str(dst.rpc("eth_call", {"to": dst.address, "data": "0x"
                              + function_signature_to_4byte_selector("eid()").hex()},
                              "latest")), 16)
        src_eid = int(str(src.rpc("eth_call", {"to": src.address, "data": "0x"
                              + function_signature_to_4byte_selector("eid()").hex()},
                              "latest")), 16)
        done = []
        # OFTSent does not name the recipient: the packet does (the Packet event).
        for entry in _logs(src, OFT_PACKET, since_block):
            guid = entry["topics"][1].lower()
            data = entry["data"][2:]
            if int(data[:64], 16) != dst_eid or guid in (skip or set()):
                continue
            if dst.is_delivered("received", guid):
                continue
            to = "0x" + data[64 + 24:128]
            tx = dst.call("lzReceive", bytes.fromhex(guid[2:]), src_eid, to,
                          int(data[128:192], 16))
            done.append((guid, tx))
        return done
    finally:
        src.close()
        dst.close()


def relay_ntt(src_url: str, dst_url: str, src_token: str, dst_token: str,
              dst_chain: int, since_block: int = 0, owner: str | None = None,
              skip: set[str] | None = None) -> list[tuple[str, str]]:
    """Deliver every NTT transfer of `src_token` to Wormhole chain `dst_chain`: the
    details and digest events are paired in their transaction; redeem on the
    destination. Returns (digest, destination tx) of each delivery."""
    src = BridgeAgent(src_url, src_token, owner or _first_account(src_url))
    dst = BridgeAgent(dst_url, dst_token, owner or _first_account(dst_url))
    try:
        details = {e["transactionHash"]: e for e in _logs(src, protocols.NTT_TRANSFER_SENT,
                                                          since_block)}
        done = []
        for entry in _logs(src, protocols.NTT_TRANSFER_SENT_DIGEST, since_block):
            detail = details.get(entry["transactionHash"])
            digest = entry["topics"][1].lower()
            if detail is None or digest in (skip or set()):
                continue
            data = detail["data"][2:]
            if int(data[128:192], 16) != dst_chain or dst.is_delivered("redeemed", digest):
                continue
            to = "0x" + detail["topics"][1][-40:]
            tx = dst.call("redeem", bytes.fromhex(digest[2:]), to, int(data[:64], 16))
            done.append((digest, tx))
        return done
    finally:
        src.close()
        dst.close()


def relay_cctp(src_url: str, dst_url: str, src_token: str, dst_token: str,
               src_domain: int, dst_domain: int, since_block: int = 0,
               owner: str | None = None, skip: set[int] | None = None) -> list[tuple[int, str]]:
    """Deliver every CCTP v1 DepositForBurn of `src_token` to `dst_domain`; returns
    (nonce, destination tx) of each delivery. Not idempotent: a nonce delivered twice
    reverts on the destination, so relay each range once."""
    src = BridgeAgent(src_url, src_token, owner or _first_account(src_url))
    dst = BridgeAgent(dst_url, dst_token, owner or _first_account(dst_url))
    try:
        done = []
        for entry in _logs(src, protocols.CCTP_V1_DEPOSIT_FOR_BURN, since_block):
            data = entry["data"][2:]
            nonce = int(entry["topics"][1], 16)
            if int(data[128:192], 16) != dst_domain or nonce in (skip or set()):
                continue
            recipient = "0x" + data[64 + 24:128]
            tx = dst.call("receiveBurn", src_domain, nonce,
                          bytes.fromhex(entry["topics"][2][2:]), recipient,
                          int(data[:64], 16), bytes.fromhex(entry["topics"][3][2:]))
            done.append((nonce, tx))
        return done
    finally:
        src.close()
        dst.close()


def _first_account(url: str) -> str:
    import httpx

    reply = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_accounts",
                                  "params": []}, timeout=30).json()
    return str(reply["result"][0]).lower()


def relay_cctp_v2(src_url: str, dst_url: str, src_token: str, dst_token: str,
                  src_domain: int, dst_domain: int, since_block: int = 0,
                  owner: str | None = None, skip: set[str] | None = None,
                  fee: Any = None) -> list[tuple[str, str]]:
    """Deliver every CCTP v2 DepositForBurn of `src_token` to `dst_domain`, as Circle's
    attesters and a relayer would: the nonce is keccak256(tx hash, log index), the fee
    charged `fee(maxFee)` (default: half of maxFee). Returns (source tx, destination tx)
    of each delivery; `skip` holds source tx hashes left undelivered. Relay a range once."""
    from eth_utils import keccak

    src = BridgeAgent(src_url, src_token, owner or _first_account(src_url))
    dst = BridgeAgent(dst_url, dst_token, owner or _first_account(dst_url))
    charge = fee or (lambda max_fee: max_fee // 2)
    try:
        done = []
        for entry in _logs(src, protocols.CCTP_V2_DEPOSIT_FOR_BURN, since_block):
            data = entry["data"][2:]
            tx_hash = entry["transactionHash"].lower()
            if int(data[128:192], 16) != dst_domain or tx_hash in (skip or set()):
                continue
            nonce = keccak(bytes.fromhex(tx_hash[2:]) + int(entry["logIndex"], 16).to_bytes(32))
            max_fee = int(data[320:384], 16)
            tx = dst.call("receiveBurn", src_domain, nonce,
                          bytes.fromhex(entry["topics"][1][2:]), "0x" + data[64 + 24:128],
                          int(data[:64], 16), bytes.fromhex(entry["topics"][2][2:]), max_fee,
                          charge(max_fee), v2=True)
            done.append((tx_hash, tx))
        return done
    finally:
        src.close()
        dst.close()
