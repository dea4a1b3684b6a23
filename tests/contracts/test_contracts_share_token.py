"""CompliantToken rules (on the property share token, and on the commodity token where marked): mint and its
idempotency, cap, burn, pause, freezes, forced transfers, liens, recovery, country lists, max holders, max balance,
lock-up, reason codes and their order, and the events a ledger reads."""

import pytest

from contracts_kit import (
    CAP, COUNTRY, DAY, GB, INSUFFICIENT, LOCKED_UP, MAX_BALANCE, MAX_HOLDERS, OK, PAUSED, PK, PROP_CAP, RECIPIENT_FROZEN,
    RECIPIENT_NV, SENDER_FROZEN, SENDER_NV, UNLOCKED, US, ZERO, assert_rejected, b32, balance, create_property, events,
    one_event,
    same, sha, transfer_ok, transfer_rejected,
)


@pytest.fixture(params=["property", "commodity"])
def token(request, world):
    """Both token kinds: the rules live in CompliantToken and must hold on each."""
    return world.prop if request.param == "property" else world.comm


def supply(token):
    return token.functions.totalSupply().call()


def holders(token):
    return token.functions.holderCount().call()


# --------------------------------------------------------------------------------------------------- mint


def test_mint_emits_and_is_idempotent_by_reference(world):
    prop, reg = world.prop, world.registrar
    erin = world.erin.address
    ref = b32("SUB-2024-0042")
    assert prop.functions.isReferenceUsed(ref).call() is False
    assert tuple(prop.functions.canTransfer(ZERO, erin, 250).call()) == (True, OK)
    receipt = reg.send(prop.functions.mint(erin, 250, ref))
    ev = one_event(prop, "Minted", receipt)
    assert same(ev["to"], erin) and ev["amount"] == 250 and ev["ref"] == ref
    t = one_event(prop, "Transfer", receipt)
    assert same(t["from"], ZERO) and same(t["to"], erin) and t["value"] == 250
    assert prop.functions.isReferenceUsed(ref).call() is True
    assert balance(prop, erin) == 250 and supply(prop) == 1750 and holders(prop) == 3

    reg.reverts(prop.functions.mint(erin, 250, ref), "ReferenceAlreadyUsed", ref=ref)
    reg.reverts(prop.functions.mint(world.carol.address, 1, ref), "ReferenceAlreadyUsed", ref=ref)
    reg.reverts(prop.functions.batchMint([erin], [1], ref), "ReferenceAlreadyUsed", ref=ref)
    reg.reverts(prop.functions.mint(erin, 1, b32("genesis")), "ReferenceAlreadyUsed", ref=b32("genesis"))
    reg.reverts(prop.functions.mint(erin, 1, b"\0" * 32), "InvalidReference")
    assert balance(prop, erin) == 250 and supply(prop) == 1750


def test_failed_mint_does_not_consume_its_reference(world):
    prop, reg = world.prop, world.registrar
    ref = b32("retry-me")
    assert_rejected(prop, reg, prop.functions.mint(world.outsider.address, 5, ref), ZERO, world.outsider.address, 5, RECIPIENT_NV)
    assert prop.functions.isReferenceUsed(ref).call() is False
    reg.send(prop.functions.mint(world.erin.address, 5, ref))
    assert prop.functions.isReferenceUsed(ref).call() is True


def test_batch_mint(world):
    prop, reg = world.prop, world.registrar
    to = [world.carol.address, world.dave.address, world.alice.address]
    ref = b32("batch-7")
    receipt = reg.send(prop.functions.batchMint(to, [10, 20, 30], ref))
    minted = events(prop, "Minted", receipt)
    assert [(m["to"], m["amount"], m["ref"]) for m in minted] == [(to[0], 10, ref), (to[1], 20, ref), (to[2], 30, ref)]
    assert len(events(prop, "Transfer", receipt)) == 3
    batch = one_event(prop, "BatchMinted", receipt)
    assert (batch["ref"], batch["count"], batch["total"]) == (ref, 3, 60)
    assert [balance(prop, a) for a in to] == [10, 20, 1030] and supply(prop) == 1560 and holders(prop) == 4
    assert prop.functions.isReferenceUsed(ref).call() is True


def test_batch_mint_rejections_are_atomic(world):
    prop, reg = world.prop, world.registrar
    reg.reverts(prop.functions.batchMint([world.carol.address], [1, 2], b32("x")), "ArrayLengthMismatch")
    reg.reverts(prop.functions.batchMint([], [], b32("x")), "ArrayLengthMismatch")
    reg.reverts(prop.functions.batchMint([world.carol.address, world.outsider.address], [5, 5], b32("x")),
                "TransferNotAllowed", **{"from": ZERO, "to": world.outsider.address, "amount": 5, "reason": RECIPIENT_NV})
    assert balance(prop, world.carol.address) == 0 and prop.functions.isReferenceUsed(b32("x")).call() is False


