"""DistributionManager: Merkle distributions funded in a stablecoin, claims paid to payees that may be paid (the
successor of a recovered-from wallet, never a frozen or unverified one), withheld entitlements, exact funding (a
fee-on-transfer token is refused), expiry and reclaim."""

import pytest

from rwaledger.merkle import MerkleTree

from contracts_kit import DAY, GAS, ZERO, b32, events, one_event, same

LEAF = ("uint256", "address", "uint256")
USD = 10**6  # TestStablecoin has 6 decimals


@pytest.fixture(scope="module")
def usd(world):
    """TestStablecoin, with 1,000,000 TUSD minted to the registrar and approved to the manager (module scope:
    deployed once on the module's world, inside its snapshot)."""
    coin = world.session.deployer.deploy("TestStablecoin", redeploy=True)
    world.registrar.send(coin.functions.mint(world.registrar.address, 1_000_000 * USD))
    world.registrar.send(coin.functions.approve(world.stack.distributions.address, 2**256 - 1))
    return coin


def rows_from_holders(world, token, total):
    """(index, account, amount) rows: ``total`` pro rata to the token balances of the investors now."""
    accounts = [a.address for a in world.investors]
    balances = [token.functions.balanceOf(a).call() for a in accounts]
    supply = token.functions.totalSupply().call()
    assert sum(balances) == supply
    holders = [(a, b) for a, b in zip(accounts, balances) if b]
    rows = [(i, a, total * b // supply) for i, (a, b) in enumerate(holders)]
    assert sum(r[2] for r in rows) == total
    return rows


def create(world, usd, rows, total=None, expiry_in=30 * DAY, record_block=None):
    total = sum(r[2] for r in rows) if total is None else total
    tree = MerkleTree.build(LEAF, rows)
    expiry = world.chain.timestamp() + expiry_in
    record = world.chain.w3.eth.block_number if record_block is None else record_block
    dm = world.stack.distributions
    receipt = world.registrar.send(dm.functions.createDistribution(world.prop.address, usd.address, total, tree.root, record, expiry))
    ev = one_event(dm, "DistributionCreated", receipt)
    return ev["distributionId"], tree, expiry, ev


def claim_fn(world, did, tree, i, row=None):
    index, account, amount = row or tree.rows[i]
    return world.stack.distributions.functions.claim(did, index, account, amount, tree.proof(i))


def bal(usd, who):
    return usd.functions.balanceOf(who).call()


def test_create_pulls_funds_and_records(world, usd):
    dm = world.stack.distributions
    rows = rows_from_holders(world, world.prop, 1_500 * USD)
    reg_before = bal(usd, world.registrar.address)
    did, tree, expiry, ev = create(world, usd, rows)
    assert did == 1 and dm.functions.distributionCount().call() == 1
    assert same(ev["token"], world.prop.address) and same(ev["paymentToken"], usd.address)
    assert ev["total"] == 1_500 * USD and ev["merkleRoot"] == tree.root and ev["expiry"] == expiry
    assert same(ev["createdBy"], world.registrar.address)
    d = tuple(dm.functions.distribution(did).call())
    assert d == (usd.address, expiry, False, tree.root, 1_500 * USD, 1_500 * USD, world.prop.address, ev["recordBlock"])
    assert bal(usd, dm.address) == 1_500 * USD and bal(usd, world.registrar.address) == reg_before - 1_500 * USD


def test_claims_pay_the_right_amounts(world, usd):
    dm = world.stack.distributions
    world.registrar.send(world.prop.functions.mint(world.carol.address, 500, b32("c")))
    rows = rows_from_holders(world, world.prop, 2_000 * USD)  # alice 1000, bob 500, carol 500 of 2000 shares
    assert [r[2] for r in rows] == [1_000 * USD, 500 * USD, 500 * USD]
    did, tree, _, _ = create(world, usd, rows)
    for i, (index, account, amount) in enumerate(rows):
        before = bal(usd, account)
        # anyone may submit a claim; the money always goes to the entitled account
        receipt = world.dave.send(claim_fn(world, did, tree, i), gas=300_000)
        ev = one_event(dm, "Claimed", receipt)
        assert (ev["distributionId"], ev["index"], ev["amount"]) == (did, index, amount) and same(ev["account"], account)
        assert same(ev["payee"], account)
        assert bal(usd, account) == before + amount
        assert dm.functions.isClaimed(did, index).call() is True
    assert bal(usd, world.dave.address) == 0
    assert bal(usd, dm.address) == 0 and dm.functions.distribution(did).call()[5] == 0


def test_wrong_proofs_rejected(world, usd):
    dm = world.stack.distributions
    rows = rows_from_holders(world, world.prop, 1_500 * USD)
    did, tree, _, _ = create(world, usd, rows)
    index, account, amount = rows[0]
    f = dm.functions
    bad = [
        f.claim(did, index, account, amount + 1, tree.proof(0)),         # inflated amount
        f.claim(did, index, world.carol.address, amount, tree.proof(0)),  # someone else's leaf
        f.claim(did, 1, account, amount, tree.proof(0)),                  # wrong index
        f.claim(did, index, account, amount, tree.proof(1)),              # another leaf's proof
        f.claim(did, index, account, amount, []),                        # no proof
        f.claim(did, index, account, amount, [b"\x11" * 32]),
    ]
    for fn in bad:
        world.alice.reverts(fn, "InvalidProof")
    assert dm.functions.isClaimed(did, index).call() is False and bal(usd, dm.address) == 1_500 * USD


def test_double_claim_rejected(world, usd):
    rows = rows_from_holders(world, world.prop, 1_500 * USD)
    did, tree, _, _ = create(world, usd, rows)
    world.alice.send(claim_fn(world, did, tree, 0), gas=300_000)
    world.alice.reverts(claim_fn(world, did, tree, 0), "AlreadyClaimed", distributionId=did, index=rows[0][0])
    world.bob.reverts(claim_fn(world, did, tree, 0), "AlreadyClaimed")
    assert bal(usd, world.alice.address) == rows[0][2]


def test_claims_are_per_distribution(world, usd):
    rows = rows_from_holders(world, world.prop, 1_500 * USD)
    d1, t1, _, _ = create(world, usd, rows)
    d2, t2, _, _ = create(world, usd, [(0, world.alice.address, 7 * USD)])
    world.alice.send(claim_fn(world, d1, t1, 0), gas=300_000)
    world.alice.send(claim_fn(world, d2, t2, 0), gas=300_000)  # same index 0 in another distribution
    assert bal(usd, world.alice.address) == rows[0][2] + 7 * USD
    world.bob.reverts(claim_fn(world, d2, t1, 1), "InvalidProof")  # bob's valid d1 leaf is no leaf of d2


def test_claims_after_expiry_revert_and_reclaim_returns_the_rest_once(world, usd):
    dm = world.stack.distributions
    reg = world.registrar
    rows = rows_from_holders(world, world.prop, 1_500 * USD)
    did, tree, expiry, _ = create(world, usd, rows, expiry_in=7 * DAY)
    world.bob.send(claim_fn(world, did, tree, 1), gas=300_000)
    reg.reverts(dm.functions.reclaimExpired(did), "DistributionNotExpired", distributionId=did, expiry=expiry)

    world.chain.advance_time(7 * DAY + 1)
    assert world.chain.timestamp() > expiry
    world.alice.reverts(claim_fn(world, did, tree, 0), "DistributionExpired", distributionId=did, expiry=expiry)
    before = bal(usd, reg.address)
    receipt = reg.send(dm.functions.reclaimExpired(did))
    ev = one_event(dm, "DistributionReclaimed", receipt)
    unclaimed = rows[0][2]
    assert (ev["distributionId"], ev["amount"]) == (did, unclaimed) and same(ev["to"], reg.address)
    assert bal(usd, reg.address) == before + unclaimed and bal(usd, dm.address) == 0
    d = dm.functions.distribution(did).call()
    assert d[2] is True and d[5] == 0
    reg.reverts(dm.functions.reclaimExpired(did), "AlreadyReclaimed", distributionId=did)
    world.alice.reverts(claim_fn(world, did, tree, 0), "DistributionExpired")
    assert bal(usd, reg.address) == before + unclaimed


def test_reclaim_only_touches_its_own_distribution(world, usd):
    dm = world.stack.distributions
    rows = rows_from_holders(world, world.prop, 1_500 * USD)
    d1, _, _, _ = create(world, usd, rows, expiry_in=DAY)
    d2, t2, _, _ = create(world, usd, rows, expiry_in=30 * DAY)
    world.chain.advance_time(DAY + 1)
    world.registrar.send(dm.functions.reclaimExpired(d1))
    assert bal(usd, dm.address) == 1_500 * USD  # d2's funds stay
    world.alice.send(claim_fn(world, d2, t2, 0), gas=300_000)
    world.registrar.reverts(dm.functions.reclaimExpired(d2), "DistributionNotExpired")


def test_unknown_distribution(world, usd):
    dm = world.stack.distributions
    world.alice.reverts(dm.functions.claim(9, 0, world.alice.address, 1, []), "DistributionNotFound", distributionId=9)
    world.registrar.reverts(dm.functions.reclaimExpired(9), "DistributionNotFound", distributionId=9)
    assert dm.functions.distribution(9).call()[0] == ZERO and dm.functions.isClaimed(9, 0).call() is False


def test_invalid_creation(world, usd):
    dm, reg = world.stack.distributions, world.registrar
    now, block = world.chain.timestamp(), world.chain.w3.eth.block_number
    root = b"\x01" * 32
    f = dm.functions
    reg.reverts(f.createDistribution(world.prop.address, usd.address, 0, root, block, now + DAY), "InvalidDistribution")
    reg.reverts(f.createDistribution(world.prop.address, usd.address, 1, b"\0" * 32, block, now + DAY), "InvalidDistribution")
    reg.reverts(f.createDistribution(world.prop.address, usd.address, 1, root, block, now), "InvalidDistribution")
    reg.reverts(f.createDistribution(world.prop.address, usd.address, 1, root, block + 10, now + DAY), "InvalidDistribution")
    reg.reverts(f.createDistribution(ZERO, usd.address, 1, root, block, now + DAY), "ZeroAddress")
    reg.reverts(f.createDistribution(world.prop.address, ZERO, 1, root, block, now + DAY), "ZeroAddress")
    reg.reverts(f.createDistribution(world.prop.address, usd.address, 2**128, root, block, now + DAY),
                "SafeCastOverflowedUintDowncast", bits=128, value=2**128)
    reg.reverts(f.createDistribution(world.prop.address, usd.address, 1, root, block, 2**40),
                "SafeCastOverflowedUintDowncast", bits=40, value=2**40)
    reg.send(usd.functions.approve(dm.address, 10))
    reg.reverts(f.createDistribution(world.prop.address, usd.address, 11, root, block, now + DAY), "ERC20InsufficientAllowance")
    assert dm.functions.distributionCount().call() == 0


def test_tree_summing_above_total_cannot_overpay(world, usd):
    dm = world.stack.distributions
    rows = [(0, world.alice.address, 60 * USD), (1, world.bob.address, 60 * USD)]
    did, tree, _, _ = create(world, usd, rows, total=100 * USD)
    world.alice.send(claim_fn(world, did, tree, 0), gas=300_000)
    world.bob.reverts(claim_fn(world, did, tree, 1), "InsufficientRemaining", distributionId=did, amount=60 * USD,
                      remaining=40 * USD)
    assert bal(usd, dm.address) == 40 * USD and dm.functions.isClaimed(did, 1).call() is False


def test_large_tree_claim(world, usd):
    dm = world.stack.distributions
    rows = [(i, world.chain.w3.to_checksum_address(i.to_bytes(20, "big")), i + 1) for i in range(300)]
    rows[299] = (299, world.erin.address, 12_345)
    rows[256] = (256, world.dave.address, 257)
    did, tree, _, _ = create(world, usd, rows)
    assert len(tree.proof(299)) >= 8
    world.erin.send(claim_fn(world, did, tree, 299), gas=300_000)
    assert bal(usd, world.erin.address) == 12_345 and dm.functions.isClaimed(did, 299).call() is True
    assert dm.functions.isClaimed(did, 298).call() is False
    world.bob.send(claim_fn(world, did, tree, 256), gas=300_000)  # an index in another bitmap word
    assert bal(usd, world.dave.address) == 257 and dm.functions.isClaimed(did, 256).call() is True
    # an entitled address that is no verified wallet is not paid (its claim can be made once it is)
    world.bob.reverts(claim_fn(world, did, tree, 5), "PayeeNotAllowed", distributionId=did, account=rows[5][1],
                      payee=rows[5][1])


def test_claim_needs_no_holding_of_the_token(world, usd):
    """Entitlements are fixed by the tree at the record block; later transfers do not change them."""
    rows = rows_from_holders(world, world.prop, 1_500 * USD)
    did, tree, _, _ = create(world, usd, rows)
    world.registrar.send(world.prop.functions.forcedTransfer(world.bob.address, world.carol.address, 500, b32("x"), False))
    world.carol.send(claim_fn(world, did, tree, 1), gas=300_000)
    assert bal(usd, world.bob.address) == 500 * USD and bal(usd, world.carol.address) == 0


def test_record_block_in_the_past_is_accepted(world, usd):
    past = world.chain.w3.eth.block_number - 3
    _, _, _, ev = create(world, usd, [(0, world.alice.address, USD)], record_block=past)
    assert ev["recordBlock"] == past



# --------------------------------------------------------------------------------------------------- who is paid


def test_a_claim_for_a_recovered_from_wallet_is_paid_to_its_successor(world, usd):
    dm = world.stack.distributions
    rows = rows_from_holders(world, world.prop, 1_500 * USD)
    did, tree, _, _ = create(world, usd, rows)
    lost = world.alice.address
    new = world.new_wallet("alice-new", register=False)
    world.compliance.send(world.stack.identity.functions.replaceWallet(lost, new))
    world.registrar.send(world.prop.functions.recoveryAddress(lost, new))
    assert world.prop.functions.successorOf(lost).call() == new
    assert tuple(world.prop.functions.payeeOf(lost).call()) == (new, True)
    receipt = world.bob.send(claim_fn(world, did, tree, 0), gas=300_000)
    ev = one_event(dm, "Claimed", receipt)
    assert same(ev["account"], lost) and same(ev["payee"], new) and ev["amount"] == rows[0][2]
    assert bal(usd, new) == rows[0][2] and bal(usd, lost) == 0


def test_a_frozen_payee_is_not_paid_until_unfrozen(world, usd):
    dm = world.stack.distributions
    rows = rows_from_holders(world, world.prop, 1_500 * USD)
    did, tree, _, _ = create(world, usd, rows)
    a = world.alice.address
    assert tuple(world.prop.functions.payeeOf(a).call()) == (a, True)
    world.compliance.send(world.prop.functions.setAddressFrozen(a, True))
    assert tuple(world.prop.functions.payeeOf(a).call()) == (a, False)
    world.alice.reverts(claim_fn(world, did, tree, 0), "PayeeNotAllowed", distributionId=did, account=a, payee=a)
    assert dm.functions.isClaimed(did, 0).call() is False and bal(usd, a) == 0
    # the successor of a recovered wallet is checked, not the lost wallet: a frozen recovery carries the freeze
    new = world.new_wallet("alice-new", register=False)
    world.compliance.send(world.stack.identity.functions.replaceWallet(a, new))
    world.registrar.send(world.prop.functions.recoveryAddress(a, new))
    world.alice.reverts(claim_fn(world, did, tree, 0), "PayeeNotAllowed", distributionId=did, account=a, payee=new)
    world.compliance.send(world.prop.functions.setAddressFrozen(new, False))
    world.alice.send(claim_fn(world, did, tree, 0), gas=300_000)
    assert bal(usd, new) == rows[0][2]


def test_a_payee_whose_identity_was_deleted_is_not_paid(world, usd):
    rows = rows_from_holders(world, world.prop, 1_500 * USD)
    did, tree, _, _ = create(world, usd, rows)
    b = world.bob.address
    world.compliance.send(world.stack.identity.functions.deleteIdentity(b))
    assert tuple(world.prop.functions.payeeOf(b).call()) == (b, False)
    world.bob.reverts(claim_fn(world, did, tree, 1), "PayeeNotAllowed", distributionId=did, account=b, payee=b)
    world.compliance.send(world.stack.identity.functions.registerIdentity(b, 586, world.kyc_expiry, 2))
    world.bob.send(claim_fn(world, did, tree, 1), gas=300_000)
    assert bal(usd, b) == rows[1][2]


def test_withheld_entitlements(world, usd):
    dm = world.stack.distributions
    rows = rows_from_holders(world, world.prop, 1_500 * USD)
    did, tree, expiry, _ = create(world, usd, rows, expiry_in=7 * DAY)
    receipt = world.registrar.send(dm.functions.setWithheld(did, [0, 1], True))
    ev = one_event(dm, "EntitlementsWithheld", receipt)
    assert (ev["distributionId"], ev["indexes"], ev["withheld"]) == (did, [0, 1], True)
    assert dm.functions.isWithheld(did, 0).call() is True and dm.functions.isWithheld(did, 2).call() is False
    world.alice.reverts(claim_fn(world, did, tree, 0), "EntitlementWithheld", distributionId=did, index=0)
    world.bob.reverts(claim_fn(world, did, tree, 1), "EntitlementWithheld", distributionId=did, index=1)
    for actor in (world.admin, world.compliance, world.custodian, world.alice):
        actor.refused(dm.functions.setWithheld(did, [0], False), "registrar")
    world.registrar.reverts(dm.functions.setWithheld(99, [0], True), "DistributionNotFound", distributionId=99)
    # released: paid as usual
    world.registrar.send(dm.functions.setWithheld(did, [0], False))
    assert dm.functions.isWithheld(did, 0).call() is False and dm.functions.isClaimed(did, 0).call() is False
    world.alice.send(claim_fn(world, did, tree, 0), gas=300_000)
    assert bal(usd, world.alice.address) == rows[0][2]
    # what stays withheld returns at reclaim
    world.chain.advance_time(7 * DAY + 1)
    ev = one_event(dm, "DistributionReclaimed", world.registrar.send(dm.functions.reclaimExpired(did)))
    assert ev["amount"] == rows[1][2]


def test_funding_with_a_fee_on_transfer_token_is_refused(world, usd):
    dm = world.stack.distributions
    fee, _ = world.admin.tx.deploy(world.session.build["FeeOnTransferToken"], gas=GAS)
    world.admin.send(fee.functions.mint(world.registrar.address, 10_000))
    world.registrar.send(fee.functions.approve(dm.address, 10_000))
    now, block = world.chain.timestamp(), world.chain.w3.eth.block_number
    world.registrar.reverts(
        dm.functions.createDistribution(world.prop.address, fee.address, 1_000, b"\1" * 32, block, now + DAY),
        "FundingMismatch", expected=1_000, received=990)
    assert dm.functions.distributionCount().call() == 0 and fee.functions.balanceOf(dm.address).call() == 0
    # an exact token is booked as received
    _, _, _, ev = create(world, usd, [(0, world.alice.address, 5 * USD)])
    assert ev["total"] == 5 * USD and bal(usd, dm.address) == 5 * USD
    assert events(dm, "DistributionCreated", world.registrar.send(dm.functions.createDistribution(
        world.prop.address, usd.address, 1, b"\2" * 32, block, now + DAY)))[0]["total"] == 1
