# pragma version ~=0.4.3
"""
@title OFTToken
@notice An ERC-20 that moves between chains the way a LayerZero v2 OFT does, for amlmon's
        tests and demo: `send` burns on this chain and emits the real `OFTSent` event;
        a relayer (the owner) calls `lzReceive` on the peer chain, which mints and emits
        the real `OFTReceived`. No LayerZero endpoint, no DVNs: the relayer is trusted.
        Not audited; not for production assets.
@dev The guid is keccak256(abi.encode(nonce, srcEid, this contract, dstEid, recipient)),
     with the sender's outbound nonce counting from 1, like LayerZero's guid it is unique
     per message. A fee of `feeBps` basis points of the amount is kept back (burned and not
     minted), so amountReceivedLD differs from amountSentLD as with fee-charging OFTs.
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

# The signatures of LayerZero's IOFT.
event OFTSent:
    guid: indexed(bytes32)
    dstEid: uint32
    fromAddress: indexed(address)
    amountSentLD: uint256
    amountReceivedLD: uint256

# What LayerZero's endpoint carries in its packet (PacketSent's payload): the recipient on
# the destination, which OFTSent does not name. The test relayer reads it; amlmon does not.
event Packet:
    guid: indexed(bytes32)
    dstEid: uint32
    toAddress: address
    amountReceivedLD: uint256

event OFTReceived:
    guid: indexed(bytes32)
    srcEid: uint32
    toAddress: indexed(address)
    amountReceivedLD: uint256

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

owner: public(address)
eid: public(uint32)
feeBps: public(uint256)
nonce: public(uint64)
received: public(HashMap[bytes32, bool])


@deploy
def __init__(_name: String[64], _symbol: String[32], _decimals: uint8, _eid: uint32,
             _fee_bps: uint256):
    assert _fee_bps < 10000, "fee"
    self.name = _name
    self.symbol = _symbol
    self.decimals = _decimals
    self.eid = _eid
    self.feeBps = _fee_bps
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
def send(dstEid: uint32, to: address, amount: uint256) -> bytes32:
    """Burn `amount` of the caller's tokens here; `to` is credited on `dstEid` by the relayer."""
    assert dstEid != self.eid, "local eid"
    assert amount > 0, "amount"
    assert self.balanceOf[msg.sender] >= amount, "balance"
    self.balanceOf[msg.sender] -= amount
    self.totalSupply -= amount
    log Transfer(sender=msg.sender, receiver=empty(address), value=amount)
    self.nonce += 1
    guid: bytes32 = keccak256(abi_encode(self.nonce, self.eid, self, dstEid, to))
    fee: uint256 = amount * self.feeBps // 10000
    log Packet(guid=guid, dstEid=dstEid, toAddress=to, amountReceivedLD=amount - fee)
    log OFTSent(guid=guid, dstEid=dstEid, fromAddress=msg.sender, amountSentLD=amount,
                amountReceivedLD=amount - fee)
    return guid


@external
def lzReceive(guid: bytes32, srcEid: uint32, to: address, amount: uint256):
    """The relayer's delivery of a message sent from `srcEid`: mint to `to`, once per guid."""
    assert msg.sender == self.owner, "only relayer"
    assert not self.received[guid], "delivered"
    self.received[guid] = True
    self._mint(to, amount)
    log OFTReceived(guid=guid, srcEid=srcEid, toAddress=to, amountReceivedLD=amount)


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