def test_cap(world):
    prop, reg = world.prop, world.registrar
    erin = world.erin.address
    room = PROP_CAP - supply(prop)
    assert_rejected(prop, reg, prop.functions.mint(erin, room + 1, b32("over")), ZERO, erin, room + 1, CAP)
    reg.reverts(prop.functions.batchMint([erin, erin], [room, 1], b32("over")), "TransferNotAllowed",
                **{"from": ZERO, "to": erin, "amount": 1, "reason": CAP})  # the second item overflows the cap
    reg.send(prop.functions.mint(erin, room, b32("fill")))
    assert supply(prop) == PROP_CAP == prop.functions.cap().call()
    assert_rejected(prop, reg, prop.functions.mint(erin, 1, b32("one-more")), ZERO, erin, 1, CAP)
    # burning frees room under the cap again
    reg.send(prop.functions.burn(erin, 1, b32("burn")))
    reg.send(prop.functions.mint(erin, 1, b32("refill")))
    assert supply(prop) == PROP_CAP


# --------------------------------------------------------------------------------------------------- burn


def test_burn(world, token):
    reg, bob = world.registrar, world.bob.address
    start_supply, start_holders, bal = supply(token), holders(token), balance(token, bob)
    receipt = reg.send(token.functions.burn(bob, 100, b32("court-order-1")))
    ev = one_event(token, "Burned", receipt)
    assert same(ev["from"], bob) and ev["amount"] == 100 and ev["reason"] == b32("court-order-1")
    t = one_event(token, "Transfer", receipt)
    assert same(t["from"], bob) and same(t["to"], ZERO) and t["value"] == 100
    assert balance(token, bob) == bal - 100 and supply(token) == start_supply - 100 and holders(token) == start_holders
    reg.send(token.functions.burn(bob, bal - 100, b32("all")))
    assert balance(token, bob) == 0 and holders(token) == start_holders - 1
    reg.reverts(token.functions.burn(bob, 1, b32("x")), "TransferNotAllowed",
                **{"from": bob, "to": ZERO, "amount": 1, "reason": INSUFFICIENT})
    reg.reverts(token.functions.burn(ZERO, 1, b32("x")), "ERC20InvalidSender", sender=ZERO)


def test_burn_ignores_wallet_freeze_and_consumes_partial_freeze_but_not_liens(world):
    prop, reg, comp = world.prop, world.registrar, world.compliance
    alice = world.alice.address
    comp.send(prop.functions.setAddressFrozen(alice, True))
    comp.send(prop.functions.freezePartialTokens(alice, 300))
    reg.send(prop.functions.createLien(alice, world.dave.address, 200, b32("loan"), sha("lien")))
    assert prop.functions.freeBalanceOf(alice).call() == 500
    receipt = reg.send(prop.functions.burn(alice, 600, b32("x")))  # 500 free + 100 of the frozen units
    unfrozen = one_event(prop, "TokensUnfrozen", receipt)
    assert (unfrozen["amount"], unfrozen["totalFrozen"]) == (100, 200)
    assert balance(prop, alice) == 400 and prop.functions.getFrozenTokens(alice).call() == 200
    # the 200 under the lien never move: burning 201 (> 400 - 200 lien) would need them
    reg.reverts(prop.functions.burn(alice, 201, b32("x")), "TransferNotAllowed", reason=UNLOCKED)
    reg.send(prop.functions.burn(alice, 200, b32("x")))
    assert balance(prop, alice) == 200 == prop.functions.encumberedBalanceOf(alice).call()
    assert prop.functions.getFrozenTokens(alice).call() == 0 and prop.functions.freeBalanceOf(alice).call() == 0


# --------------------------------------------------------------------------------------------------- transfers


def test_transfer_and_transfer_from(world, token):
    alice, bob, carol = world.alice, world.bob, world.carol
    receipt = transfer_ok(token, alice, carol.address, 100)
    t = one_event(token, "Transfer", receipt)
    assert same(t["from"], alice.address) and same(t["to"], carol.address) and t["value"] == 100
    assert holders(token) == 3
    ev = one_event(token, "Approval", bob.send(token.functions.approve(carol.address, 50)))
    assert ev["value"] == 50 and same(ev["spender"], carol.address)
    carol.send(token.functions.transferFrom(bob.address, world.dave.address, 30))
    assert balance(token, world.dave.address) == 30 and token.functions.allowance(bob.address, carol.address).call() == 20
    # transferFrom runs the same rules: recipient must be verified
    carol.reverts(token.functions.transferFrom(bob.address, world.outsider.address, 10), "TransferNotAllowed",
                  **{"from": bob.address, "to": world.outsider.address, "amount": 10, "reason": RECIPIENT_NV})
    carol.reverts(token.functions.transferFrom(bob.address, world.dave.address, 21), "ERC20InsufficientAllowance")


def test_recipient_and_sender_verification(world, token):
    alice = world.alice
    transfer_rejected(token, alice, world.outsider.address, 1, RECIPIENT_NV)
    world.compliance.send(world.stack.identity.functions.deleteIdentity(alice.address))
    transfer_rejected(token, alice, world.bob.address, 1, SENDER_NV)


def test_insufficient_balance(world, token):
    bal = balance(token, world.bob.address)
    transfer_rejected(token, world.bob, world.alice.address, bal + 1, INSUFFICIENT)
    transfer_rejected(token, world.erin, world.alice.address, 1, INSUFFICIENT)
    transfer_ok(token, world.bob, world.alice.address, bal)
    assert balance(token, world.bob.address) == 0


