"""Conformance to the standards integrators read: ERC-7943 (uRWA, fungible), ERC-1404 and ERC-3643 (T-REX 4.x
``IToken``), on both chains.

Two views: the ABI (every function and event of the published interfaces, compiled from the pinned npm sources and
the EIP's text, exists on both token kinds with the same signature, outputs and indexing), and an integrator
contract (``contracts/test/StandardsIntegrator.sol``) that imports only the standards' interface files and drives a
token through them: checks, transfers, freezes, forced transfers, recovery.
"""

from __future__ import annotations

import pytest
from eth_utils import function_signature_to_4byte_selector as selector

from rwaledger.constants import REASON_TEXT, REASONS
from rwaledger.errors import ReasonRevert

from contracts_kit import (
    COMPLIANCE_ROLE, GAS, OK, PK, RECIPIENT_NV, REGISTRAR_ROLE, UNLOCKED, ZERO, balance, event_names, one_event, same,
)

pytestmark = pytest.mark.chains("tester", "anvil")

ERC7943_FUNGIBLE_ID = bytes.fromhex("3edbb4c4")  # the EIP's Specification section
ERC1404_ID = bytes(a ^ b for a, b in zip(selector("detectTransferRestriction(address,address,uint256)"),
                                          selector("messageForTransferRestriction(uint8)")))


def _sig(item: dict) -> str:
    return f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"


def _entries(abi: list[dict], kind: str) -> dict[str, dict]:
    return {_sig(i): i for i in abi if i["type"] == kind}


def _interface_id(abi: list[dict], inherited: list[dict] = ()) -> bytes:
    """ERC-165 id of an interface: the XOR of its own functions' selectors (not those of `inherited` bases)."""
    out = 0
    for sig in set(_entries(abi, "function")) - set(_entries(list(inherited), "function")):
        out ^= int.from_bytes(selector(sig), "big")
    return out.to_bytes(4, "big")


# IToken events a token never emits: T-REX emits them when a token is initialised or rebound to another registry or
# compliance; here both are fixed when the factory creates the token (`identityRegistry()`, `compliance()`), and
# setIdentityRegistry / setCompliance revert Unsupported. contracts/README.md says so.
NOT_EMITTED = {"IdentityRegistryAdded(address)", "ComplianceAdded(address)"}


@pytest.fixture(scope="module")
def integrator(world):
    """The integrator, a verified investor holding the token agents' roles (registrar and compliance)."""
    contract, _ = world.admin.tx.deploy(world.session.build["StandardsIntegrator"], gas=GAS)
    world.compliance.send(world.stack.identity.functions.registerIdentity(contract.address, PK, world.kyc_expiry, 3))
    for role in (REGISTRAR_ROLE, COMPLIANCE_ROLE):
        world.admin.send(world.stack.access.functions.grantRole(role, contract.address))
    return contract


# --------------------------------------------------------------------------- the ABI


@pytest.mark.parametrize("standard", ["IToken", "IERC7943Fungible", "IERC1404"])
def test_every_function_and_event_of_the_standard_is_in_the_token_abi(world, standard):
    spec = world.session.build[standard].abi
    for token in (world.prop, world.comm):
        functions, events_ = _entries(token.abi, "function"), _entries(token.abi, "event")
        for sig, item in _entries(spec, "function").items():
            assert sig in functions, f"{standard}.{sig} missing"
            ours = functions[sig]
            assert [o["type"] for o in ours["outputs"]] == [o["type"] for o in item["outputs"]], sig
            if item["stateMutability"] in ("view", "pure"):  # a standard's view is a view here too
                assert ours["stateMutability"] in ("view", "pure"), sig
        for sig, item in _entries(spec, "event").items():
            if sig in NOT_EMITTED:
                assert sig not in events_
                continue
            assert sig in events_, f"{standard} event {sig} missing"
            assert [i["indexed"] for i in events_[sig]["inputs"]] == [i["indexed"] for i in item["inputs"]], sig
        for sig in _entries(spec, "error"):
            assert sig in _entries(token.abi, "error"), f"{standard} error {sig} missing"


