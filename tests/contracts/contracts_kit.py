"""Helpers shared by the contract tests (imported by conftest.py and the test modules).

Speed: eth-tester's gas estimation of a *successful* call costs several executions, so every transaction that is
expected to succeed is sent with an explicit ``gas=`` (one execution); a transaction that is expected to revert is
sent without it, so it is refused during estimation (one execution, nothing mined) and decoded.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak
from web3.contract import Contract
from web3.logs import DISCARD

from rwaledger.errors import ContractRevert, CustomErrorRevert
from rwaledger.constants import REASONS
from rwaledger.signers import Signer
from rwaledger.stack import ADMIN_ROLE, COMPLIANCE_ROLE, CUSTODIAN_ROLE, GUARDIAN_ROLE, REGISTRAR_ROLE, Stack
from rwaledger.transactions import Receipt, Transactor
from rwaledger import encoding

GAS = 3_000_000
DAY = 24 * 3600
YEAR = 365 * DAY
MAX_UINT = 2**256 - 1

# Reason codes of CompliantToken.Reason / canTransfer (mirrored by rwaledger.constants.REASONS).
R = {name: code for code, name in enumerate(REASONS)}
OK, PAUSED, SENDER_NV, RECIPIENT_NV = R["Ok"], R["Paused"], R["SenderNotVerified"], R["RecipientNotVerified"]
SENDER_FROZEN, RECIPIENT_FROZEN, LOCKED_UP = R["SenderFrozen"], R["RecipientFrozen"], R["LockedUp"]
COUNTRY, INSUFFICIENT, UNLOCKED = R["CountryNotAllowed"], R["InsufficientBalance"], R["InsufficientUnlockedBalance"]
MAX_BALANCE, MAX_HOLDERS, CAP, RESERVE, DISABLED = (
    R["MaxBalanceExceeded"], R["MaxHoldersExceeded"], R["CapExceeded"], R["ReserveExceeded"], R["Disabled"],
)
CATEGORY_HOLDERS, FOREIGN_HOLDERS, FOREIGN_SHARE, ASSET_NOT_ACTIVE = (
    R["CategoryHoldersExceeded"], R["ForeignHoldersExceeded"], R["ForeignShareExceeded"], R["AssetNotActive"],
)

# AssetRegistry statuses, IdentityRegistry wallet statuses, investor categories.
REGISTERED, ACTIVE, SUSPENDED, RETIRED = 0, 1, 2, 3
WALLET_NONE, WALLET_ACTIVE, WALLET_REMOVED, WALLET_LOST = 0, 1, 2, 3
RETAIL, ACCREDITED, INSTITUTIONAL = 1, 2, 3

ZERO = "0x" + "00" * 20
ZERO32 = b"\0" * 32
ROLE_IDS = {"admin": ADMIN_ROLE, "registrar": REGISTRAR_ROLE, "compliance": COMPLIANCE_ROLE, "custodian": CUSTODIAN_ROLE,
            "guardian": GUARDIAN_ROLE}

# ISO 3166-1 numeric codes used by the fixtures.
PK, US, GB = 586, 840, 826


def b32(text: str) -> bytes:
    """A short ASCII text as a right-padded bytes32 (references, reasons, lot ids): the library's encoding."""
    assert len(text.encode()) <= 32
    return encoding.b32(text)


def refs(*names: str) -> list[bytes]:
    return [b32(n) for n in names]


def sha(text: str) -> bytes:
    return keccak(text=text)


def allocation(to: str, amount: int) -> bytes:
    """What a token stores per minted reference: keccak256(abi.encode(to, amount))."""
    return keccak(abi_encode(["address", "uint256"], [to, amount]))


def same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