def test_self_transfer_only_balance_rules(world):
    prop, alice = world.prop, world.alice
    world.compliance.send(prop.functions.setMaxBalance(1000))
    transfer_ok(prop, alice, alice.address, 1000)
    assert holders(prop) == 2
    transfer_rejected(prop, alice, alice.address, 1001, INSUFFICIENT)


def test_zero_amount_transfer_does_not_change_holder_count(world):
    prop = world.prop
    transfer_ok(prop, world.alice, world.erin.address, 0)
    assert holders(prop) == 2 and balance(prop, world.erin.address) == 0


# --------------------------------------------------------------------------------------------------- pause


def test_pause_blocks_transfers_but_not_mints_or_forced_moves(world, token):
    comp, reg, alice, bob = world.compliance, world.registrar, world.alice, world.bob
    ev = one_event(token, "Paused", comp.send(token.functions.pause()))
    assert same(ev["account"], comp.address) and token.functions.paused().call() is True
    transfer_rejected(token, alice, bob.address, 1, PAUSED)
    bob.send(token.functions.approve(alice.address, 10))
    assert_rejected(token, alice, token.functions.transferFrom(bob.address, alice.address, 1), bob.address, alice.address, 1, PAUSED)
    # issuance and forced moves continue while trading is halted
    assert tuple(token.functions.canTransfer(ZERO, world.erin.address, 5).call()) == (True, OK)
    reg.send(token.functions.mint(world.erin.address, 5, b32("during-pause")))
    reg.send(token.functions.forcedTransfer(alice.address, bob.address, 3, b32("order")))
    reg.send(token.functions.burn(bob.address, 2, b32("burn")))
    assert balance(token, world.erin.address) == 5
    comp.reverts(token.functions.pause(), "EnforcedPause")
    ev = one_event(token, "Unpaused", comp.send(token.functions.unpause()))
    assert same(ev["account"], comp.address) and token.functions.paused().call() is False
    transfer_ok(token, alice, bob.address, 1)
    comp.reverts(token.functions.unpause(), "ExpectedPause")


# --------------------------------------------------------------------------------------------------- freezes


def test_wallet_freeze_both_sides(world, token):
    comp, alice, bob = world.compliance, world.alice, world.bob
    ev = one_event(token, "AddressFrozen", comp.send(token.functions.setAddressFrozen(alice.address, True)))
    assert same(ev["wallet"], alice.address) and ev["isFrozen"] is True and same(ev["by"], comp.address)
    assert token.functions.isFrozen(alice.address).call() is True and token.functions.frozenWalletCount().call() == 1
    transfer_rejected(token, alice, bob.address, 1, SENDER_FROZEN)
    transfer_rejected(token, bob, alice.address, 1, RECIPIENT_FROZEN)
    assert_rejected(token, world.registrar, token.functions.mint(alice.address, 1, b32("m")), ZERO, alice.address, 1, RECIPIENT_FROZEN)
    comp.send(token.functions.setAddressFrozen(alice.address, True))  # idempotent: counted once
    assert token.functions.frozenWalletCount().call() == 1
    transfer_ok(token, bob, world.carol.address, 1)  # other wallets unaffected
    ev = one_event(token, "AddressFrozen", comp.send(token.functions.setAddressFrozen(alice.address, False)))
    assert ev["isFrozen"] is False
    assert token.functions.isFrozen(alice.address).call() is False and token.functions.frozenWalletCount().call() == 0
    transfer_ok(token, alice, bob.address, 1)
    transfer_ok(token, bob, alice.address, 1)


def test_partial_freeze(world, token):
    comp, alice = world.compliance, world.alice
    a = alice.address
    bal = balance(token, a)
    ev = one_event(token, "TokensFrozen", comp.send(token.functions.freezePartialTokens(a, 400)))
    assert same(ev["wallet"], a) and (ev["amount"], ev["totalFrozen"]) == (400, 400)
    ev = one_event(token, "TokensFrozen", comp.send(token.functions.freezePartialTokens(a, 100)))
    assert (ev["amount"], ev["totalFrozen"]) == (100, 500)
    assert token.functions.getFrozenTokens(a).call() == 500 and token.functions.freeBalanceOf(a).call() == bal - 500
    transfer_rejected(token, alice, world.bob.address, bal - 499, UNLOCKED)
    transfer_ok(token, alice, world.bob.address, bal - 500)
    comp.reverts(token.functions.freezePartialTokens(a, 1), "AmountExceedsFreeBalance", holder=a, amount=1, free=0)
    comp.reverts(token.functions.freezePartialTokens(a, 0), "ZeroAmount")
    comp.reverts(token.functions.unfreezePartialTokens(a, 501), "AmountExceedsFrozen", holder=a, amount=501, frozen=500)
    comp.reverts(token.functions.unfreezePartialTokens(a, 0), "ZeroAmount")
    ev = one_event(token, "TokensUnfrozen", comp.send(token.functions.unfreezePartialTokens(a, 200)))
    assert (ev["amount"], ev["totalFrozen"]) == (200, 300)
    transfer_rejected(token, alice, world.bob.address, 201, UNLOCKED)
    transfer_ok(token, alice, world.bob.address, 200)
    assert balance(token, a) == 300 == token.functions.getFrozenTokens(a).call()