def test_interface_ids_are_the_standards_values(world, integrator):
    erc165, erc7943, erc20, erc1404, erc3643 = integrator.functions.ids().call()
    build = world.session.build
    ierc165 = [i for i in build["IERC7943Fungible"].abi if i.get("name") == "supportsInterface"]
    assert erc7943 == ERC7943_FUNGIBLE_ID == _interface_id(build["IERC7943Fungible"].abi, ierc165)
    assert erc1404 == ERC1404_ID and erc165 == bytes.fromhex("01ffc9a7") and erc20 == bytes.fromhex("36372b07")
    # ERC-3643 defines no id: IToken's own functions, as type(IToken).interfaceId
    assert erc3643 == _interface_id(build["IToken"].abi, build["IERC20"].abi)
    for token in (world.prop, world.comm):
        assert integrator.functions.claims(token.address).call() == [True, True, True, True, True, False]


def test_the_implementations_and_the_module_are_no_tokens(world):
    """Called directly, neither the shared implementations nor the module can move a unit or freeze one."""
    for c in (world.stack.property_impl, world.stack.commodity_impl):
        f = world.prop.functions  # the full ABI at the implementation's address
        impl = world.chain.w3.eth.contract(address=c.address, abi=world.prop.abi).functions
        assert impl.canSend(world.alice.address).call() is False and impl.canReceive(world.alice.address).call() is False
        assert impl.detectTransferRestriction(ZERO, world.alice.address, 1).call() == REASONS.index("Disabled")
        assert f.tokenModule().call() == world.stack.token_module.address == impl.tokenModule().call()
    module = world.chain.w3.eth.contract(address=world.stack.token_module.address, abi=world.prop.abi).functions
    world.registrar.reverts(module.batchForcedTransfer([world.alice.address], [world.bob.address], [1]),
                            "TransferNotAllowed", reason=REASONS.index("Disabled"))


# --------------------------------------------------------------------------- an integrator drives a token


def test_precheck_through_each_standard_agrees_and_explains(world, integrator):
    a, b, outsider = world.alice.address, world.bob.address, world.outsider.address
    for token in (world.prop, world.comm):
        assert integrator.functions.precheck(token.address, a, b, 1).call() == [True, True, OK, REASON_TEXT["Ok"]]
        assert integrator.functions.precheck(token.address, a, outsider, 1).call() == [
            False, False, RECIPIENT_NV, REASON_TEXT["RecipientNotVerified"]]
    # every code has its README message, and an unknown one says so
    msg = world.prop.functions.messageForTransferRestriction
    assert [msg(i).call() for i in range(len(REASONS))] == [REASON_TEXT[r] for r in REASONS]
    assert msg(len(REASONS)).call() == msg(255).call() == "unknown restriction"


def test_eligibility_is_account_level(world, integrator):
    a, outsider = world.alice.address, world.outsider.address
    token = world.prop
    assert integrator.functions.eligibility(token.address, a).call() == [True, True, True, True]
    assert integrator.functions.standing(token.address, a).call() == [PK, False, 0]
    assert integrator.functions.eligibility(token.address, outsider).call() == [False, False, False, False]
    assert integrator.functions.standing(token.address, outsider).call() == [0, False, 0]
    # a country rule concerns receiving only; a wallet freeze both directions
    world.compliance.send(token.functions.setCountryRestriction(2))  # blocklist
    world.compliance.send(token.functions.setCountriesListed([PK], True))
    assert integrator.functions.eligibility(token.address, a).call()[:2] == [True, False]
    world.compliance.send(token.functions.setCountryRestriction(0))
    world.compliance.send(token.functions.setAddressFrozen(a, True))
    assert integrator.functions.eligibility(token.address, a).call() == [False, False, True, True]
    # and canTransfer is false whenever canSend(from) or canReceive(to) is
    assert integrator.functions.precheck(token.address, a, world.bob.address, 1).call()[0] is False


