"""Recovery and separation of duties: the compliance officer replaces a lost wallet (registry `replaceWallet`), the
registrar then moves the lost wallet's units and token state into another wallet of the SAME investor (token
`recoveryAddress`): balance, wallet freeze, partially frozen units, liens with their beneficiaries, redemption locks;
neither role can do it alone, no unit goes to another investor, it works while paused, and the recovered-from
wallet is dead afterwards (it can neither receive nor send; liens and requests follow its successor)."""

import pytest

from contracts_kit import (
    PAUSED, RECIPIENT_NV, SENDER_NV, ZERO, b32, balance, event_names, events, forced_ok, forced_rejected, holders,
    mint_rejected, one_event, same, sha, transfer_ok, transfer_rejected,
)


@pytest.fixture(params=["property", "commodity"])
def token(request, world):
    return world.prop if request.param == "property" else world.comm


def replace(world, lost, label="new", keyed=False):
    """The compliance officer replaces ``lost`` with a fresh wallet of the same investor; returns the new wallet."""
    actor = world.keyed(label, register=False) if keyed else None
    new = actor.address if actor else world.new_wallet(label, register=False)
    world.compliance.send(world.stack.identity.functions.replaceWallet(lost, new))
    return actor or new


def recover(world, token, lost, new):
    return world.registrar.send(token.functions.recoveryAddress(lost, new))


def test_recovery_moves_balance_freeze_partial_freeze_liens_and_locks(world, token):
    reg, comp = world.registrar, world.compliance
    f = token.functions
    lost = world.alice.address
    bal = balance(token, lost)
    comp.send(f.setAddressFrozen(lost, True))
    comp.send(f.freezePartialTokens(lost, 200))
    reg.send(f.createLien(lost, world.dave.address, 300, b32("loan"), sha("d")))
    locked = 0
    if token is world.comm:
        comp.send(f.setAddressFrozen(lost, False))  # a frozen holder cannot ask for a redemption
        world.alice.send(f.requestRedemption(400, b32("DLV")))
        comp.send(f.setAddressFrozen(lost, True))
        locked = 400
    start_holders, start_counts = holders(token), tuple(f.holderCounts().call())
    new = replace(world, lost)

    receipt = recover(world, token, lost, new)
    ev = one_event(token, "RecoverySuccess", receipt)
    assert same(ev["_lostWallet"], lost) and same(ev["_newWallet"], new) and same(ev["_investorOnchainID"], lost)
    ev = one_event(token, "WalletStateRecovered", receipt)
    assert same(ev["lostWallet"], lost) and same(ev["newWallet"], new)
    assert (ev["amount"], ev["frozen"], ev["frozenTokens"], ev["encumbered"], ev["locked"]) == (bal, True, 200, 300, locked)
    t = one_event(token, "Transfer", receipt)
    assert same(t["from"], lost) and same(t["to"], new) and t["value"] == bal
    frozen = events(token, "AddressFrozen", receipt)
    assert [(e["_userAddress"], e["_isFrozen"], e["_owner"]) for e in frozen] == [(lost, False, reg.address), (new, True, reg.address)]
    unfrozen, refrozen = one_event(token, "TokensUnfrozen", receipt), one_event(token, "TokensFrozen", receipt)
    assert same(unfrozen["_userAddress"], lost) and unfrozen["_amount"] == 200
    assert same(refrozen["_userAddress"], new) and refrozen["_amount"] == 200
    assert event_names(token, receipt) == ["Transfer", "AddressFrozen", "AddressFrozen", "TokensUnfrozen",
                                           "TokensFrozen", "RecoverySuccess", "WalletStateRecovered"]
    assert (balance(token, lost), f.isFrozen(lost).call(), f.getFrozenTokens(lost).call(),
            f.encumberedBalanceOf(lost).call(), f.lockedBalanceOf(lost).call()) == (0, False, 0, 0, 0)
    assert (balance(token, new), f.isFrozen(new).call(), f.getFrozenTokens(new).call(),
            f.encumberedBalanceOf(new).call(), f.lockedBalanceOf(new).call()) == (bal, True, 200, 300, locked)
    assert f.freeBalanceOf(new).call() == bal - 500 - locked and f.frozenWalletCount().call() == 1
    assert holders(token) == start_holders and tuple(f.holderCounts().call()) == start_counts
    assert f.successorOf(lost).call() == new and f.successorOf(new).call() == new
    assert f.investorBalanceOf(new).call() == bal
    # the lien follows the recovered wallet, with its beneficiary
    assert tuple(f.lien(1).call()) == (new, world.dave.address, 300, False)
    ev = one_event(token, "LienReleased", world.dave.send(f.releaseLien(1)))
    assert same(ev["holder"], new) and f.encumberedBalanceOf(new).call() == 0
    if token is world.comm:  # so does the redemption request
        assert f.redemption(1).call()[0] == new
        world.custodian.send(f.rejectRedemption(1, b32("x")))
        assert f.lockedBalanceOf(new).call() == 0


