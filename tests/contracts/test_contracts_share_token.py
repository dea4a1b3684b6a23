"""CompliantToken rules (on the property share token, and on the commodity token where marked): mints once per
allocation reference (single and batch, re-sent batches, conflicts), cap, registrar burns, transfers, pause (stops
every move), freezes, forced transfers within the recipient's rules, liens and their beneficiaries, country lists,
max holders, max balance, lock-up, reason codes and their order, huge amounts without Panic, and the events a
ledger reads. Per-investor limits and caps: test_contracts_investors.py; recovery: test_contracts_recovery.py."""

import pytest

from rwaledger.errors import CustomErrorRevert

from contracts_kit import (
    event_names,
    verdict,
    ASSET_NOT_ACTIVE, CAP, COUNTRY, DAY, GB, INSUFFICIENT, LOCKED_UP, MAX_BALANCE, MAX_HOLDERS, MAX_UINT, OK, PAUSED, PK, PROP_CAP,
    RECIPIENT_FROZEN, RECIPIENT_NV, RESERVE, SENDER_FROZEN, SENDER_NV, UNLOCKED, US, ZERO, ZERO32, allocation,
    assert_rejected, b32, balance, create_property, events, forced_ok, forced_rejected, holders, mint_rejected,
    one_event, refs, same, sha, supply, transfer_ok, transfer_rejected,
)


@pytest.fixture(params=["property", "commodity"])
def token(request, world):
    """Both token kinds: the rules live in CompliantToken and must hold on each."""
    return world.prop if request.param == "property" else world.comm


# --------------------------------------------------------------------------------------------------- mint


def test_mint_emits_and_is_idempotent_by_reference(world):
    prop, reg = world.prop, world.registrar
    erin = world.erin.address
    ref = b32("SUB-2024-0042")
    assert prop.functions.isReferenceUsed(ref).call() is False and prop.functions.allocationOf(ref).call() == ZERO32
    assert verdict(prop.functions, ZERO, erin, 250) == (True, OK)
    receipt = reg.send(prop.functions.mint(erin, 250, ref))
    ev = one_event(prop, "Minted", receipt)
    assert same(ev["to"], erin) and ev["amount"] == 250 and ev["ref"] == ref
    t = one_event(prop, "Transfer", receipt)
    assert same(t["from"], ZERO) and same(t["to"], erin) and t["value"] == 250
    assert prop.functions.isReferenceUsed(ref).call() is True
    assert prop.functions.allocationOf(ref).call() == allocation(erin, 250)
    assert balance(prop, erin) == 250 and supply(prop) == 1750 and holders(prop) == 3

    reg.reverts(prop.functions.mint(erin, 250, ref), "ReferenceAlreadyUsed", ref=ref)
    reg.reverts(prop.functions.mint(world.carol.address, 1, ref), "ReferenceAlreadyUsed", ref=ref)
    reg.reverts(prop.functions.mint(erin, 1, b32("genesis-alice")), "ReferenceAlreadyUsed", ref=b32("genesis-alice"))
    reg.reverts(prop.functions.mint(erin, 1, ZERO32), "InvalidReference")
    assert balance(prop, erin) == 250 and supply(prop) == 1750


def test_world_genesis_allocations_are_recorded(world, token):
    f = token.functions
    for actor, ref in ((world.alice, "genesis-alice"), (world.bob, "genesis-bob")):
        assert f.allocationOf(b32(ref)).call() == allocation(actor.address, balance(token, actor.address))


def test_failed_mint_does_not_consume_its_reference(world):
    prop, reg = world.prop, world.registrar
    ref = b32("retry-me")
    mint_rejected(prop, reg, world.outsider.address, 5, ref, RECIPIENT_NV)
    reg.reverts(prop.functions.batchMint([world.erin.address, world.outsider.address], [5, 5], refs("retry-me", "other")),
                "TransferNotAllowed", reason=RECIPIENT_NV)
    assert prop.functions.isReferenceUsed(ref).call() is False and prop.functions.isReferenceUsed(b32("other")).call() is False
    reg.send(prop.functions.mint(world.erin.address, 5, ref))
    assert prop.functions.isReferenceUsed(ref).call() is True
    assert prop.functions.allocationOf(ref).call() == allocation(world.erin.address, 5)


def test_an_allocation_of_nothing_is_refused_and_keeps_its_reference(world, token):
    reg = world.registrar
    reg.reverts(token.functions.mint(world.erin.address, 0, b32("nothing")), "ZeroAmount")
    reg.reverts(token.functions.batchMint([world.erin.address, world.carol.address], [5, 0],
                                          [b32("something"), b32("nothing")]), "ZeroAmount")
    assert token.functions.isReferenceUsed(b32("nothing")).call() is False
    assert token.functions.isReferenceUsed(b32("something")).call() is False  # the whole batch reverted


def test_mint_to_the_zero_address_is_refused(world, token):
    """A mint "to 0" would mint nothing yet use its reference: the zero address is never a verified recipient."""
    reg = world.registrar
    mint_rejected(token, reg, ZERO, 5, b32("to-zero"), RECIPIENT_NV)
    reg.reverts(token.functions.batchMint([ZERO], [5], [b32("to-zero")]), "TransferNotAllowed",
                **{"from": ZERO, "to": ZERO, "amount": 5, "reason": RECIPIENT_NV})
    assert token.functions.isReferenceUsed(b32("to-zero")).call() is False


