"""CommodityToken: custody lots, minting against the attested reserve, and the redemption flow (requests lock
units; deliveries draw from one or more lots, burn the locked units and lower the lots and the reserve; no delivery
while paused or while the holder is frozen; requests follow a recovery)."""


from contracts_kit import (
    verdict,
    COMM_RESERVE, INSUFFICIENT, OK, PAUSED, RESERVE, SENDER_FROZEN, SENDER_NV, UNLOCKED, ZERO, b32, balance, events,
    forced_rejected, mint_rejected, one_event, same, sha, transfer_ok, transfer_rejected,
)

LOT1, LOT2 = b32("LOT-1"), b32("LOT-2")
NONE, ACTIVE, RETIRED = 0, 1, 2
PENDING, FULFILLED, REJECTED = 1, 2, 3


def reserve(t):
    return t.functions.attestedReserve().call()


def supply(t):
    return t.functions.totalSupply().call()


def test_world_reserve_backs_supply(world):
    c = world.comm
    assert reserve(c) == COMM_RESERVE and supply(c) == 15_000
    q, attested_at, status, receipt, vault = c.functions.lot(LOT1).call()
    assert (q, status, receipt, vault) == (COMM_RESERVE, ACTIVE, b32("receipt-1"), "Karachi vault 7") and attested_at > 0


def test_attest_lot(world):
    c, cust = world.comm, world.custodian
    receipt = cust.send(c.functions.attestLot(LOT2, "Lahore vault 2", 50_000, sha("wr-2")))
    ev = one_event(c, "LotAttested", receipt)
    assert ev["lotId"] == LOT2 and ev["vault"] == "Lahore vault 2" and ev["quantity"] == 50_000
    assert ev["receiptHash"] == sha("wr-2") and ev["reserve"] == COMM_RESERVE + 50_000 and same(ev["custodian"], cust.address)
    ts = world.chain.w3.eth.get_block(receipt.block_number)["timestamp"]
    assert tuple(c.functions.lot(LOT2).call()) == (50_000, ts, ACTIVE, sha("wr-2"), "Lahore vault 2")
    assert reserve(c) == COMM_RESERVE + 50_000


def test_attest_lot_rejections(world):
    c, cust = world.comm, world.custodian
    cust.reverts(c.functions.attestLot(LOT1, "again", 1, sha("x")), "LotAlreadyExists", lotId=LOT1)
    cust.reverts(c.functions.attestLot(b"\0" * 32, "v", 1, sha("x")), "InvalidLotId")
    cust.reverts(c.functions.attestLot(LOT2, "v", 0, sha("x")), "ZeroAmount")
    cust.reverts(c.functions.attestLot(LOT2, "v", 2**128, sha("x")), "SafeCastOverflowedUintDowncast", bits=128, value=2**128)
    assert reserve(c) == COMM_RESERVE
    # a retired lot id is never reused
    cust.send(c.functions.attestLot(LOT2, "v", 10, sha("x")))
    cust.send(c.functions.retireLot(LOT2, b32("audit")))
    cust.reverts(c.functions.attestLot(LOT2, "v", 10, sha("x")), "LotAlreadyExists", lotId=LOT2)


def test_mint_only_up_to_attested_reserve(world):
    c, reg = world.comm, world.registrar
    erin = world.erin.address
    room = reserve(c) - supply(c)
    mint_rejected(c, reg, erin, room + 1, b32("m1"), RESERVE)
    reg.send(c.functions.mint(erin, room, b32("m1")))
    assert supply(c) == reserve(c)
    mint_rejected(c, reg, erin, 1, b32("m2"), RESERVE)
    reg.reverts(c.functions.batchMint([erin], [1], [b32("m3")]), "TransferNotAllowed", reason=RESERVE)
    world.custodian.send(c.functions.attestLot(LOT2, "v", 5, sha("x")))
    assert verdict(c.functions, ZERO, erin, 5) == (True, OK)
    reg.send(c.functions.mint(erin, 5, b32("m2")))
    assert supply(c) == reserve(c) == COMM_RESERVE + 5