def test_issue_settle_and_batch_settle_through_the_standards(world, integrator):
    i, b, c = integrator.address, world.bob.address, world.carol.address
    for token in (world.prop, world.comm):
        world.admin.send(integrator.functions.issue(token.address, i, 100))  # ERC-3643 mint, no reference
        assert balance(token, i) == 100
        world.admin.send(integrator.functions.settle(token.address, b, 30))  # ERC-7943 check, ERC-20 transfer
        world.admin.send(integrator.functions.settleMany(token.address, [b, c], [10, 20]))  # ERC-3643 batchTransfer
        assert balance(token, i) == 40
        with pytest.raises(ReasonRevert, match="refused by canTransfer"):  # asked before the ERC-20 transfer
            world.admin.send(integrator.functions.settle(token.address, world.outsider.address, 1))
        world.admin.send(integrator.functions.redeem(token.address, i, 40))  # ERC-3643 burn
        assert balance(token, i) == 0


def test_freeze_and_seize_through_erc7943(world, integrator):
    a, b = world.alice.address, world.bob.address
    token = world.prop
    bal = balance(token, a)
    receipt = world.admin.send(integrator.functions.freezeAmount(token.address, a, bal - 100))
    assert one_event(token, "Frozen", receipt)["amount"] == bal - 100
    assert integrator.functions.standing(token.address, a).call() == [PK, False, bal - 100]
    assert integrator.functions.precheck(token.address, a, b, 101).call()[:3] == [False, False, UNLOCKED]
    assert integrator.functions.precheck(token.address, a, b, 100).call()[0] is True
    # a forced transfer of everything unfreezes the frozen units first (Frozen before Transfer)
    receipt = world.admin.send(integrator.functions.seize(token.address, a, b, bal))
    forced = one_event(token, "ForcedTransfer", receipt)
    assert (same(forced["from"], a), same(forced["to"], b), forced["amount"]) == (True, True, bal)
    assert one_event(token, "Frozen", receipt)["amount"] == 0 and balance(token, a) == 0
    names = event_names(token, receipt)
    assert names.index("Frozen") < names.index("Transfer") < names.index("ForcedTransfer")


def test_recovery_through_erc3643(world, integrator):
    lost = world.alice.address
    token = world.prop
    bal = balance(token, lost)
    new = world.new_wallet("integrator-recovery", register=False)
    world.compliance.send(world.stack.identity.functions.replaceWallet(lost, new))
    world.admin.reverts(integrator.functions.recover(token.address, lost, new, world.bob.address),
                        "RecoveryNotSameInvestor")  # the investor id must be the wallets' investor
    receipt = world.admin.send(integrator.functions.recover(token.address, lost, new, lost))
    ev = one_event(token, "RecoverySuccess", receipt)
    assert same(ev["_lostWallet"], lost) and same(ev["_newWallet"], new) and same(ev["_investorOnchainID"], lost)
    assert balance(token, new) == bal and balance(token, lost) == 0


def test_pause_and_token_information_through_erc3643(world, integrator):
    token = world.prop
    world.admin.send(integrator.functions.halt(token.address))
    assert integrator.functions.information(token.address).call() == [
        "Lahore Apartment 12B", "LHR12B", 0, "rwaledger-1", ZERO, True]
    assert integrator.functions.precheck(token.address, world.alice.address, world.bob.address, 1).call()[2] == 1
    world.admin.send(integrator.functions.resume(token.address))
    assert token.functions.compliance().call() == token.address
    assert token.functions.identityRegistry().call() == world.stack.identity.address
    receipt = world.admin.send(token.functions.setOnchainID(world.dave.address))
    info = one_event(token, "UpdatedTokenInformation", receipt)
    assert info["_newOnchainID"] == world.dave.address and info["_newVersion"] == "rwaledger-1"
