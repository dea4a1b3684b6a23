"""IdentityRegistry: investors and the wallets they own (register, batch, updates through any wallet, deletion and
re-registration, addWallet / removeWallet / replaceWallet, a wallet never changes investor, a lost wallet is lost for
good), the one-slot registration, the party words tokens read, KYC expiry and its effect on transfers."""

import pytest

from contracts_kit import (
    DAY, GB, PK, RECIPIENT_NV, SENDER_NV, US, WALLET_ACTIVE, WALLET_LOST, WALLET_NONE, WALLET_REMOVED, ZERO,
    assert_rejected, b32, balance, one_event, same, transfer_ok, transfer_rejected,
)

ELIGIBLE, MULTI = 1 << 88, 1 << 90


def word(country, expiry, category, investor, eligible=True, multi=False):
    """A party word as pairInfo / infoOf return it."""
    return (country | (expiry << 16) | (category << 80) | (ELIGIBLE if eligible else 0) | (MULTI if multi else 0)
            | (int(investor, 16) << 96))


def status(world, wallet):
    return world.stack.identity.functions.walletStatus(wallet).call()


def verified(world, wallet):
    return world.stack.identity.functions.isVerified(wallet).call()


def test_register_identity_writes_one_slot_and_emits(world):
    ir = world.stack.identity
    wallet = world.new_wallet("fresh", register=False)
    expiry = world.kyc_expiry
    receipt = world.compliance.send(ir.functions.registerIdentity(wallet, US, expiry, 2))
    ev = one_event(ir, "IdentityRegistered", receipt)
    assert same(ev["investor"], wallet) and (ev["country"], ev["kycExpiry"], ev["category"]) == (US, expiry, 2)
    # one new storage slot (22,100) + the transaction: a second slot would add another 22,100
    assert receipt.gas_used < 56_000, receipt.gas_used
    assert tuple(ir.functions.identity(wallet).call()) == (US, expiry, 2, True)
    assert tuple(ir.functions.investor(wallet).call()) == (US, expiry, 2, True, False)
    assert ir.functions.investorOf(wallet).call() == wallet
    assert status(world, wallet) == WALLET_ACTIVE
    assert verified(world, wallet) is True
    assert ir.functions.infoOf(wallet).call() == word(US, expiry, 2, wallet)
    assert tuple(ir.functions.pairInfo(world.alice.address, wallet).call()) == (
        word(PK, expiry, 1, world.alice.address), word(US, expiry, 2, wallet))
    out = world.outsider.address
    assert tuple(ir.functions.pairInfo(ZERO, out).call()) == (0, 0)
    assert verified(world, out) is False and ir.functions.investorOf(out).call() == ZERO
    assert status(world, out) == WALLET_NONE and tuple(ir.functions.investor(out).call()) == (0, 0, 0, False, False)
    assert [ir.functions.WALLET_NONE().call(), ir.functions.WALLET_ACTIVE().call(), ir.functions.WALLET_REMOVED().call(),
            ir.functions.WALLET_LOST().call()] == [0, 1, 2, 3]


def test_duplicate_registration_reverts(world):
    ir = world.stack.identity
    world.compliance.reverts(
        ir.functions.registerIdentity(world.alice.address, GB, world.kyc_expiry, 3),
        "IdentityAlreadyRegistered", wallet=world.alice.address)
    assert tuple(ir.functions.identity(world.alice.address).call())[:3] == (PK, world.kyc_expiry, 1)
    # a further wallet of an investor cannot become an investor of its own either
    w2 = world.add_wallet(world.alice.address, "alice-2")
    world.compliance.reverts(ir.functions.registerIdentity(w2, GB, world.kyc_expiry, 3),
                             "IdentityAlreadyRegistered", wallet=w2)
    assert ir.functions.investorOf(w2).call() == world.alice.address


@pytest.mark.parametrize("country", [0, 1000, 65535])
def test_invalid_country_rejected(world, country):
    wallet = world.new_wallet("c", register=False)
    world.compliance.reverts(
        world.stack.identity.functions.registerIdentity(wallet, country, world.kyc_expiry, 1),
        "InvalidCountry", country=country)
    world.compliance.reverts(world.stack.identity.functions.updateCountry(world.alice.address, country),
                             "InvalidCountry", country=country)
    assert status(world, wallet) == WALLET_NONE


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
    assert ir.functions.identity(world.alice.address).call()[2] == 1