def test_batch_mint(world):
    prop, reg = world.prop, world.registrar
    to = [world.carol.address, world.dave.address, world.alice.address]
    rs = refs("alloc-1", "alloc-2", "alloc-3")
    receipt = reg.send(prop.functions.batchMint(to, [10, 20, 30], rs))
    minted = events(prop, "Minted", receipt)
    assert [(m["to"], m["amount"], m["ref"]) for m in minted] == [(to[0], 10, rs[0]), (to[1], 20, rs[1]), (to[2], 30, rs[2])]
    assert len(events(prop, "Transfer", receipt)) == 3 and events(prop, "MintSkipped", receipt) == []
    batch = one_event(prop, "BatchMinted", receipt)
    assert (batch["minted"], batch["skipped"], batch["total"]) == (3, 0, 60)
    assert [balance(prop, a) for a in to] == [10, 20, 1030] and supply(prop) == 1560 and holders(prop) == 4
    assert [prop.functions.allocationOf(r).call() for r in rs] == [allocation(a, n) for a, n in zip(to, [10, 20, 30])]


def test_batch_mint_rejections_are_atomic(world):
    prop, reg = world.prop, world.registrar
    carol = world.carol.address
    reg.reverts(prop.functions.batchMint([carol], [1, 2], refs("x")), "ArrayLengthMismatch")
    reg.reverts(prop.functions.batchMint([carol, carol], [1, 2], refs("x")), "ArrayLengthMismatch")
    reg.reverts(prop.functions.batchMint([], [], []), "ArrayLengthMismatch")
    reg.reverts(prop.functions.batchMint([carol, world.outsider.address], [5, 5], refs("x", "y")),
                "TransferNotAllowed", **{"from": ZERO, "to": world.outsider.address, "amount": 5, "reason": RECIPIENT_NV})
    reg.reverts(prop.functions.batchMint([carol, carol], [5, 5], [b32("x"), ZERO32]), "InvalidReference")
    assert balance(prop, carol) == 0 and prop.functions.isReferenceUsed(b32("x")).call() is False


def test_single_mint_after_a_batch_of_the_same_reference_reverts(world):
    prop, reg = world.prop, world.registrar
    erin = world.erin.address
    reg.send(prop.functions.batchMint([erin], [7], refs("deed-77")))
    reg.reverts(prop.functions.mint(erin, 7, b32("deed-77")), "ReferenceAlreadyUsed", ref=b32("deed-77"))
    assert balance(prop, erin) == 7


def test_batch_sent_again_in_another_order_or_other_chunks_mints_nothing(world):
    prop, reg = world.prop, world.registrar
    to = [world.carol.address, world.dave.address, world.erin.address, world.alice.address]
    amounts = [10, 20, 30, 40]
    rs = refs("sale-1", "sale-2", "sale-3", "sale-4")
    reg.send(prop.functions.batchMint(to, amounts, rs))
    start = ([balance(prop, a) for a in to], supply(prop), holders(prop))

    # the same batch in reverse order: every allocation is skipped
    receipt = reg.send(prop.functions.batchMint(to[::-1], amounts[::-1], rs[::-1]))
    assert events(prop, "Minted", receipt) == [] and events(prop, "Transfer", receipt) == []
    skipped = events(prop, "MintSkipped", receipt)
    assert [(e["ref"], e["to"], e["amount"]) for e in skipped] == list(zip(rs[::-1], to[::-1], amounts[::-1]))
    batch = one_event(prop, "BatchMinted", receipt)
    assert (batch["minted"], batch["skipped"], batch["total"]) == (0, 4, 0)
    # split into other chunks, and one chunk with a new allocation: only the new one mints
    for chunk in ([1, 3], [0], [2]):
        receipt = reg.send(prop.functions.batchMint([to[i] for i in chunk], [amounts[i] for i in chunk], [rs[i] for i in chunk]))
        assert events(prop, "Minted", receipt) == [] and len(events(prop, "MintSkipped", receipt)) == len(chunk)
    assert ([balance(prop, a) for a in to], supply(prop), holders(prop)) == start
    receipt = reg.send(prop.functions.batchMint([to[2], world.bob.address], [30, 5], [rs[2], b32("sale-5")]))
    assert [(e["ref"], e["amount"]) for e in events(prop, "Minted", receipt)] == [(b32("sale-5"), 5)]
    assert [e["ref"] for e in events(prop, "MintSkipped", receipt)] == [rs[2]]
    batch = one_event(prop, "BatchMinted", receipt)
    assert (batch["minted"], batch["skipped"], batch["total"]) == (1, 1, 5)
    assert supply(prop) == start[1] + 5


