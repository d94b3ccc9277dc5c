"""Responses of /api/v1/bridge-transfers (the shared types are monitor.api.schemas')."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from monitor.api.schemas import Out


class BridgeTransferOut(Out):
    protocol: Literal["layerzero-oft", "wormhole-ntt", "cctp-v1", "cctp-v2"]
    message_id: str = Field(description="The protocol's key: OFT guid, NTT digest (0x-hex), "
                                        "CCTP v1 \"<source domain>:<nonce>\", CCTP v2 "
                                        "\"v2:<content hash>#<n>\"")
    status: Literal["pending", "linked", "unmatched"]
    source_chain_id: int | None = Field(description="For a lone receipt: the chain it names "
                                                    "as its source, when registered")
    source_tx_hash: str | None
    sender: str | None = Field(description="EIP-55 checksummed")
    destination_chain_id: int | None = Field(description="For a lone send: the chain it is "
                                                         "headed to, when registered")
    destination_tx_hash: str | None
    recipient: str | None = Field(description="EIP-55 checksummed; for a lone send, the "
                                              "recipient it names when the protocol's event "
                                              "does (NTT, CCTP)")
    amount_sent: str | None = Field(description="Base units, decimal string (exact uint256)")
    amount_received: str | None = Field(description="Base units, decimal string: what "
                                                    "arrived, else what the send says will")
    sent_at: str | None = Field(description="Source block time, ISO-8601 UTC")
    received_at: str | None = Field(description="Destination block time, ISO-8601 UTC")


class BridgeTransferPage(Out):
    items: list[BridgeTransferOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at "
                                                "the end")