def test_reduce_lot(world):
    c, cust = world.comm, world.custodian
    receipt = cust.send(c.functions.reduceLot(LOT1, 30_000, b32("audit-7")))
    ev = one_event(c, "LotReduced", receipt)
    assert (ev["lotId"], ev["amount"], ev["quantity"], ev["reserve"], ev["reason"]) == (LOT1, 30_000, 70_000, 70_000, b32("audit-7"))
    assert c.functions.lot(LOT1).call()[0] == 70_000 and reserve(c) == 70_000
    # the reserve can never fall below the supply (15_000)
    cust.reverts(c.functions.reduceLot(LOT1, 55_001, b32("x")), "ReserveBelowSupply", reserve=14_999, supply=15_000)
    cust.reverts(c.functions.reduceLot(LOT1, 70_001, b32("x")), "LotQuantityExceeded", lotId=LOT1, quantity=70_000, requested=70_001)
    cust.reverts(c.functions.reduceLot(LOT1, 0, b32("x")), "ZeroAmount")
    cust.reverts(c.functions.reduceLot(LOT2, 1, b32("x")), "LotNotActive", lotId=LOT2)
    cust.send(c.functions.reduceLot(LOT1, 55_000, b32("x")))
    assert reserve(c) == supply(c) == 15_000


def test_retire_lot(world):
    c, cust = world.comm, world.custodian
    cust.reverts(c.functions.retireLot(LOT1, b32("x")), "ReserveBelowSupply", reserve=0, supply=15_000)
    cust.send(c.functions.attestLot(LOT2, "v2", 40_000, sha("r2")))
    ev = one_event(c, "LotRetired", cust.send(c.functions.retireLot(LOT1, b32("moved"))))
    assert (ev["lotId"], ev["quantity"], ev["reserve"], ev["reason"]) == (LOT1, COMM_RESERVE, 40_000, b32("moved"))
    q, _, status, rh, vault = c.functions.lot(LOT1).call()
    assert (q, status, rh, vault) == (0, RETIRED, b32("receipt-1"), "Karachi vault 7")  # history kept
    assert reserve(c) == 40_000
    cust.reverts(c.functions.retireLot(LOT1, b32("x")), "LotNotActive", lotId=LOT1)
    cust.reverts(c.functions.reduceLot(LOT1, 1, b32("x")), "LotNotActive", lotId=LOT1)
    cust.reverts(c.functions.retireLot(b32("NOPE"), b32("x")), "LotNotActive", lotId=b32("NOPE"))
    assert tuple(c.functions.lot(b32("NOPE")).call())[2] == NONE


# --------------------------------------------------------------------------------------------------- redemption


def request(world, who, amount, ref="DLV-1"):
    receipt = who.send(world.comm.functions.requestRedemption(amount, b32(ref)))
    return one_event(world.comm, "RedemptionRequested", receipt)


def test_request_locks_units(world):
    c, alice = world.comm, world.alice
    a = alice.address
    ev = request(world, alice, 4_000, "DLV-ALICE")
    assert ev["requestId"] == 1 and same(ev["holder"], a) and ev["amount"] == 4_000 and ev["deliveryRef"] == b32("DLV-ALICE")
    assert tuple(c.functions.redemption(1).call()) == (a, PENDING, 4_000, b32("DLV-ALICE"))
    assert c.functions.redemptionCount().call() == 1
    assert balance(c, a) == 10_000 and supply(c) == 15_000  # nothing burned yet
    assert c.functions.lockedBalanceOf(a).call() == 4_000 and c.functions.freeBalanceOf(a).call() == 6_000
    # locked units cannot move: not by transfer, not by a forced move, not by a burn, not by a second request
    transfer_rejected(c, alice, world.bob.address, 6_001, UNLOCKED)
    for include in (False, True):  # locked units never move, not even with includeFrozen
        forced_rejected(c, world.registrar, a, world.bob.address, 6_001, UNLOCKED, include_frozen=include)
        forced_rejected(c, world.registrar, a, ZERO, 6_001, UNLOCKED, include_frozen=include)
    alice.reverts(c.functions.requestRedemption(6_001, b32("x")), "TransferNotAllowed",
                  **{"from": a, "to": ZERO, "amount": 6_001, "reason": UNLOCKED})
    transfer_ok(c, alice, world.bob.address, 6_000)


