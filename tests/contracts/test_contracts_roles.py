"""Every privileged function x every role: accepted for the role(s) that hold the right, refused with
``AccessControlUnauthorizedAccount(caller, neededRole)`` for every other role.

Roles (one account each, see conftest): admin (DEFAULT_ADMIN_ROLE only), registrar, compliance, custodian, the pause
guardian (which may pause and do nothing else: every other case refuses it, unpausing included) and a plain
investor (alice: verified, holds units, no role). Token functions run on both token kinds. The last test checks that
the matrix covers every state-changing function of the stack's ABIs except the documented public ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from rwaledger.constants import REASONS

from contracts_kit import (
    COMPLIANCE_ROLE, DAY, GAS, PK, REGISTRAR_ROLE, SUSPENDED, WALLET_LOST, WALLET_REMOVED, asset_params, b32, sha,
)

ROLES = ["admin", "registrar", "compliance", "custodian", "guardian", "investor"]


@dataclass
class Case:
    name: str
    allowed: tuple[str, ...]  # roles that may call
    needed: str  # the role named in the refusal
    call: Callable  # (world, ctx) -> bound function
    check: Callable  # (world, ctx) -> bool, true after an accepted call
    setup: Callable | None = None  # (world) -> ctx, run by privileged accounts before the call


def _token(kind):
    return lambda w: w.prop if kind == "property" else w.comm


def identity_cases():
    I = lambda w: w.stack.identity.functions  # noqa: E731
    fresh = lambda w: {"wallet": w.new_wallet("role-case", register=False)}  # noqa: E731
    bound = lambda w: {"wallet": w.add_wallet(w.alice.address, "role-case-bound")}  # noqa: E731
    return [
        Case("registerIdentity", ("compliance",), "compliance",
             lambda w, c: I(w).registerIdentity(c["wallet"], PK, w.kyc_expiry, 1),
             lambda w, c: I(w).isVerified(c["wallet"]).call(), fresh),
        Case("batchRegisterIdentity", ("compliance",), "compliance",
             lambda w, c: I(w).batchRegisterIdentity([c["wallet"]], [PK], [w.kyc_expiry], [1]),
             lambda w, c: I(w).isVerified(c["wallet"]).call(), fresh),
        Case("updateCountry", ("compliance",), "compliance",
             lambda w, c: I(w).updateCountry(w.bob.address, 840),
             lambda w, c: I(w).identity(w.bob.address).call()[0] == 840),
        Case("updateKycExpiry", ("compliance",), "compliance",
             lambda w, c: I(w).updateKycExpiry(w.bob.address, 1),
             lambda w, c: not I(w).isVerified(w.bob.address).call()),
        Case("updateCategory", ("compliance",), "compliance",
             lambda w, c: I(w).updateCategory(w.bob.address, 3),
             lambda w, c: I(w).identity(w.bob.address).call()[2] == 3),
        Case("deleteIdentity", ("compliance",), "compliance",
             lambda w, c: I(w).deleteIdentity(w.erin.address),
             lambda w, c: not I(w).identity(w.erin.address).call()[3]),
        Case("addWallet", ("compliance",), "compliance",
             lambda w, c: I(w).addWallet(w.alice.address, c["wallet"]),
             lambda w, c: I(w).investorOf(c["wallet"]).call() == w.alice.address, fresh),
        Case("batchAddWallets", ("compliance",), "compliance",
             lambda w, c: I(w).batchAddWallets([w.alice.address], [c["wallet"]]),
             lambda w, c: I(w).investorOf(c["wallet"]).call() == w.alice.address, fresh),
        Case("removeWallet", ("compliance",), "compliance",
             lambda w, c: I(w).removeWallet(c["wallet"]),
             lambda w, c: I(w).walletStatus(c["wallet"]).call() == WALLET_REMOVED, bound),
        Case("replaceWallet", ("compliance",), "compliance",
             lambda w, c: I(w).replaceWallet(w.erin.address, c["wallet"]),
             lambda w, c: I(w).walletStatus(w.erin.address).call() == WALLET_LOST
             and I(w).investorOf(c["wallet"]).call() == w.erin.address, fresh),
    ]


def access_and_registry_cases():
    A = lambda w: w.stack.access.functions  # noqa: E731
    R = lambda w: w.stack.registry.functions  # noqa: E731
    F = lambda w: w.stack.factory.functions  # noqa: E731

    def fresh_registry(w):
        reg, _ = w.admin.tx.deploy(w.session.build["AssetRegistry"], w.stack.access.address, gas=GAS)
        return {"registry": reg}

    return [
        Case("grantRole", ("admin",), "admin",
             lambda w, c: A(w).grantRole(REGISTRAR_ROLE, w.carol.address),
             lambda w, c: A(w).hasRole(REGISTRAR_ROLE, w.carol.address).call()),
        Case("revokeRole", ("admin",), "admin",
             lambda w, c: A(w).revokeRole(COMPLIANCE_ROLE, w.compliance.address),
             lambda w, c: not A(w).hasRole(COMPLIANCE_ROLE, w.compliance.address).call()),
        Case("setFactory", ("admin",), "admin",
             lambda w, c: c["registry"].functions.setFactory(w.carol.address),
             lambda w, c: c["registry"].functions.factory().call() == w.carol.address, fresh_registry),
        Case("setStatus", ("registrar",), "registrar",
             lambda w, c: R(w).setStatus(w.prop_asset, SUSPENDED),
             lambda w, c: R(w).statusOf(w.prop_asset).call() == SUSPENDED),
        Case("updateValuation", ("registrar",), "registrar",
             lambda w, c: R(w).updateValuation(w.prop_asset, 42, b"USD", 7),
             lambda w, c: R(w).asset(w.prop_asset).call()[6] == 42),
        Case("setMetadataURI", ("registrar",), "registrar",
             lambda w, c: R(w).setMetadataURI(w.prop_asset, "ipfs://role"),
             lambda w, c: R(w).metadataURI(w.prop_asset).call() == "ipfs://role"),
        Case("addDocument", ("registrar",), "registrar",
             lambda w, c: R(w).addDocument(w.prop_asset, "deed", "ipfs://d", sha("d"), 0, 0),
             lambda w, c: R(w).currentDocument(w.prop_asset, "deed").call() == 1),
        Case("createPropertyToken", ("registrar",), "registrar",
             lambda w, c: F(w).createPropertyToken(asset_params("ROLE-P"), ("N", "ROLEP", 0, 10, PK)),
             lambda w, c: R(w).assetIdOf(b"PK", "ROLE-P").call() == 3),
        Case("createCommodityToken", ("registrar",), "registrar",
             lambda w, c: F(w).createCommodityToken(asset_params("ROLE-C"), ("N", "ROLEC", 0, "kg", PK)),
             lambda w, c: R(w).assetIdOf(b"PK", "ROLE-C").call() == 3),
    ]


def token_cases(kind):
    T = _token(kind)
    Tf = lambda w: T(w).functions  # noqa: E731

    def with_lien(w):
        w.registrar.send(Tf(w).createLien(w.alice.address, w.dave.address, 10, b32("loan"), sha("l")))
        return {}

    def with_frozen(w):
        w.compliance.send(Tf(w).freezePartialTokens(w.alice.address, 10))
        return {}

    def with_pause(w):
        w.compliance.send(Tf(w).pause())
        return {}

    def bob_replaced(w):
        new = w.new_wallet("role-bob-new", register=False)
        w.compliance.send(w.stack.identity.functions.replaceWallet(w.bob.address, new))
        return {"new": new}

    return [
        Case("mint(address,uint256,bytes32)", ("registrar",), "registrar",
             lambda w, c: Tf(w).mint(w.erin.address, 3, b32("role")),
             lambda w, c: Tf(w).balanceOf(w.erin.address).call() == 3),
        Case("mint(address,uint256)", ("registrar",), "registrar",  # ERC-3643
             lambda w, c: Tf(w).mint(w.erin.address, 3),
             lambda w, c: Tf(w).balanceOf(w.erin.address).call() == 3),
        Case("batchMint(address[],uint256[],bytes32[])", ("registrar",), "registrar",
             lambda w, c: Tf(w).batchMint([w.erin.address], [3], [b32("role")]),
             lambda w, c: Tf(w).balanceOf(w.erin.address).call() == 3),
        Case("batchMint(address[],uint256[])", ("registrar",), "registrar",  # ERC-3643
             lambda w, c: Tf(w).batchMint([w.erin.address], [3]),
             lambda w, c: Tf(w).balanceOf(w.erin.address).call() == 3),
        Case("burn(address,uint256,bytes32,bool)", ("registrar",), "registrar",
             lambda w, c: Tf(w).burn(w.bob.address, 3, b32("x"), False),
             lambda w, c: Tf(w).balanceOf(w.bob.address).call() in (497, 4997)),
        Case("burn(address,uint256)", ("registrar",), "registrar",  # ERC-3643
             lambda w, c: Tf(w).burn(w.bob.address, 3),
             lambda w, c: Tf(w).balanceOf(w.bob.address).call() in (497, 4997)),
        Case("batchBurn", ("registrar",), "registrar",  # ERC-3643
             lambda w, c: Tf(w).batchBurn([w.bob.address], [3]),
             lambda w, c: Tf(w).balanceOf(w.bob.address).call() in (497, 4997)),
        Case("forcedTransfer(address,address,uint256,bytes32,bool)", ("registrar",), "registrar",
             lambda w, c: Tf(w).forcedTransfer(w.bob.address, w.erin.address, 3, b32("x"), False),
             lambda w, c: Tf(w).balanceOf(w.erin.address).call() == 3),
        Case("forcedTransfer(address,address,uint256)", ("registrar",), "registrar",  # ERC-7943 / ERC-3643
             lambda w, c: Tf(w).forcedTransfer(w.bob.address, w.erin.address, 3),
             lambda w, c: Tf(w).balanceOf(w.erin.address).call() == 3),
        Case("batchForcedTransfer", ("registrar",), "registrar",  # ERC-3643
             lambda w, c: Tf(w).batchForcedTransfer([w.bob.address], [w.erin.address], [3]),
             lambda w, c: Tf(w).balanceOf(w.erin.address).call() == 3),
        Case("recoveryAddress(address,address)", ("registrar",), "registrar",
             lambda w, c: Tf(w).recoveryAddress(w.bob.address, c["new"]),
             lambda w, c: Tf(w).balanceOf(w.bob.address).call() == 0 and Tf(w).balanceOf(c["new"]).call() > 0,
             bob_replaced),
        Case("recoveryAddress(address,address,address)", ("registrar",), "registrar",  # ERC-3643
             lambda w, c: Tf(w).recoveryAddress(w.bob.address, c["new"], w.bob.address),
             lambda w, c: Tf(w).balanceOf(w.bob.address).call() == 0 and Tf(w).balanceOf(c["new"]).call() > 0,
             bob_replaced),
        Case("setFrozenTokens", ("compliance",), "compliance",  # ERC-7943
             lambda w, c: Tf(w).setFrozenTokens(w.alice.address, 10**9),
             lambda w, c: Tf(w).getFrozenTokens(w.alice.address).call() == 10**9),
        Case("batchSetAddressFrozen", ("compliance",), "compliance",  # ERC-3643
             lambda w, c: Tf(w).batchSetAddressFrozen([w.bob.address], [True]),
             lambda w, c: Tf(w).isFrozen(w.bob.address).call()),
        Case("batchFreezePartialTokens", ("compliance",), "compliance",  # ERC-3643
             lambda w, c: Tf(w).batchFreezePartialTokens([w.alice.address], [10]),
             lambda w, c: Tf(w).getFrozenTokens(w.alice.address).call() == 10),
        Case("batchUnfreezePartialTokens", ("compliance",), "compliance",  # ERC-3643
             lambda w, c: Tf(w).batchUnfreezePartialTokens([w.alice.address], [10]),
             lambda w, c: Tf(w).getFrozenTokens(w.alice.address).call() == 0, with_frozen),
        Case("setOnchainID", ("admin",), "admin",  # ERC-3643
             lambda w, c: Tf(w).setOnchainID(w.dave.address),
             lambda w, c: Tf(w).onchainID().call() == w.dave.address),
        Case("createLien", ("registrar",), "registrar",
             lambda w, c: Tf(w).createLien(w.alice.address, w.dave.address, 10, b32("loan"), sha("l")),
             lambda w, c: Tf(w).encumberedBalanceOf(w.alice.address).call() == 10),
        Case("releaseLien", ("registrar",), "registrar",  # or the beneficiary (dave): see the share-token tests
             lambda w, c: Tf(w).releaseLien(1),
             lambda w, c: Tf(w).lien(1).call()[3] is True, with_lien),
        Case("changeLienBeneficiary", ("registrar",), "registrar",  # or the beneficiary (dave)
             lambda w, c: Tf(w).changeLienBeneficiary(1, w.carol.address),
             lambda w, c: Tf(w).lien(1).call()[1] == w.carol.address, with_lien),
        Case("setAddressFrozen", ("compliance",), "compliance",
             lambda w, c: Tf(w).setAddressFrozen(w.bob.address, True),
             lambda w, c: Tf(w).isFrozen(w.bob.address).call()),
        Case("freezePartialTokens", ("compliance",), "compliance",
             lambda w, c: Tf(w).freezePartialTokens(w.alice.address, 10),
             lambda w, c: Tf(w).getFrozenTokens(w.alice.address).call() == 10),
        Case("unfreezePartialTokens", ("compliance",), "compliance",
             lambda w, c: Tf(w).unfreezePartialTokens(w.alice.address, 10),
             lambda w, c: Tf(w).getFrozenTokens(w.alice.address).call() == 0, with_frozen),
        Case("pause", ("compliance", "guardian"), "compliance",
             lambda w, c: Tf(w).pause(), lambda w, c: Tf(w).paused().call()),
        Case("unpause", ("compliance",), "compliance",
             lambda w, c: Tf(w).unpause(), lambda w, c: not Tf(w).paused().call(), with_pause),
        Case("setCountryRestriction", ("compliance",), "compliance",
             lambda w, c: Tf(w).setCountryRestriction(2), lambda w, c: Tf(w).rules().call()[0] == 2),
        Case("setCountriesListed", ("compliance",), "compliance",
             lambda w, c: Tf(w).setCountriesListed([PK], True), lambda w, c: Tf(w).isCountryListed(PK).call()),
        Case("setMaxHolders", ("compliance",), "compliance",
             lambda w, c: Tf(w).setMaxHolders(7), lambda w, c: Tf(w).rules().call()[2] == 7),
        Case("setMaxBalance", ("compliance",), "compliance",
             lambda w, c: Tf(w).setMaxBalance(10**9), lambda w, c: Tf(w).rules().call()[3] == 10**9),
        Case("setLockupUntil", ("compliance",), "compliance",
             lambda w, c: Tf(w).setLockupUntil(2_000_000_000), lambda w, c: Tf(w).rules().call()[1] == 2_000_000_000),
        Case("setCategoryHolderCaps", ("compliance",), "compliance",
             lambda w, c: Tf(w).setCategoryHolderCaps(5, 6, 7),
             lambda w, c: tuple(Tf(w).holderCaps().call())[:3] == (5, 6, 7)),
        Case("setForeignCaps", ("compliance",), "compliance",
             lambda w, c: Tf(w).setForeignCaps(3, 4_000),
             lambda w, c: tuple(Tf(w).holderCaps().call())[3:] == (3, 4_000)),
    ]


def custodian_cases():
    C = lambda w: w.comm.functions  # noqa: E731

    def with_request(w):
        w.alice.send(C(w).requestRedemption(100, b32("DLV")))
        return {}

    def with_lot2(w):
        w.custodian.send(C(w).attestLot(b32("LOT-2"), "v", 10, sha("r")))
        return {}

    return [
        Case("attestLot", ("custodian",), "custodian",
             lambda w, c: C(w).attestLot(b32("LOT-9"), "v", 10, sha("r")),
             lambda w, c: C(w).lot(b32("LOT-9")).call()[2] == 1),
        Case("reduceLot", ("custodian",), "custodian",
             lambda w, c: C(w).reduceLot(b32("LOT-1"), 10, b32("x")),
             lambda w, c: C(w).attestedReserve().call() == 99_990),
        Case("retireLot", ("custodian",), "custodian",
             lambda w, c: C(w).retireLot(b32("LOT-2"), b32("x")),
             lambda w, c: C(w).lot(b32("LOT-2")).call()[2] == 2, with_lot2),
        Case("fulfilRedemption", ("custodian",), "custodian",
             lambda w, c: C(w).fulfilRedemption(1, [b32("LOT-1")]),
             lambda w, c: C(w).redemption(1).call()[1] == 2, with_request),
        Case("rejectRedemption", ("custodian",), "custodian",
             lambda w, c: C(w).rejectRedemption(1, b32("x")),
             lambda w, c: C(w).redemption(1).call()[1] == 3, with_request),
    ]


def distribution_cases():
    D = lambda w: w.stack.distributions.functions  # noqa: E731

    def funded(w):
        coin, _ = w.admin.tx.deploy(w.session.build["TestStablecoin"], gas=GAS)
        for actor in (w.admin, w.registrar, w.compliance, w.custodian, w.alice):
            w.admin.send(coin.functions.mint(actor.address, 1000))
            actor.send(coin.functions.approve(w.stack.distributions.address, 1000))
        return {"coin": coin}

    def created(w):
        ctx = funded(w)
        w.registrar.send(D(w).createDistribution(w.prop.address, ctx["coin"].address, 1000, b"\1" * 32,
                                                 w.chain.w3.eth.block_number, w.chain.timestamp() + DAY))
        return ctx

    def expired(w):
        ctx = funded(w)
        w.registrar.send(D(w).createDistribution(w.prop.address, ctx["coin"].address, 1000, b"\1" * 32,
                                                 w.chain.w3.eth.block_number, w.chain.timestamp() + DAY))
        w.chain.advance_time(DAY + 1)
        return ctx

    return [
        Case("createDistribution", ("registrar",), "registrar",
             lambda w, c: D(w).createDistribution(w.prop.address, c["coin"].address, 1000, b"\1" * 32,
                                                  w.chain.w3.eth.block_number, w.chain.timestamp() + DAY),
             lambda w, c: D(w).distributionCount().call() == 1, funded),
        Case("reclaimExpired", ("registrar",), "registrar",
             lambda w, c: D(w).reclaimExpired(1),
             lambda w, c: D(w).distribution(1).call()[2] is True, expired),
        Case("setWithheld", ("registrar",), "registrar",
             lambda w, c: D(w).setWithheld(1, [0, 3], True),
             lambda w, c: D(w).isWithheld(1, 0).call() and D(w).isWithheld(1, 3).call(), created),
    ]


CASES = (
    [pytest.param(c, id=c.name) for c in identity_cases()]
    + [pytest.param(c, id=c.name) for c in access_and_registry_cases()]
    + [pytest.param(c, id=f"property-{c.name}") for c in token_cases("property")]
    + [pytest.param(c, id=f"commodity-{c.name}") for c in token_cases("commodity")]
    + [pytest.param(c, id=c.name) for c in custodian_cases()]
    + [pytest.param(c, id=c.name) for c in distribution_cases()]
)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES)
def test_privileged_function(world, case, role):
    ctx = case.setup(world) if case.setup else {}
    actor = world.role_actor(role)
    fn = case.call(world, ctx)
    if role in case.allowed:
        assert not case.check(world, ctx), "the check must not already hold before the call"
        actor.send(fn)
        assert case.check(world, ctx)
    else:
        actor.refused(fn, case.needed)
        assert not case.check(world, ctx)


def test_every_privileged_function_is_covered(world):
    """The matrix above covers every state-changing function of every contract except the documented public ones."""
    public = {"transfer", "transferFrom", "approve", "requestRedemption", "claim", "renounceRole", "registerAsset",
              "syncInvestor", "batchTransfer"}
    covered = {p.values[0].name for p in CASES}
    contracts = [world.stack.access, world.stack.identity, world.stack.registry, world.stack.factory,
                 world.prop, world.comm, world.stack.distributions]
    functions = [f for c in contracts for f in c.abi if f["type"] == "function" and f["stateMutability"] not in ("view", "pure")]
    overloaded = {n for n in {f["name"] for f in functions} if len({_sig(f) for f in functions if f["name"] == n}) > 1}
    writes = {_sig(f) if f["name"] in overloaded else f["name"] for f in functions}  # an overload by its signature
    assert writes - public == covered


def _sig(f: dict) -> str:
    return f"{f['name']}({','.join(i['type'] for i in f['inputs'])})"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("fn", ["setName", "setSymbol", "setIdentityRegistry", "setCompliance"])
def test_erc3643_setters_of_fixed_information_are_refused_to_every_role(world, role, fn):
    """The name, symbol, identity registry and compliance are fixed at tokenization: every role gets Unsupported."""
    arg = "x" if fn in ("setName", "setSymbol") else world.dave.address
    for token in (world.prop, world.comm):
        call = getattr(token.functions, fn)(arg)
        world.role_actor(role).reverts(call, "Unsupported", selector=bytes.fromhex(call.selector[2:]))


def test_renounce_role_only_for_oneself(world):
    A = world.stack.access.functions
    world.alice.reverts(A.renounceRole(REGISTRAR_ROLE, world.registrar.address), "AccessControlBadConfirmation")
    world.registrar.send(A.renounceRole(REGISTRAR_ROLE, world.registrar.address))
    assert not A.hasRole(REGISTRAR_ROLE, world.registrar.address).call()
    world.registrar.refused(world.prop.functions.mint(world.erin.address, 1, b32("after-renounce")), "registrar")


def test_granted_role_takes_effect_on_every_contract_at_once(world):
    """One authority: granting a role on RWAAccess authorises the account on every token clone immediately."""
    A = world.stack.access.functions
    carol = world.carol
    carol.refused(world.prop.functions.mint(world.erin.address, 1, b32("c")), "registrar")
    world.admin.send(A.grantRole(REGISTRAR_ROLE, carol.address))
    carol.send(world.prop.functions.mint(world.erin.address, 1, b32("c")))
    carol.send(world.comm.functions.mint(world.erin.address, 1, b32("c")))
    world.admin.send(A.revokeRole(REGISTRAR_ROLE, carol.address))
    carol.refused(world.prop.functions.mint(world.erin.address, 1, b32("c2")), "registrar")
    assert world.prop.functions.balanceOf(world.erin.address).call() == 1


def test_the_pause_guardian_pauses_and_cannot_unpause(world):
    """The guardian's one act: it pauses (both token kinds), and the pause it made only the compliance officer lifts."""
    for token in (world.prop, world.comm):
        world.guardian.send(token.functions.pause())
        assert token.functions.paused().call()
        assert token.functions.detectTransferRestriction(world.alice.address, world.bob.address, 1).call() == \
            REASONS.index("Paused")
        world.alice.reverts(token.functions.transfer(world.bob.address, 1), "TransferNotAllowed")
        world.guardian.refused(token.functions.unpause(), "compliance")
        world.compliance.send(token.functions.unpause())
        assert not token.functions.paused().call()
