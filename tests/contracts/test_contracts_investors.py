"""Limits count investors, not wallets: maxBalance caps the sum of an investor's wallets, maxHolders and the category
/ foreign caps count investors, a move between two wallets of one investor changes no count and no limit (but obeys
the lock-up, the pause, the freezes and the country rule); holderCounts(), the category caps, the foreign caps
relative to the token's home country, and reclassification after the compliance officer changes an investor."""

import pytest

from contracts_kit import (
    verdict,
    ACCREDITED, CATEGORY_HOLDERS, COUNTRY, DAY, FOREIGN_HOLDERS, FOREIGN_SHARE, GB, INSTITUTIONAL, LOCKED_UP,
    MAX_BALANCE, MAX_HOLDERS, OK, PAUSED, PK, RECIPIENT_FROZEN, RETAIL, SENDER_FROZEN, US, ZERO, b32, balance, counts,
    create_property, events, forced_ok, forced_rejected, holders, mint_rejected, one_event, same, transfer_ok,
    transfer_rejected,
)


@pytest.fixture(params=["property", "commodity"])
def token(request, world):
    return world.prop if request.param == "property" else world.comm


@pytest.fixture
def alice2(world):
    """A second (keyed) wallet of alice, the investor."""
    return world.add_wallet(world.alice.address, "alice-2", keyed=True)


def investor_balance(token, wallet):
    return token.functions.investorBalanceOf(wallet).call()


# --------------------------------------------------------------------------------------------------- investor totals


def test_investor_balance_sums_the_wallets(world, token, alice2):
    a, a2 = world.alice.address, alice2.address
    bal = balance(token, a)
    # the second wallet is counted at once, before any move (the first wallet's balance is the investor's)
    assert investor_balance(token, a) == investor_balance(token, a2) == bal
    world.registrar.send(token.functions.mint(a2, 7, b32("a2")))
    assert (balance(token, a), balance(token, a2)) == (bal, 7)
    assert investor_balance(token, a) == investor_balance(token, a2) == bal + 7
    assert investor_balance(token, world.bob.address) == balance(token, world.bob.address)
    assert investor_balance(token, world.outsider.address) == 0


def test_max_balance_caps_the_sum_of_the_investors_wallets(world, alice2):
    prop, reg, comp = world.prop, world.registrar, world.compliance
    a, a2 = world.alice.address, alice2.address
    comp.send(prop.functions.setMaxBalance(1200))
    mint_rejected(prop, reg, a2, 201, b32("a2-mint"), MAX_BALANCE)  # 1000 + 201 > 1200 summed over alice's wallets
    transfer_rejected(prop, world.bob, a2, 201, MAX_BALANCE)
    forced_rejected(prop, reg, world.bob.address, a2, 201, MAX_BALANCE, include_frozen=True)
    reg.send(prop.functions.mint(a2, 150, b32("a2-mint")))
    transfer_ok(prop, world.bob, a2, 50)
    assert investor_balance(prop, a) == 1200
    transfer_rejected(prop, world.bob, a, 1, MAX_BALANCE)  # the first wallet is capped by the same sum
    transfer_rejected(prop, world.bob, a2, 1, MAX_BALANCE)
    # another investor is capped on its own total
    transfer_ok(prop, world.bob, world.carol.address, 300)


def test_an_investor_with_two_wallets_counts_once(world, token, alice2):
    reg, comp = world.registrar, world.compliance
    a2 = alice2.address
    start = counts(token)
    assert start[:4] == (2, 1, 1, 0)  # alice retail, bob accredited
    reg.send(token.functions.mint(a2, 10, b32("a2")))
    assert counts(token) == start and holders(token) == 2
    comp.send(token.functions.setMaxHolders(2))
    mint_rejected(token, reg, world.carol.address, 1, b32("c"), MAX_HOLDERS)
    transfer_rejected(token, world.bob, world.carol.address, 1, MAX_HOLDERS)
    transfer_ok(token, world.bob, a2, 1)  # alice already holds: no new holder
    reg.send(token.functions.mint(a2, 1, b32("a2-more")))
    assert holders(token) == 2


