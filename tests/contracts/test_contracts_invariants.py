"""Property-based invariants (hypothesis) over random sequences of token operations.

Each example runs at most 15 operations inside its own chain snapshot. Operations that revert are ignored, but only
with a decoded custom error: a Panic (arithmetic underflow, ...) or an undecodable revert fails the test. After
every operation ``canTransfer`` must have predicted the outcome of the ordinary transfers and mints, and at the end
of the example:

* the balances of every account ever touched sum to ``totalSupply`` and match a Python model of the operations;
* ``holderCount`` equals the number of touched accounts with a non-zero balance, ``frozenWalletCount`` the number
  of frozen ones;
* per wallet, frozen + encumbered + locked <= balance (``freeBalanceOf`` never underflows), the encumbered amount is
  the sum of its active liens and the locked amount the sum of its pending redemptions;
* commodity: ``totalSupply <= attestedReserve`` and the reserve is the sum of the active lots' quantities.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rwaledger.errors import ContractRevert, CustomErrorRevert
from rwaledger.signers import Signer

from contracts_kit import PK, Actor, b32, sha

MAX_OPS = 15
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
N_POOL = 6  # alice, bob, carol, dave, erin, outsider (unverified)


@pytest.fixture(scope="module")
def spares(world):
    """Keyed, funded, verified wallets that recoveries move holders to."""
    out = []
    for i in range(3):
        acct = Account.from_key(keccak(text=f"rwaledger-invariant-spare-{i}"))
        world.chain.set_balance(acct.address, 10**21)
        world.compliance.send(world.stack.identity.functions.registerIdentity(acct.address, PK, world.kyc_expiry, 1))
        out.append(Actor(f"spare{i}", acct.address, world.session.transactor(Signer(acct, f"spare {i}"))))
    return out


idx = st.sampled_from([0, 0, 0, 1, 1, 1, 2, 3, 4, 5])  # favour the opening holders (alice, bob)
# An amount is either absolute or, when negative, -p means p quarters of the relevant base at the time of the
# operation (the balance for moves, the free balance for freezes / liens / requests, the frozen units for
# unfreezes): random absolute amounts alone would make most operations fail.
quarters = st.integers(min_value=-4, max_value=-1)
amount = st.one_of(st.integers(min_value=0, max_value=1_500), quarters, quarters)
pick = st.integers(min_value=0, max_value=7)  # which lien / request / lot, modulo the ones that exist

COMMON_OPS = [
    (3, st.tuples(st.just("transfer"), idx, idx, amount)),
    (2, st.tuples(st.just("mint"), idx, st.integers(min_value=0, max_value=6_000))),
    (1, st.tuples(st.just("burn"), idx, amount)),
    (2, st.tuples(st.just("forced"), idx, idx, amount)),
    (1, st.tuples(st.just("freeze_wallet"), idx, st.booleans())),
    (1, st.tuples(st.just("freeze_partial"), idx, amount)),
    (1, st.tuples(st.just("unfreeze_partial"), idx, amount)),
    (2, st.tuples(st.just("lien"), idx, amount)),
    (1, st.tuples(st.just("release"), pick)),
    (1, st.tuples(st.just("recover"), idx)),
    (1, st.tuples(st.just("pause"), st.booleans())),
]
COMMODITY_OPS = [
    (3, st.tuples(st.just("request"), idx, amount)),
    (3, st.tuples(st.just("fulfil"), pick, st.sampled_from([0, 0, 0, 1, 2]))),
    (1, st.tuples(st.just("reject"), pick)),
    (1, st.tuples(st.just("attest"), st.integers(min_value=1, max_value=20_000))),
    (1, st.tuples(st.just("reduce"), pick, st.integers(min_value=0, max_value=90_000))),
    (1, st.tuples(st.just("retire"), pick)),
]


def weighted(ops):
    return st.one_of(*[strategy for weight, strategy in ops for _ in range(weight)])


property_ops = st.lists(weighted(COMMON_OPS), min_size=5, max_size=MAX_OPS)
commodity_ops = st.lists(weighted(COMMON_OPS + COMMODITY_OPS), min_size=5, max_size=MAX_OPS)

ZERO = "0x" + "00" * 20
GAS = 1_000_000


class Run:
    """One example: applies operations, keeps a model of the balances, checks the invariants."""

    def __init__(self, world, token, spares, commodity):
        self.w, self.t, self.f = world, token, token.functions
        self.commodity = commodity
        self.pool = [world.alice, world.bob, world.carol, world.dave, world.erin, world.outsider]
        self.spares = list(spares)
        self.touched = {a.address for a in self.pool}
        self.model = {a: self.f.balanceOf(a).call() for a in self.touched}
        self.lots = [b32("LOT-1")]
        self.n_refs = 0
        self.log: list[str] = []

    # -- sending -------------------------------------------------------------------------------------------

    def send(self, actor, fn) -> bool:
        """True if mined successfully, False if refused with a custom error; anything else fails the test."""
        try:
            actor.tx.transact(fn, gas=GAS)
            return True
        except CustomErrorRevert as err:
            self.last_error = err
            return False
        except ContractRevert as err:  # Panic, Error(string), unknown data: never expected from these contracts
            raise AssertionError(f"unexpected revert {err!r} after {self.log}") from None

    def predicted(self, frm, to, amt, ok):
        """canTransfer (asked before the send) must agree with what happened."""
        can, code = self.prediction
        assert can == ok, f"canTransfer({frm}, {to}, {amt}) said {(can, code)} but the send {'succeeded' if ok else 'failed'}: {self.log}"
        if not ok:
            assert self.last_error.name == "TransferNotAllowed" and self.last_error.args_by_name["reason"] == code

    def ask(self, frm, to, amt):
        self.prediction = tuple(self.f.canTransfer(frm, to, amt).call())

    # -- operations ----------------------------------------------------------------------------------------

    def amount(self, spec, base):
        return spec if spec >= 0 else base * -spec // 4

    def bal(self, who):
        return self.f.balanceOf(who).call()

    def free(self, who):
        return self.f.freeBalanceOf(who).call()

    def apply(self, op):
        self.log.append(repr(op))
        kind, *args = op
        w, f = self.w, self.f
        if kind == "mint":
            to, amt = self.pool[args[0]].address, args[1]
            self.n_refs += 1
            self.ask(ZERO, to, amt)
            ok = self.send(w.registrar, f.mint(to, amt, b32(f"inv-{self.n_refs}")))
            self.predicted(ZERO, to, amt, ok)
            if ok:
                self.model[to] += amt
        elif kind == "transfer":
            sender, to = self.pool[args[0]], self.pool[args[1]].address
            amt = self.amount(args[2], self.bal(sender.address))
            self.ask(sender.address, to, amt)
            ok = self.send(sender, f.transfer(to, amt))
            self.predicted(sender.address, to, amt, ok)
            if ok:
                self.model[sender.address] -= amt
                self.model[to] += amt
        elif kind == "burn":
            frm = self.pool[args[0]].address
            amt = self.amount(args[1], self.bal(frm))
            if self.send(w.registrar, f.burn(frm, amt, b32("inv-burn"))):
                self.model[frm] -= amt
        elif kind == "forced":
            frm, to = self.pool[args[0]].address, self.pool[args[1]].address
            amt = self.amount(args[2], self.bal(frm))
            if self.send(w.registrar, f.forcedTransfer(frm, to, amt, b32("inv-forced"))):
                self.model[frm] -= amt
                self.model[to] += amt
        elif kind == "freeze_wallet":
            self.send(w.compliance, f.setAddressFrozen(self.pool[args[0]].address, args[1]))
        elif kind == "freeze_partial":
            who = self.pool[args[0]].address
            self.send(w.compliance, f.freezePartialTokens(who, self.amount(args[1], self.free(who))))
        elif kind == "unfreeze_partial":
            who = self.pool[args[0]].address
            self.send(w.compliance, f.unfreezePartialTokens(who, self.amount(args[1], f.getFrozenTokens(who).call())))
        elif kind == "lien":
            who = self.pool[args[0]].address
            self.send(w.registrar, f.createLien(who, w.dave.address, self.amount(args[1], self.free(who)), b32("l"), sha("l")))
        elif kind == "release":
            active = [i for i in range(1, f.lienCount().call() + 1) if not f.lien(i).call()[3]]
            self.send(w.dave, f.releaseLien(active[args[0] % len(active)] if active else 1))
        elif kind == "recover":
            if not self.spares:
                return
            lost, new = self.pool[args[0]], self.spares[0]
            if self.send(w.registrar, f.recoveryAddress(lost.address, new.address)):
                self.spares.pop(0)
                self.model[new.address] = self.model.get(new.address, 0) + self.model[lost.address]
                self.model[lost.address] = 0
                self.touched.add(new.address)
                self.pool[args[0]] = new  # a recovered-from wallet is never used again (no lien, redemption or recovery may start from it)
        elif kind == "pause":
            self.send(w.compliance, f.pause() if args[0] else f.unpause())
        elif kind == "request":
            holder = self.pool[args[0]]
            self.send(holder, f.requestRedemption(self.amount(args[1], self.free(holder.address)), b32("dlv")))
        elif kind == "fulfil":
            req, lot = self.pending(args[0]), self.lots[args[1] % len(self.lots)]
            holder, status, amt, _ = f.redemption(req).call()
            if self.send(w.custodian, f.fulfilRedemption(req, lot)):
                assert status == 1
                self.model[holder] -= amt
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

    def pending(self, k):
        pending = [i for i in range(1, self.f.redemptionCount().call() + 1) if self.f.redemption(i).call()[1] == 1]
        return pending[k % len(pending)] if pending else 1

    # -- invariants ----------------------------------------------------------------------------------------

    def check(self):
        f, log = self.f, self.log
        balances = {a: f.balanceOf(a).call() for a in self.touched}
        supply = f.totalSupply().call()
        assert sum(balances.values()) == supply, f"sum of balances != totalSupply after {log}"
        assert balances == {a: self.model.get(a, 0) for a in self.touched}, f"balances differ from the model after {log}"
        assert f.holderCount().call() == sum(1 for b in balances.values() if b), f"holderCount after {log}"
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
            frozen, enc, lck = f.getFrozenTokens(a).call(), f.encumberedBalanceOf(a).call(), f.lockedBalanceOf(a).call()
            assert enc == encumbered[a], f"encumbered of {a} != its active liens after {log}"
            assert lck == locked[a], f"locked of {a} != its pending redemptions after {log}"
            assert frozen + enc + lck <= balances[a], f"unavailable above balance for {a} after {log}"
            assert f.freeBalanceOf(a).call() == balances[a] - frozen - enc - lck

        if self.commodity:
            reserve = f.attestedReserve().call()
            assert supply <= reserve, f"totalSupply {supply} above attested reserve {reserve} after {log}"
            active = [f.lot(lot).call() for lot in self.lots]
            assert reserve == sum(q for q, _, status, _, _ in active if status == 1), f"reserve != active lots after {log}"


def run_example(world, token, spares, ops, commodity):
    snapshot = world.chain.snapshot()
    try:
        run = Run(world, token, spares, commodity)
        for op in ops:
            run.apply(op)
        run.check()
    finally:
        world.chain.revert(snapshot)


@SETTINGS
@given(ops=property_ops)
@example(ops=[("freeze_partial", 0, -1), ("lien", 0, -2), ("recover", 0), ("forced", 0, 1, -4), ("release", 0),
              ("transfer", 0, 2, -4), ("burn", 2, -2), ("freeze_wallet", 1, True), ("mint", 1, 5)])
def test_property_token_invariants(world, spares, ops):
    run_example(world, world.prop, spares, ops, commodity=False)


@SETTINGS
@given(ops=commodity_ops)
@example(ops=[("request", 0, -2), ("request", 1, -4), ("fulfil", 0, 0), ("recover", 1), ("fulfil", 0, 0),
              ("attest", 5_000), ("mint", 4, 6_000), ("request", 4, 100), ("reject", 0), ("retire", 1, 0),
              ("reduce", 0, 90_000)])
def test_commodity_token_invariants(world, spares, ops):
    run_example(world, world.comm, spares, ops, commodity=True)


def test_invariant_checker_detects_a_broken_model(world, spares):
    """The checker is not vacuous: a model that disagrees with the chain is caught."""
    run = Run(world, world.prop, spares, commodity=False)
    run.apply(("mint", 2, 10))
    run.check()
    run.model[world.carol.address] += 1
    with pytest.raises(AssertionError, match="model"):
        run.check()