@dataclass
class Actor:
    """One signer: its address, its role name and its transactor."""

    name: str
    address: str
    tx: Transactor

    def send(self, fn, gas: int = GAS) -> Receipt:
        """Send a call that must succeed (explicit gas: no estimation)."""
        return self.tx.transact(fn, gas=gas)

    def reverts(self, fn, error: str | None = None, /, **args: Any) -> CustomErrorRevert:
        """Send a call that must revert with the custom error ``error`` whose arguments include ``args``."""
        with pytest.raises(CustomErrorRevert) as info:
            self.tx.transact(fn)
        err = info.value
        if error is not None:
            assert err.name == error, f"expected {error}, got {err}"
        check_args(err, **args)
        return err

    def refused(self, fn, role: str) -> CustomErrorRevert:
        """The call is refused by the role check: AccessControlUnauthorizedAccount(this actor, role)."""
        err = self.reverts(fn, "AccessControlUnauthorizedAccount")
        assert same(err.args_by_name["account"], self.address)
        assert err.args_by_name["neededRole"] == ROLE_IDS[role], f"needed role {err.args_by_name['neededRole'].hex()}"
        return err

    def __repr__(self) -> str:
        return f"<{self.name}>"


def check_args(err: ContractRevert, /, **expected: Any) -> None:
    for key, want in expected.items():
        got = err.args_by_name[key]
        if isinstance(want, str) and want.startswith("0x") and len(want) == 42:
            assert same(got, want), f"{err.name}.{key}: {got} != {want}"
        else:
            assert got == want, f"{err.name}.{key}: {got!r} != {want!r}"


def events(contract: Contract, name: str, receipt: Receipt) -> list[dict[str, Any]]:
    """The decoded ``name`` events emitted by ``contract`` in the receipt (other logs ignored)."""
    logs = getattr(contract.events, name)().process_receipt(receipt.raw, errors=DISCARD)
    return [dict(e["args"]) for e in logs if same(e["address"], contract.address)]


def one_event(contract: Contract, name: str, receipt: Receipt) -> dict[str, Any]:
    found = events(contract, name, receipt)
    assert len(found) == 1, f"expected one {name} event, got {found}"
    return found[0]


def event_names(contract: Contract, receipt: Receipt) -> list[str]:
    """The names of the events ``contract`` emitted in the receipt, in log order."""
    by_topic = {}
    for item in contract.abi:
        if item["type"] == "event":
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            by_topic[keccak(text=sig)] = item["name"]
    return [by_topic[bytes(log["topics"][0])] for log in receipt.raw["logs"]
            if same(log["address"], contract.address) and bytes(log["topics"][0]) in by_topic]


def verdict(fns, frm: str, to: str, amount: int) -> tuple[bool, int]:
    """A token's answer for a move: ERC-7943 ``canTransfer`` (bool) and ERC-1404 ``detectTransferRestriction`` (the
    reason code), which must agree."""
    ok = fns.canTransfer(frm, to, amount).call()
    code = fns.detectTransferRestriction(frm, to, amount).call()
    assert ok is (code == 0), (ok, code)
    return ok, code


def assert_rejected(token: Contract, actor: Actor, fn, frm: str, to: str, amount: int, code: int) -> None:
    """canTransfer / detectTransferRestriction(frm, to, amount) answer (False, code) before the send, and the send reverts TransferNotAllowed
    with the same four arguments."""
    assert verdict(token.functions, frm, to, amount) == (False, code)
    actor.reverts(fn, "TransferNotAllowed", **{"from": frm, "to": to, "amount": amount, "reason": code})


def transfer_rejected(token: Contract, sender: Actor, to: str, amount: int, code: int) -> None:
    assert_rejected(token, sender, token.functions.transfer(to, amount), sender.address, to, amount, code)


def mint_rejected(token: Contract, registrar: Actor, to: str, amount: int, ref: bytes, code: int) -> None:
    """canTransfer(0, to, amount) answers (False, code), the mint reverts with it and the reference stays unused."""
    assert_rejected(token, registrar, token.functions.mint(to, amount, ref), ZERO, to, amount, code)
    assert token.functions.isReferenceUsed(ref).call() is False


def transfer_ok(token: Contract, sender: Actor, to: str, amount: int) -> Receipt:
    """canTransfer says (True, 0), the transfer goes through and the balances move by ``amount``."""
    assert verdict(token.functions, sender.address, to, amount) == (True, OK)
    before = (token.functions.balanceOf(sender.address).call(), token.functions.balanceOf(to).call())
    receipt = sender.send(token.functions.transfer(to, amount), gas=400_000)
    after = (token.functions.balanceOf(sender.address).call(), token.functions.balanceOf(to).call())
    if same(sender.address, to):
        assert after == before
    else:
        assert after == (before[0] - amount, before[1] + amount)
    return receipt