def test_zero_wallet_rejected(world):
    ir = world.stack.identity
    world.compliance.reverts(ir.functions.registerIdentity(ZERO, PK, world.kyc_expiry, 1), "InvalidWallet")
    world.compliance.reverts(ir.functions.addWallet(world.alice.address, ZERO), "InvalidWallet")
    world.compliance.reverts(ir.functions.replaceWallet(world.alice.address, ZERO), "InvalidWallet")
    assert verified(world, world.alice.address) is True


def test_batch_register(world):
    ir = world.stack.identity
    wallets = [world.new_wallet(f"b{i}", register=False) for i in range(3)]
    receipt = world.compliance.send(ir.functions.batchRegisterIdentity(
        wallets, [PK, US, GB], [world.kyc_expiry, world.kyc_expiry + 1, world.kyc_expiry + 2], [1, 2, 3]))
    evs = [e for e in ir.events.IdentityRegistered().process_receipt(receipt.raw)]
    assert [(e["args"]["investor"], e["args"]["country"], e["args"]["category"]) for e in evs] == [
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
    assert status(world, wallets[0]) == WALLET_NONE


def test_batch_is_all_or_nothing(world):
    ir = world.stack.identity
    fresh = world.new_wallet("atomic", register=False)
    world.compliance.reverts(
        ir.functions.batchRegisterIdentity([fresh, world.bob.address], [PK, PK], [world.kyc_expiry] * 2, [1, 1]),
        "IdentityAlreadyRegistered", wallet=world.bob.address)
    assert ir.functions.identity(fresh).call()[3] is False and status(world, fresh) == WALLET_NONE


def test_updates_change_fields_and_emit(world):
    ir = world.stack.identity
    a = world.alice.address
    ev = one_event(ir, "CountryUpdated", world.compliance.send(ir.functions.updateCountry(a, GB)))
    assert same(ev["investor"], a) and ev["country"] == GB
    ev = one_event(ir, "KycExpiryUpdated", world.compliance.send(ir.functions.updateKycExpiry(a, 12345)))
    assert same(ev["investor"], a) and ev["kycExpiry"] == 12345
    ev = one_event(ir, "CategoryUpdated", world.compliance.send(ir.functions.updateCategory(a, 3)))
    assert same(ev["investor"], a) and ev["category"] == 3
    assert tuple(ir.functions.identity(a).call()) == (GB, 12345, 3, True)
    assert verified(world, a) is False  # an expiry in the past un-verifies


@pytest.mark.parametrize("update", ["updateCountry", "updateKycExpiry", "updateCategory", "deleteIdentity",
                                    "addWallet", "replaceWallet"])
def test_updates_of_unknown_identity_revert(world, update):
    ir = world.stack.identity
    who = world.outsider.address
    other = world.new_wallet("unbound", register=False)
    fn = {
        "updateCountry": lambda: ir.functions.updateCountry(who, PK),
        "updateKycExpiry": lambda: ir.functions.updateKycExpiry(who, world.kyc_expiry),
        "updateCategory": lambda: ir.functions.updateCategory(who, 1),
        "deleteIdentity": lambda: ir.functions.deleteIdentity(who),
        "addWallet": lambda: ir.functions.addWallet(who, other),
        "replaceWallet": lambda: ir.functions.replaceWallet(who, other),
    }[update]()
    world.compliance.reverts(fn, "IdentityNotFound", wallet=who)
    assert status(world, other) == WALLET_NONE


def test_delete_identity_unverifies_and_blocks_transfers_and_registration_brings_it_back(world):
    ir, prop = world.stack.identity, world.prop
    bob = world.bob.address
    ev = one_event(ir, "IdentityRemoved", world.compliance.send(ir.functions.deleteIdentity(bob)))
    assert same(ev["investor"], bob)
    assert tuple(ir.functions.identity(bob).call()) == (PK, world.kyc_expiry, 2, False)
    assert tuple(ir.functions.investor(bob).call()) == (PK, world.kyc_expiry, 2, False, False)
    assert verified(world, bob) is False and ir.functions.investorOf(bob).call() == bob
    transfer_rejected(prop, world.alice, bob, 1, RECIPIENT_NV)
    transfer_rejected(prop, world.bob, world.alice.address, 1, SENDER_NV)
    world.compliance.reverts(ir.functions.deleteIdentity(bob), "InvestorNotActive", investor=bob)
    world.compliance.reverts(ir.functions.addWallet(bob, world.new_wallet("x", register=False)),
                             "InvestorNotActive", investor=bob)
    # a deleted investor is registered again with new data
    ev = one_event(ir, "IdentityRegistered", world.compliance.send(ir.functions.registerIdentity(bob, US, world.kyc_expiry, 3)))
    assert same(ev["investor"], bob) and (ev["country"], ev["category"]) == (US, 3)
    assert tuple(ir.functions.identity(bob).call()) == (US, world.kyc_expiry, 3, True)
    transfer_ok(prop, world.alice, bob, 1)


# --------------------------------------------------------------------------------------------------- wallets


def test_add_wallet_binds_it_to_the_investor(world):
    ir = world.stack.identity
    a = world.alice.address
    w2 = world.new_wallet("alice-2", register=False)
    receipt = world.compliance.send(ir.functions.addWallet(a, w2))
    ev = one_event(ir, "WalletAdded", receipt)
    assert same(ev["investor"], a) and same(ev["wallet"], w2)
    assert ir.functions.investorOf(w2).call() == a and status(world, w2) == WALLET_ACTIVE
    assert tuple(ir.functions.identity(w2).call()) == (PK, world.kyc_expiry, 1, True) and verified(world, w2)
    assert tuple(ir.functions.investor(a).call()) == (PK, world.kyc_expiry, 1, True, True)  # multi-wallet now
    assert ir.functions.infoOf(w2).call() == word(PK, world.kyc_expiry, 1, a, multi=True)
    assert ir.functions.infoOf(a).call() == word(PK, world.kyc_expiry, 1, a, multi=True)
    # through any wallet of the investor: a third wallet added via the second one
    w3 = world.new_wallet("alice-3", register=False)
    ev = one_event(ir, "WalletAdded", world.compliance.send(ir.functions.addWallet(w2, w3)))
    assert same(ev["investor"], a) and ir.functions.investorOf(w3).call() == a
    assert tuple(ir.functions.investor(w3).call()) == (0, 0, 0, False, False)  # w3 is no investor id


def test_add_wallet_rejections(world):
    ir = world.stack.identity
    a, b = world.alice.address, world.bob.address
    w2 = world.add_wallet(a, "alice-2")
    world.compliance.reverts(ir.functions.addWallet(a, w2), "WalletAlreadyActive", wallet=w2)
    world.compliance.reverts(ir.functions.addWallet(a, a), "WalletAlreadyActive", wallet=a)
    # a wallet can never be bound to a second investor: neither another investor's id nor its further wallet
    world.compliance.reverts(ir.functions.addWallet(a, b), "WalletBound", wallet=b, investor=b)
    world.compliance.reverts(ir.functions.addWallet(b, w2), "WalletBound", wallet=w2, investor=a)
    world.compliance.reverts(ir.functions.replaceWallet(b, w2), "WalletBound", wallet=w2, investor=a)
    # not even once its investor is deleted, or the wallet removed
    world.compliance.send(ir.functions.removeWallet(w2))
    world.compliance.reverts(ir.functions.addWallet(b, w2), "WalletBound", wallet=w2, investor=a)
    world.compliance.send(ir.functions.deleteIdentity(a))
    world.compliance.reverts(ir.functions.addWallet(b, w2), "WalletBound", wallet=w2, investor=a)
    world.compliance.reverts(ir.functions.addWallet(b, a), "WalletBound", wallet=a, investor=a)
    world.compliance.reverts(ir.functions.registerIdentity(w2, PK, world.kyc_expiry, 1),
                             "IdentityAlreadyRegistered", wallet=w2)
    assert ir.functions.investorOf(w2).call() == a and ir.functions.investorOf(b).call() == b


def test_batch_add_wallets(world):
    ir = world.stack.identity
    a, b = world.alice.address, world.bob.address
    w1, w2, w3 = (world.new_wallet(f"batch-w{i}", register=False) for i in range(3))
    receipt = world.compliance.send(ir.functions.batchAddWallets([a, b, w1], [w1, w2, w3]))
    evs = ir.events.WalletAdded().process_receipt(receipt.raw)
    assert [(e["args"]["investor"], e["args"]["wallet"]) for e in evs] == [(a, w1), (b, w2), (a, w3)]
    assert [ir.functions.investorOf(w).call() for w in (w1, w2, w3)] == [a, b, a]
    assert all(verified(world, w) for w in (w1, w2, w3))
    world.compliance.reverts(ir.functions.batchAddWallets([a], [w1, w2]), "ArrayLengthMismatch")
    # all or nothing: a wallet bound to another investor refuses the whole batch
    w4 = world.new_wallet("batch-w4", register=False)
    world.compliance.reverts(ir.functions.batchAddWallets([a, a], [w4, w2]), "WalletBound", wallet=w2, investor=b)
    assert status(world, w4) == WALLET_NONE


def test_remove_wallet_unverifies_it_and_it_can_be_added_back(world):
    ir = world.stack.identity
    a = world.alice.address
    w2 = world.add_wallet(a, "alice-2")
    ev = one_event(ir, "WalletRemoved", world.compliance.send(ir.functions.removeWallet(w2)))
    assert same(ev["investor"], a) and same(ev["wallet"], w2)
    assert status(world, w2) == WALLET_REMOVED and verified(world, w2) is False
    assert ir.functions.identity(w2).call()[3] is False and ir.functions.investorOf(w2).call() == a
    assert verified(world, a) is True  # the investor's other wallets are untouched
    transfer_rejected(world.prop, world.alice, w2, 1, RECIPIENT_NV)
    world.compliance.reverts(ir.functions.removeWallet(w2), "WalletNotActive", wallet=w2)
    world.compliance.reverts(ir.functions.removeWallet(world.outsider.address), "WalletNotActive",
                             wallet=world.outsider.address)
    ev = one_event(ir, "WalletAdded", world.compliance.send(ir.functions.addWallet(a, w2)))
    assert same(ev["wallet"], w2) and status(world, w2) == WALLET_ACTIVE and verified(world, w2) is True
    transfer_ok(world.prop, world.alice, w2, 1)
    # the investor's first wallet (its id) can be removed too; the investor stays, with its other wallet
    world.compliance.send(ir.functions.removeWallet(a))
    assert status(world, a) == WALLET_REMOVED and verified(world, a) is False and verified(world, w2) is True
    assert tuple(ir.functions.investor(a).call())[3] is True


def test_replace_wallet_makes_the_lost_wallet_lost_forever(world):
    ir = world.stack.identity
    a, b = world.alice.address, world.bob.address
    new = world.new_wallet("alice-new", register=False)
    receipt = world.compliance.send(ir.functions.replaceWallet(a, new))
    ev = one_event(ir, "WalletReplaced", receipt)
    assert same(ev["investor"], a) and same(ev["lostWallet"], a) and same(ev["newWallet"], new)
    assert status(world, a) == WALLET_LOST and verified(world, a) is False
    assert status(world, new) == WALLET_ACTIVE and verified(world, new) is True
    assert ir.functions.investorOf(new).call() == a == ir.functions.investorOf(a).call()
    assert tuple(ir.functions.identity(new).call()) == (PK, world.kyc_expiry, 1, True)
    assert tuple(ir.functions.investor(a).call()) == (PK, world.kyc_expiry, 1, True, True)
    # a lost wallet is never verified again and can be neither added back, replaced again, nor a replacement
    world.compliance.reverts(ir.functions.addWallet(a, a), "WalletIsLost", wallet=a)
    world.compliance.reverts(ir.functions.addWallet(new, a), "WalletIsLost", wallet=a)
    world.compliance.reverts(ir.functions.replaceWallet(a, world.new_wallet("x", register=False)), "WalletIsLost", wallet=a)
    w3 = world.add_wallet(a, "alice-3")
    world.compliance.reverts(ir.functions.replaceWallet(w3, a), "WalletIsLost", wallet=a)
    world.compliance.reverts(ir.functions.removeWallet(a), "WalletNotActive", wallet=a)
    world.compliance.reverts(ir.functions.registerIdentity(a, PK, world.kyc_expiry, 1), "IdentityAlreadyRegistered", wallet=a)
    # not even after its investor is deleted and registered again (the investor comes back, the lost wallet does not)
    world.compliance.send(ir.functions.deleteIdentity(new))
    world.compliance.send(ir.functions.registerIdentity(a, GB, world.kyc_expiry, 2))
    assert status(world, a) == WALLET_LOST and verified(world, a) is False
    assert verified(world, new) is True and ir.functions.identity(new).call()[0] == GB
    transfer_rejected(world.prop, world.bob, a, 1, RECIPIENT_NV)
    assert ir.functions.investorOf(b).call() == b


def test_replace_wallet_rejections_and_accepted_replacements(world):
    ir = world.stack.identity
    a, b = world.alice.address, world.bob.address
    world.compliance.reverts(ir.functions.replaceWallet(a, a), "InvalidWallet")
    world.compliance.reverts(ir.functions.replaceWallet(a, b), "WalletBound", wallet=b, investor=b)
    assert status(world, a) == WALLET_ACTIVE  # nothing changed
    # the replacement may be an active wallet of the same investor...
    w2 = world.add_wallet(a, "alice-2")
    world.compliance.send(ir.functions.replaceWallet(a, w2))
    assert status(world, a) == WALLET_LOST and status(world, w2) == WALLET_ACTIVE
    # ...or a removed one, which becomes active again; the lost wallet may be a removed one too
    w3 = world.add_wallet(w2, "alice-3")
    world.compliance.send(ir.functions.removeWallet(w3))
    world.compliance.send(ir.functions.removeWallet(w2))
    world.compliance.send(ir.functions.replaceWallet(w2, w3))
    assert status(world, w2) == WALLET_LOST and status(world, w3) == WALLET_ACTIVE and verified(world, w3)


def test_updates_through_any_wallet_apply_to_all_wallets(world):
    ir = world.stack.identity
    a = world.alice.address
    w2 = world.add_wallet(a, "alice-2")
    ev = one_event(ir, "CountryUpdated", world.compliance.send(ir.functions.updateCountry(w2, GB)))
    assert same(ev["investor"], a) and ev["country"] == GB
    ev = one_event(ir, "CategoryUpdated", world.compliance.send(ir.functions.updateCategory(w2, 2)))
    assert same(ev["investor"], a)
    for w in (a, w2):
        assert tuple(ir.functions.identity(w).call()) == (GB, world.kyc_expiry, 2, True)
    ev = one_event(ir, "KycExpiryUpdated", world.compliance.send(ir.functions.updateKycExpiry(w2, 1)))
    assert same(ev["investor"], a)
    assert verified(world, a) is False and verified(world, w2) is False
    world.compliance.send(ir.functions.updateKycExpiry(a, world.kyc_expiry))
    assert verified(world, a) is True and verified(world, w2) is True


def test_delete_identity_through_a_wallet_unverifies_every_wallet(world):
    ir = world.stack.identity
    a = world.alice.address
    w2, w3 = world.add_wallet(a, "alice-2"), world.add_wallet(a, "alice-3")
    world.compliance.send(ir.functions.removeWallet(w3))
    ev = one_event(ir, "IdentityRemoved", world.compliance.send(ir.functions.deleteIdentity(w2)))
    assert same(ev["investor"], a)
    assert [verified(world, w) for w in (a, w2, w3)] == [False, False, False]
    assert [status(world, w) for w in (a, w2, w3)] == [WALLET_ACTIVE, WALLET_ACTIVE, WALLET_REMOVED]  # unchanged
    assert [ir.functions.investorOf(w).call() for w in (a, w2, w3)] == [a, a, a]
    transfer_rejected(world.prop, world.bob, w2, 1, RECIPIENT_NV)
    world.compliance.reverts(ir.functions.registerIdentity(w2, PK, world.kyc_expiry, 1), "IdentityAlreadyRegistered", wallet=w2)
    # registering the investor's id again brings the investor back, its wallets as they were
    world.compliance.send(ir.functions.registerIdentity(a, US, world.kyc_expiry, 3))
    assert [verified(world, w) for w in (a, w2, w3)] == [True, True, False]
    assert tuple(ir.functions.identity(w2).call()) == (US, world.kyc_expiry, 3, True)
    assert tuple(ir.functions.investor(a).call()) == (US, world.kyc_expiry, 3, True, True)
    transfer_ok(world.prop, world.bob, w2, 1)


# --------------------------------------------------------------------------------------------------- KYC expiry


def test_kyc_expiry_blocks_transfers_from_and_to_and_renewal_restores(world):
    ir, prop, chain = world.stack.identity, world.prop, world.chain
    alice, bob = world.alice, world.bob
    expiry = chain.timestamp() + DAY
    world.compliance.send(ir.functions.updateKycExpiry(alice.address, expiry))
    assert verified(world, alice.address) is True
    transfer_ok(prop, alice, bob.address, 10)

    chain.advance_time(DAY + 1)
    assert chain.timestamp() > expiry
    assert verified(world, alice.address) is False
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
    assert verified(world, wallet) is False
    transfer_rejected(world.prop, world.alice, wallet, 1, RECIPIENT_NV)
