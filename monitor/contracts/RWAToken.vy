# pragma version ~=0.4.3
"""
@title RWAToken
@notice A permissioned real-world-asset token for amlmon's tests and demo: ERC-20 plus
        the agent powers and ERC-3643 (T-REX) compliance events of regulated tokens —
        agent mint/burn, batch forced transfers, address and partial token freezes,
        wallet recovery and pause. Not audited; not for production assets.
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

# ERC-3643 events, with the signatures of the T-REX reference implementation.
event AddressFrozen:
    userAddress: indexed(address)
    isFrozen: indexed(bool)
    owner: indexed(address)

event TokensFrozen:
    userAddress: indexed(address)
    amount: uint256

event TokensUnfrozen:
    userAddress: indexed(address)
    amount: uint256

event RecoverySuccess:
    lostWallet: indexed(address)
    newWallet: indexed(address)
    investorOnchainID: indexed(address)

event Paused:
    userAddress: address

event Unpaused:
    userAddress: address

MAX_BATCH: constant(uint256) = 1000

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

owner: public(address)
isAgent: public(HashMap[address, bool])
paused: public(bool)
isFrozen: public(HashMap[address, bool])
frozenTokens: public(HashMap[address, uint256])


@deploy
def __init__(_name: String[64], _symbol: String[32], _decimals: uint8):
    self.name = _name
    self.symbol = _symbol
    self.decimals = _decimals
    self.owner = msg.sender
    self.isAgent[msg.sender] = True


# -- ERC-20 ------------------------------------------------------------------------------

@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._check_holder_transfer(msg.sender, receiver, amount)
    self._move(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    self._check_holder_transfer(sender, receiver, amount)
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


# -- agent powers ------------------------------------------------------------------------

@external
def addAgent(agent: address):
    assert msg.sender == self.owner, "only owner"
    self.isAgent[agent] = True


@external
def mint(receiver: address, amount: uint256):
    self._only_agent()
    self._mint(receiver, amount)


@external
def batchMint(receivers: DynArray[address, MAX_BATCH], amounts: DynArray[uint256, MAX_BATCH]):
    self._only_agent()
    assert len(receivers) == len(amounts), "length mismatch"
    for i: uint256 in range(len(receivers), bound=MAX_BATCH):
        self._mint(receivers[i], amounts[i])


@external
def burn(holder: address, amount: uint256):
    self._only_agent()
    assert self.balanceOf[holder] >= amount, "balance"
    self.balanceOf[holder] -= amount
    self.totalSupply -= amount
    log Transfer(sender=holder, receiver=empty(address), value=amount)


@external
def forcedTransfer(sender: address, receiver: address, amount: uint256) -> bool:
    self._only_agent()
    self._forced(sender, receiver, amount)
    return True


@external
def batchForcedTransfer(
    senders: DynArray[address, MAX_BATCH],
    receivers: DynArray[address, MAX_BATCH],
    amounts: DynArray[uint256, MAX_BATCH],
):
    self._only_agent()
    assert len(senders) == len(receivers) and len(senders) == len(amounts), "length mismatch"
    for i: uint256 in range(len(senders), bound=MAX_BATCH):
        self._forced(senders[i], receivers[i], amounts[i])


@external
def setAddressFrozen(user: address, frozen: bool):
    self._only_agent()
    self.isFrozen[user] = frozen
    log AddressFrozen(userAddress=user, isFrozen=frozen, owner=msg.sender)


@external
def freezePartialTokens(user: address, amount: uint256):
    self._only_agent()
    assert self.balanceOf[user] >= self.frozenTokens[user] + amount, "exceeds balance"
    self.frozenTokens[user] += amount
    log TokensFrozen(userAddress=user, amount=amount)


@external
def unfreezePartialTokens(user: address, amount: uint256):
    self._only_agent()
    assert self.frozenTokens[user] >= amount, "exceeds frozen"
    self.frozenTokens[user] -= amount
    log TokensUnfrozen(userAddress=user, amount=amount)


@external
def recoveryAddress(lostWallet: address, newWallet: address, investorOnchainID: address) -> bool:
    self._only_agent()
    balance: uint256 = self.balanceOf[lostWallet]
    frozen: uint256 = self.frozenTokens[lostWallet]
    self.frozenTokens[lostWallet] = 0
    self._move(lostWallet, newWallet, balance)
    self.frozenTokens[newWallet] += frozen
    if self.isFrozen[lostWallet]:
        self.isFrozen[newWallet] = True
    log RecoverySuccess(lostWallet=lostWallet, newWallet=newWallet, investorOnchainID=investorOnchainID)
    return True


@external
def pause():
    self._only_agent()
    self.paused = True
    log Paused(userAddress=msg.sender)


@external
def unpause():
    self._only_agent()
    self.paused = False
    log Unpaused(userAddress=msg.sender)


# -- internals ---------------------------------------------------------------------------

@internal
@view
def _only_agent():
    assert self.isAgent[msg.sender], "only agent"


@internal
@view
def _check_holder_transfer(sender: address, receiver: address, amount: uint256):
    assert not self.paused, "paused"
    assert not self.isFrozen[sender], "sender frozen"
    assert not self.isFrozen[receiver], "receiver frozen"
    assert self.balanceOf[sender] - self.frozenTokens[sender] >= amount, "unfrozen balance"


@internal
def _forced(sender: address, receiver: address, amount: uint256):
    # As ERC-3643 forcedTransfer: frozen tokens are unfrozen as far as needed.
    free: uint256 = self.balanceOf[sender] - self.frozenTokens[sender]
    if amount > free:
        released: uint256 = amount - free
        self.frozenTokens[sender] -= released
        log TokensUnfrozen(userAddress=sender, amount=released)
    self._move(sender, receiver, amount)


@internal
def _move(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "zero receiver"
    assert self.balanceOf[sender] >= amount, "balance"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@internal
def _mint(receiver: address, amount: uint256):
    assert receiver != empty(address), "zero receiver"
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)