def test_a_move_between_an_investors_wallets_changes_no_count_and_no_limit(world, alice2):
    prop, comp = world.prop, world.compliance
    alice, a, a2 = world.alice, world.alice.address, alice2.address
    comp.send(prop.functions.setMaxBalance(500))  # alice (1000) is above it already: holders above are not affected
    comp.send(prop.functions.setMaxHolders(2))
    comp.send(prop.functions.setCategoryHolderCaps(1, 1, 1))
    start = counts(prop)
    transfer_ok(prop, alice, a2, 600)  # would exceed the max balance for another investor
    transfer_ok(prop, alice2, a, 100)
    transfer_ok(prop, alice, a2, 500)  # alice's first wallet is empty now; the investor still holds
    assert counts(prop) == start and investor_balance(prop, a) == 1000
    assert (balance(prop, a), balance(prop, a2)) == (0, 1000)
    transfer_rejected(prop, world.bob, a, 1, MAX_BALANCE)  # another investor's move is still limited
    # forced moves between the two wallets are not limited by the max balance either
    forced_ok(prop, world.registrar, a2, a, 1000)
    assert counts(prop) == start


@pytest.mark.parametrize("rule", ["lockup", "paused", "sender-frozen", "recipient-frozen", "country"])
def test_a_move_between_an_investors_wallets_obeys_the_other_rules(world, alice2, rule):
    prop, comp = world.prop, world.compliance
    f, a, a2 = prop.functions, world.alice.address, alice2.address
    setup = {
        "lockup": (lambda: comp.send(f.setLockupUntil(world.chain.timestamp() + DAY)), LOCKED_UP),
        "paused": (lambda: comp.send(f.pause()), PAUSED),
        "sender-frozen": (lambda: comp.send(f.setAddressFrozen(a, True)), SENDER_FROZEN),
        "recipient-frozen": (lambda: comp.send(f.setAddressFrozen(a2, True)), RECIPIENT_FROZEN),
        "country": (lambda: (comp.send(f.setCountryRestriction(2)), comp.send(f.setCountriesListed([PK], True))), COUNTRY),
    }
    action, code = setup[rule]
    action()
    transfer_rejected(prop, world.alice, a2, 1, code)
    assert (balance(prop, a), balance(prop, a2)) == (1000, 0)


def test_an_investor_leaves_the_cap_table_when_all_its_wallets_are_empty(world, token, alice2):
    a, a2 = world.alice.address, alice2.address
    bal = balance(token, a)
    transfer_ok(token, world.alice, a2, 400)
    transfer_ok(token, world.alice, world.carol.address, bal - 400)  # the first wallet is empty, alice still holds
    assert holders(token) == 3 and counts(token)[:4] == (3, 1, 1, 1)
    transfer_ok(token, alice2, world.carol.address, 400)  # now alice leaves
    assert holders(token) == 2 and counts(token)[:4] == (2, 0, 1, 1)
    assert investor_balance(token, a) == 0


def test_the_second_wallet_of_an_investor_can_be_its_only_holding_wallet(world, alice2):
    """An investor registered with its first wallet, funded only in its second."""
    prop, reg = world.prop, world.registrar
    fresh = world.new_wallet("fresh-investor", country=GB, category=ACCREDITED)
    w2 = world.add_wallet(fresh, "fresh-2")
    start = counts(prop)
    reg.send(prop.functions.mint(w2, 40, b32("fresh-2")))
    assert counts(prop)[:5] == (start[0] + 1, start[1], start[2] + 1, start[3], start[4] + 1)
    assert investor_balance(prop, fresh) == 40 and balance(prop, fresh) == 0


# --------------------------------------------------------------------------------------------------- category caps


