"""IdentityRegistry: registration, batch, updates, deletion, recovery, KYC expiry and its effect on transfers."""

import pytest

from contracts_kit import (
    DAY, GB, PK, RECIPIENT_NV, SENDER_NV, US, ZERO, assert_rejected, b32, balance, one_event, same,
    transfer_ok, transfer_rejected,
)


def word(country, expiry, category, exists=True):
    return country | (expiry << 16) | (category << 80) | (int(exists) << 88)


def test_register_identity_stores_one_word_and_emits(world):
    ir = world.stack.identity
    wallet = world.new_wallet("fresh", register=False)
    expiry = world.kyc_expiry
    receipt = world.compliance.send(ir.functions.registerIdentity(wallet, US, expiry, 2))
    ev = one_event(ir, "IdentityRegistered", receipt)
    assert same(ev["wallet"], wallet) and (ev["country"], ev["kycExpiry"], ev["category"]) == (US, expiry, 2)
    assert tuple(ir.functions.identity(wallet).call()) == (US, expiry, 2, True)
    assert ir.functions.isVerified(wallet).call() is True
    assert ir.functions.infoOf(wallet).call() == word(US, expiry, 2)
    assert tuple(ir.functions.pairInfo(world.alice.address, wallet).call()) == (
        word(PK, expiry, 1), word(US, expiry, 2))
    assert tuple(ir.functions.pairInfo(ZERO, world.outsider.address).call()) == (0, 0)
    assert ir.functions.isVerified(world.outsider.address).call() is False


def test_duplicate_registration_reverts(world):
    ir = world.stack.identity
    world.compliance.reverts(
        ir.functions.registerIdentity(world.alice.address, GB, world.kyc_expiry, 3),
        "IdentityAlreadyRegistered", wallet=world.alice.address)
    assert tuple(ir.functions.identity(world.alice.address).call())[:3] == (PK, world.kyc_expiry, 1)


@pytest.mark.parametrize("country", [0, 1000, 65535])
def test_invalid_country_rejected(world, country):
    wallet = world.new_wallet("c", register=False)
    world.compliance.reverts(
        world.stack.identity.functions.registerIdentity(wallet, country, world.kyc_expiry, 1),
        "InvalidCountry", country=country)
    world.compliance.reverts(world.stack.identity.functions.updateCountry(world.alice.address, country),
                             "InvalidCountry", country=country)


@pytest.mark.parametrize("country", [1, 999])
def test_country_bounds_accepted(world, country):
    ir = world.stack.identity
    wallet = world.new_wallet("c", register=False)
    world.compliance.send(ir.functions.registerIdentity(wallet, country, world.kyc_expiry, 1))
    assert ir.functions.identity(wallet).call()[0] == country


@pytest.mark.parametrize("category", [0, 4, 255])
def test_invalid_category_rejected(world, category):
    ir = world.stack.identity
    wallet = world.new_wallet("k", register=False)
    world.compliance.reverts(ir.functions.registerIdentity(wallet, PK, world.kyc_expiry, category),
                             "InvalidCategory", category=category)
    world.compliance.reverts(ir.functions.updateCategory(world.alice.address, category),
                             "InvalidCategory", category=category)


def test_zero_wallet_rejected(world):
    world.compliance.reverts(world.stack.identity.functions.registerIdentity(ZERO, PK, world.kyc_expiry, 1),
                             "InvalidWallet")


def test_batch_register(world):
    ir = world.stack.identity
    wallets = [world.new_wallet(f"b{i}", register=False) for i in range(3)]
    receipt = world.compliance.send(ir.functions.batchRegisterIdentity(
        wallets, [PK, US, GB], [world.kyc_expiry, world.kyc_expiry + 1, world.kyc_expiry + 2], [1, 2, 3]))
    evs = [e for e in ir.events.IdentityRegistered().process_receipt(receipt.raw)]
    assert [(e["args"]["wallet"], e["args"]["country"], e["args"]["category"]) for e in evs] == [
        (wallets[0], PK, 1), (wallets[1], US, 2), (wallets[2], GB, 3)]
    for i, w in enumerate(wallets):
        assert tuple(ir.functions.identity(w).call()) == ([PK, US, GB][i], world.kyc_expiry + i, i + 1, True)


@pytest.mark.parametrize("short", ["countries", "expiries", "categories"])
def test_batch_length_mismatch(world, short):
    ir = world.stack.identity
    wallets = [world.new_wallet(f"m{i}", register=False) for i in range(2)]
    args = {"countries": [PK, PK], "expiries": [world.kyc_expiry] * 2, "categories": [1, 1]}
    args[short] = args[short][:1]
    world.compliance.reverts(
        ir.functions.batchRegisterIdentity(wallets, args["countries"], args["expiries"], args["categories"]),
        "ArrayLengthMismatch")


def test_batch_is_all_or_nothing(world):
    ir = world.stack.identity
    fresh = world.new_wallet("atomic", register=False)
    world.compliance.reverts(
        ir.functions.batchRegisterIdentity([fresh, world.bob.address], [PK, PK], [world.kyc_expiry] * 2, [1, 1]),
        "IdentityAlreadyRegistered", wallet=world.bob.address)
    assert ir.functions.identity(fresh).call()[3] is False