def test_recovery_without_freeze_emits_no_freeze_events(world, token):
    lost, bal = world.bob.address, balance(token, world.bob.address)
    new = replace(world, lost)
    receipt = recover(world, token, lost, new)
    assert event_names(token, receipt) == ["Transfer", "RecoverySuccess", "WalletStateRecovered"]
    ev = one_event(token, "WalletStateRecovered", receipt)
    assert (ev["amount"], ev["frozen"], ev["frozenTokens"], ev["encumbered"], ev["locked"]) == (bal, False, 0, 0, 0)
    assert balance(token, new) == bal and token.functions.frozenWalletCount().call() == 0


def test_recovery_works_while_paused(world, token):
    world.compliance.send(token.functions.pause())
    lost, bal = world.alice.address, balance(token, world.alice.address)
    new = replace(world, lost)
    recover(world, token, lost, new)
    assert balance(token, new) == bal and balance(token, lost) == 0 and token.functions.paused().call() is True


def test_after_recovery_the_lost_wallet_can_neither_receive_nor_send(world, token):
    reg = world.registrar
    alice, lost = world.alice, world.alice.address
    new = replace(world, lost, keyed=True)
    recover(world, token, lost, new.address)
    mint_rejected(token, reg, lost, 1, b32("to-lost"), RECIPIENT_NV)
    transfer_rejected(token, world.bob, lost, 1, RECIPIENT_NV)
    forced_rejected(token, reg, world.bob.address, lost, 1, RECIPIENT_NV, include_frozen=True)
    transfer_rejected(token, alice, world.bob.address, 0, SENDER_NV)
    assert token.functions.canTransact(lost).call() is False
    # no lien, redemption or second recovery starts from it
    reg.reverts(token.functions.createLien(lost, world.dave.address, 1, b32("l"), sha("l")), "WalletRecovered",
                wallet=lost, successor=new.address)
    if token is world.comm:
        alice.reverts(token.functions.requestRedemption(1, b32("DLV")), "WalletRecovered", wallet=lost)
    # the investor goes on with its new wallet
    transfer_ok(token, new, world.bob.address, 1)
    transfer_ok(token, world.bob, new.address, 1)


def test_no_second_recovery_from_a_recovered_from_wallet(world):
    """Freezing a recovered-from wallet gives it token state again; a second recovery from it would re-point its
    liens at a wallet that does not hold their units (releasing them would then underflow)."""
    prop, reg = world.prop, world.registrar
    lost = world.alice.address
    reg.send(prop.functions.createLien(lost, world.dave.address, 100, b32("loan"), sha("d")))
    new = replace(world, lost)
    recover(world, prop, lost, new)
    other = world.add_wallet(new, "alice-other")
    world.compliance.send(prop.functions.setAddressFrozen(lost, True))
    reg.reverts(prop.functions.recoveryAddress(lost, other), "WalletRecovered", wallet=lost, successor=new)
    assert tuple(prop.functions.lien(1).call())[0] == new
    world.dave.send(prop.functions.releaseLien(1))
    assert prop.functions.encumberedBalanceOf(new).call() == 0 and prop.functions.freeBalanceOf(new).call() == 1000