def forced_rejected(token: Contract, registrar: Actor, frm: str, to: str, amount: int, code: int,
                    include_frozen: bool = False, reason: bytes = b32("court-order")) -> None:
    """canForceTransfer predicts (False, code) and forcedTransfer (to != 0) or burn (to == 0) reverts with it."""
    assert tuple(token.functions.canForceTransfer(frm, to, amount, include_frozen).call()) == (False, code)
    fn = (token.functions.burn(frm, amount, reason, include_frozen) if to == ZERO
          else token.functions.forcedTransfer(frm, to, amount, reason, include_frozen))
    registrar.reverts(fn, "TransferNotAllowed", **{"from": frm, "to": to, "amount": amount, "reason": code})


def forced_ok(token: Contract, registrar: Actor, frm: str, to: str, amount: int, include_frozen: bool = False,
              reason: bytes = b32("court-order")) -> Receipt:
    """canForceTransfer predicts (True, 0); the forced transfer / burn goes through and the balances move."""
    assert tuple(token.functions.canForceTransfer(frm, to, amount, include_frozen).call()) == (True, OK)
    before = (balance(token, frm), balance(token, to) if to != ZERO else 0, token.functions.totalSupply().call())
    fn = (token.functions.burn(frm, amount, reason, include_frozen) if to == ZERO
          else token.functions.forcedTransfer(frm, to, amount, reason, include_frozen))
    receipt = registrar.send(fn, gas=500_000)
    assert balance(token, frm) == before[0] - amount
    if to == ZERO:
        assert token.functions.totalSupply().call() == before[2] - amount
    else:
        assert balance(token, to) == before[1] + amount
    return receipt


def bind_token(stack: Stack, address: str, kind: str) -> Contract:
    """The token bound to its ABI. (Not ``Stack.token``: it caches by address, and after a snapshot revert the
    factory creates a different clone at an address seen before.)"""
    impl = stack.commodity_impl if kind == "commodity" else stack.property_impl
    return stack.w3.eth.contract(address=address, abi=impl.abi)


def balance(token: Contract, who: str) -> int:
    return token.functions.balanceOf(who).call()


def supply(token: Contract) -> int:
    return token.functions.totalSupply().call()


def holders(token: Contract) -> int:
    return token.functions.holderCount().call()


def counts(token: Contract) -> tuple:
    """holderCounts(): (holders, retail, accredited, institutional, foreignHolders, foreignUnits)."""
    return tuple(token.functions.holderCounts().call())