def test_category_holder_caps(world, token):
    reg, comp = world.registrar, world.compliance
    f = token.functions
    alice, bob, carol, erin = world.alice, world.bob, world.carol.address, world.erin.address
    ev = one_event(token, "CategoryHolderCapsSet", comp.send(f.setCategoryHolderCaps(1, 0, 1)))
    assert (ev["retail"], ev["accredited"], ev["institutional"]) == (1, 0, 1)
    assert tuple(f.holderCaps().call()) == (1, 0, 1, 0, 0)
    # retail: alice holds, so erin (retail) may not join
    mint_rejected(token, reg, erin, 1, b32("erin"), CATEGORY_HOLDERS)
    transfer_rejected(token, alice, erin, 1, CATEGORY_HOLDERS)
    forced_rejected(token, reg, alice.address, erin, 1, CATEGORY_HOLDERS, include_frozen=True)
    # institutional: carol may join once
    reg.send(f.mint(carol, 1, b32("carol")))
    assert counts(token)[3] == 1
    # a move in which the leaving investor and the joining one have the same class keeps the count: allowed
    transfer_ok(token, alice, erin, balance(token, alice.address))
    assert counts(token)[:4] == (3, 1, 1, 1)
    # bob (accredited) leaving does not make room for a retail investor
    transfer_rejected(token, bob, world.dave.address, balance(token, bob.address), CATEGORY_HOLDERS)
    # no cap on accredited (0 = unlimited)
    wallet = world.new_wallet("accredited-2", category=ACCREDITED)
    reg.send(f.mint(wallet, 1, b32("acc")))
    assert counts(token)[2] == 2
    comp.send(f.setCategoryHolderCaps(0, 0, 0))
    assert tuple(f.holderCaps().call()) == (0, 0, 0, 0, 0)
    transfer_ok(token, bob, world.dave.address, 1)
    comp.reverts(f.setCategoryHolderCaps(2**32, 0, 0), "InvalidCap")
    comp.reverts(f.setCategoryHolderCaps(0, 0, 2**32), "InvalidCap")


def test_category_caps_and_foreign_caps_are_independent(world):
    f, comp = world.prop.functions, world.compliance
    comp.send(f.setForeignCaps(3, 2_500))
    comp.send(f.setCategoryHolderCaps(5, 6, 7))
    assert tuple(f.holderCaps().call()) == (5, 6, 7, 3, 2_500)
    comp.send(f.setForeignCaps(0, 0))
    assert tuple(f.holderCaps().call()) == (5, 6, 7, 0, 0)
    comp.send(f.setForeignCaps(4, 1))
    comp.send(f.setCategoryHolderCaps(0, 0, 0))
    assert tuple(f.holderCaps().call()) == (0, 0, 0, 4, 1)


# --------------------------------------------------------------------------------------------------- foreign caps


def test_foreign_holder_cap(world, token):
    reg, comp = world.registrar, world.compliance
    f = token.functions
    carol, dave = world.carol, world.dave  # US, GB: foreign to a PK token
    ev = one_event(token, "ForeignCapsSet", comp.send(f.setForeignCaps(1, 0)))
    assert (ev["maxForeignHolders"], ev["maxForeignShareBps"]) == (1, 0)
    reg.send(f.mint(carol.address, 10, b32("carol")))
    assert counts(token)[4] == 1
    mint_rejected(token, reg, dave.address, 1, b32("dave"), FOREIGN_HOLDERS)
    transfer_rejected(token, world.alice, dave.address, 1, FOREIGN_HOLDERS)
    forced_rejected(token, reg, world.alice.address, dave.address, 1, FOREIGN_HOLDERS)
    reg.send(f.mint(world.erin.address, 1, b32("erin")))  # home investors are not limited by it
    # a foreign investor leaving as another joins keeps the count
    transfer_ok(token, carol, dave.address, 10)
    assert counts(token)[4] == 1
    comp.reverts(f.setForeignCaps(2**32, 0), "InvalidCap")