# --------------------------------------------------------------------------------------------------- forced transfer


SKIPPED_RULES = ["paused", "sender-frozen", "recipient-frozen", "sender-not-verified", "lockup", "country",
                 "max-balance", "max-holders"]


@pytest.mark.parametrize("rule", SKIPPED_RULES)
def test_forced_transfer_skips_rule(world, rule):
    prop, comp, reg = world.prop, world.compliance, world.registrar
    alice, to = world.alice, world.carol.address  # carol: US, holds nothing
    f = prop.functions
    setup = {
        "paused": (lambda: comp.send(f.pause()), PAUSED),
        "sender-frozen": (lambda: comp.send(f.setAddressFrozen(alice.address, True)), SENDER_FROZEN),
        "recipient-frozen": (lambda: comp.send(f.setAddressFrozen(to, True)), RECIPIENT_FROZEN),
        "sender-not-verified": (lambda: comp.send(world.stack.identity.functions.deleteIdentity(alice.address)), SENDER_NV),
        "lockup": (lambda: comp.send(f.setLockupUntil(world.chain.timestamp() + DAY)), LOCKED_UP),
        "country": (lambda: (comp.send(f.setCountryRestriction(2)), comp.send(f.setCountriesListed([US], True))), COUNTRY),
        "max-balance": (lambda: comp.send(f.setMaxBalance(50)), MAX_BALANCE),
        "max-holders": (lambda: comp.send(f.setMaxHolders(2)), MAX_HOLDERS),
    }
    action, code = setup[rule]
    action()
    transfer_rejected(prop, alice, to, 100, code)  # an ordinary transfer is refused...
    receipt = reg.send(f.forcedTransfer(alice.address, to, 100, b32("court-order-9")))  # ...a forced one is not
    ev = one_event(prop, "ForcedTransfer", receipt)
    assert same(ev["from"], alice.address) and same(ev["to"], to) and ev["amount"] == 100
    assert ev["reason"] == b32("court-order-9")
    assert balance(prop, to) == 100 and balance(prop, alice.address) == 900 and holders(prop) == 3


def test_forced_transfer_requires_verified_recipient_and_never_moves_liened_units(world, token):
    reg = world.registrar
    a, b = world.alice.address, world.bob.address
    bal = balance(token, a)
    reg.reverts(token.functions.forcedTransfer(a, world.outsider.address, 1, b32("x")), "TransferNotAllowed",
                **{"from": a, "to": world.outsider.address, "amount": 1, "reason": RECIPIENT_NV})
    reg.send(token.functions.createLien(a, world.dave.address, 100, b32("loan"), sha("doc")))
    reg.reverts(token.functions.forcedTransfer(a, b, bal - 99, b32("x")), "TransferNotAllowed",
                **{"from": a, "to": b, "amount": bal - 99, "reason": UNLOCKED})
    reg.reverts(token.functions.forcedTransfer(a, b, bal + 1, b32("x")), "TransferNotAllowed", reason=INSUFFICIENT)
    reg.reverts(token.functions.forcedTransfer(ZERO, b, 1, b32("x")), "ERC20InvalidSender", sender=ZERO)
    reg.reverts(token.functions.forcedTransfer(a, ZERO, 1, b32("x")), "ERC20InvalidReceiver", receiver=ZERO)
    reg.send(token.functions.forcedTransfer(a, b, bal - 100, b32("x")))
    assert balance(token, a) == 100 == token.functions.encumberedBalanceOf(a).call()


def test_forced_transfer_consumes_partially_frozen_units(world):
    prop, reg = world.prop, world.registrar
    a = world.alice.address
    world.compliance.send(prop.functions.freezePartialTokens(a, 800))
    receipt = reg.send(prop.functions.forcedTransfer(a, world.bob.address, 500, b32("order")))
    ev = one_event(prop, "TokensUnfrozen", receipt)
    assert same(ev["wallet"], a) and (ev["amount"], ev["totalFrozen"]) == (300, 500)
    assert prop.functions.getFrozenTokens(a).call() == 500 and balance(prop, a) == 500
    assert prop.functions.freeBalanceOf(a).call() == 0
    # within the free balance nothing is unfrozen
    world.compliance.send(prop.functions.unfreezePartialTokens(a, 100))
    receipt = reg.send(prop.functions.forcedTransfer(a, world.bob.address, 100, b32("order")))
    assert events(prop, "TokensUnfrozen", receipt) == [] and prop.functions.getFrozenTokens(a).call() == 400


# --------------------------------------------------------------------------------------------------- liens