def test_recovery_of_a_frozen_wallet_without_units_carries_the_freeze(world, token):
    f = token.functions
    lost = world.erin.address  # holds nothing
    world.compliance.send(f.setAddressFrozen(lost, True))
    new = replace(world, lost)
    receipt = recover(world, token, lost, new)
    t = one_event(token, "Transfer", receipt)
    assert same(t["from"], lost) and same(t["to"], new) and t["value"] == 0
    assert one_event(token, "WalletStateRecovered", receipt)["frozen"] is True
    assert f.isFrozen(new).call() is True and f.isFrozen(lost).call() is False and f.frozenWalletCount().call() == 1
    assert holders(token) == 2


def test_recovery_into_a_wallet_that_already_holds_merges(world, token):
    f, comp = token.functions, world.compliance
    a = world.alice.address
    bal = balance(token, a)
    w2 = world.add_wallet(a, "alice-2")
    world.registrar.send(f.mint(w2, 5, b32("w2")))
    comp.send(f.setAddressFrozen(a, True))
    comp.send(f.setAddressFrozen(w2, True))
    assert f.frozenWalletCount().call() == 2
    comp.send(world.stack.identity.functions.replaceWallet(a, w2))  # the replacement is an active wallet of alice
    recover(world, token, a, w2)
    assert balance(token, w2) == bal + 5 and holders(token) == 2
    assert f.frozenWalletCount().call() == 1 and f.isFrozen(w2).call() is True
    assert f.investorBalanceOf(w2).call() == bal + 5


def test_recovery_chain_liens_follow(world):
    prop = world.prop
    a = world.alice.address
    world.registrar.send(prop.functions.createLien(a, world.dave.address, 100, b32("loan"), sha("d")))
    w1 = replace(world, a, "r1")
    recover(world, prop, a, w1)
    w2 = replace(world, w1, "r2")
    recover(world, prop, w1, w2)
    assert prop.functions.successorOf(a).call() == w2
    assert prop.functions.lien(1).call()[0] == w2 and prop.functions.encumberedBalanceOf(w2).call() == 100
    ev = one_event(prop, "LienReleased", world.registrar.send(prop.functions.releaseLien(1)))
    assert same(ev["holder"], w2) and prop.functions.encumberedBalanceOf(w2).call() == 0
    assert prop.functions.freeBalanceOf(w2).call() == 1000 and holders(prop) == 2


def test_lien_beneficiary_change_after_a_recovery(world):
    prop, reg = world.prop, world.registrar
    a, bank, new_bank = world.alice.address, world.dave, world.carol
    reg.send(prop.functions.createLien(a, bank.address, 100, b32("loan"), sha("d")))
    new = replace(world, a)
    recover(world, prop, a, new)
    # the bank lost its key too: the registrar gives the lien a new beneficiary
    world.outsider.refused(prop.functions.changeLienBeneficiary(1, new_bank.address), "registrar")
    reg.send(prop.functions.changeLienBeneficiary(1, new_bank.address))
    bank.refused(prop.functions.releaseLien(1), "registrar")
    ev = one_event(prop, "LienReleased", new_bank.send(prop.functions.releaseLien(1)))
    assert same(ev["holder"], new) and same(ev["beneficiary"], new_bank.address)


# --------------------------------------------------------------------------------------------------- separation of duties


def test_the_registrar_alone_cannot_recover(world, token):
    ir = world.stack.identity
    reg = world.registrar
    a = world.alice.address
    fresh = world.new_wallet("fresh", register=False)
    reg.refused(ir.functions.replaceWallet(a, fresh), "compliance")
    reg.refused(ir.functions.addWallet(a, fresh), "compliance")
    reg.refused(ir.functions.registerIdentity(fresh, 586, world.kyc_expiry, 1), "compliance")
    # into a wallet the compliance officer has not bound to alice: not the same investor
    reg.reverts(token.functions.recoveryAddress(a, fresh), "RecoveryNotSameInvestor", lostWallet=a, newWallet=fresh)
    # into a bound wallet, while alice's wallet is not replaced as lost
    w2 = world.add_wallet(a, "alice-2")
    reg.reverts(token.functions.recoveryAddress(a, w2), "WalletNotLost", wallet=a)
    assert balance(token, w2) == 0 and balance(token, a) > 0