def test_batch_with_a_used_reference_for_another_recipient_or_amount_conflicts(world):
    prop, reg = world.prop, world.registrar
    carol, dave, erin = world.carol.address, world.dave.address, world.erin.address
    reg.send(prop.functions.batchMint([carol], [10], refs("deed-9")))
    before = supply(prop)
    for to, amount in ((dave, 10), (carol, 11)):  # another recipient, another amount
        reg.reverts(prop.functions.batchMint([erin, to], [5, amount], refs("fresh", "deed-9")),
                    "ReferenceConflict", ref=b32("deed-9"))
    # the genesis allocations conflict too, and nothing of a conflicting batch is minted
    reg.reverts(prop.functions.batchMint([world.alice.address], [999], refs("genesis-alice")), "ReferenceConflict",
                ref=b32("genesis-alice"))
    assert supply(prop) == before and balance(prop, erin) == 0 and prop.functions.isReferenceUsed(b32("fresh")).call() is False
    assert prop.functions.allocationOf(b32("deed-9")).call() == allocation(carol, 10)


def test_a_reference_repeated_within_one_batch_mints_once(world):
    prop, reg = world.prop, world.registrar
    erin = world.erin.address
    receipt = reg.send(prop.functions.batchMint([erin, erin], [5, 5], refs("twice", "twice")))
    batch = one_event(prop, "BatchMinted", receipt)
    assert (batch["minted"], batch["skipped"], batch["total"]) == (1, 1, 5) and balance(prop, erin) == 5
    reg.reverts(prop.functions.batchMint([erin, erin], [5, 6], refs("again", "again")), "ReferenceConflict", ref=b32("again"))


def test_cap(world):
    prop, reg = world.prop, world.registrar
    erin = world.erin.address
    room = PROP_CAP - supply(prop)
    mint_rejected(prop, reg, erin, room + 1, b32("over"), CAP)
    reg.reverts(prop.functions.batchMint([erin, erin], [room, 1], refs("over", "over-2")), "TransferNotAllowed",
                **{"from": ZERO, "to": erin, "amount": 1, "reason": CAP})  # the second item overflows the cap
    reg.send(prop.functions.mint(erin, room, b32("fill")))
    assert supply(prop) == PROP_CAP == prop.functions.cap().call()
    mint_rejected(prop, reg, erin, 1, b32("one-more"), CAP)
    # burning frees room under the cap again
    reg.send(prop.functions.burn(erin, 1, b32("burn"), False))
    reg.send(prop.functions.mint(erin, 1, b32("refill")))
    assert supply(prop) == PROP_CAP


def test_huge_amounts_answer_a_reason_never_a_panic(world, token):
    f = token.functions
    a, b, erin = world.alice.address, world.bob.address, world.erin.address
    supply_code = CAP if token is world.prop else RESERVE
    assert verdict(f, ZERO, erin, MAX_UINT) == (False, supply_code)
    assert verdict(f, ZERO, a, MAX_UINT) == (False, supply_code)  # a holder already
    assert verdict(f, a, b, MAX_UINT) == (False, INSUFFICIENT)
    assert verdict(f, a, ZERO, MAX_UINT) == (False, INSUFFICIENT)
    for include in (False, True):
        assert tuple(f.canForceTransfer(a, b, MAX_UINT, include).call()) == (False, INSUFFICIENT)
        assert tuple(f.canForceTransfer(a, ZERO, MAX_UINT, include).call()) == (False, INSUFFICIENT)
    mint_rejected(token, world.registrar, erin, MAX_UINT, b32("huge"), supply_code)
    world.registrar.reverts(f.batchMint([erin], [MAX_UINT], refs("huge")), "TransferNotAllowed", reason=supply_code)
    transfer_rejected(token, world.alice, b, MAX_UINT, INSUFFICIENT)
    forced_rejected(token, world.registrar, a, b, MAX_UINT, INSUFFICIENT, include_frozen=True)
    forced_rejected(token, world.registrar, a, ZERO, MAX_UINT, INSUFFICIENT)
    # with a max balance, the recipient's limit is reported first
    world.compliance.send(f.setMaxBalance(2**104 - 1))
    assert verdict(f, ZERO, erin, MAX_UINT) == (False, MAX_BALANCE)
    world.compliance.send(f.setMaxHolders(2))
    world.compliance.send(f.setMaxBalance(0))
    assert verdict(f, ZERO, erin, MAX_UINT) == (False, MAX_HOLDERS)
    assert verdict(f, ZERO, a, MAX_UINT) == (False, supply_code)


# --------------------------------------------------------------------------------------------------- burn


def test_burn(world, token):
    reg, bob = world.registrar, world.bob.address
    start_supply, start_holders, bal = supply(token), holders(token), balance(token, bob)
    receipt = reg.send(token.functions.burn(bob, 100, b32("court-order-1"), False))
    ev = one_event(token, "Burned", receipt)
    assert same(ev["from"], bob) and ev["amount"] == 100 and ev["reason"] == b32("court-order-1")
    assert ev["frozenUnitsMoved"] == 0
    t = one_event(token, "Transfer", receipt)
    assert same(t["from"], bob) and same(t["to"], ZERO) and t["value"] == 100
    assert balance(token, bob) == bal - 100 and supply(token) == start_supply - 100 and holders(token) == start_holders
    forced_ok(token, reg, bob, ZERO, bal - 100)
    assert balance(token, bob) == 0 and holders(token) == start_holders - 1
    forced_rejected(token, reg, bob, ZERO, 1, INSUFFICIENT)
    reg.reverts(token.functions.burn(ZERO, 1, b32("x"), False), "ERC20InvalidSender", sender=ZERO)