def test_lien_create_encumbers_and_release_by_registrar(world, token):
    reg, alice, bank = world.registrar, world.alice, world.dave.address
    a = alice.address
    bal = balance(token, a)
    receipt = reg.send(token.functions.createLien(a, bank, 300, b32("LOAN-88"), sha("lien-deed")))
    ev = one_event(token, "LienCreated", receipt)
    assert (ev["lienId"], ev["amount"], ev["reason"], ev["documentHash"]) == (1, 300, b32("LOAN-88"), sha("lien-deed"))
    assert same(ev["holder"], a) and same(ev["beneficiary"], bank)
    assert tuple(token.functions.lien(1).call()) == (a, bank, 300, False)
    assert token.functions.lienCount().call() == 1
    assert token.functions.encumberedBalanceOf(a).call() == 300 and token.functions.freeBalanceOf(a).call() == bal - 300
    transfer_rejected(token, alice, world.bob.address, bal - 299, UNLOCKED)
    transfer_ok(token, alice, world.bob.address, bal - 300)
    reg.reverts(token.functions.createLien(a, bank, 1, b32("x"), sha("x")), "AmountExceedsFreeBalance", holder=a, amount=1, free=0)

    receipt = reg.send(token.functions.releaseLien(1))
    ev = one_event(token, "LienReleased", receipt)
    assert (ev["lienId"], ev["amount"]) == (1, 300) and same(ev["releasedBy"], reg.address)
    assert same(ev["holder"], a) and same(ev["beneficiary"], bank)
    assert tuple(token.functions.lien(1).call()) == (a, bank, 300, True)
    assert token.functions.encumberedBalanceOf(a).call() == 0
    transfer_ok(token, alice, world.bob.address, 300)
    reg.reverts(token.functions.releaseLien(1), "LienNotActive", lienId=1)


def test_lien_release_by_beneficiary_and_not_by_strangers(world):
    prop, reg = world.prop, world.registrar
    a, bank = world.alice.address, world.dave
    reg.send(prop.functions.createLien(a, bank.address, 100, b32("L1"), sha("d")))
    reg.send(prop.functions.createLien(a, bank.address, 50, b32("L2"), sha("d")))
    assert prop.functions.encumberedBalanceOf(a).call() == 150
    for stranger in (world.carol, world.alice, world.compliance, world.custodian, world.admin):
        stranger.refused(prop.functions.releaseLien(1), "registrar")
    ev = one_event(prop, "LienReleased", bank.send(prop.functions.releaseLien(1)))
    assert same(ev["releasedBy"], bank.address) and ev["amount"] == 100
    assert prop.functions.encumberedBalanceOf(a).call() == 50
    bank.reverts(prop.functions.releaseLien(1), "LienNotActive", lienId=1)
    bank.reverts(prop.functions.releaseLien(3), "LienNotActive", lienId=3)
    bank.reverts(prop.functions.releaseLien(0), "LienNotActive", lienId=0)


def test_lien_argument_checks(world):
    prop, reg = world.prop, world.registrar
    a = world.alice.address
    reg.reverts(prop.functions.createLien(a, ZERO, 1, b32("x"), sha("x")), "ZeroAddress")
    reg.reverts(prop.functions.createLien(ZERO, a, 1, b32("x"), sha("x")), "ZeroAddress")
    reg.reverts(prop.functions.createLien(a, world.dave.address, 0, b32("x"), sha("x")), "ZeroAmount")
    reg.reverts(prop.functions.createLien(a, world.dave.address, 1001, b32("x"), sha("x")), "AmountExceedsFreeBalance",
                holder=a, amount=1001, free=1000)
    world.compliance.send(prop.functions.freezePartialTokens(a, 600))  # frozen units cannot also be pledged
    reg.reverts(prop.functions.createLien(a, world.dave.address, 401, b32("x"), sha("x")), "AmountExceedsFreeBalance",
                free=400)
    assert prop.functions.lienCount().call() == 0


# --------------------------------------------------------------------------------------------------- recovery


def test_recovery_moves_balance_freeze_partial_freeze_and_liens(world, token):
    reg, comp = world.registrar, world.compliance
    lost = world.alice.address
    new = world.new_wallet("alice-new")
    bal = balance(token, lost)
    comp.send(token.functions.setAddressFrozen(lost, True))
    comp.send(token.functions.freezePartialTokens(lost, 200))
    reg.send(token.functions.createLien(lost, world.dave.address, 300, b32("loan"), sha("d")))
    start_holders = holders(token)

    receipt = reg.send(token.functions.recoveryAddress(lost, new))
    ev = one_event(token, "RecoverySuccess", receipt)
    assert same(ev["lostWallet"], lost) and same(ev["newWallet"], new)
    assert (ev["amount"], ev["frozen"], ev["frozenTokens"], ev["encumbered"], ev["locked"]) == (bal, True, 200, 300, 0)
    t = one_event(token, "Transfer", receipt)
    assert same(t["from"], lost) and same(t["to"], new) and t["value"] == bal
    f = token.functions
    assert (balance(token, lost), f.isFrozen(lost).call(), f.getFrozenTokens(lost).call(), f.encumberedBalanceOf(lost).call()) == (0, False, 0, 0)
    assert (balance(token, new), f.isFrozen(new).call(), f.getFrozenTokens(new).call(), f.encumberedBalanceOf(new).call()) == (bal, True, 200, 300)
    assert f.freeBalanceOf(new).call() == bal - 500 and f.frozenWalletCount().call() == 1
    assert holders(token) == start_holders
    assert f.lien(1).call()[0] == new  # the lien follows the recovered wallet
    ev = one_event(token, "LienReleased", world.dave.send(f.releaseLien(1)))
    assert same(ev["holder"], new) and f.encumberedBalanceOf(new).call() == 0


