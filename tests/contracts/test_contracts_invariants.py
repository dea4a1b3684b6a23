"""Property-based invariants (hypothesis) over random sequences of token operations.

Each example sets a max balance (or none), then runs at most 15 operations inside its own chain snapshot:
transfers (also between the two wallets of alice or bob), mints and batch mints whose references repeat, batches sent
again in another order, registrar burns and forced transfers with and without ``includeFrozen``, freezes, liens,
a second wallet for an investor, recoveries (replaceWallet + recoveryAddress), pause, and for the commodity token
redemptions and custody lots. Operations that revert are ignored, but only with a decoded custom error: a Panic
(arithmetic underflow, ...) or an undecodable revert fails the test. After every operation ``canTransfer`` /
``canForceTransfer`` must have predicted the outcome of the transfers, mints and forced moves, a used reference must
be refused (single mint) or skipped (same batch again), and at the end of the example:

* the balances of every wallet ever touched sum to ``totalSupply`` and match a Python model of the operations;
* a reference mints once: the supply changed by the amounts of the distinct references minted minus what was
  burned or delivered, and ``allocationOf`` holds ``keccak256(abi.encode(to, amount))`` for each of them;
* ``holderCount`` equals the number of *investors* with a non-zero sum over their wallets, ``holderCounts`` splits
  them by category and home / foreign (and the foreign units), ``investorBalanceOf`` is that sum, and it never
  exceeds the max balance; ``frozenWalletCount`` equals the number of frozen wallets;
* per wallet, frozen + encumbered + locked <= balance (``freeBalanceOf`` never underflows), the encumbered amount is
  the sum of its active liens and the locked amount the sum of its pending redemptions;
* commodity: ``totalSupply <= attestedReserve`` and the reserve is the sum of the active lots' quantities.

``RWA_INVARIANT_EXAMPLES=500`` (environment) runs more examples (the default suite runs 10 per token, plus the explicit @example cases).
"""

from __future__ import annotations

import os

import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from web3.logs import DISCARD

from rwaledger.errors import ContractRevert, CustomErrorRevert
from rwaledger.signers import Signer

from contracts_kit import GB, PK, US, Actor, allocation, b32, sha, verdict