def test_burn_of_frozen_units_only_with_include_frozen(world):
    prop, reg, comp = world.prop, world.registrar, world.compliance
    alice = world.alice.address
    comp.send(prop.functions.setAddressFrozen(alice, True))
    comp.send(prop.functions.freezePartialTokens(alice, 300))
    reg.send(prop.functions.createLien(alice, world.dave.address, 200, b32("loan"), sha("lien")))
    assert prop.functions.freeBalanceOf(alice).call() == 500
    forced_rejected(prop, reg, alice, ZERO, 1, SENDER_FROZEN)  # a frozen wallet's units need the flag
    receipt = forced_ok(prop, reg, alice, ZERO, 600, include_frozen=True)  # 500 free + 100 partially frozen
    ev = one_event(prop, "Burned", receipt)
    assert (ev["amount"], ev["frozenUnitsMoved"]) == (600, 600)  # every unit of a frozen wallet is frozen
    unfrozen = one_event(prop, "Frozen", receipt)  # ERC-7943: the frozen units used are unfrozen first
    assert same(unfrozen["account"], alice) and unfrozen["amount"] == 200
    assert event_names(prop, receipt).index("Frozen") < event_names(prop, receipt).index("Transfer")
    assert balance(prop, alice) == 400 and prop.functions.getFrozenTokens(alice).call() == 200
    # the 200 under the lien never move, not even with the flag
    forced_rejected(prop, reg, alice, ZERO, 201, UNLOCKED, include_frozen=True)
    forced_ok(prop, reg, alice, ZERO, 200, include_frozen=True)
    assert balance(prop, alice) == 200 == prop.functions.encumberedBalanceOf(alice).call()
    assert prop.functions.getFrozenTokens(alice).call() == 0 and prop.functions.freeBalanceOf(alice).call() == 0


def test_burn_of_partially_frozen_units_only_with_include_frozen(world, token):
    reg, comp = world.registrar, world.compliance
    a = world.alice.address
    bal = balance(token, a)
    comp.send(token.functions.freezePartialTokens(a, 100))
    forced_rejected(token, reg, a, ZERO, bal - 99, UNLOCKED)
    receipt = forced_ok(token, reg, a, ZERO, bal - 90, include_frozen=True)
    assert one_event(token, "Burned", receipt)["frozenUnitsMoved"] == 10
    assert one_event(token, "Frozen", receipt)["amount"] == 90
    # within the free balance the flag moves no frozen unit
    comp.send(token.functions.unfreezePartialTokens(a, 50))
    receipt = forced_ok(token, reg, a, ZERO, 50, include_frozen=True)
    assert one_event(token, "Burned", receipt)["frozenUnitsMoved"] == 0 and events(token, "Frozen", receipt) == []


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
    alice.reverts(token.functions.transfer(ZERO, 1), "ERC20InvalidReceiver", receiver=ZERO)


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


def test_pause_stops_every_move(world, token):
    comp, reg, alice, bob, erin = world.compliance, world.registrar, world.alice, world.bob, world.erin.address
    a, b = alice.address, bob.address
    before = (balance(token, a), balance(token, b), supply(token))
    ev = one_event(token, "Paused", comp.send(token.functions.pause()))
    assert same(ev["account"], comp.address) and token.functions.paused().call() is True
    transfer_rejected(token, alice, b, 1, PAUSED)
    bob.send(token.functions.approve(a, 10))
    assert_rejected(token, alice, token.functions.transferFrom(b, a, 1), b, a, 1, PAUSED)
    # mints, batch mints, burns and forced transfers stop too (a compromised registrar key is stopped as well)
    mint_rejected(token, reg, erin, 5, b32("during-pause"), PAUSED)
    reg.reverts(token.functions.batchMint([erin], [5], refs("during-pause")), "TransferNotAllowed",
                **{"from": ZERO, "to": erin, "amount": 5, "reason": PAUSED})
    for include in (False, True):
        forced_rejected(token, reg, a, b, 3, PAUSED, include_frozen=include)
        forced_rejected(token, reg, b, ZERO, 2, PAUSED, include_frozen=include)
    assert verdict(token.functions, a, ZERO, 1) == (False, PAUSED)  # nor a redemption request
    assert (balance(token, a), balance(token, b), supply(token)) == before and balance(token, erin) == 0
    comp.reverts(token.functions.pause(), "EnforcedPause")
    ev = one_event(token, "Unpaused", comp.send(token.functions.unpause()))
    assert same(ev["account"], comp.address) and token.functions.paused().call() is False
    transfer_ok(token, alice, b, 1)
    reg.send(token.functions.mint(erin, 5, b32("during-pause")))
    forced_ok(token, reg, a, b, 3)
    comp.reverts(token.functions.unpause(), "ExpectedPause")


# --------------------------------------------------------------------------------------------------- freezes


