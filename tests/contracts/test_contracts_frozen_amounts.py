"""TokenFreezable's ERC-7943 frozen amounts (`setFrozenTokens`), on both token kinds: the amount set overwrites the
previous one and may exceed what the wallet holds ("future balances withholding"); what the wallet cannot cover yet
freezes units as they arrive (transfers, mints, recovery) or are released (liens, rejected redemptions); a forced move
that includes frozen units unfreezes them first. Invariant everywhere: free = balance - unavailable >= 0 and
unavailable = covered frozen + encumbered + locked."""

from __future__ import annotations

import pytest

from contracts_kit import (
    OK, UNLOCKED, b32, balance, event_names, forced_ok, one_event, sha, transfer_ok, transfer_rejected,
    verdict,
)


@pytest.fixture(params=["property", "commodity"])
def token(request, world):
    return world.prop if request.param == "property" else world.comm


def free(token, who):
    return token.functions.freeBalanceOf(who).call()


def frozen(token, who):
    return token.functions.getFrozenTokens(who).call()


def test_set_frozen_tokens_overwrites_and_announces_the_change(world, token):
    comp, a = world.compliance, world.alice.address
    bal = balance(token, a)
    receipt = comp.send(token.functions.setFrozenTokens(a, 300))
    assert (one_event(token, "TokensFrozen", receipt)["_amount"], one_event(token, "Frozen", receipt)["amount"]) == (300, 300)
    assert frozen(token, a) == 300 and free(token, a) == bal - 300
    receipt = comp.send(token.functions.setFrozenTokens(a, 100))  # overwrites: 200 are unfrozen
    assert one_event(token, "TokensUnfrozen", receipt)["_amount"] == 200 and one_event(token, "Frozen", receipt)["amount"] == 100
    assert frozen(token, a) == 100 and free(token, a) == bal - 100
    receipt = comp.send(token.functions.setFrozenTokens(a, 100))  # the same amount: Frozen only
    assert event_names(token, receipt) == ["Frozen"]


def test_a_frozen_amount_above_the_balance_freezes_what_arrives(world, token):
    comp, alice, bob = world.compliance, world.alice, world.bob
    a, b = alice.address, bob.address
    bal = balance(token, a)
    comp.send(token.functions.setFrozenTokens(a, bal + 100))  # allowed: ERC-7943 "MUST allow freezing more"
    assert frozen(token, a) == bal + 100 and free(token, a) == 0
    transfer_rejected(token, alice, b, 1, UNLOCKED)
    transfer_ok(token, bob, a, 60)  # arrives frozen: 40 still to cover
    assert free(token, a) == 0 and frozen(token, a) == bal + 100
    transfer_ok(token, bob, a, 60)  # 40 freeze, 20 are free
    assert free(token, a) == 20 and balance(token, a) == bal + 120
    transfer_ok(token, alice, b, 20)
    transfer_rejected(token, alice, b, 1, UNLOCKED)
    comp.send(token.functions.setFrozenTokens(a, 0))
    assert free(token, a) == balance(token, a) == bal + 100


def test_a_mint_to_a_short_frozen_wallet_freezes_first(world, token):
    comp, reg, a = world.compliance, world.registrar, world.alice.address
    bal = balance(token, a)
    comp.send(token.functions.setFrozenTokens(a, bal + 5))
    reg.send(token.functions.mint(a, 8, b32("short-frozen-mint")))
    assert balance(token, a) == bal + 8 and free(token, a) == 3 and frozen(token, a) == bal + 5


def test_released_lien_units_freeze_first(world, token):
    comp, reg, a = world.compliance, world.registrar, world.alice.address
    bal = balance(token, a)
    reg.send(token.functions.createLien(a, world.dave.address, 100, b32("loan"), sha("lien")))
    comp.send(token.functions.setFrozenTokens(a, bal))  # covers bal - 100: 100 short
    assert free(token, a) == 0
    reg.send(token.functions.releaseLien(1))
    assert free(token, a) == 0 and token.functions.encumberedBalanceOf(a).call() == 0
    comp.send(token.functions.setFrozenTokens(a, bal - 30))
    assert free(token, a) == 30


def test_a_forced_move_of_frozen_units_lowers_the_amount_set(world, token):
    comp, reg, a, b = world.compliance, world.registrar, world.alice.address, world.bob.address
    bal = balance(token, a)
    comp.send(token.functions.setFrozenTokens(a, bal + 50))
    assert tuple(token.functions.canForceTransfer(a, b, 10, False).call()) == (False, UNLOCKED)
    receipt = forced_ok(token, reg, a, b, 10, include_frozen=True)
    assert one_event(token, "Frozen", receipt)["amount"] == bal + 40 == frozen(token, a)
    assert one_event(token, "ForcedTransferReason", receipt)["frozenUnitsMoved"] == 10
    assert free(token, a) == 0
    # the amount set still exceeds the balance by 50 (bal + 40 against bal - 10): the next 50 units freeze
    transfer_ok(token, world.bob, a, 55)
    assert free(token, a) == 5


def test_recovery_carries_a_short_frozen_amount(world, token):
    comp, reg, lost = world.compliance, world.registrar, world.alice.address
    bal = balance(token, lost)
    comp.send(token.functions.setFrozenTokens(lost, bal + 10))
    new = world.new_wallet("short-recovery", register=False)
    comp.send(world.stack.identity.functions.replaceWallet(lost, new))
    reg.send(token.functions.recoveryAddress(lost, new))
    assert frozen(token, new) == bal + 10 and free(token, new) == 0 and frozen(token, lost) == 0
    transfer_ok(token, world.bob, new, 15)  # 10 freeze, 5 free
    assert free(token, new) == 5


def test_a_rejected_redemption_returns_units_to_the_frozen_amount_first(world):
    comm, comp, cust, alice = world.comm, world.compliance, world.custodian, world.alice
    a = alice.address
    bal = balance(comm, a)
    alice.send(comm.functions.requestRedemption(100, b32("DLV-1")))
    comp.send(comm.functions.setFrozenTokens(a, bal - 50))  # covers bal - 100 now: 50 short
    assert free(comm, a) == 0
    cust.send(comm.functions.rejectRedemption(1, b32("no-stock")))  # 100 return: 50 freeze, 50 free
    assert free(comm, a) == 50 and comm.functions.lockedBalanceOf(a).call() == 0


def test_a_delivered_redemption_is_not_taken_by_a_short_frozen_amount(world):
    """Fulfilling burns the locked units: a frozen amount set meanwhile must not capture them first."""
    comm, comp, cust, alice = world.comm, world.compliance, world.custodian, world.alice
    a = alice.address
    bal = balance(comm, a)
    alice.send(comm.functions.requestRedemption(100, b32("DLV-2")))
    comp.send(comm.functions.setFrozenTokens(a, bal))  # covers bal - 100: 100 short
    cust.send(comm.functions.fulfilRedemption(1, [b32("LOT-1")]))
    assert balance(comm, a) == bal - 100 and free(comm, a) == 0 and frozen(comm, a) == bal


def test_can_transfer_agrees_while_short(world, token):
    a, b = world.alice.address, world.bob.address
    world.compliance.send(token.functions.setFrozenTokens(a, balance(token, a) + 1))
    assert verdict(token.functions, a, b, 1) == (False, UNLOCKED)
    assert verdict(token.functions, b, a, 1) == (True, OK)  # receiving is not refused: the units freeze
