"""Topics (keccak of the signature) of the events amlmon ingests."""

from __future__ import annotations

from eth_utils import keccak


def topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


TRANSFER = topic("Transfer(address,address,uint256)")
TRANSFER_SINGLE = topic("TransferSingle(address,address,address,uint256,uint256)")
TRANSFER_BATCH = topic("TransferBatch(address,address,address,uint256[],uint256[])")
# ERC-3643 (T-REX) compliance events of permissioned tokens.
ADDRESS_FROZEN = topic("AddressFrozen(address,bool,address)")
TOKENS_FROZEN = topic("TokensFrozen(address,uint256)")
TOKENS_UNFROZEN = topic("TokensUnfrozen(address,uint256)")
RECOVERY_SUCCESS = topic("RecoverySuccess(address,address,address)")
PAUSED = topic("Paused(address)")
UNPAUSED = topic("Unpaused(address)")

COMPLIANCE_EVENTS = {
    ADDRESS_FROZEN: "AddressFrozen",
    TOKENS_FROZEN: "TokensFrozen",
    TOKENS_UNFROZEN: "TokensUnfrozen",
    RECOVERY_SUCCESS: "RecoverySuccess",
    PAUSED: "Paused",
    UNPAUSED: "Unpaused",
}

# The topic0 OR-filter of eth_getLogs: every event above.
ALL_TOPICS = (TRANSFER, TRANSFER_SINGLE, TRANSFER_BATCH, *COMPLIANCE_EVENTS)