def test_recovery_into_existing_holder_merges(world):
    prop, reg, comp = world.prop, world.registrar, world.compliance
    a, b = world.alice.address, world.bob.address
    comp.send(prop.functions.setAddressFrozen(a, True))
    comp.send(prop.functions.setAddressFrozen(b, True))
    assert prop.functions.frozenWalletCount().call() == 2
    reg.send(prop.functions.recoveryAddress(a, b))
    assert balance(prop, b) == 1500 and holders(prop) == 1
    assert prop.functions.frozenWalletCount().call() == 1 and prop.functions.isFrozen(b).call() is True


def test_recovery_rejections(world):
    prop, reg = world.prop, world.registrar
    a, b = world.alice.address, world.bob.address
    erin = world.erin.address
    reg.reverts(prop.functions.recoveryAddress(a, world.outsider.address), "TransferNotAllowed",
                **{"from": a, "to": world.outsider.address, "amount": 1000, "reason": RECIPIENT_NV})
    reg.reverts(prop.functions.recoveryAddress(erin, a), "InvalidRecovery", lostWallet=erin, newWallet=a)  # no units
    reg.reverts(prop.functions.recoveryAddress(a, a), "InvalidRecovery")
    reg.reverts(prop.functions.recoveryAddress(a, ZERO), "InvalidRecovery")
    reg.send(prop.functions.recoveryAddress(b, erin))
    world.registrar.send(prop.functions.mint(b, 10, b32("again")))
    reg.reverts(prop.functions.recoveryAddress(a, b), "InvalidRecovery", lostWallet=a, newWallet=b)  # b was recovered from
    assert balance(prop, a) == 1000


def test_recovery_chain_liens_follow(world):
    prop, reg = world.prop, world.registrar
    a = world.alice.address
    w1, w2 = world.new_wallet("r1"), world.new_wallet("r2")
    reg.send(prop.functions.createLien(a, world.dave.address, 100, b32("loan"), sha("d")))
    reg.send(prop.functions.recoveryAddress(a, w1))
    reg.send(prop.functions.recoveryAddress(w1, w2))
    assert prop.functions.lien(1).call()[0] == w2 and prop.functions.encumberedBalanceOf(w2).call() == 100
    ev = one_event(prop, "LienReleased", reg.send(prop.functions.releaseLien(1)))
    assert same(ev["holder"], w2) and prop.functions.encumberedBalanceOf(w2).call() == 0
    assert prop.functions.freeBalanceOf(w2).call() == 1000


def test_no_lien_or_recovery_starts_from_a_recovered_from_wallet(world):
    # Liens and redemption requests of a recovered-from wallet resolve to its successor, so after the recovery the
    # old wallet (which keeps its identity: recoveryAddress does not touch the identity registry) may receive units
    # again, but no lien, redemption or second recovery may start from it.
    prop, reg = world.prop, world.registrar
    a, new = world.alice.address, world.new_wallet("alice-new")
    reg.send(prop.functions.createLien(a, world.dave.address, 100, b32("loan-1"), sha("d1")))  # lien 1: follows
    reg.send(prop.functions.recoveryAddress(a, new))
    assert prop.functions.encumberedBalanceOf(new).call() == 100
    transfer_ok(prop, world.bob, a, 100)
    reg.reverts(prop.functions.createLien(a, world.carol.address, 60, b32("loan-2"), sha("d2")),
                "WalletRecovered", wallet=a, successor=new)
    reg.reverts(prop.functions.recoveryAddress(a, world.new_wallet("alice-third")), "WalletRecovered", wallet=a)
    # the lien that followed the recovery is released from the successor
    world.dave.send(prop.functions.releaseLien(1))
    assert prop.functions.encumberedBalanceOf(new).call() == 0 and prop.functions.encumberedBalanceOf(a).call() == 0


# --------------------------------------------------------------------------------------------------- country rules


def test_country_allowlist(world, token):
    comp, alice = world.compliance, world.alice
    f = token.functions
    ev = one_event(token, "CountryRestrictionSet", comp.send(f.setCountryRestriction(1)))
    assert ev["mode"] == 1 and f.rules().call()[0] == 1
    # allowlist on, empty list: nobody may receive
    transfer_rejected(token, alice, world.bob.address, 1, COUNTRY)
    ev = one_event(token, "CountriesListed", comp.send(f.setCountriesListed([PK, GB], True)))
    assert ev["countries"] == [PK, GB] and ev["listed"] is True
    assert f.isCountryListed(PK).call() is True and f.isCountryListed(US).call() is False
    transfer_ok(token, alice, world.bob.address, 1)          # PK
    transfer_ok(token, alice, world.dave.address, 1)         # GB
    transfer_rejected(token, alice, world.carol.address, 1, COUNTRY)  # US
    assert_rejected(token, world.registrar, f.mint(world.carol.address, 1, b32("m")), ZERO, world.carol.address, 1, COUNTRY)
    # only the recipient's country counts: a US holder may send to PK
    world.registrar.send(f.forcedTransfer(alice.address, world.carol.address, 5, b32("x")))
    transfer_ok(token, world.carol, alice.address, 5)
    comp.send(f.setCountriesListed([GB], False))
    transfer_rejected(token, alice, world.dave.address, 1, COUNTRY)
    comp.send(f.setCountryRestriction(0))  # mode None ignores the list
    transfer_ok(token, alice, world.carol.address, 1)