def test_wallet_freeze_both_sides(world, token):
    comp, alice, bob = world.compliance, world.alice, world.bob
    ev = one_event(token, "AddressFrozen", comp.send(token.functions.setAddressFrozen(alice.address, True)))
    assert same(ev["_userAddress"], alice.address) and ev["_isFrozen"] is True and same(ev["_owner"], comp.address)
    assert token.functions.isFrozen(alice.address).call() is True and token.functions.frozenWalletCount().call() == 1
    assert token.functions.canTransact(alice.address).call() is False
    transfer_rejected(token, alice, bob.address, 1, SENDER_FROZEN)
    transfer_rejected(token, bob, alice.address, 1, RECIPIENT_FROZEN)
    mint_rejected(token, world.registrar, alice.address, 1, b32("m"), RECIPIENT_FROZEN)
    comp.send(token.functions.setAddressFrozen(alice.address, True))  # idempotent: counted once
    assert token.functions.frozenWalletCount().call() == 1
    transfer_ok(token, bob, world.carol.address, 1)  # other wallets unaffected
    ev = one_event(token, "AddressFrozen", comp.send(token.functions.setAddressFrozen(alice.address, False)))
    assert ev["_isFrozen"] is False
    assert token.functions.isFrozen(alice.address).call() is False and token.functions.frozenWalletCount().call() == 0
    assert token.functions.canTransact(alice.address).call() is True
    transfer_ok(token, alice, bob.address, 1)
    transfer_ok(token, bob, alice.address, 1)


def test_partial_freeze(world, token):
    comp, alice = world.compliance, world.alice
    a = alice.address
    bal = balance(token, a)
    receipt = comp.send(token.functions.freezePartialTokens(a, 400))
    ev, total = one_event(token, "TokensFrozen", receipt), one_event(token, "Frozen", receipt)
    assert same(ev["_userAddress"], a) and ev["_amount"] == 400 and (total["account"], total["amount"]) == (a, 400)
    receipt = comp.send(token.functions.freezePartialTokens(a, 100))
    assert one_event(token, "TokensFrozen", receipt)["_amount"] == 100 and one_event(token, "Frozen", receipt)["amount"] == 500
    assert token.functions.getFrozenTokens(a).call() == 500 and token.functions.freeBalanceOf(a).call() == bal - 500
    transfer_rejected(token, alice, world.bob.address, bal - 499, UNLOCKED)
    transfer_ok(token, alice, world.bob.address, bal - 500)
    comp.reverts(token.functions.freezePartialTokens(a, 1), "AmountExceedsFreeBalance", holder=a, amount=1, free=0)
    comp.reverts(token.functions.freezePartialTokens(a, 0), "ZeroAmount")
    comp.reverts(token.functions.unfreezePartialTokens(a, 501), "AmountExceedsFrozen", holder=a, amount=501, frozen=500)
    comp.reverts(token.functions.unfreezePartialTokens(a, 0), "ZeroAmount")
    receipt = comp.send(token.functions.unfreezePartialTokens(a, 200))
    assert one_event(token, "TokensUnfrozen", receipt)["_amount"] == 200 and one_event(token, "Frozen", receipt)["amount"] == 300
    transfer_rejected(token, alice, world.bob.address, 201, UNLOCKED)
    transfer_ok(token, alice, world.bob.address, 200)
    assert balance(token, a) == 300 == token.functions.getFrozenTokens(a).call()


# --------------------------------------------------------------------------------------------------- forced transfer

# rules a forced transfer overrides: the sender's consent (verification) and the lock-up; the sender's wallet freeze
# only with includeFrozen
OVERRIDDEN = ["sender-not-verified", "lockup", "sender-frozen"]
# rules it obeys: the recipient's (and the pause)
OBEYED = ["paused", "recipient-not-verified", "recipient-frozen", "country", "max-balance", "max-holders"]


def _forced_setup(world, rule, to):
    prop, comp = world.prop, world.compliance
    f, alice = prop.functions, world.alice
    return {
        "paused": (lambda: comp.send(f.pause()), PAUSED),
        "sender-frozen": (lambda: comp.send(f.setAddressFrozen(alice.address, True)), SENDER_FROZEN),
        "recipient-frozen": (lambda: comp.send(f.setAddressFrozen(to, True)), RECIPIENT_FROZEN),
        "sender-not-verified": (lambda: comp.send(world.stack.identity.functions.deleteIdentity(alice.address)), SENDER_NV),
        "recipient-not-verified": (lambda: comp.send(world.stack.identity.functions.deleteIdentity(to)), RECIPIENT_NV),
        "lockup": (lambda: comp.send(f.setLockupUntil(world.chain.timestamp() + DAY)), LOCKED_UP),
        "country": (lambda: (comp.send(f.setCountryRestriction(2)), comp.send(f.setCountriesListed([US], True))), COUNTRY),
        "max-balance": (lambda: comp.send(f.setMaxBalance(50)), MAX_BALANCE),
        "max-holders": (lambda: comp.send(f.setMaxHolders(2)), MAX_HOLDERS),
    }[rule]


