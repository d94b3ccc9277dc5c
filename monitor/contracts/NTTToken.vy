# pragma version ~=0.4.3
"""
@title NTTToken
@notice An ERC-20 that is its own Wormhole NTT manager in burning mode, for amlmon's tests
        and demo: `nttTransfer` burns on this chain and emits both of NttManager's real
        `TransferSent` events (the details, then the digest); a relayer (the owner) calls
        `redeem` on the peer chain, which emits the real `TransferRedeemed(digest)` and
        mints. No Wormhole guardians or transceivers: the relayer is trusted.
        Not audited; not for production assets.
@dev Vyper has no event overloading, so the three NTT events go out with raw_log and their
     topics written out (keccak of their signatures). The digest is
     keccak256(abi.encode(chainId, sequence, this contract, sender, amount, recipientChain,
     recipient)); like NTT's message digest it is unique per message. The `fee` is the
     native value paid with the call (NTT's delivery price), not token units.
"""

from ethereum.ercs import IERC20

implements: IERC20

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

# TransferSent(bytes32 indexed recipient, bytes32 indexed refundAddress, uint256 amount,
# uint256 fee, uint16 recipientChain, uint64 msgSequence)
TRANSFER_SENT: constant(bytes32) = 0xe54e51e42099622516fa3b48e9733581c9dbdcb771cafb093f745a0532a35982
# TransferSent(bytes32 indexed digest)
TRANSFER_SENT_DIGEST: constant(bytes32) = 0x3e6ae56314c6da8b461d872f41c6d0bb69317b9d0232805aaccfa45df1a16fa0
# TransferRedeemed(bytes32 indexed digest)
TRANSFER_REDEEMED: constant(bytes32) = 0x504e6efe18ab9eed10dc6501a417f5b12a2f7f2b1593aed9b89f9bce3cf29a91

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

owner: public(address)
chainId: public(uint16)
sequence: public(uint64)
redeemed: public(HashMap[bytes32, bool])


@deploy
def __init__(_name: String[64], _symbol: String[32], _decimals: uint8, _chain_id: uint16):
    self.name = _name
    self.symbol = _symbol
    self.decimals = _decimals
    self.chainId = _chain_id
    self.owner = msg.sender


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._move(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[sender][msg.sender]
    assert allowed >= amount, "allowance"
    self.allowance[sender][msg.sender] = allowed - amount
    self._move(sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def mint(receiver: address, amount: uint256):
    assert msg.sender == self.owner, "only owner"
    self._mint(receiver, amount)


@external
@payable
def nttTransfer(amount: uint256, recipientChain: uint16, recipient: bytes32) -> bytes32:
    """Burn `amount` of the caller's tokens; `recipient` is minted on `recipientChain`."""
    assert recipientChain != self.chainId, "local chain"
    assert amount > 0, "amount"
    assert self.balanceOf[msg.sender] >= amount, "balance"
    self.balanceOf[msg.sender] -= amount
    self.totalSupply -= amount
    log Transfer(sender=msg.sender, receiver=empty(address), value=amount)
    seq: uint64 = self.sequence
    self.sequence = seq + 1
    refund: bytes32 = convert(msg.sender, bytes32)
    raw_log([TRANSFER_SENT, recipient, refund],
            abi_encode(amount, msg.value, recipientChain, seq))
    digest: bytes32 = keccak256(abi_encode(self.chainId, seq, self, msg.sender, amount,
                                           recipientChain, recipient))
    raw_log([TRANSFER_SENT_DIGEST, digest], b"")
    return digest


@external
def redeem(digest: bytes32, to: address, amount: uint256):
    """The relayer's delivery of a message whose digest is `digest`: mint once per digest."""
    assert msg.sender == self.owner, "only relayer"
    assert not self.redeemed[digest], "redeemed"
    self.redeemed[digest] = True
    raw_log([TRANSFER_REDEEMED, digest], b"")
    self._mint(to, amount)


@external
def rawLog(topics: DynArray[bytes32, 4], data: Bytes[256]):
    """Emit any log from this contract (owner only): the tests' malformed bridge events."""
    assert msg.sender == self.owner, "only owner"
    if len(topics) == 0:
        raw_log([], data)
    elif len(topics) == 1:
        raw_log([topics[0]], data)
    elif len(topics) == 2:
        raw_log([topics[0], topics[1]], data)
    elif len(topics) == 3:
        raw_log([topics[0], topics[1], topics[2]], data)
    else:
        raw_log([topics[0], topics[1], topics[2], topics[3]], data)


@internal
def _move(sender: address, receiver: address, amount: uint256):
    assert self.balanceOf[sender] >= amount, "balance"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@internal
def _mint(receiver: address, amount: uint256):
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)