def test_request_rejections(world):
    c, alice, comp = world.comm, world.alice, world.compliance
    a = alice.address
    alice.reverts(c.functions.requestRedemption(0, b32("x")), "ZeroAmount")
    alice.reverts(c.functions.requestRedemption(10_001, b32("x")), "TransferNotAllowed",
                  **{"from": a, "to": ZERO, "amount": 10_001, "reason": INSUFFICIENT})
    assert verdict(c.functions, a, ZERO, 10_001) == (False, INSUFFICIENT)
    world.erin.reverts(c.functions.requestRedemption(1, b32("x")), "TransferNotAllowed", reason=INSUFFICIENT)
    comp.send(c.functions.freezePartialTokens(a, 9_000))
    alice.reverts(c.functions.requestRedemption(1_001, b32("x")), "TransferNotAllowed", reason=UNLOCKED)
    comp.send(c.functions.unfreezePartialTokens(a, 9_000))
    comp.send(c.functions.setAddressFrozen(a, True))
    assert verdict(c.functions, a, ZERO, 1) == (False, SENDER_FROZEN)
    alice.reverts(c.functions.requestRedemption(1, b32("x")), "TransferNotAllowed", reason=SENDER_FROZEN)
    comp.send(c.functions.setAddressFrozen(a, False))
    comp.send(c.functions.pause())
    alice.reverts(c.functions.requestRedemption(1, b32("x")), "TransferNotAllowed", reason=PAUSED)
    comp.send(c.functions.unpause())
    comp.send(world.stack.identity.functions.deleteIdentity(a))
    alice.reverts(c.functions.requestRedemption(1, b32("x")), "TransferNotAllowed", reason=SENDER_NV)
    assert c.functions.redemptionCount().call() == 0 and c.functions.lockedBalanceOf(a).call() == 0


def test_fulfil_burns_and_reduces_lot_and_reserve(world):
    c, cust = world.comm, world.custodian
    a = world.alice.address
    request(world, world.alice, 4_000)
    receipt = cust.send(c.functions.fulfilRedemption(1, [LOT1]))
    ev = one_event(c, "RedemptionFulfilled", receipt)
    assert (ev["requestId"], ev["amount"], ev["reserve"]) == (1, 4_000, COMM_RESERVE - 4_000) and same(ev["holder"], a)
    drawn = one_event(c, "LotDrawn", receipt)
    assert (drawn["requestId"], drawn["lotId"], drawn["amount"], drawn["lotQuantity"]) == (1, LOT1, 4_000, COMM_RESERVE - 4_000)
    t = one_event(c, "Transfer", receipt)
    assert same(t["from"], a) and same(t["to"], ZERO) and t["value"] == 4_000
    assert balance(c, a) == 6_000 and supply(c) == 11_000 and reserve(c) == COMM_RESERVE - 4_000
    assert c.functions.lot(LOT1).call()[0] == COMM_RESERVE - 4_000
    assert c.functions.lockedBalanceOf(a).call() == 0 and c.functions.freeBalanceOf(a).call() == 6_000
    assert c.functions.redemption(1).call()[1] == FULFILLED
    cust.reverts(c.functions.fulfilRedemption(1, [LOT1]), "RedemptionNotPending", requestId=1)
    cust.reverts(c.functions.rejectRedemption(1, b32("x")), "RedemptionNotPending", requestId=1)
    cust.reverts(c.functions.fulfilRedemption(2, [LOT1]), "RedemptionNotPending", requestId=2)


def test_fulfil_of_whole_balance_drops_holder(world):
    c = world.comm
    request(world, world.bob, 5_000)
    assert c.functions.holderCount().call() == 2
    world.custodian.send(c.functions.fulfilRedemption(1, [LOT1]))
    assert balance(c, world.bob.address) == 0 and c.functions.holderCount().call() == 1


def test_fulfil_from_several_lots(world):
    """A request larger than any one lot is delivered from several, drawn in the order given."""
    c, cust = world.comm, world.custodian
    lot2, lot3 = b32("LOT-2"), b32("LOT-3")
    cust.send(c.functions.attestLot(lot2, "small", 1_000, sha("r2")))
    cust.send(c.functions.attestLot(lot3, "small", 2_500, sha("r3")))
    world.registrar.send(c.functions.burn(world.bob.address, 5_000, b32("fit"), False))
    world.registrar.send(c.functions.burn(world.alice.address, 6_500, b32("fit"), False))
    cust.send(c.functions.reduceLot(LOT1, COMM_RESERVE - 500, b32("moved")))  # LOT-1 keeps 500
    assert reserve(c) == 4_000 and supply(c) == 3_500  # no lot holds alice's 3,500
    request(world, world.alice, 3_200)
    receipt = cust.send(c.functions.fulfilRedemption(1, [lot2, LOT1, lot3]))
    drawn = [(e["lotId"], e["amount"], e["lotQuantity"]) for e in events(c, "LotDrawn", receipt)]
    assert drawn == [(lot2, 1_000, 0), (LOT1, 500, 0), (lot3, 1_700, 800)]
    assert all(e["requestId"] == 1 for e in events(c, "LotDrawn", receipt))
    assert one_event(c, "RedemptionFulfilled", receipt)["reserve"] == 800
    assert [c.functions.lot(lot).call()[0] for lot in (LOT1, lot2, lot3)] == [0, 0, 800]
    assert [c.functions.lot(lot).call()[2] for lot in (LOT1, lot2, lot3)] == [ACTIVE] * 3  # emptied, still active
    assert reserve(c) == 800 and supply(c) == 300 and balance(c, world.alice.address) == 300


