"""A hypothesis state machine over a commodity token, its custody reserve and the ledger, on a real anvil.

Random steps: a custodian attests a lot, the registrar mints (within the reserve, or not), holders transfer (within
the rules, or not), the registrar burns; the chain is snapshotted and reverted (a reorg: the ledger must roll the
dropped blocks back) and the node is restarted (its whole state dumped, anvil killed, a new anvil loading the dump
on the same port: what ``rwa node`` does across a kill -9). After every step, on the chain: Σ balances = supply <=
attested reserve, every balance as the model says; and the ledger, synced, equals the chain (its cap table, and a
reconcile that finds no difference).

Bounded in the default run (``RWA_STATEFUL_EXAMPLES`` examples, default 6, of up to ``RWA_STATEFUL_STEPS`` steps,
default 10); set them higher for a long run.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rwaledger import nodestate
from rwaledger.chain import AnvilChain
from rwaledger.errors import RwaError
from rwaledger.ledger import Ledger
from rwaledger.models import InvestorSpec, LotSpec, MintRequest, load_csv, load_spec
from rwaledger.node import AnvilNode, free_port
from rwaledger.services import Services
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack

EXAMPLES = Path(__file__).resolve().parents[1] / "scripts" / "examples"
MAX_EXAMPLES = int(os.environ.get("RWA_STATEFUL_EXAMPLES", "6"))
MAX_STEPS = int(os.environ.get("RWA_STATEFUL_STEPS", "10"))
ASSET = "KHI-GOLD"


class World:
    """One anvil on a fixed port with the stack, the gold and the investors on it; its state at that point is kept
    in a dump file every example starts from (a new anvil loading it)."""

    def __init__(self, rwa_build, tmp: Path):
        self.port = free_port()
        self.base = tmp / "base.json"
        self.dumps = tmp / "dumps"
        self.dumps.mkdir()
        self.tmp = tmp
        self.node = AnvilNode(port=self.port).start()
        self.chain = AnvilChain(url=self.node.url)
        session = open_session(chain=self.chain, build=rwa_build, record=False)
        self.stack = deploy_stack(session)
        svc = Services(self.stack)
        svc.assets.register(load_spec(EXAMPLES / "karachi-gold.toml"))
        self.investors = [i.wallet for i in load_csv(EXAMPLES / "investors.csv", InvestorSpec) if i.investor is None]
        svc.investors.add_many(load_csv(EXAMPLES / "investors.csv", InvestorSpec))
        keys = {a.address: a for a in self.chain.dev_accounts}
        self.signers = {w: Signer(keys[w], "investor") for w in self.investors}
        nodestate.dump(self.node.url, self.base)
        self.examples = itertools.count()

    def restart(self, state: Path) -> None:
        """A new anvil on the same port, loading ``state`` (the old one killed, as by a kill -9)."""
        self.node.stop()
        self.node = AnvilNode(port=self.port, state_file=state, dump_on_exit=False).start()
        self.stack.session.tx.resync_nonce()  # the chain's nonce, not the cached one (a restart may have moved it)

    def close(self) -> None:
        self.node.stop()


@pytest.fixture(scope="module")
def world(rwa_build, tmp_path_factory):
    w = World(rwa_build, tmp_path_factory.mktemp("stateful"))
    yield w
    w.close()


def test_token_reserve_and_ledger_stay_consistent_through_reorgs_and_restarts(world):
    ran: Counter = Counter()  # which steps ran (and did something): the run must have exercised each kind

    class TokenLedger(RuleBasedStateMachine):
        @initialize()
        def start(self):
            n = next(world.examples)
            world.restart(world.base)
            self.svc = Services(world.stack)
            self.ledger = Ledger.open(str(world.tmp / f"ledger-{n}.sqlite"))
            info = self.svc.assets.asset(ASSET)
            self.token = self.svc.assets.token(ASSET)
            self.balances = {w: self.token.functions.balanceOf(w).call() for w in world.investors}
            self.supply, self.reserve = info.total_supply, info.max_supply
            self.snapshots: list[tuple[str, dict, int, int]] = []
            self.refs = itertools.count()
            self.n = n
            self.steps = 0  # since the last restart

        def teardown(self):
            if hasattr(self, "ledger"):
                self.ledger.close()

        @rule(quantity=st.integers(1, 3_000_000))
        def attest(self, quantity):
            lot = LotSpec(lot_id=f"P{self.n}-{next(self.refs)}", vault="Karachi Vault 2", quantity=quantity,
                          receipt_sha256="ab" * 32)
            self.svc.redemptions.attest_lot(ASSET, lot)
            self.reserve += quantity
            ran['attest'] += 1

        @rule(who=st.integers(0, 20), amount=st.integers(1, 4_000_000))
        def mint(self, who, amount):
            to = world.investors[who % len(world.investors)]
            request = MintRequest(asset=ASSET, to=to, amount=amount, reference=f"stateful-{self.n}-{next(self.refs)}")
            if self.supply + amount > self.reserve:
                with pytest.raises(RwaError):
                    self.svc.issuance.mint(request)  # refused before anything is sent
                return
            self.svc.issuance.mint(request)
            self.balances[to] += amount
            self.supply += amount
            ran['mint'] += 1

        def _transfer(self, src, dst, fraction):
            holders = [w for w in world.investors if self.balances[w]]
            if not holders:
                return
            a = holders[src % len(holders)]
            b = world.investors[dst % len(world.investors)]
            amount = max(1, int(self.balances[a] * fraction))
            if amount > self.balances[a]:
                with pytest.raises(RwaError, match="InsufficientBalance"):
                    self.svc.transfers.transfer(ASSET, world.signers[a], b, amount)
                return
            self.svc.transfers.transfer(ASSET, world.signers[a], b, amount)  # no other rule applies to these
            self.balances[a] -= amount
            self.balances[b] += amount
            ran["transfer"] += 1

        # transfers and mints are drawn more often than restarts and reorgs (hypothesis draws rules evenly)
        @rule(src=st.integers(0, 20), dst=st.integers(0, 20), fraction=st.floats(0.01, 1.2))
        def transfer(self, src, dst, fraction):
            self._transfer(src, dst, fraction)

        @rule(src=st.integers(0, 20), dst=st.integers(0, 20), fraction=st.floats(0.01, 1.0))
        def transfer_within_balance(self, src, dst, fraction):
            self._transfer(src, dst, fraction)

        @rule(who=st.integers(0, 20), amount=st.integers(1, 1_000_000))
        def mint_small(self, who, amount):
            self.mint(who, amount)

        @rule(who=st.integers(0, 20), fraction=st.floats(0.01, 1.0))
        def burn(self, who, fraction):
            holders = [w for w in world.investors if self.balances[w]]
            if not holders:
                return
            holder = holders[who % len(holders)]
            amount = int(self.balances[holder] * fraction)
            if amount == 0:
                return
            self.svc.enforcement.burn(ASSET, holder, amount, "court order")
            self.balances[holder] -= amount
            self.supply -= amount
            ran['burn'] += 1

        @rule()
        def snapshot(self):
            self.snapshots.append((world.chain.snapshot(), dict(self.balances), self.supply, self.reserve))

        @precondition(lambda self: self.snapshots)
        @rule()
        def reorg(self):
            snap, self.balances, self.supply, self.reserve = self.snapshots.pop()
            world.chain.revert(snap)
            world.stack.session.tx.resync_nonce()
            ran['reorg'] += 1

        @precondition(lambda self: self.steps >= 3)  # not at every other step: a restart takes a second
        @rule()
        def restart_node(self):
            state = world.dumps / f"{self.n}-{next(self.refs)}.json"
            nodestate.dump(world.node.url, state)
            world.restart(state)
            self.snapshots.clear()  # a node's snapshots do not survive it
            self.steps = 0
            ran['restart_node'] += 1

        @invariant()
        def chain_and_ledger_agree(self):
            if not hasattr(self, "ledger"):
                return
            self.steps += 1
            f = self.token.functions
            onchain = {w: f.balanceOf(w).call() for w in world.investors}
            assert onchain == self.balances
            supply, reserve = f.totalSupply().call(), f.attestedReserve().call()
            assert sum(onchain.values()) == supply == self.supply
            assert supply <= reserve == self.reserve
            self.ledger.sync(world.stack)
            in_ledger = {r.holder: r.amount for r in self.ledger.cap_table(ASSET)}
            assert in_ledger == {w: v for w, v in onchain.items() if v}
            report = self.ledger.reconcile(world.stack)
            assert report.ok, report.differences

    TokenLedger.TestCase.settings = settings(
        max_examples=MAX_EXAMPLES, stateful_step_count=MAX_STEPS, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    TokenLedger.TestCase().runTest()
    print("steps run:", dict(ran))
    assert all(ran[k] for k in ("attest", "mint", "transfer", "burn", "reorg", "restart_node")), ran