def test_updates_change_fields_and_emit(world):
    ir = world.stack.identity
    a = world.alice.address
    ev = one_event(ir, "CountryUpdated", world.compliance.send(ir.functions.updateCountry(a, GB)))
    assert same(ev["wallet"], a) and ev["country"] == GB
    ev = one_event(ir, "KycExpiryUpdated", world.compliance.send(ir.functions.updateKycExpiry(a, 12345)))
    assert ev["kycExpiry"] == 12345
    ev = one_event(ir, "CategoryUpdated", world.compliance.send(ir.functions.updateCategory(a, 3)))
    assert ev["category"] == 3
    assert tuple(ir.functions.identity(a).call()) == (GB, 12345, 3, True)
    assert ir.functions.isVerified(a).call() is False  # an expiry in the past un-verifies


@pytest.mark.parametrize("update", ["updateCountry", "updateKycExpiry", "updateCategory", "deleteIdentity"])
def test_updates_of_unknown_identity_revert(world, update):
    ir = world.stack.identity
    who = world.outsider.address
    fn = {
        "updateCountry": lambda: ir.functions.updateCountry(who, PK),
        "updateKycExpiry": lambda: ir.functions.updateKycExpiry(who, world.kyc_expiry),
        "updateCategory": lambda: ir.functions.updateCategory(who, 1),
        "deleteIdentity": lambda: ir.functions.deleteIdentity(who),
    }[update]()
    world.compliance.reverts(fn, "IdentityNotFound", wallet=who)


def test_delete_identity_unverifies_and_blocks_transfers(world):
    ir, prop = world.stack.identity, world.prop
    bob = world.bob.address
    ev = one_event(ir, "IdentityRemoved", world.compliance.send(ir.functions.deleteIdentity(bob)))
    assert same(ev["wallet"], bob)
    assert tuple(ir.functions.identity(bob).call()) == (0, 0, 0, False)
    assert ir.functions.isVerified(bob).call() is False
    transfer_rejected(prop, world.alice, bob, 1, RECIPIENT_NV)
    transfer_rejected(prop, world.bob, world.alice.address, 1, SENDER_NV)
    world.compliance.reverts(ir.functions.deleteIdentity(bob), "IdentityNotFound", wallet=bob)
    # a deleted wallet may be registered again
    world.compliance.send(ir.functions.registerIdentity(bob, US, world.kyc_expiry, 2))
    transfer_ok(prop, world.alice, bob, 1)


@pytest.mark.parametrize("by", ["registrar", "compliance"])
def test_recover_identity_moves_it(world, by):
    ir = world.stack.identity
    actor = getattr(world, by)
    lost, new = world.bob.address, world.new_wallet("recovered", register=False)
    receipt = actor.send(ir.functions.recoverIdentity(lost, new))
    ev = one_event(ir, "IdentityRecovered", receipt)
    assert same(ev["lostWallet"], lost) and same(ev["newWallet"], new) and same(ev["recoveredBy"], actor.address)
    assert (ev["country"], ev["kycExpiry"], ev["category"]) == (PK, world.kyc_expiry, 2)
    assert tuple(ir.functions.identity(new).call()) == (PK, world.kyc_expiry, 2, True)
    assert ir.functions.identity(lost).call()[3] is False and ir.functions.isVerified(lost).call() is False


def test_recover_identity_rejections(world):
    ir = world.stack.identity
    a, b = world.alice.address, world.bob.address
    world.registrar.reverts(ir.functions.recoverIdentity(a, b), "IdentityAlreadyRegistered", wallet=b)
    world.registrar.reverts(ir.functions.recoverIdentity(world.outsider.address, world.new_wallet("x", register=False)),
                            "IdentityNotFound", wallet=world.outsider.address)
    world.registrar.reverts(ir.functions.recoverIdentity(a, ZERO), "InvalidWallet")
    world.registrar.reverts(ir.functions.recoverIdentity(a, a), "IdentityAlreadyRegistered", wallet=a)
    assert ir.functions.isVerified(a).call() is True


def test_kyc_expiry_blocks_transfers_from_and_to_and_renewal_restores(world):
    ir, prop, chain = world.stack.identity, world.prop, world.chain
    alice, bob = world.alice, world.bob
    expiry = chain.timestamp() + DAY
    world.compliance.send(ir.functions.updateKycExpiry(alice.address, expiry))
    assert ir.functions.isVerified(alice.address).call() is True
    transfer_ok(prop, alice, bob.address, 10)

    chain.advance_time(DAY + 1)
    assert chain.timestamp() > expiry
    assert ir.functions.isVerified(alice.address).call() is False
    transfer_rejected(prop, alice, bob.address, 10, SENDER_NV)
    transfer_rejected(prop, bob, alice.address, 10, RECIPIENT_NV)
    assert_rejected(prop, world.registrar, prop.functions.mint(alice.address, 1, b32("kyc")), ZERO, alice.address, 1,
                    RECIPIENT_NV)

    world.compliance.send(ir.functions.updateKycExpiry(alice.address, chain.timestamp() + DAY))
    transfer_ok(prop, bob, alice.address, 10)
    assert balance(prop, alice.address) == 1000


def test_identity_registered_with_past_expiry_is_not_verified(world):
    ir = world.stack.identity
    wallet = world.new_wallet("past", register=False)
    world.compliance.send(ir.functions.registerIdentity(wallet, PK, world.chain.timestamp() - 1, 1))
    assert ir.functions.identity(wallet).call()[3] is True
    assert ir.functions.isVerified(wallet).call() is False
    transfer_rejected(world.prop, world.alice, wallet, 1, RECIPIENT_NV)
