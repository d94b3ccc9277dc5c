"""The bridge protocols amlmon links: their names, their own ids of mainnet chains, and the
topics of the events read from their contracts.

Endpoint ids are the protocol's own numbering of chains, never EIP-155 chain ids:
LayerZero v2 endpoint ids (EIDs), Wormhole chain ids, Circle CCTP domains. Sources, checked
on 2026-12-07 (docs/bridges.md repeats the tables):
- LayerZero: https://docs.layerzero.network/v2/deployments/deployed-contracts
- Wormhole: https://wormhole.com/docs/products/reference/chain-ids/
- CCTP: https://developers.circle.com/cctp/concepts/supported-chains-and-domains
"""

from __future__ import annotations

from models.bridges import BRIDGE_PROTOCOLS

LAYERZERO_OFT = "layerzero-oft"
WORMHOLE_NTT = "wormhole-ntt"
CCTP_V1 = "cctp-v1"
CCTP_V2 = "cctp-v2"
PROTOCOLS = BRIDGE_PROTOCOLS

# EIP-155 chain id -> (chain name, endpoint id), per protocol: mainnets only. A chain not
# listed (a test chain, a newer network) is registered with an explicit --endpoint-id.
MAINNET_IDS: dict[str, dict[int, tuple[str, int]]] = {
    LAYERZERO_OFT: {
        1: ("Ethereum", 30101),
        56: ("BNB Smart Chain", 30102),
        43114: ("Avalanche C-Chain", 30106),
        137: ("Polygon PoS", 30109),
        42161: ("Arbitrum One", 30110),
        10: ("OP Mainnet", 30111),
        5000: ("Mantle", 30181),
        8453: ("Base", 30184),
        59144: ("Linea", 30183),
        81457: ("Blast", 30243),
        100: ("Gnosis", 30145),
    },
    WORMHOLE_NTT: {
        1: ("Ethereum", 2),
        56: ("BNB Smart Chain", 4),
        137: ("Polygon PoS", 5),
        43114: ("Avalanche C-Chain", 6),
        42161: ("Arbitrum One", 23),
        10: ("OP Mainnet", 24),
        8453: ("Base", 30),
        5000: ("Mantle", 35),
        534352: ("Scroll", 34),
    },
    CCTP_V1: {
        1: ("Ethereum", 0),
        43114: ("Avalanche C-Chain", 1),
        10: ("OP Mainnet", 2),
        42161: ("Arbitrum One", 3),
        8453: ("Base", 6),
        137: ("Polygon PoS", 7),
        130: ("Unichain", 10),
    },
    CCTP_V2: {
        1: ("Ethereum", 0),
        43114: ("Avalanche C-Chain", 1),
        10: ("OP Mainnet", 2),
        42161: ("Arbitrum One", 3),
        8453: ("Base", 6),
        137: ("Polygon PoS", 7),
        130: ("Unichain", 10),
        59144: ("Linea", 11),
        146: ("Sonic", 13),
        480: ("World Chain", 14),
        1329: ("Sei", 16),
        56: ("BNB Smart Chain", 17),
    },
}

# The largest id each protocol's events can carry (uint32 EIDs and domains, uint16
# Wormhole chain ids): an --endpoint-id beyond it could never match an event.
MAX_ENDPOINT_ID = {LAYERZERO_OFT: 2**32 - 1, WORMHOLE_NTT: 2**16 - 1, CCTP_V1: 2**32 - 1,
                   CCTP_V2: 2**32 - 1}


def mainnet_endpoint_id(protocol: str, chain_id: int) -> int | None:
    """The protocol's id of a mainnet chain from the table, or None when not listed."""
    entry = MAINNET_IDS[protocol].get(chain_id)
    return entry[1] if entry else None


# -- event topics (keccak of the signature; tests/bridges/test_decode.py checks each) ----

