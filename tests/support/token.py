"""The repo's RWA token deployed on a test anvil node, and the node's own view of its logs."""

from __future__ import annotations

from typing import Any

from monitor.chain.events import TRANSFER
from monitor.contracts import TokenAgent, deploy_token
from support.anvil import Anvil


class TokenOnChain(TokenAgent):
    """Agent calls that wait for success; holders' own calls via impersonation."""

    def call(self, function: str, *args: Any, sender: str | None = None) -> str:
        tx = self.send(function, *args, sender=sender)
        self.check(tx)
        return tx

    def mint(self, to: str, amount: int) -> str:
        return self.call("mint", to, amount)

    def batch_mint(self, tos: list[str], amounts: list[int]) -> str:
        return self.call("batchMint", tos, amounts)

    def burn(self, holder: str, amount: int) -> str:
        return self.call("burn", holder, amount)

    def transfer(self, sender: str, to: str, amount: int) -> str:
        """A holder's own ERC-20 transfer (anvil lets us send as any address)."""
        self.rpc("anvil_impersonateAccount", sender)
        self.rpc("anvil_setBalance", sender, hex(10**20))
        try:
            return self.call("transfer", to, amount, sender=sender)
        finally:
            self.rpc("anvil_stopImpersonatingAccount", sender)

    def batch_forced_transfer(self, froms: list[str], tos: list[str], amounts: list[int]) -> str:
        return self.call("batchForcedTransfer", froms, tos, amounts)

    def freeze(self, holder: str, frozen: bool = True) -> str:
        return self.call("setAddressFrozen", holder, frozen)

    def freeze_partial(self, holder: str, amount: int) -> str:
        return self.call("freezePartialTokens", holder, amount)

    def unfreeze_partial(self, holder: str, amount: int) -> str:
        return self.call("unfreezePartialTokens", holder, amount)

    def recover(self, lost: str, new: str, onchain_id: str) -> str:
        return self.call("recoveryAddress", lost, new, onchain_id)

    def pause(self) -> str:
        return self.call("pause")

    def unpause(self) -> str:
        return self.call("unpause")


def deploy(node: Anvil, name: str = "Test Bond", symbol: str = "TBOND",
           decimals: int = 6) -> TokenOnChain:
    agent = str(node.rpc("eth_accounts")[0])  # type: ignore[index]
    address = deploy_token(node.url, name, symbol, decimals, sender=agent)
    token = TokenOnChain(node.url, address, agent)
    node.clients.append(token)
    return token


def node_transfer_logs(
    node: Anvil, token: str, from_block: int = 0, to_block: int | str = "latest"
) -> set[tuple[str, int, str, str, int]]:
    """(tx hash, log index, from, to, amount) of every Transfer the node has for `token`."""
    logs = node.rpc("eth_getLogs", {
        "address": token, "topics": [TRANSFER], "fromBlock": hex(from_block),
        "toBlock": to_block if isinstance(to_block, str) else hex(to_block),
    })
    return {
        (lg["transactionHash"], int(lg["logIndex"], 16), "0x" + lg["topics"][1][26:],
         "0x" + lg["topics"][2][26:], int(lg["data"], 16))
        for lg in logs  # type: ignore[union-attr]
    }
