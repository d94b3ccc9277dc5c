"""Topics (keccak of the signature) of the events amlmon ingests."""

from __future__ import annotations


def topic(signature: str) -> str:
    from eth_utils import keccak  # 0.1 s to import; only tests and new events need it

    return "0x" + keccak(text=signature).hex()


# Written out rather than computed at import, which would load eth_utils in every
# `amlmon ingest`; tests/chain/test_decode.py checks each against topic(its signature).

# Transfer(address,address,uint256)
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
# TransferSingle(address,address,address,uint256,uint256)
TRANSFER_SINGLE = "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62"
# TransferBatch(address,address,address,uint256[],uint256[])
TRANSFER_BATCH = "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb"
# ERC-3643 (T-REX) compliance events of permissioned tokens.
# AddressFrozen(address,bool,address)
ADDRESS_FROZEN = "0x7fa523c84ab8d7fc5b72f08b9e46dbbf10c39e119a075b3e317002d14bc9f436"
# TokensFrozen(address,uint256)
TOKENS_FROZEN = "0xa065e63c631c86f1b9f66a4a2f63f2093bf1c2168d23290259dbd969e0222a45"
# TokensUnfrozen(address,uint256)
TOKENS_UNFROZEN = "0x9bed35cb62ad0dba04f9d5bfee4b5bc91443e77da8a65c4c84834c51bb08b0d6"
# RecoverySuccess(address,address,address)
RECOVERY_SUCCESS = "0xf0c9129a94f30f1caaceb63e44b9811d0a3edf1d6c23757f346093af5553fed0"
# Paused(address)
PAUSED = "0x62e78cea01bee320cd4e420270b5ea74000d11b0c9f74754ebdbfc544b05a258"
# Unpaused(address)
UNPAUSED = "0x5db9ee0a495bf2e6ff9c91a7834c1ba4fdd244a5e8aa4e537bd38aeae4b073aa"

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
