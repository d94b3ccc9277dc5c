# pragma version ~=0.4.3
"""
@title CCTPv2Token
@notice A USDC-like ERC-20 that is its own CCTP v2 TokenMessengerV2 and
        MessageTransmitterV2, for amlmon's tests: `depositForBurn` burns and emits the real
        v2 `DepositForBurn` (no nonce: in CCTP v2 Circle's attesters assign it off-chain);
        a relayer (the owner) calls `receiveBurn` on the peer chain with the nonce it
        assigned and the fee it charges, which mints the amount less the fee and emits the
        real v2 `MessageReceived` with a v2 burn message body. No attesters: the relayer is
        trusted. Not audited; not for production assets.
"""

from ethereum.ercs import IERC20

implements: IERC20

MAX_HOOK: constant(uint256) = 64

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

# CCTP v2 TokenMessengerV2's and MessageTransmitterV2's signatures.
event DepositForBurn:
    burnToken: indexed(address)
    amount: uint256
    depositor: indexed(address)
    mintRecipient: bytes32
    destinationDomain: uint32
    destinationTokenMessenger: bytes32
    destinationCaller: bytes32
    maxFee: uint256
    minFinalityThreshold: indexed(uint32)
    hookData: Bytes[MAX_HOOK]

event MessageReceived:
    caller: indexed(address)
    sourceDomain: uint32
    nonce: indexed(bytes32)
    sender: bytes32
    finalityThresholdExecuted: indexed(uint32)
    messageBody: Bytes[292]

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

owner: public(address)
localDomain: public(uint32)
usedNonces: public(HashMap[bytes32, bool])


@deploy
def __init__(_name: String[64], _symbol: String[32], _decimals: uint8, _domain: uint32):
    self.name = _name
    self.symbol = _symbol
    self.decimals = _decimals
    self.localDomain = _domain
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
def depositForBurn(amount: uint256, destinationDomain: uint32, mintRecipient: bytes32,
                   burnToken: address, destinationCaller: bytes32, maxFee: uint256,
                   minFinalityThreshold: uint32):
    assert amount > 0, "amount"
    assert maxFee < amount, "max fee"
    assert self.balanceOf[msg.sender] >= amount, "balance"
    self.balanceOf[msg.sender] -= amount
    self.totalSupply -= amount
    log Transfer(sender=msg.sender, receiver=empty(address), value=amount)
    log DepositForBurn(burnToken=burnToken, amount=amount, depositor=msg.sender,
                       mintRecipient=mintRecipient, destinationDomain=destinationDomain,
                       destinationTokenMessenger=convert(self, bytes32),
                       destinationCaller=destinationCaller, maxFee=maxFee,
                       minFinalityThreshold=minFinalityThreshold, hookData=b"")


@external
def receiveBurn(sourceDomain: uint32, nonce: bytes32, burnToken: bytes32, recipient: address,
                amount: uint256, depositor: bytes32, maxFee: uint256, feeExecuted: uint256):
    """The relayer's delivery of a burn from `sourceDomain` under the nonce it assigned:
    mint the amount less the fee, once per nonce."""
    assert msg.sender == self.owner, "only relayer"
    assert feeExecuted <= maxFee and feeExecuted < amount, "fee"
    assert not self.usedNonces[nonce], "nonce used"
    self.usedNonces[nonce] = True
    self._mint(recipient, amount - feeExecuted)
    body: Bytes[292] = concat(convert(convert(1, uint32), bytes4), burnToken,
                              convert(recipient, bytes32), convert(amount, bytes32), depositor,
                              convert(maxFee, bytes32), convert(feeExecuted, bytes32),
                              convert(0, bytes32))
    log MessageReceived(caller=msg.sender, sourceDomain=sourceDomain, nonce=nonce,
                        sender=convert(self, bytes32), finalityThresholdExecuted=2000,
                        messageBody=body)


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