@pytest.mark.parametrize("rule", OVERRIDDEN)
def test_forced_transfer_overrides_rule(world, rule):
    prop, reg = world.prop, world.registrar
    alice, to = world.alice, world.carol.address  # carol: US, holds nothing
    action, code = _forced_setup(world, rule, to)
    action()
    transfer_rejected(prop, alice, to, 100, code)  # an ordinary transfer is refused...
    include = rule == "sender-frozen"
    if include:
        forced_rejected(prop, reg, alice.address, to, 100, SENDER_FROZEN)  # ...a forced one only with the flag
    receipt = forced_ok(prop, reg, alice.address, to, 100, include_frozen=include, reason=b32("court-order-9"))
    ev, why = one_event(prop, "ForcedTransfer", receipt), one_event(prop, "ForcedTransferReason", receipt)
    assert same(ev["from"], alice.address) and same(ev["to"], to) and ev["amount"] == 100
    assert why["reason"] == b32("court-order-9") and why["frozenUnitsMoved"] == (100 if include else 0)
    assert balance(prop, to) == 100 and balance(prop, alice.address) == 900 and holders(prop) == 3


@pytest.mark.parametrize("rule", OBEYED)
def test_forced_transfer_obeys_the_recipients_rules(world, rule):
    prop, reg = world.prop, world.registrar
    alice, to = world.alice, world.carol.address
    action, code = _forced_setup(world, rule, to)
    action()
    transfer_rejected(prop, alice, to, 100, code)
    for include in (False, True):  # the flag only concerns frozen units
        forced_rejected(prop, reg, alice.address, to, 100, code, include_frozen=include)
    assert balance(prop, to) == 0 and balance(prop, alice.address) == 1000


def test_forced_transfer_requires_verified_recipient_and_never_moves_liened_units(world, token):
    reg = world.registrar
    a, b = world.alice.address, world.bob.address
    bal = balance(token, a)
    forced_rejected(token, reg, a, world.outsider.address, 1, RECIPIENT_NV)
    reg.send(token.functions.createLien(a, world.dave.address, 100, b32("loan"), sha("doc")))
    for include in (False, True):
        forced_rejected(token, reg, a, b, bal - 99, UNLOCKED, include_frozen=include)
    forced_rejected(token, reg, a, b, bal + 1, INSUFFICIENT)
    reg.reverts(token.functions.forcedTransfer(ZERO, b, 1, b32("x"), False), "ERC20InvalidSender", sender=ZERO)
    reg.reverts(token.functions.forcedTransfer(a, ZERO, 1, b32("x"), False), "ERC20InvalidReceiver", receiver=ZERO)
    forced_ok(token, reg, a, b, bal - 100, include_frozen=True)
    assert balance(token, a) == 100 == token.functions.encumberedBalanceOf(a).call()


def test_forced_transfer_moves_partially_frozen_units_only_with_include_frozen(world):
    prop, reg = world.prop, world.registrar
    a, b = world.alice.address, world.bob.address
    world.compliance.send(prop.functions.freezePartialTokens(a, 800))
    forced_rejected(prop, reg, a, b, 500, UNLOCKED)  # 200 free
    receipt = forced_ok(prop, reg, a, b, 500, include_frozen=True)
    assert one_event(prop, "ForcedTransferReason", receipt)["frozenUnitsMoved"] == 300
    ev = one_event(prop, "Frozen", receipt)
    assert same(ev["account"], a) and ev["amount"] == 500
    assert prop.functions.getFrozenTokens(a).call() == 500 and balance(prop, a) == 500
    assert prop.functions.freeBalanceOf(a).call() == 0
    # within the free balance nothing is unfrozen, flag or not
    world.compliance.send(prop.functions.unfreezePartialTokens(a, 100))
    receipt = forced_ok(prop, reg, a, b, 100)
    assert events(prop, "Frozen", receipt) == [] and prop.functions.getFrozenTokens(a).call() == 400
    assert one_event(prop, "ForcedTransferReason", receipt)["frozenUnitsMoved"] == 0


def test_forced_transfer_of_a_frozen_wallet_counts_every_unit_as_frozen(world, token):
    reg, comp = world.registrar, world.compliance
    a, b = world.alice.address, world.bob.address
    comp.send(token.functions.setAddressFrozen(a, True))
    comp.send(token.functions.freezePartialTokens(a, 100))
    forced_rejected(token, reg, a, b, 1, SENDER_FROZEN)
    receipt = forced_ok(token, reg, a, b, 50, include_frozen=True)
    assert one_event(token, "ForcedTransferReason", receipt)["frozenUnitsMoved"] == 50
    assert events(token, "Frozen", receipt) == []  # the partially frozen units were not needed
    bal = balance(token, a)
    receipt = forced_ok(token, reg, a, b, bal, include_frozen=True)  # everything, partially frozen units included
    assert one_event(token, "ForcedTransferReason", receipt)["frozenUnitsMoved"] == bal
    assert one_event(token, "Frozen", receipt)["amount"] == 0
    assert token.functions.isFrozen(a).call() is True and token.functions.getFrozenTokens(a).call() == 0


def test_forced_self_transfer_is_refused_and_keeps_the_freeze(world):
    # A forced self-transfer would move nothing but could unfreeze units without COMPLIANCE_ROLE.
    prop = world.prop
    a = world.alice.address
    world.compliance.send(prop.functions.freezePartialTokens(a, 800))
    world.registrar.reverts(prop.functions.forcedTransfer(a, a, 1000, b32("noop"), True), "ForcedSelfTransfer", wallet=a)
    assert balance(prop, a) == 1000 and prop.functions.getFrozenTokens(a).call() == 800
    with pytest.raises(CustomErrorRevert, match="ForcedSelfTransfer"):  # the view says what the move would do
        world.admin.tx.call(prop.functions.canForceTransfer(a, a, 1, False))


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