@dataclass
class World:
    """One deployed stack with separated roles, registered investors and two funded, Active tokens."""

    chain: Any
    session: Any
    stack: Stack
    admin: Actor  # DEFAULT_ADMIN_ROLE only
    registrar: Actor  # REGISTRAR_ROLE only
    compliance: Actor  # COMPLIANCE_ROLE only
    custodian: Actor  # CUSTODIAN_ROLE only
    alice: Actor  # verified investors (PK retail, PK accredited, US institutional, GB retail, PK retail)
    bob: Actor
    carol: Actor
    dave: Actor
    erin: Actor  # verified, holds nothing at the start
    outsider: Actor  # no identity, no role
    guardian: Actor  # GUARDIAN_ROLE only (pause, nothing else); not a dev account
    kyc_expiry: int
    prop: Contract  # PropertyShareToken clone: cap PROP_CAP, 0 decimals, home PK; alice 1000, bob 500
    prop_asset: int
    comm: Contract  # CommodityToken clone: 3 decimals, home PK, lot LOT-1 of COMM_RESERVE; alice 10_000, bob 5_000
    comm_asset: int

    @property
    def investors(self) -> list[Actor]:
        return [self.alice, self.bob, self.carol, self.dave, self.erin]

    def role_actor(self, role: str) -> Actor:
        return {
            "admin": self.admin,
            "registrar": self.registrar,
            "compliance": self.compliance,
            "custodian": self.custodian,
            "guardian": self.guardian,
            "investor": self.alice,
        }[role]

    def new_wallet(self, label: str, country: int = PK, register: bool = True, category: int = RETAIL) -> str:
        """A fresh address (no key needed: it only receives), registered as a verified investor if asked."""
        address = self.chain.w3.to_checksum_address(keccak(text=f"rwaledger-test-wallet-{label}")[-20:])
        if register:
            self.compliance.send(self.stack.identity.functions.registerIdentity(address, country, self.kyc_expiry, category))
        return address

    def keyed(self, label: str, country: int = PK, register: bool = True, category: int = RETAIL) -> Actor:
        """A fresh keyed and funded wallet that can send, registered as a verified investor if asked."""
        acct = Account.from_key(keccak(text=f"rwaledger-test-key-{label}"))
        self.chain.set_balance(acct.address, 10**21)
        self.chain.mine()  # a snapshot must never be taken on the block set_balance made (see test_contracts_invariants)
        if register:
            self.compliance.send(self.stack.identity.functions.registerIdentity(acct.address, country, self.kyc_expiry, category))
        return Actor(label, acct.address, self.session.transactor(Signer(acct, label)))

    def add_wallet(self, investor: str, label: str, keyed: bool = False):
        """A fresh wallet bound to ``investor`` by the compliance officer (an Actor when ``keyed``, else an address)."""
        actor = self.keyed(label, register=False) if keyed else None
        wallet = actor.address if actor else self.new_wallet(label, register=False)
        self.compliance.send(self.stack.identity.functions.addWallet(investor, wallet))
        return actor or wallet

    def set_status(self, asset: int, status: int) -> Receipt:
        return self.registrar.send(self.stack.registry.functions.setStatus(asset, status))


PROP_CAP = 10_000
COMM_RESERVE = 100_000
PROPERTY_PARAMS = (b"PK", "LHR-GH-12B", "Gulberg House 12-B, Lahore", "ipfs://lahore-apartment", 25_000_000_00, b"PKR",
                   1_700_000_000)
COMMODITY_PARAMS = (b"PK", "KHI-VAULT-7", "", "ipfs://karachi-gold", 0, b"\0\0\0", 0)

_symbols = itertools.count(1)


def next_symbol() -> str:
    """A canonical symbol no other test token uses."""
    return f"TST{next(_symbols)}"


def asset_params(reference: str, jurisdiction: bytes = b"PK", uri: str = "ipfs://x", amount: int = 0,
                 display: str = "") -> tuple:
    return (jurisdiction, reference, display, uri, amount, b"PKR" if amount else b"\0\0\0",
            1_700_000_000 if amount else 0)


def create_property(world: World, reference: str, name: str = "Share", symbol: str | None = None, decimals: int = 0,
                    cap: int = PROP_CAP, jurisdiction: bytes = b"PK", home: int = PK, activate: bool = False,
                    display: str = "") -> tuple[int, Contract, Receipt]:
    symbol = symbol or next_symbol()
    receipt = world.registrar.send(world.stack.factory.functions.createPropertyToken(
        asset_params(reference, jurisdiction, display=display), (name, symbol, decimals, cap, home)))
    ev = one_event(world.stack.factory, "PropertyTokenCreated", receipt)
    if activate:
        world.set_status(ev["assetId"], ACTIVE)
    return ev["assetId"], bind_token(world.stack, ev["token"], "property"), receipt


def create_commodity(world: World, reference: str, name: str = "Units", symbol: str | None = None, decimals: int = 3,
                     unit: str = "gram", home: int = PK, activate: bool = False) -> tuple[int, Contract, Receipt]:
    symbol = symbol or next_symbol()
    receipt = world.registrar.send(world.stack.factory.functions.createCommodityToken(
        asset_params(reference), (name, symbol, decimals, unit, home)))
    ev = one_event(world.stack.factory, "CommodityTokenCreated", receipt)
    if activate:
        world.set_status(ev["assetId"], ACTIVE)
    return ev["assetId"], bind_token(world.stack, ev["token"], "commodity"), receipt