def test_fulfil_stops_drawing_once_the_request_is_met(world):
    c, cust = world.comm, world.custodian
    lot2 = b32("LOT-2")
    cust.send(c.functions.attestLot(lot2, "v", 1_000, sha("r2")))
    request(world, world.alice, 700)
    receipt = cust.send(c.functions.fulfilRedemption(1, [lot2, LOT1]))
    assert [(e["lotId"], e["amount"]) for e in events(c, "LotDrawn", receipt)] == [(lot2, 700)]
    assert c.functions.lot(LOT1).call()[0] == COMM_RESERVE and c.functions.lot(lot2).call()[0] == 300


def test_fulfil_needs_active_lots_holding_enough(world):
    c, cust = world.comm, world.custodian
    lot2, lot3 = b32("LOT-2"), b32("LOT-3")
    cust.send(c.functions.attestLot(lot2, "small", 1_000, sha("r")))
    cust.send(c.functions.attestLot(lot3, "small", 2_000, sha("r")))
    request(world, world.alice, 4_000)
    cust.reverts(c.functions.fulfilRedemption(1, [lot2]), "LotQuantityExceeded", lotId=lot2, quantity=1_000, requested=4_000)
    cust.reverts(c.functions.fulfilRedemption(1, [lot2, lot3]), "LotQuantityExceeded", quantity=3_000, requested=4_000)
    cust.reverts(c.functions.fulfilRedemption(1, [lot2, lot2]), "LotQuantityExceeded", quantity=1_000, requested=4_000)
    cust.reverts(c.functions.fulfilRedemption(1, []), "LotQuantityExceeded", quantity=0, requested=4_000)
    cust.reverts(c.functions.fulfilRedemption(1, [b32("NOPE")]), "LotNotActive", lotId=b32("NOPE"))
    cust.reverts(c.functions.fulfilRedemption(1, [lot2, b32("NOPE"), LOT1]), "LotNotActive", lotId=b32("NOPE"))
    cust.send(c.functions.retireLot(lot2, b32("x")))
    cust.reverts(c.functions.fulfilRedemption(1, [lot2]), "LotNotActive", lotId=lot2)
    # nothing was drawn by the refused deliveries
    assert c.functions.redemption(1).call()[1] == PENDING and c.functions.lockedBalanceOf(world.alice.address).call() == 4_000
    assert c.functions.lot(lot3).call()[0] == 2_000 and reserve(c) == COMM_RESERVE + 2_000
    cust.send(c.functions.fulfilRedemption(1, [lot3, LOT1]))
    assert c.functions.lot(lot3).call()[0] == 0 and c.functions.lot(LOT1).call()[0] == COMM_RESERVE - 2_000


def test_reject_returns_units(world):
    c, cust, alice = world.comm, world.custodian, world.alice
    a = alice.address
    request(world, alice, 4_000)
    request(world, alice, 1_000, "DLV-2")
    assert c.functions.lockedBalanceOf(a).call() == 5_000
    ev = one_event(c, "RedemptionRejected", cust.send(c.functions.rejectRedemption(1, b32("no-delivery-address"))))
    assert (ev["requestId"], ev["amount"], ev["reason"]) == (1, 4_000, b32("no-delivery-address")) and same(ev["holder"], a)
    assert c.functions.redemption(1).call()[1] == REJECTED
    assert c.functions.lockedBalanceOf(a).call() == 1_000 and balance(c, a) == 10_000 and supply(c) == 15_000
    assert reserve(c) == COMM_RESERVE
    cust.reverts(c.functions.rejectRedemption(1, b32("x")), "RedemptionNotPending", requestId=1)
    cust.reverts(c.functions.fulfilRedemption(1, [LOT1]), "RedemptionNotPending", requestId=1)
    transfer_ok(c, alice, world.bob.address, 9_000)
    transfer_rejected(c, alice, world.bob.address, 1, UNLOCKED)