def test_recovery_into_a_wallet_of_another_investor_is_refused(world, token):
    reg = world.registrar
    a, b = world.alice.address, world.bob.address
    new = replace(world, a)
    reg.reverts(token.functions.recoveryAddress(a, b), "RecoveryNotSameInvestor", lostWallet=a, newWallet=b)
    reg.reverts(token.functions.recoveryAddress(a, world.outsider.address), "RecoveryNotSameInvestor",
                lostWallet=a, newWallet=world.outsider.address)
    # nor from another investor's wallet into alice's new one
    world.compliance.send(world.stack.identity.functions.replaceWallet(b, world.new_wallet("bob-new", register=False)))
    reg.reverts(token.functions.recoveryAddress(b, new), "RecoveryNotSameInvestor", lostWallet=b, newWallet=new)
    reg.reverts(token.functions.recoveryAddress(world.outsider.address, new), "RecoveryNotSameInvestor")
    assert balance(token, new) == 0


def test_recovery_argument_checks(world, token):
    reg, ir = world.registrar, world.stack.identity
    a = world.alice.address
    new = replace(world, a)
    reg.reverts(token.functions.recoveryAddress(a, a), "InvalidRecovery", lostWallet=a, newWallet=a)
    reg.reverts(token.functions.recoveryAddress(a, ZERO), "InvalidRecovery")
    reg.reverts(token.functions.recoveryAddress(ZERO, new), "InvalidRecovery")
    # the new wallet must be active, and its investor registered
    world.compliance.send(ir.functions.removeWallet(new))
    reg.reverts(token.functions.recoveryAddress(a, new), "InvalidRecovery", lostWallet=a, newWallet=new)
    world.compliance.send(ir.functions.addWallet(a, new))
    world.compliance.send(ir.functions.deleteIdentity(a))
    reg.reverts(token.functions.recoveryAddress(a, new), "InvalidRecovery", lostWallet=a, newWallet=new)
    world.compliance.send(ir.functions.registerIdentity(a, 586, world.kyc_expiry, 1))
    # a lost wallet without units or token state has nothing to recover
    e = world.erin.address
    e_new = replace(world, e, "erin-new")
    reg.reverts(token.functions.recoveryAddress(e, e_new), "InvalidRecovery", lostWallet=e, newWallet=e_new)
    recover(world, token, a, new)
    assert balance(token, a) == 0 and balance(token, new) > 0


def test_the_compliance_officer_cannot_move_units(world, token):
    comp = world.compliance
    f = token.functions
    a, b = world.alice.address, world.bob.address
    new = replace(world, a)
    for fn in (f.mint(new, 1, b32("c")), f.batchMint([new], [1], [b32("c")]), f.burn(b, 1, b32("c"), True),
               f.forcedTransfer(b, new, 1, b32("c"), True), f.recoveryAddress(a, new),
               f.createLien(b, comp.address, 1, b32("c"), sha("c"))):
        comp.refused(fn, "registrar")
    assert balance(token, new) == 0


def test_a_forced_transfer_cannot_replace_recovery(world):
    """The registrar cannot move a holding into a fresh wallet of its choosing: an unbound wallet is unverified."""
    prop, reg = world.prop, world.registrar
    fresh = world.new_wallet("registrars-own", register=False)
    forced_rejected(prop, reg, world.alice.address, fresh, 1000, RECIPIENT_NV, include_frozen=True)
    # into a wallet of the same investor bound by the compliance officer, a forced move is an ordinary one
    w2 = world.add_wallet(world.alice.address, "alice-2")
    forced_ok(prop, reg, world.alice.address, w2, 1000)
    assert holders(prop) == 2


def test_pause_blocks_forced_moves_but_not_recovery(world):
    prop = world.prop
    a = world.alice.address
    new = replace(world, a)
    world.compliance.send(prop.functions.pause())
    forced_rejected(prop, world.registrar, a, new, 1, PAUSED, include_frozen=True)
    recover(world, prop, a, new)
    assert balance(prop, new) == 1000