MAX_OPS = 15
EXAMPLES = int(os.environ.get("RWA_INVARIANT_EXAMPLES", "10"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
N_SPARES = 4
COUNTRY = {"alice": PK, "bob": PK, "carol": US, "dave": GB, "erin": PK}
CATEGORY = {"alice": 1, "bob": 2, "carol": 3, "dave": 1, "erin": 1}


def _keyed(world, label):
    acct = Account.from_key(keccak(text=f"rwaledger-invariant-{label}"))
    world.chain.set_balance(acct.address, 10**21)
    return Actor(label, acct.address, world.session.transactor(Signer(acct, label)))


@pytest.fixture(scope="module")
def spares(world):
    """Keyed, funded wallets: a second wallet of alice and one of bob, bound after the opening balances (so an
    example's first move of theirs starts the investor's sum from its first wallet), then wallets bound to no
    investor (further wallets and recovery targets)."""
    second = [_keyed(world, "alice-2"), _keyed(world, "bob-2")]
    for owner, wallet in zip((world.alice, world.bob), second):
        world.compliance.send(world.stack.identity.functions.addWallet(owner.address, wallet.address))
    free = [_keyed(world, f"spare{i}") for i in range(N_SPARES)]
    # eth-tester re-executes the block of a snapshot when reverting to it, and a block made by set_balance does not
    # re-execute to the same state: take the examples' snapshots on an ordinary block
    world.chain.mine()
    return second, free


idx = st.sampled_from([0, 0, 0, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8])  # favour alice and bob; 6, 7: their 2nd wallets
# An amount is either absolute or, when negative, -p means p quarters of the relevant base at the time of the
# operation (the balance for moves, the free balance for freezes / liens / requests, the frozen units for
# unfreezes): random absolute amounts alone would make most operations fail.
quarters = st.integers(min_value=-4, max_value=-1)
amount = st.one_of(st.integers(min_value=0, max_value=1_500), quarters, quarters)
pick = st.integers(min_value=0, max_value=7)  # which lien / request / lot / reference, modulo the ones that exist
ref_pick = st.integers(min_value=0, max_value=5)  # few references, so that they repeat
mint_amount = st.sampled_from([0, 1, 100, 250, 1_000, 6_000])  # few amounts, so that allocations repeat exactly
allocation_item = st.tuples(idx, mint_amount, ref_pick)

COMMON_OPS = [
    (3, st.tuples(st.just("transfer"), idx, idx, amount)),
    (2, st.tuples(st.just("own_transfer"), idx, amount)),
    (2, st.tuples(st.just("mint"), idx, mint_amount, ref_pick)),
    (2, st.tuples(st.just("batch"), st.lists(allocation_item, min_size=1, max_size=3))),
    (1, st.tuples(st.just("resend"), pick, st.booleans())),
    (1, st.tuples(st.just("burn"), idx, amount, st.booleans())),
    (2, st.tuples(st.just("forced"), idx, idx, amount, st.booleans())),
    (1, st.tuples(st.just("freeze_wallet"), idx, st.booleans())),
    (1, st.tuples(st.just("freeze_partial"), idx, amount)),
    (1, st.tuples(st.just("unfreeze_partial"), idx, amount)),
    (1, st.tuples(st.just("set_frozen"), idx, st.integers(min_value=0, max_value=8_000))),  # ERC-7943: may exceed
    (1, st.tuples(st.just("lien"), idx, amount)),
    (1, st.tuples(st.just("release"), pick)),
    (2, st.tuples(st.just("add_wallet"), idx)),
    (1, st.tuples(st.just("recover"), idx)),
    (1, st.tuples(st.just("pause"), st.booleans())),
]
COMMODITY_OPS = [
    (3, st.tuples(st.just("request"), idx, amount)),
    (3, st.tuples(st.just("fulfil"), pick, st.lists(pick, min_size=1, max_size=3))),
    (1, st.tuples(st.just("reject"), pick)),
    (1, st.tuples(st.just("attest"), st.integers(min_value=1, max_value=20_000))),
    (1, st.tuples(st.just("reduce"), pick, st.integers(min_value=0, max_value=90_000))),
    (1, st.tuples(st.just("retire"), pick)),
]


def weighted(ops):
    """One operation, drawn by weight (sampled_from over the repeated choices draws close to the weights; one_of of
    the repeated strategies does not)."""
    choices = [i for i, (weight, _) in enumerate(ops) for _ in range(weight)]
    return st.sampled_from(choices).flatmap(lambda i: ops[i][1])


property_ops = st.lists(weighted(COMMON_OPS), min_size=5, max_size=MAX_OPS)
commodity_ops = st.lists(weighted(COMMON_OPS + COMMODITY_OPS), min_size=5, max_size=MAX_OPS)
# the max balance, set at the start of an example and never lowered (the opening holders are within it)
property_max = st.sampled_from([0, 0, 1_000, 1_500, 4_000])
commodity_max = st.sampled_from([0, 0, 10_000, 12_000, 30_000])

ZERO = "0x" + "00" * 20
GAS = 1_000_000


class Run:
    """One example: applies operations, keeps a model of the balances, checks the invariants."""

    def __init__(self, world, token, spares, commodity, max_balance):
        self.w, self.t, self.f = world, token, token.functions
        self.commodity = commodity
        second, free = spares
        self.pool = [world.alice, world.bob, world.carol, world.dave, world.erin, world.outsider, *second]
        self.spares = list(free)
        self.investor = {a.address: a.address for a in self.pool}  # wallet -> investor id
        self.investor.update({second[0].address: world.alice.address, second[1].address: world.bob.address})
        self.names = {a.address: a.name for a in self.pool}  # investor id -> fixture name
        self.touched = {a.address for a in self.pool}
        self.model = {a: self.f.balanceOf(a).call() for a in self.touched}
        self.start_supply = self.f.totalSupply().call()
        self.minted = 0  # sum of the distinct references minted in this example
        self.removed = 0  # burned or delivered
        self.refs: dict[bytes, tuple[str, int]] = {}  # reference -> (to, amount) minted in this example
        self.sent: list[list[tuple[str, int, bytes]]] = []  # allocations of the successful mints and batches
        self.lots = [b32("LOT-1")]
        self.log: list[str] = [f"maxBalance={max_balance}"]
        self.max_balance = max_balance
        if max_balance:
            assert self.send(world.compliance, self.f.setMaxBalance(max_balance))

    # -- sending -------------------------------------------------------------------------------------------

    def send(self, actor, fn):
        """The receipt if mined successfully, None if refused with a custom error; anything else fails the test."""
        try:
            return actor.tx.transact(fn, gas=GAS)
        except CustomErrorRevert as err:
            self.last_error = err
            return None
        except ContractRevert as err:  # Panic, Error(string), unknown data: never expected from these contracts
            raise AssertionError(f"unexpected revert {err!r} after {self.log}") from None

    def predicted(self, what, ok):
        """canTransfer / canForceTransfer (asked before the send) must agree with what happened."""
        can, code = self.prediction
        assert can == bool(ok), f"{what}: the view said {(can, code)} but the send {'succeeded' if ok else 'failed'}: {self.log}"
        if not ok:
            err = self.last_error
            assert err.name == "TransferNotAllowed" and err.args_by_name["reason"] == code, f"{what}: {err} after {self.log}"

    def ask(self, frm, to, amt):
        self.prediction = verdict(self.f, frm, to, amt)

    def ask_forced(self, frm, to, amt, include):
        self.prediction = tuple(self.f.canForceTransfer(frm, to, amt, include).call())

    # -- helpers -------------------------------------------------------------------------------------------

    def amount(self, spec, base):
        return spec if spec >= 0 else base * -spec // 4

    def at(self, i):
        return self.pool[i % len(self.pool)]

    def bal(self, who):
        return self.f.balanceOf(who).call()

    def free(self, who):
        return self.f.freeBalanceOf(who).call()

    def ref(self, k):
        return b32(f"inv-ref-{k}")

    def move(self, frm, to, amt):
        self.model[frm] -= amt
        self.model[to] += amt

    def mint_batch(self, items, expect_skipped=False):
        """batchMint(items); checks what it minted against the references used before."""
        f = self.f
        to, amounts, refs = [a for a, _, _ in items], [n for _, n, _ in items], [r for _, _, r in items]
        seen = dict(self.refs)
        conflict, new = False, []
        for a, n, r in items:
            if r in seen:
                conflict = conflict or seen[r] != (a, n)
            else:
                seen[r] = (a, n)
                new.append((a, n, r))
        before = f.totalSupply().call()
        receipt = self.send(self.w.registrar, f.batchMint(to, amounts, refs))
        has_zero = any(n == 0 for n in amounts)
        if receipt is None:
            assert not expect_skipped, f"a batch sent again was refused ({self.last_error}) after {self.log}"
            if self.last_error.name == "ReferenceConflict":
                assert conflict, f"unexpected conflict after {self.log}"
            if self.last_error.name == "ZeroAmount":
                assert has_zero, f"unexpected ZeroAmount after {self.log}"
            assert f.totalSupply().call() == before
            return
        assert not conflict, f"a conflicting batch was minted after {self.log}"
        assert not has_zero, f"a batch with an allocation of nothing was minted after {self.log}"
        assert f.totalSupply().call() == before + sum(n for _, n, _ in new), f"batch supply after {self.log}"
        ev = self.t.events.BatchMinted().process_receipt(receipt.raw, errors=DISCARD)[0]["args"]
        assert (ev["minted"], ev["skipped"]) == (len(new), len(items) - len(new)), f"BatchMinted after {self.log}"
        if expect_skipped:
            assert not new
        for a, n, r in new:
            self.refs[r] = (a, n)
            self.model[a] += n
            self.minted += n
        self.sent.append(list(items))

    # -- operations ----------------------------------------------------------------------------------------

    def apply(self, op):
        self.log.append(repr(op))
        kind, *args = op
        w, f = self.w, self.f
        if kind == "mint":
            to, amt, ref = self.at(args[0]).address, args[1], self.ref(args[2])
            self.ask(ZERO, to, amt)
            ok = self.send(w.registrar, f.mint(to, amt, ref))
            if amt == 0:  # an allocation of nothing is refused before its reference is looked at
                assert not ok and self.last_error.name == "ZeroAmount", f"zero mint after {self.log}"
                return
            if ref in self.refs:  # a reference mints once
                assert not ok and self.last_error.name == "ReferenceAlreadyUsed", f"reference reused after {self.log}"
                return
            self.predicted("mint", ok)
            if ok:
                self.refs[ref] = (to, amt)
                self.model[to] += amt
                self.minted += amt
                self.sent.append([(to, amt, ref)])
        elif kind == "batch":
            self.mint_batch([(self.at(i).address, n, self.ref(k)) for i, n, k in args[0]])
        elif kind == "resend":
            if not self.sent:
                return
            items = self.sent[args[0] % len(self.sent)]
            self.mint_batch(items[::-1] if args[1] else items, expect_skipped=True)
        elif kind in ("transfer", "own_transfer"):
            sender = self.at(args[0])
            if kind == "transfer":
                to = self.at(args[1]).address
            else:
                mine = [a.address for a in self.pool if self.investor[a.address] == self.investor[sender.address]
                        and a.address != sender.address]
                if not mine:
                    return
                to = mine[0]
            amt = self.amount(args[-1], self.bal(sender.address))
            self.ask(sender.address, to, amt)
            ok = self.send(sender, f.transfer(to, amt))
            self.predicted(kind, ok)
            if ok:
                self.move(sender.address, to, amt)
        elif kind == "burn":
            frm, include = self.at(args[0]).address, args[2]
            amt = self.amount(args[1], self.bal(frm))
            self.ask_forced(frm, ZERO, amt, include)
            ok = self.send(w.registrar, f.burn(frm, amt, b32("inv-burn"), include))
            self.predicted("burn", ok)
            if ok:
                self.model[frm] -= amt
                self.removed += amt
        elif kind == "forced":
            frm, to, include = self.at(args[0]).address, self.at(args[1]).address, args[3]
            amt = self.amount(args[2], self.bal(frm))
            if frm == to:
                return
            self.ask_forced(frm, to, amt, include)
            ok = self.send(w.registrar, f.forcedTransfer(frm, to, amt, b32("inv-forced"), include))
            self.predicted("forced", ok)
            if ok:
                self.move(frm, to, amt)
        elif kind == "freeze_wallet":
            self.send(w.compliance, f.setAddressFrozen(self.at(args[0]).address, args[1]))
        elif kind == "freeze_partial":
            who = self.at(args[0]).address
            self.send(w.compliance, f.freezePartialTokens(who, self.amount(args[1], self.free(who))))
        elif kind == "unfreeze_partial":
            who = self.at(args[0]).address
            self.send(w.compliance, f.unfreezePartialTokens(who, self.amount(args[1], f.getFrozenTokens(who).call())))
        elif kind == "set_frozen":
            self.send(w.compliance, f.setFrozenTokens(self.at(args[0]).address, args[1]))
        elif kind == "lien":
            who = self.at(args[0]).address
            self.send(w.registrar, f.createLien(who, w.dave.address, self.amount(args[1], self.free(who)), b32("l"), sha("l")))
        elif kind == "release":
            active = [i for i in range(1, f.lienCount().call() + 1) if not f.lien(i).call()[3]]
            self.send(w.dave, f.releaseLien(active[args[0] % len(active)] if active else 1))
        elif kind == "add_wallet":
            if not self.spares:
                return
            owner, spare = self.at(args[0]), self.spares[0]
            if self.send(w.compliance, w.stack.identity.functions.addWallet(owner.address, spare.address)):
                self.bind(spare, self.investor[owner.address])
                self.pool.append(spare)
        elif kind == "recover":
            if not self.spares:
                return
            i = args[0] % len(self.pool)
            lost, new = self.pool[i], self.spares[0]
            if not self.send(w.compliance, w.stack.identity.functions.replaceWallet(lost.address, new.address)):
                return
            self.bind(new, self.investor[lost.address])
            self.pool[i] = new  # the lost wallet is never verified again
            has_state = self.bal(lost.address) != 0 or f.isFrozen(lost.address).call()
            ok = self.send(w.registrar, f.recoveryAddress(lost.address, new.address))
            assert bool(ok) == has_state, f"recovery {'succeeded' if ok else 'failed'} after {self.log}"
            if ok:
                self.move(lost.address, new.address, self.model[lost.address])
        elif kind == "pause":
            self.send(w.compliance, f.pause() if args[0] else f.unpause())
        elif kind == "request":
            holder = self.at(args[0])
            amt = self.amount(args[1], self.free(holder.address))
            self.ask(holder.address, ZERO, amt)
            ok = self.send(holder, f.requestRedemption(amt, b32("dlv")))
            if amt:  # a zero request is refused before the rules (ZeroAmount)
                self.predicted("request", ok)
        elif kind == "fulfil":
            req = self.pending(args[0])
            lots = [self.lots[k % len(self.lots)] for k in args[1]]
            holder, status, amt, _ = f.redemption(req).call()
            if self.send(w.custodian, f.fulfilRedemption(req, lots)):
                assert status == 1
                self.model[holder] -= amt
                self.removed += amt
        elif kind == "reject":
            self.send(w.custodian, f.rejectRedemption(self.pending(args[0]), b32("no")))
        elif kind == "attest":
            lot = b32(f"INV-LOT-{len(self.lots)}")
            if self.send(w.custodian, f.attestLot(lot, "vault", args[0], sha("r"))):
                self.lots.append(lot)
        elif kind == "reduce":
            self.send(w.custodian, f.reduceLot(self.lots[args[0] % len(self.lots)], args[1], b32("audit")))
        elif kind == "retire":
            self.send(w.custodian, f.retireLot(self.lots[args[0] % len(self.lots)], b32("audit")))
        else:  # pragma: no cover
            raise AssertionError(kind)

    def bind(self, spare, investor):
        self.spares.pop(0)
        self.investor[spare.address] = investor
        self.touched.add(spare.address)
        self.model.setdefault(spare.address, 0)

    def pending(self, k):
        pending = [i for i in range(1, self.f.redemptionCount().call() + 1) if self.f.redemption(i).call()[1] == 1]
        return pending[k % len(pending)] if pending else 1

    # -- invariants ----------------------------------------------------------------------------------------

    def check(self):
        f, log = self.f, self.log
        ir = self.w.stack.identity
        balances = {a: f.balanceOf(a).call() for a in self.touched}
        supply = f.totalSupply().call()
        assert sum(balances.values()) == supply, f"sum of balances != totalSupply after {log}"
        assert balances == {a: self.model.get(a, 0) for a in self.touched}, f"balances differ from the model after {log}"

        # a reference mints once
        assert supply - self.start_supply == self.minted - self.removed, f"supply != distinct references after {log}"
        unused = [self.ref(k) for k in range(6) if self.ref(k) not in self.refs][:1]
        for ref in list(self.refs) + unused:
            want = allocation(*self.refs[ref]) if ref in self.refs else b"\0" * 32
            assert f.allocationOf(ref).call() == want, f"allocationOf({ref!r}) after {log}"

        # limits count investors
        totals: dict[str, int] = {}
        wallets: dict[str, list[str]] = {}
        for a in self.touched:
            totals[self.investor[a]] = totals.get(self.investor[a], 0) + balances[a]
            wallets.setdefault(self.investor[a], []).append(a)
        for investor, own in wallets.items():
            for a in own if len(own) > 1 else []:  # a single wallet's sum is its balance
                assert ir.functions.investorOf(a).call() == investor
                assert f.investorBalanceOf(a).call() == totals[investor], f"investorBalanceOf({a}) after {log}"
        if self.max_balance:
            assert max(totals.values()) <= self.max_balance, f"an investor above maxBalance after {log}"
        holding = [i for i, t in totals.items() if t]
        assert f.holderCount().call() == len(holding), f"holderCount after {log}"
        by_category = [sum(1 for i in holding if CATEGORY[self.names[i]] == c) for c in (1, 2, 3)]
        foreign = [i for i in holding if COUNTRY[self.names[i]] != PK]
        assert tuple(f.holderCounts().call()) == (len(holding), *by_category, len(foreign),
                                                  sum(totals[i] for i in foreign)), f"holderCounts after {log}"
        assert f.frozenWalletCount().call() == sum(1 for a in self.touched if f.isFrozen(a).call())

        encumbered = {a: 0 for a in self.touched}
        for lien_id in range(1, f.lienCount().call() + 1):
            holder, _, amt, released = f.lien(lien_id).call()
            if not released:
                encumbered[holder] += amt
        locked = {a: 0 for a in self.touched}
        if self.commodity:
            for req in range(1, f.redemptionCount().call() + 1):
                holder, status, amt, _ = f.redemption(req).call()
                if status == 1:
                    locked[holder] += amt
        for a in self.touched:
            frozen, enc = f.getFrozenTokens(a).call(), f.encumberedBalanceOf(a).call()
            lck = f.lockedBalanceOf(a).call() if self.commodity else 0
            assert enc == encumbered[a], f"encumbered of {a} != its active liens after {log}"
            assert lck == locked[a], f"locked of {a} != its pending redemptions after {log}"
            assert enc + lck <= balances[a], f"encumbered + locked above balance for {a} after {log}"
            # a frozen amount may exceed the balance (ERC-7943): it covers what the wallet holds beyond liens and locks
            covered = min(frozen, balances[a] - enc - lck)
            assert f.freeBalanceOf(a).call() == balances[a] - covered - enc - lck, f"free balance of {a} after {log}"

        if self.commodity:
            reserve = f.attestedReserve().call()
            assert supply <= reserve, f"totalSupply {supply} above attested reserve {reserve} after {log}"
            active = [f.lot(lot).call() for lot in self.lots]
            assert reserve == sum(q for q, _, status, _, _ in active if status == 1), f"reserve != active lots after {log}"


def run_example(world, token, spares, ops, commodity, max_balance):
    snapshot = world.chain.snapshot()
    try:
        run = Run(world, token, spares, commodity, max_balance)
        for op in ops:
            run.apply(op)
        run.check()
    finally:
        world.chain.revert(snapshot)


@SETTINGS
@given(ops=property_ops, max_balance=property_max)
@example(ops=[("add_wallet", 0), ("freeze_partial", 0, -1), ("lien", 0, -2), ("recover", 0), ("forced", 0, 1, -4, True),
              ("release", 0), ("own_transfer", 0, -4), ("transfer", 6, 2, -4), ("burn", 2, -2, False),
              ("freeze_wallet", 1, True), ("mint", 1, 100, 0), ("batch", [(1, 100, 0), (4, 250, 1)]),
              ("resend", 1, True), ("mint", 4, 250, 1)], max_balance=1_500)
@example(ops=[("add_wallet", 2), ("mint", 8, 1_000, 2), ("own_transfer", 8, -4), ("forced", 1, 7, -4, False),
              ("batch", [(7, 1, 3), (7, 1, 3), (2, 6_000, 4)]), ("resend", 0, False), ("batch", [(2, 1, 2)]),
              ("recover", 7), ("own_transfer", 1, -2)],
         max_balance=1_000)
def test_property_token_invariants(world, spares, ops, max_balance):
    run_example(world, world.prop, spares, ops, commodity=False, max_balance=max_balance)


@SETTINGS
@given(ops=commodity_ops, max_balance=commodity_max)
@example(ops=[("request", 0, -2), ("request", 1, -4), ("fulfil", 0, [0]), ("recover", 1), ("fulfil", 0, [0]),
              ("attest", 5_000), ("mint", 4, 6_000, 0), ("request", 4, 100), ("reject", 0), ("retire", 1),
              ("reduce", 0, 90_000), ("add_wallet", 0), ("forced", 0, 6, -1, True)], max_balance=0)
@example(ops=[("attest", 3_000), ("request", 0, 9_000), ("fulfil", 0, [1, 0]), ("add_wallet", 1),
              ("batch", [(6, 6_000, 0), (1, 1_000, 1)]), ("resend", 0, True)], max_balance=12_000)
def test_commodity_token_invariants(world, spares, ops, max_balance):
    run_example(world, world.comm, spares, ops, commodity=True, max_balance=max_balance)


def test_invariant_checker_detects_a_broken_model(world, spares):
    """The checker is not vacuous: a model that disagrees with the chain is caught, and so is a reference that
    would have minted twice."""
    run = Run(world, world.prop, spares, commodity=False, max_balance=0)
    run.apply(("mint", 2, 100, 0))
    run.check()
    run.model[world.carol.address] += 1
    with pytest.raises(AssertionError, match="model"):
        run.check()
    run.model[world.carol.address] -= 1
    run.minted += 100
    with pytest.raises(AssertionError, match="distinct references"):
        run.check()