def test_country_blocklist(world):
    prop, comp, alice = world.prop, world.compliance, world.alice
    f = prop.functions
    comp.send(f.setCountriesListed([US], True))
    transfer_ok(prop, alice, world.carol.address, 1)  # listed, but no mode yet
    comp.send(f.setCountryRestriction(2))
    assert f.rules().call()[0] == 2
    transfer_rejected(prop, alice, world.carol.address, 1, COUNTRY)
    transfer_ok(prop, alice, world.bob.address, 1)
    comp.send(f.setCountriesListed([US], False))
    transfer_ok(prop, alice, world.carol.address, 1)


def test_country_codes_bounded(world):
    f = world.prop.functions
    world.compliance.reverts(f.setCountriesListed([PK, 1024], True), "InvalidCountry", country=1024)
    assert f.isCountryListed(PK).call() is False  # all or nothing
    world.compliance.send(f.setCountriesListed([0, 1023], True))
    assert f.isCountryListed(1023).call() is True and f.isCountryListed(0).call() is True


# --------------------------------------------------------------------------------------------------- max holders


def test_holder_count_up_and_down(world, token):
    reg = world.registrar
    a, b, c = world.alice, world.bob, world.carol
    assert holders(token) == 2
    reg.send(token.functions.mint(c.address, 10, b32("c")))
    assert holders(token) == 3
    transfer_ok(token, c, a.address, 10)
    assert holders(token) == 2
    transfer_ok(token, b, c.address, balance(token, b.address))  # one leaves, one joins
    assert holders(token) == 2
    reg.send(token.functions.burn(c.address, balance(token, c.address), b32("x")))
    assert holders(token) == 1
    reg.send(token.functions.forcedTransfer(a.address, world.dave.address, 1, b32("x")))
    assert holders(token) == 2


def test_max_holders(world):
    prop, comp, reg = world.prop, world.compliance, world.registrar
    alice, bob, carol = world.alice, world.bob, world.carol
    ev = one_event(prop, "MaxHoldersSet", comp.send(prop.functions.setMaxHolders(2)))
    assert ev["maxHolders"] == 2 and prop.functions.rules().call()[2] == 2
    transfer_rejected(prop, alice, carol.address, 1, MAX_HOLDERS)
    assert_rejected(prop, reg, prop.functions.mint(carol.address, 1, b32("m")), ZERO, carol.address, 1, MAX_HOLDERS)
    transfer_ok(prop, alice, bob.address, 1)  # existing holders trade freely
    transfer_ok(prop, bob, carol.address, balance(prop, bob.address))  # bob leaves as carol joins
    assert holders(prop) == 2
    comp.send(prop.functions.setMaxHolders(3))
    transfer_ok(prop, alice, bob.address, 1)
    assert holders(prop) == 3
    # forced moves may exceed the maximum
    comp.send(prop.functions.setMaxHolders(3))
    reg.send(prop.functions.forcedTransfer(alice.address, world.dave.address, 1, b32("x")))
    assert holders(prop) == 4
    transfer_rejected(prop, alice, world.erin.address, 1, MAX_HOLDERS)
    comp.send(prop.functions.setMaxHolders(0))  # unlimited
    transfer_ok(prop, alice, world.erin.address, 1)
    assert holders(prop) == 5
    comp.reverts(prop.functions.setMaxHolders(2**32), "SafeCastOverflowedUintDowncast", bits=32, value=2**32)


# --------------------------------------------------------------------------------------------------- max balance


def test_max_balance(world):
    prop, comp, reg = world.prop, world.compliance, world.registrar
    alice, bob = world.alice, world.bob
    ev = one_event(prop, "MaxBalanceSet", comp.send(prop.functions.setMaxBalance(1200)))
    assert ev["maxBalance"] == 1200 and prop.functions.rules().call()[3] == 1200
    transfer_rejected(prop, alice, bob.address, 701, MAX_BALANCE)
    transfer_ok(prop, alice, bob.address, 700)
    assert balance(prop, bob.address) == 1200
    assert_rejected(prop, reg, prop.functions.mint(bob.address, 1, b32("m")), ZERO, bob.address, 1, MAX_BALANCE)
    reg.send(prop.functions.mint(world.erin.address, 1200, b32("m2")))
    comp.send(prop.functions.setMaxBalance(0))
    transfer_ok(prop, alice, bob.address, 300)
    assert balance(prop, bob.address) == 1500
    comp.reverts(prop.functions.setMaxBalance(2**104), "SafeCastOverflowedUintDowncast", bits=104, value=2**104)
    comp.send(prop.functions.setMaxBalance(2**104 - 1))
    assert prop.functions.rules().call()[3] == 2**104 - 1


# --------------------------------------------------------------------------------------------------- lock-up