@pytest.mark.parametrize("by", ["beneficiary", "registrar"])
def test_change_lien_beneficiary(world, token, by):
    reg, bank, new_bank = world.registrar, world.dave, world.erin
    a = world.alice.address
    reg.send(token.functions.createLien(a, bank.address, 100, b32("L1"), sha("d")))
    for stranger in (world.carol, world.alice, world.compliance, world.custodian, world.admin, new_bank):
        stranger.refused(token.functions.changeLienBeneficiary(1, new_bank.address), "registrar")
    actor = bank if by == "beneficiary" else reg
    actor.reverts(token.functions.changeLienBeneficiary(1, ZERO), "ZeroAddress")
    ev = one_event(token, "LienBeneficiaryChanged", actor.send(token.functions.changeLienBeneficiary(1, new_bank.address)))
    assert ev["lienId"] == 1 and same(ev["previousBeneficiary"], bank.address)
    assert same(ev["newBeneficiary"], new_bank.address) and same(ev["changedBy"], actor.address)
    assert tuple(token.functions.lien(1).call()) == (a, new_bank.address, 100, False)
    # the old beneficiary can neither release it nor change it again; the new one can
    bank.refused(token.functions.releaseLien(1), "registrar")
    bank.refused(token.functions.changeLienBeneficiary(1, bank.address), "registrar")
    ev = one_event(token, "LienReleased", new_bank.send(token.functions.releaseLien(1)))
    assert same(ev["beneficiary"], new_bank.address) and same(ev["releasedBy"], new_bank.address)
    assert token.functions.encumberedBalanceOf(a).call() == 0
    reg.reverts(token.functions.changeLienBeneficiary(1, bank.address), "LienNotActive", lienId=1)
    reg.reverts(token.functions.changeLienBeneficiary(7, bank.address), "LienNotActive", lienId=7)


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


def test_lien_amount_bounded_by_uint96(world):
    _, big, _ = create_property(world, "BIG", cap=2**100, activate=True)
    a = world.alice.address
    world.registrar.send(big.functions.mint(a, 2**96, b32("big")))
    world.registrar.reverts(big.functions.createLien(a, world.dave.address, 2**96, b32("x"), sha("x")),
                            "SafeCastOverflowedUintDowncast", bits=96, value=2**96)
    world.registrar.send(big.functions.createLien(a, world.dave.address, 2**96 - 1, b32("x"), sha("x")))
    assert big.functions.encumberedBalanceOf(a).call() == 2**96 - 1 and big.functions.freeBalanceOf(a).call() == 1


# --------------------------------------------------------------------------------------------------- country rules


def test_country_allowlist(world, token):
    comp, alice, reg = world.compliance, world.alice, world.registrar
    f = token.functions
    reg.send(f.mint(world.carol.address, 5, b32("carol")))  # a US holder, before the rule
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
    mint_rejected(token, reg, world.carol.address, 1, b32("m"), COUNTRY)
    forced_rejected(token, reg, alice.address, world.carol.address, 1, COUNTRY)  # forced moves obey it too
    # only the recipient's country counts: a US holder may send to PK
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
    forced_rejected(prop, world.registrar, alice.address, world.carol.address, 1, COUNTRY, include_frozen=True)
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
    forced_ok(token, reg, c.address, ZERO, balance(token, c.address))
    assert holders(token) == 1
    forced_ok(token, reg, a.address, world.dave.address, 1)
    assert holders(token) == 2


def test_max_holders(world):
    prop, comp, reg = world.prop, world.compliance, world.registrar
    alice, bob, carol = world.alice, world.bob, world.carol
    ev = one_event(prop, "MaxHoldersSet", comp.send(prop.functions.setMaxHolders(2)))
    assert ev["maxHolders"] == 2 and prop.functions.rules().call()[2] == 2
    transfer_rejected(prop, alice, carol.address, 1, MAX_HOLDERS)
    mint_rejected(prop, reg, carol.address, 1, b32("m"), MAX_HOLDERS)
    forced_rejected(prop, reg, alice.address, carol.address, 1, MAX_HOLDERS)  # forced moves respect it too
    transfer_ok(prop, alice, bob.address, 1)  # existing holders trade freely
    transfer_ok(prop, bob, carol.address, balance(prop, bob.address))  # bob leaves as carol joins
    forced_ok(prop, reg, carol.address, bob.address, balance(prop, carol.address))  # and back, forced
    assert holders(prop) == 2
    comp.send(prop.functions.setMaxHolders(3))
    transfer_ok(prop, alice, carol.address, 1)
    assert holders(prop) == 3
    forced_rejected(prop, reg, alice.address, world.dave.address, 1, MAX_HOLDERS)
    transfer_rejected(prop, alice, world.erin.address, 1, MAX_HOLDERS)
    comp.send(prop.functions.setMaxHolders(2))  # holders above the maximum are not affected
    transfer_ok(prop, alice, carol.address, 1)
    comp.send(prop.functions.setMaxHolders(0))  # unlimited
    transfer_ok(prop, alice, world.erin.address, 1)
    forced_ok(prop, reg, alice.address, world.dave.address, 1)
    assert holders(prop) == 5
    comp.reverts(prop.functions.setMaxHolders(2**32), "SafeCastOverflowedUintDowncast", bits=32, value=2**32)