# LayerZero OFT (v2): OFTSent(bytes32 indexed guid, uint32 dstEid, address indexed
# fromAddress, uint256 amountSentLD, uint256 amountReceivedLD)
OFT_SENT = "0x85496b760a4b7f8d66384b9df21b381f5d1b1e79f229a47aaf4c232edc2fe59a"
# OFTReceived(bytes32 indexed guid, uint32 srcEid, address indexed toAddress,
# uint256 amountReceivedLD)
OFT_RECEIVED = "0xefed6d3500546b29533b128a29e3a94d70788727f0507505ac12eaf2e578fd9c"
# Wormhole NTT manager: TransferSent(bytes32 indexed recipient, bytes32 indexed
# refundAddress, uint256 amount, uint256 fee, uint16 recipientChain, uint64 msgSequence).
# NTT v1.0 managers emit the same signature with nothing indexed (1 topic, 6 data words).
NTT_TRANSFER_SENT = "0xe54e51e42099622516fa3b48e9733581c9dbdcb771cafb093f745a0532a35982"
# TransferSent(bytes32 indexed digest): the message digest, emitted in the same transaction.
NTT_TRANSFER_SENT_DIGEST = "0x3e6ae56314c6da8b461d872f41c6d0bb69317b9d0232805aaccfa45df1a16fa0"
# TransferRedeemed(bytes32 indexed digest)
NTT_TRANSFER_REDEEMED = "0x504e6efe18ab9eed10dc6501a417f5b12a2f7f2b1593aed9b89f9bce3cf29a91"
# CCTP v1 TokenMessenger: DepositForBurn(uint64 indexed nonce, address indexed burnToken,
# uint256 amount, address indexed depositor, bytes32 mintRecipient, uint32
# destinationDomain, bytes32 destinationTokenMessenger, bytes32 destinationCaller)
CCTP_V1_DEPOSIT_FOR_BURN = "0x2fa9ca894982930190727e75500a97d8dc500233a5065e0f3126c48fbe0343c0"
# CCTP v1 MessageTransmitter: MessageReceived(address indexed caller, uint32 sourceDomain,
# uint64 indexed nonce, bytes32 sender, bytes messageBody)
CCTP_V1_MESSAGE_RECEIVED = "0x58200b4c34ae05ee816d710053fff3fb75af4395915d3d2a771b24aa10e3cc5d"
# CCTP v2 TokenMessengerV2: DepositForBurn(address indexed burnToken, uint256 amount,
# address indexed depositor, bytes32 mintRecipient, uint32 destinationDomain, bytes32
# destinationTokenMessenger, bytes32 destinationCaller, uint256 maxFee, uint32 indexed
# minFinalityThreshold, bytes hookData)
CCTP_V2_DEPOSIT_FOR_BURN = "0x0c8c1cbdc5190613ebd485511d4e2812cfa45eecb79d845893331fedad5130a5"
# CCTP v2 MessageTransmitterV2: MessageReceived(address indexed caller, uint32
# sourceDomain, bytes32 indexed nonce, bytes32 sender, uint32 indexed
# finalityThresholdExecuted, bytes messageBody)
CCTP_V2_MESSAGE_RECEIVED = "0xff48c13eda96b1cceacc6b9edeedc9e9db9d6226afbc30146b720c19d3addb1c"

SIGNATURES = {
    OFT_SENT: "OFTSent(bytes32,uint32,address,uint256,uint256)",
    OFT_RECEIVED: "OFTReceived(bytes32,uint32,address,uint256)",
    NTT_TRANSFER_SENT: "TransferSent(bytes32,bytes32,uint256,uint256,uint16,uint64)",
    NTT_TRANSFER_SENT_DIGEST: "TransferSent(bytes32)",
    NTT_TRANSFER_REDEEMED: "TransferRedeemed(bytes32)",
    CCTP_V1_DEPOSIT_FOR_BURN:
        "DepositForBurn(uint64,address,uint256,address,bytes32,uint32,bytes32,bytes32)",
    CCTP_V1_MESSAGE_RECEIVED: "MessageReceived(address,uint32,uint64,bytes32,bytes)",
    CCTP_V2_DEPOSIT_FOR_BURN: "DepositForBurn(address,uint256,address,bytes32,uint32,bytes32,"
                              "bytes32,uint256,uint32,bytes)",
    CCTP_V2_MESSAGE_RECEIVED: "MessageReceived(address,uint32,bytes32,bytes32,uint32,bytes)",
}

# The topics read from each protocol's contracts.
TOPICS: dict[str, tuple[str, ...]] = {
    LAYERZERO_OFT: (OFT_SENT, OFT_RECEIVED),
    WORMHOLE_NTT: (NTT_TRANSFER_SENT, NTT_TRANSFER_SENT_DIGEST, NTT_TRANSFER_REDEEMED),
    CCTP_V1: (CCTP_V1_DEPOSIT_FOR_BURN, CCTP_V1_MESSAGE_RECEIVED),
    CCTP_V2: (CCTP_V2_DEPOSIT_FOR_BURN, CCTP_V2_MESSAGE_RECEIVED),
}
# The topic0 OR-filter of the bridges' eth_getLogs: every event above.
ALL_BRIDGE_TOPICS = tuple(dict.fromkeys(t for topics in TOPICS.values() for t in topics))