def test_lockup_until_a_date(world, token):
    comp, reg, chain = world.compliance, world.registrar, world.chain
    until = chain.timestamp() + 30 * DAY
    ev = one_event(token, "LockupSet", comp.send(token.functions.setLockupUntil(until)))
    assert ev["lockupUntil"] == until and token.functions.rules().call()[1] == until
    transfer_rejected(token, world.alice, world.bob.address, 1, LOCKED_UP)
    reg.send(token.functions.mint(world.erin.address, 7, b32("m")))  # issuance is not locked up
    chain.advance_time(10 * DAY)
    transfer_rejected(token, world.alice, world.bob.address, 1, LOCKED_UP)
    chain.advance_time(20 * DAY + 1)
    assert chain.timestamp() >= until
    transfer_ok(token, world.alice, world.bob.address, 1)
    transfer_ok(token, world.erin, world.bob.address, 7)
    comp.reverts(token.functions.setLockupUntil(2**40), "SafeCastOverflowedUintDowncast", bits=40, value=2**40)


def test_lockup_can_be_lifted(world):
    prop, comp = world.prop, world.compliance
    comp.send(prop.functions.setLockupUntil(world.chain.timestamp() + 365 * DAY))
    transfer_rejected(prop, world.alice, world.bob.address, 1, LOCKED_UP)
    comp.send(prop.functions.setLockupUntil(0))
    transfer_ok(prop, world.alice, world.bob.address, 1)


# --------------------------------------------------------------------------------------------------- order of checks


def test_first_failing_rule_is_reported(world):
    prop, comp, alice = world.prop, world.compliance, world.alice
    f = prop.functions
    target = world.carol.address  # US
    comp.send(f.setMaxBalance(1))
    transfer_rejected(prop, alice, target, 5, MAX_BALANCE)
    comp.send(f.setCountryRestriction(1))
    transfer_rejected(prop, alice, target, 5, COUNTRY)
    comp.send(f.setLockupUntil(world.chain.timestamp() + DAY))
    transfer_rejected(prop, alice, target, 5, LOCKED_UP)
    comp.send(f.setAddressFrozen(target, True))
    transfer_rejected(prop, alice, target, 5, RECIPIENT_FROZEN)
    comp.send(f.setAddressFrozen(alice.address, True))
    transfer_rejected(prop, alice, target, 5, SENDER_FROZEN)
    comp.send(world.stack.identity.functions.deleteIdentity(target))
    transfer_rejected(prop, alice, target, 5, RECIPIENT_NV)
    comp.send(world.stack.identity.functions.deleteIdentity(alice.address))
    transfer_rejected(prop, alice, target, 5, SENDER_NV)
    comp.send(f.pause())
    transfer_rejected(prop, alice, target, 5, PAUSED)


def test_balance_checked_before_max_balance_and_holders(world):
    prop, comp = world.prop, world.compliance
    comp.send(prop.functions.setMaxHolders(2))
    comp.send(prop.functions.setMaxBalance(1))
    transfer_rejected(prop, world.bob, world.carol.address, 501, INSUFFICIENT)
    comp.send(prop.functions.freezePartialTokens(world.bob.address, 1))
    transfer_rejected(prop, world.bob, world.carol.address, 500, UNLOCKED)
    transfer_rejected(prop, world.bob, world.carol.address, 2, MAX_BALANCE)
    comp.send(prop.functions.setMaxBalance(0))
    transfer_rejected(prop, world.bob, world.carol.address, 2, MAX_HOLDERS)


def test_can_transfer_for_burns(world):
    prop = world.prop
    a = world.alice.address
    assert tuple(prop.functions.canTransfer(a, ZERO, 1000).call()) == (True, OK)
    assert tuple(prop.functions.canTransfer(a, ZERO, 1001).call()) == (False, INSUFFICIENT)
    world.compliance.send(prop.functions.freezePartialTokens(a, 1))
    assert tuple(prop.functions.canTransfer(a, ZERO, 1000).call()) == (False, UNLOCKED)
    world.compliance.send(prop.functions.setAddressFrozen(a, True))
    assert tuple(prop.functions.canTransfer(a, ZERO, 1).call()) == (False, SENDER_FROZEN)
    world.compliance.send(prop.functions.pause())  # holder-initiated burns do not look at the pause
    world.compliance.send(prop.functions.setAddressFrozen(a, False))
    assert tuple(prop.functions.canTransfer(a, ZERO, 1).call()) == (True, OK)


def test_forced_self_transfer_is_refused_and_keeps_the_freeze(world):
    # A forced self-transfer would move nothing but could unfreeze units without COMPLIANCE_ROLE.
    prop = world.prop
    a = world.alice.address
    world.compliance.send(prop.functions.freezePartialTokens(a, 800))
    world.registrar.reverts(prop.functions.forcedTransfer(a, a, 1000, b32("noop")), "ForcedSelfTransfer", wallet=a)
    assert balance(prop, a) == 1000 and prop.functions.getFrozenTokens(a).call() == 800


def test_lien_amount_bounded_by_uint96(world):
    _, big, _ = create_property(world, "BIG", cap=2**100)
    a = world.alice.address
    world.registrar.send(big.functions.mint(a, 2**96, b32("big")))
    world.registrar.reverts(big.functions.createLien(a, world.dave.address, 2**96, b32("x"), sha("x")),
                            "SafeCastOverflowedUintDowncast", bits=96, value=2**96)
    world.registrar.send(big.functions.createLien(a, world.dave.address, 2**96 - 1, b32("x"), sha("x")))
    assert big.functions.encumberedBalanceOf(a).call() == 2**96 - 1 and big.functions.freeBalanceOf(a).call() == 1
