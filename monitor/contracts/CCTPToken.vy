# pragma version ~=0.4.3
"""
@title CCTPToken
@notice A USDC-like ERC-20 that is its own CCTP v1 TokenMessenger and MessageTransmitter,
        for amlmon's tests: `depositForBurn` burns and emits the real v1 `DepositForBurn`;
        a relayer (the owner) calls `receiveBurn` on the peer chain, which mints and emits
        the real v1 `MessageReceived` with a v1 burn message body. No attesters: the
        relayer is trusted. Not audited; not for production assets.
@dev The nonce counts from 0 per source domain, as CCTP v1's outbound nonce does.
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

# CCTP v1 TokenMessenger's and MessageTransmitter's signatures.
event DepositForBurn:
    nonce: indexed(uint64)
    burnToken: indexed(address)
    amount: uint256
    depositor: indexed(address)
    mintRecipient: bytes32
    destinationDomain: uint32
    destinationTokenMessenger: bytes32
    destinationCaller: bytes32

event MessageReceived:
    caller: indexed(address)
    sourceDomain: uint32
    nonce: indexed(uint64)
    sender: bytes32
    messageBody: Bytes[132]

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

owner: public(address)
localDomain: public(uint32)
nextNonce: public(uint64)
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
                   burnToken: address) -> uint64:
    assert amount > 0, "amount"
    assert self.balanceOf[msg.sender] >= amount, "balance"
    self.balanceOf[msg.sender] -= amount
    self.totalSupply -= amount
    log Transfer(sender=msg.sender, receiver=empty(address), value=amount)
    nonce: uint64 = self.nextNonce
    self.nextNonce = nonce + 1
    log DepositForBurn(nonce=nonce, burnToken=burnToken, amount=amount, depositor=msg.sender,
                       mintRecipient=mintRecipient, destinationDomain=destinationDomain,
                       destinationTokenMessenger=convert(self, bytes32),
                       destinationCaller=empty(bytes32))
    return nonce


@external
def receiveBurn(sourceDomain: uint32, nonce: uint64, burnToken: bytes32, recipient: address,
                amount: uint256, depositor: bytes32):
    """The relayer's delivery of burn `nonce` from `sourceDomain`: mint once per nonce."""
    assert msg.sender == self.owner, "only relayer"
    key: bytes32 = keccak256(abi_encode(sourceDomain, nonce))
    assert not self.usedNonces[key], "nonce used"
    self.usedNonces[key] = True
    self._mint(recipient, amount)
    body: Bytes[132] = concat(convert(convert(0, uint32), bytes4), burnToken,
                              convert(recipient, bytes32), convert(amount, bytes32), depositor)
    log MessageReceived(caller=msg.sender, sourceDomain=sourceDomain, nonce=nonce,
                        sender=convert(self, bytes32), messageBody=body)


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