def test_foreign_share_cap(world):
    """4,000 bps: at most 40% of the supply held from outside PK."""
    prop, reg, comp = world.prop, world.registrar, world.compliance
    f = prop.functions
    carol, dave = world.carol.address, world.dave.address
    comp.send(f.setForeignCaps(0, 4_000))
    assert tuple(f.holderCaps().call()) == (0, 0, 0, 0, 4_000)
    # supply 1500, all at home: a transfer of x to a foreign investor needs x <= 40% of 1500 = 600
    transfer_rejected(prop, world.alice, carol, 601, FOREIGN_SHARE)
    forced_rejected(prop, reg, world.alice.address, carol, 601, FOREIGN_SHARE, include_frozen=True)
    transfer_ok(prop, world.alice, carol, 600)
    assert counts(prop)[4:] == (1, 600)
    transfer_rejected(prop, world.bob, dave, 1, FOREIGN_SHARE)
    # a mint grows the supply too: minting m to a foreign investor needs 600 + m <= 40% of (1500 + m)
    mint_rejected(prop, reg, dave, 1, b32("dave"), FOREIGN_SHARE)
    reg.send(f.mint(world.erin.address, 1500, b32("home")))  # supply 3000: room for 600 more abroad
    mint_rejected(prop, reg, dave, 1001, b32("dave"), FOREIGN_SHARE)  # 1601 of 4001 > 40%
    reg.send(f.mint(dave, 1000, b32("dave")))  # 1600 of 4000 = 40%
    assert counts(prop)[4:] == (2, 1600)
    # moves between foreign investors never raise the foreign units
    transfer_ok(prop, world.carol, dave, 600)
    assert counts(prop)[4:] == (1, 1600)
    # a foreign investor may always sell home
    transfer_ok(prop, world.dave, world.bob.address, 100)
    assert counts(prop)[4:] == (1, 1500)
    comp.reverts(f.setForeignCaps(0, 10_001), "InvalidCap")
    comp.send(f.setForeignCaps(0, 10_000))
    transfer_ok(prop, world.alice, carol, 100)


def test_no_home_country_no_foreign_investor(world):
    """A token with home country 0 counts nobody as foreign."""
    reg, comp = world.registrar, world.compliance
    _, token, _ = create_property(world, "NO-HOME", home=0, activate=True)
    comp.send(token.functions.setForeignCaps(1, 1))
    for who, n in ((world.carol.address, 10), (world.dave.address, 10), (world.alice.address, 10)):
        reg.send(token.functions.mint(who, n, b32(f"m-{who[:8]}")))
    assert counts(token) == (3, 2, 0, 1, 0, 0)


def test_holder_counts(world, token):
    reg = world.registrar
    f = token.functions
    assert counts(token) == (2, 1, 1, 0, 0, 0)  # alice retail PK, bob accredited PK
    reg.send(f.mint(world.carol.address, 30, b32("c")))  # institutional US
    reg.send(f.mint(world.dave.address, 20, b32("d")))  # retail GB
    assert counts(token) == (4, 2, 1, 1, 2, 50)
    transfer_ok(token, world.dave, world.erin.address, 20)  # dave (foreign) leaves, erin (home, retail) joins
    assert counts(token) == (4, 2, 1, 1, 1, 30)
    forced_ok(token, reg, world.carol.address, ZERO, 30)
    assert counts(token) == (3, 2, 1, 0, 0, 0)
    assert f.holderCount().call() == 3


# --------------------------------------------------------------------------------------------------- reclassification