def test_no_delivery_while_paused_or_while_the_holder_is_frozen(world):
    c, comp, cust = world.comm, world.compliance, world.custodian
    a = world.alice.address
    request(world, world.alice, 4_000)
    comp.send(c.functions.pause())
    cust.reverts(c.functions.fulfilRedemption(1, [LOT1]), "TransferNotAllowed",
                 **{"from": a, "to": ZERO, "amount": 4_000, "reason": PAUSED})
    comp.send(c.functions.unpause())
    comp.send(c.functions.setAddressFrozen(a, True))
    cust.reverts(c.functions.fulfilRedemption(1, [LOT1]), "TransferNotAllowed",
                 **{"from": a, "to": ZERO, "amount": 4_000, "reason": SENDER_FROZEN})
    # nothing moved; the custodian may still reject (the units are unlocked, and stay frozen with the wallet)
    assert balance(c, a) == 10_000 and c.functions.lot(LOT1).call()[0] == COMM_RESERVE and reserve(c) == COMM_RESERVE
    assert c.functions.redemption(1).call()[1] == PENDING
    cust.send(c.functions.rejectRedemption(1, b32("frozen")))
    assert c.functions.lockedBalanceOf(a).call() == 0
    request(world, world.bob, 1_000)
    comp.send(c.functions.setAddressFrozen(a, False))
    cust.send(c.functions.fulfilRedemption(2, [LOT1]))
    assert balance(c, world.bob.address) == 4_000 and supply(c) == 14_000


def test_partially_frozen_holder_can_still_be_delivered(world):
    """Locked units are set aside when requested; a later partial freeze of the rest does not block the delivery."""
    c, comp = world.comm, world.compliance
    a = world.alice.address
    request(world, world.alice, 4_000)
    comp.send(c.functions.freezePartialTokens(a, 6_000))
    assert c.functions.freeBalanceOf(a).call() == 0
    world.custodian.send(c.functions.fulfilRedemption(1, [LOT1]))
    assert balance(c, a) == 6_000 and c.functions.getFrozenTokens(a).call() == 6_000


def test_redemption_follows_recovery(world):
    c, reg = world.comm, world.registrar
    a = world.alice.address
    new = world.new_wallet("alice-new", register=False)
    request(world, world.alice, 4_000)
    world.compliance.send(world.stack.identity.functions.replaceWallet(a, new))
    ev = one_event(c, "WalletStateRecovered", reg.send(c.functions.recoveryAddress(a, new)))
    assert (ev["amount"], ev["locked"]) == (10_000, 4_000)
    assert c.functions.lockedBalanceOf(new).call() == 4_000 and c.functions.redemption(1).call()[0] == new
    ev = one_event(c, "RedemptionFulfilled", world.custodian.send(c.functions.fulfilRedemption(1, [LOT1])))
    assert same(ev["holder"], new)
    assert balance(c, new) == 6_000 and c.functions.lockedBalanceOf(new).call() == 0 and balance(c, a) == 0


def test_no_redemption_from_a_recovered_from_wallet(world):
    c, reg, cust = world.comm, world.registrar, world.custodian
    a = world.alice.address
    new = world.new_wallet("alice-new", register=False)
    request(world, world.alice, 3_000, "DLV-OLD")  # request 1: follows the recovery
    world.compliance.send(world.stack.identity.functions.replaceWallet(a, new))
    reg.send(c.functions.recoveryAddress(a, new))
    world.alice.reverts(c.functions.requestRedemption(2_000, b32("DLV-NEW")), "WalletRecovered", wallet=a, successor=new)
    cust.send(c.functions.fulfilRedemption(1, [LOT1]))
    assert balance(c, new) == 10_000 - 3_000 and balance(c, a) == 0 and c.functions.lockedBalanceOf(a).call() == 0


def test_supply_never_above_reserve_through_the_flow(world):
    c, cust, reg = world.comm, world.custodian, world.registrar
    request(world, world.alice, 10_000)
    cust.send(c.functions.fulfilRedemption(1, [LOT1]))
    assert supply(c) == 5_000 and reserve(c) == COMM_RESERVE - 10_000
    reg.send(c.functions.mint(world.erin.address, reserve(c) - supply(c), b32("fill")))
    assert supply(c) == reserve(c)
    cust.reverts(c.functions.reduceLot(LOT1, 1, b32("x")), "ReserveBelowSupply")
    request(world, world.erin, 100)
    cust.send(c.functions.fulfilRedemption(1 + 1, [LOT1]))
    assert supply(c) == reserve(c) == 90_000 - 100