# --------------------------------------------------------------------------------------------------- max balance


def test_max_balance(world):
    prop, comp, reg = world.prop, world.compliance, world.registrar
    alice, bob = world.alice, world.bob
    ev = one_event(prop, "MaxBalanceSet", comp.send(prop.functions.setMaxBalance(1200)))
    assert ev["maxBalance"] == 1200 and prop.functions.rules().call()[3] == 1200
    transfer_rejected(prop, alice, bob.address, 701, MAX_BALANCE)
    forced_rejected(prop, reg, alice.address, bob.address, 701, MAX_BALANCE)  # forced moves respect it too
    transfer_ok(prop, alice, bob.address, 700)
    assert balance(prop, bob.address) == 1200
    mint_rejected(prop, reg, bob.address, 1, b32("m"), MAX_BALANCE)
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
    forced_ok(token, reg, world.alice.address, world.bob.address, 1)  # nor a forced move
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


def test_first_failing_rule_of_a_mint(world):
    """Mints: paused, asset not active, recipient not verified, recipient frozen, country, max balance, cap."""
    prop, comp, reg = world.prop, world.compliance, world.registrar
    f = prop.functions
    carol = world.carol.address  # US
    room = PROP_CAP - supply(prop)
    comp.send(f.setLockupUntil(world.chain.timestamp() + DAY))  # never checked for mints
    mint_rejected(prop, reg, carol, room + 1, b32("m"), CAP)
    comp.send(f.setMaxBalance(room))
    mint_rejected(prop, reg, carol, room + 1, b32("m"), MAX_BALANCE)
    comp.send(f.setCountryRestriction(1))
    mint_rejected(prop, reg, carol, room + 1, b32("m"), COUNTRY)
    comp.send(f.setAddressFrozen(carol, True))
    mint_rejected(prop, reg, carol, room + 1, b32("m"), RECIPIENT_FROZEN)
    comp.send(world.stack.identity.functions.deleteIdentity(carol))
    mint_rejected(prop, reg, carol, room + 1, b32("m"), RECIPIENT_NV)
    world.set_status(world.prop_asset, 2)
    mint_rejected(prop, reg, carol, room + 1, b32("m"), ASSET_NOT_ACTIVE)
    comp.send(f.pause())
    mint_rejected(prop, reg, carol, room + 1, b32("m"), PAUSED)


def test_first_failing_rule_of_a_forced_transfer(world):
    """Forced: paused, recipient not verified, sender frozen (without the flag), recipient frozen, country, balance,
    unlocked balance, max balance, max holders."""
    prop, comp, reg = world.prop, world.compliance, world.registrar
    f = prop.functions
    a, carol = world.alice.address, world.carol.address
    comp.send(f.setMaxHolders(2))
    forced_rejected(prop, reg, a, carol, 5, MAX_HOLDERS)
    comp.send(f.setMaxBalance(1))
    forced_rejected(prop, reg, a, carol, 5, MAX_BALANCE)
    comp.send(f.freezePartialTokens(a, 996))
    forced_rejected(prop, reg, a, carol, 5, UNLOCKED)
    forced_rejected(prop, reg, a, carol, 1001, INSUFFICIENT)
    comp.send(f.setCountryRestriction(1))
    forced_rejected(prop, reg, a, carol, 5, COUNTRY)
    comp.send(f.setAddressFrozen(carol, True))
    forced_rejected(prop, reg, a, carol, 5, RECIPIENT_FROZEN)
    comp.send(f.setAddressFrozen(a, True))
    forced_rejected(prop, reg, a, carol, 5, SENDER_FROZEN)
    forced_rejected(prop, reg, a, carol, 5, RECIPIENT_FROZEN, include_frozen=True)
    comp.send(world.stack.identity.functions.deleteIdentity(carol))
    forced_rejected(prop, reg, a, carol, 5, RECIPIENT_NV)
    comp.send(f.pause())
    forced_rejected(prop, reg, a, carol, 5, PAUSED, include_frozen=True)


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


def test_can_transfer_for_redemption_requests(world):
    """canTransfer(holder, 0, x) is the check of a holder's redemption request: pause, sender verified, sender frozen,
    balance, unlocked balance."""
    prop = world.prop
    a = world.alice.address
    assert verdict(prop.functions, a, ZERO, 1000) == (True, OK)
    assert verdict(prop.functions, a, ZERO, 1001) == (False, INSUFFICIENT)
    world.compliance.send(prop.functions.freezePartialTokens(a, 1))
    assert verdict(prop.functions, a, ZERO, 1000) == (False, UNLOCKED)
    world.compliance.send(prop.functions.setAddressFrozen(a, True))
    assert verdict(prop.functions, a, ZERO, 1) == (False, SENDER_FROZEN)
    world.compliance.send(world.stack.identity.functions.deleteIdentity(a))
    assert verdict(prop.functions, a, ZERO, 1) == (False, SENDER_NV)
    world.compliance.send(prop.functions.pause())
    assert verdict(prop.functions, a, ZERO, 1) == (False, PAUSED)