def test_sync_investor_recounts_after_a_category_or_country_change(world, token):
    ir = world.stack.identity
    f = token.functions
    a = world.alice.address
    bal = balance(token, a)
    world.compliance.send(ir.functions.updateCategory(a, INSTITUTIONAL))
    assert counts(token) == (2, 1, 1, 0, 0, 0)  # still counted under the class it joined with
    receipt = world.outsider.send(f.syncInvestor(a))  # anyone may call it
    ev = one_event(token, "HoldingReclassified", receipt)
    assert same(ev["investor"], a) and (ev["category"], ev["foreign"]) == (INSTITUTIONAL, False)
    assert counts(token) == (2, 0, 1, 1, 0, 0)
    assert events(token, "HoldingReclassified", world.outsider.send(f.syncInvestor(a))) == []  # nothing to do
    world.compliance.send(ir.functions.updateCountry(a, US))
    ev = one_event(token, "HoldingReclassified", world.bob.send(f.syncInvestor(a)))
    assert (ev["category"], ev["foreign"]) == (INSTITUTIONAL, True)
    assert counts(token) == (2, 0, 1, 1, 1, bal)
    world.compliance.send(ir.functions.updateCountry(a, PK))
    world.compliance.send(ir.functions.updateCategory(a, RETAIL))
    ev = one_event(token, "HoldingReclassified", world.outsider.send(f.syncInvestor(a)))
    assert (ev["category"], ev["foreign"]) == (RETAIL, False)
    assert counts(token) == (2, 1, 1, 0, 0, 0)
    # a wallet that holds nothing has nothing to recount
    world.compliance.send(ir.functions.updateCategory(world.erin.address, ACCREDITED))
    assert events(token, "HoldingReclassified", world.outsider.send(f.syncInvestor(world.erin.address))) == []
    assert counts(token) == (2, 1, 1, 0, 0, 0)


def test_a_move_recounts_a_changed_investor(world, token):
    ir = world.stack.identity
    a, b = world.alice.address, world.bob.address
    world.compliance.send(ir.functions.updateCategory(b, RETAIL))
    world.compliance.send(ir.functions.updateCountry(a, GB))
    receipt = transfer_ok(token, world.bob, a, 1)  # both parties are counted again under their current class
    bal_a = balance(token, a)
    assert counts(token) == (2, 2, 0, 0, 1, bal_a)
    recounted = {ev["investor"].lower(): (ev["category"], ev["foreign"]) for ev in events(token, "HoldingReclassified", receipt)}
    assert recounted == {a.lower(): (1, True), b.lower(): (RETAIL, False)}  # an indexer sees the recount of a move too
    # the recipient of a mint too
    world.compliance.send(ir.functions.updateCountry(a, PK))
    world.registrar.send(token.functions.mint(a, 1, b32("recount")))
    assert counts(token) == (2, 2, 0, 0, 0, 0)


def test_sync_through_a_second_wallet(world, token, alice2):
    ir = world.stack.identity
    a2 = alice2.address
    world.registrar.send(token.functions.mint(a2, 5, b32("a2")))
    world.compliance.send(ir.functions.updateCountry(a2, US))
    ev = one_event(token, "HoldingReclassified", world.outsider.send(token.functions.syncInvestor(a2)))
    assert same(ev["investor"], world.alice.address) and ev["foreign"] is True
    assert counts(token)[4:] == (1, investor_balance(token, a2))


def test_caps_apply_to_the_current_class_after_a_change(world):
    """A cap set later is right at once, and an investor that changed class joins under the new one."""
    prop, reg, comp, ir = world.prop, world.registrar, world.compliance, world.stack.identity
    erin = world.erin.address
    comp.send(prop.functions.setForeignCaps(1, 0))
    world.compliance.send(ir.functions.updateCountry(erin, US))  # erin is foreign now, holding nothing
    reg.send(prop.functions.mint(erin, 1, b32("erin")))
    assert counts(prop)[4] == 1
    mint_rejected(prop, reg, world.carol.address, 1, b32("carol"), FOREIGN_HOLDERS)
    # alice moves abroad: recounted on sync, the foreign holder cap does not throw her out
    world.compliance.send(ir.functions.updateCountry(world.alice.address, GB))
    world.outsider.send(prop.functions.syncInvestor(world.alice.address))
    assert counts(prop)[4] == 2
    transfer_ok(prop, world.alice, world.erin.address, 1)  # existing foreign holders trade
    assert verdict(prop.functions, world.bob.address, world.carol.address, 1) == (False, FOREIGN_HOLDERS)
    assert verdict(prop.functions, world.bob.address, world.alice.address, 1) == (True, OK)
