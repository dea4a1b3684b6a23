"""Crash-safe batches (issue 12): every pipelined batch journals its signed transactions before broadcasting them,
and a re-run settles the journal first (rwaledger.journal, rwaledger.transactions.settle).

* kill -9 of the registrar process (tests/journal_worker.py: a 500-investor onboarding + batch mint, in chunks of
  10, so ~100 transactions) when the chain shows k of its transactions sent, then the same batch re-run here;
* kill -9 of the node mid-batch (a dump taken a moment before), anvil restarted from the dump, the batch re-run;
* after each: every balance exact, no reference minted twice, the journal empty, a ledger syncs and reconciles;
* kill -9 of a ledger sync process, and of its node, after k committed ranges; the same ledger synced again.

Default: 3 points of each batch case and 2 of each sync case; ``RWA_LONG_FAULTS=1`` runs 10 random points of each.
The figures are printed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rwaledger import journal as journals
from rwaledger import nodestate
from rwaledger.chain import AnvilChain
from rwaledger.errors import NodeUnavailable, RwaError
from rwaledger.ledger import Ledger
from rwaledger.models import load_spec
from rwaledger.node import AnvilNode, free_port
from rwaledger.services import Services
from rwaledger.session import open_session
from rwaledger.stack import deploy_stack

sys.path.insert(0, str(Path(__file__).parent))
import journal_worker as worker  # noqa: E402

LONG = bool(os.environ.get("RWA_LONG_FAULTS"))
POINTS = 10 if LONG else 3
COUNT = 500
CHUNK = 10  # 50 registrations + 50 mints per batch
TX_PER_BATCH = 2 * COUNT // CHUNK

ASSET_TOML = """
kind = "property"
name = "Crash Test Tower"
symbol = "CRASH-1"
legal_reference = "TEST/CRASH/1"
jurisdiction = "PK"
location = "Nowhere"
metadata_uri = "ipfs://crash"
total_shares = 100000000
decimals = 0

[valuation]
amount = "1000.00"
currency = "PKR"
date = 2026-10-15

[rules]
max_holders = 100000
"""

HERE = Path(__file__).parent
ROOT = HERE.parent


class World:
    def __init__(self, tmp: Path, build):
        self.tmp = tmp
        self.build = build
        self.port = free_port()
        self.state = tmp / "state.json"
        self.node = AnvilNode(port=self.port).start()
        self.deployments = tmp / "deployments"
        self.journal_dir = tmp / "journal"
        os.environ["RWA_JOURNAL_DIR"] = str(self.journal_dir)
        self.reg = self.services()
        spec = tmp / "crash.toml"
        spec.write_text(ASSET_TOML)
        self.reg.assets.register(load_spec(spec))
        self.start_block = 1
        self.seeds = iter(range(1, 1000))
        self.expected: dict[str, int] = {}
        self.why = ""  # what the last worker that fell short was doing

    def services(self) -> Services:
        chain = AnvilChain(url=self.node.url)
        session = open_session(chain=chain, build=self.build, record=True, deployments_dir=self.deployments)
        return Services(deploy_stack(session))

    def registrar(self) -> str:
        return self.reg.session.tx.address

    def nonce(self) -> int:
        return self.node_w3().eth.get_transaction_count(self.registrar(), "pending")

    def node_w3(self):
        from web3 import Web3

        return Web3(Web3.HTTPProvider(self.node.url))

    def worker(self, seed: int) -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "tokenize"), RWA_JOURNAL_DIR=str(self.journal_dir))
        return subprocess.Popen([sys.executable, str(HERE / "journal_worker.py"), self.node.url, str(self.deployments),
                                 str(seed), str(COUNT), str(CHUNK)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)

    def start_worker_until(self, seed: int, k: int, timeout: float = 60) -> tuple[subprocess.Popen, int, bool]:
        """Start the registrar process on batch ``seed`` and wait (up to ``timeout`` s, or until it exits) until ``k``
        of its transactions are in: the registrar's pending nonce ``k`` past where it was. Returns the process, that
        base nonce and whether ``k`` was reached."""
        base = self.nonce()
        proc = self.worker(seed)
        reached = _wait_for(lambda: self.nonce() >= base + k, timeout, proc)
        if not reached:
            self.why = self.stalled(proc, base, k)
        return proc, base, reached

    def stalled(self, proc: subprocess.Popen, base: int, k: int) -> str:
        """What a worker that did not reach ``k`` transactions was doing: its stack (it dumps it on SIGUSR1) or its
        exit code and output, the registrar's nonces and the node's pool."""
        alive = proc.poll() is None
        if alive:
            os.kill(proc.pid, signal.SIGUSR1)
            time.sleep(1)
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        eth = self.node_w3().eth
        me = self.registrar()
        try:
            pool = self.node_w3().provider.make_request("txpool_inspect", [])
        except Exception as exc:  # noqa: BLE001 - a diagnostic only
            pool = repr(exc)
        return (f"worker {'stalled (killed)' if alive else f'exited {proc.returncode}'} short of {k} txs: "
                f"base {base}, latest {eth.get_transaction_count(me, 'latest')}, "
                f"pending {eth.get_transaction_count(me, 'pending')}, block {eth.block_number}\n"
                f"pool {str(pool)[:3000]}\nstdout {out.decode()[-1000:]}\nstderr {err.decode()[-6000:]}")

    def rerun(self, seed: int) -> None:
        """The same batch again, here; a timeout fails with what the node holds of the transaction it waited for
        (its nonce and fees, the latest block, the sender's nonces and pool): a CI run once waited 120 s here."""
        from rwaledger.errors import TransactionTimeout

        self.reg.session.tx.timeout = float(os.environ.get("RWA_RERUN_TIMEOUT", "120"))
        try:
            worker.run(self.reg, seed, COUNT, CHUNK)
        except TransactionTimeout as exc:
            raise AssertionError(f"{exc}\n{self.node_view(exc.tx_hash)}") from None

    def node_view(self, tx_hash: str) -> str:
        """A diagnostic: the node's view of ``tx_hash`` and of the registrar's transactions."""
        call = self.node_w3().provider.make_request
        me = self.registrar()
        lines = []
        for method, params in (("eth_getTransactionByHash", [tx_hash]), ("eth_getTransactionReceipt", [tx_hash]),
                               ("eth_getBlockByNumber", ["latest", False]),
                               ("eth_getTransactionCount", [me, "latest"]), ("eth_getTransactionCount", [me, "pending"]),
                               ("txpool_status", []), ("txpool_inspect", [])):
            try:
                answer = call(method, params).get("result")
            except Exception as exc:  # noqa: BLE001 - a diagnostic only
                answer = repr(exc)
            if method == "eth_getBlockByNumber" and isinstance(answer, dict):
                answer = {k: answer.get(k) for k in ("number", "hash", "baseFeePerGas", "gasUsed", "gasLimit")} | {
                    "transactions": len(answer.get("transactions", []))}
            if method == "eth_getTransactionByHash" and isinstance(answer, dict):
                answer = {k: answer.get(k) for k in ("nonce", "from", "gas", "maxFeePerGas", "maxPriorityFeePerGas",
                                                     "gasPrice", "blockNumber")}
            lines.append(f"{method} {params}: {str(answer)[:4000]}")
        return "\n".join(lines)

    def restart_node(self, state: Path) -> None:
        self.node = AnvilNode(port=self.port, state_file=state, dump_on_exit=False).start()
        self.reg = self.services()

    def check(self, seed: int) -> None:
        """The batch's balances exact, each reference minted once, the journal empty, the ledger reconciled."""
        _, mints = worker.batch(seed, COUNT)
        for m in mints:
            self.expected[m.to] = int(m.amount)
        token = self.reg.assets.token(worker.SYMBOL)
        from rwaledger.transactions import call_functions

        balances = call_functions(self.reg.session.chain, [token.functions.balanceOf(w) for w in self.expected])
        assert dict(zip(self.expected, balances)) == self.expected
        assert token.functions.totalSupply().call() == sum(self.expected.values())
        # exact balances and an exact supply: no reference was minted twice (nor lost)
        journal = journals.for_chain(self.reg.session.chain)
        assert journal is not None and journal.entries() == []
        eth = self.node_w3().eth
        assert eth.get_transaction_count(self.registrar(), "latest") == eth.get_transaction_count(self.registrar(), "pending")
        with Ledger.open(self.tmp / f"ledger-{seed}.sqlite") as ledger:
            ledger.sync(self.reg.stack, from_block=self.start_block)
            report = ledger.reconcile(self.reg.stack)
            assert report.ok, report


@pytest.fixture(scope="module")
def world(rwa_build, tmp_path_factory):
    old = os.environ.get("RWA_JOURNAL_DIR")
    w = World(tmp_path_factory.mktemp("journal"), rwa_build)
    try:
        yield w
    finally:
        w.node.stop()
        if old is not None:
            os.environ["RWA_JOURNAL_DIR"] = old
        else:
            os.environ.pop("RWA_JOURNAL_DIR", None)


def _wait_for(predicate, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


def _points(rng: random.Random) -> list[int]:
    if LONG:
        return sorted(rng.randrange(1, TX_PER_BATCH) for _ in range(POINTS))
    return [3, TX_PER_BATCH // 2 + 2, TX_PER_BATCH - 4]  # in the onboarding, mid-way, in the minting


def test_kill_the_registrar_process_mid_batch_then_rerun_exactly(world):
    rng = random.Random(int(os.environ.get("RWA_FAULT_SEED", "12")))
    started = time.monotonic()
    killed_at = []
    for k in _points(rng):
        seed = next(world.seeds)
        proc, base, reached = world.start_worker_until(seed, k)
        assert reached, world.why
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        killed_at.append(world.nonce() - base)
        left = len(journals.Journal(journals.path_for(world.reg.session.chain)).entries())
        world.rerun(seed)  # the same batch again, here
        world.check(seed)
        print(f"registrar killed after {killed_at[-1]} txs sent ({left} journaled), re-run exact")
    seconds = time.monotonic() - started
    print(f"\nregistrar kill -9: {len(killed_at)} points {killed_at} of {TX_PER_BATCH} txs, {seconds:.1f} s")


def test_kill_the_node_mid_batch_then_restart_from_its_dump_and_rerun(world):
    rng = random.Random(int(os.environ.get("RWA_FAULT_SEED", "12")) + 1)
    started = time.monotonic()
    killed_at = []
    for k in _points(rng):
        seed = next(world.seeds)
        proc, base, reached = world.start_worker_until(seed, k)
        assert reached, world.why
        dump = world.tmp / f"dump-{seed}.json"
        nodestate.dump(world.node.url, dump)  # the keeper's last dump...
        _wait_for(lambda: world.nonce() >= base + k + 3, 2, proc)  # ...and a few transactions more, lost with the node
        os.kill(world.node.pid, signal.SIGKILL)
        world.node.pid = None
        try:
            proc.wait(timeout=30)  # the worker fails with NodeUnavailable
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        world.restart_node(dump)
        killed_at.append(k)
        world.rerun(seed)
        # the chain exact, and a fresh ledger synced on the restored node reconciles (it was short of a few mints
        # while the keeper kept dumps that a block had raced: tests/test_nodestate.py)
        world.check(seed)
    seconds = time.monotonic() - started
    print(f"\nnode kill -9: {len(killed_at)} points {killed_at} of {TX_PER_BATCH} txs, {seconds:.1f} s")


# --- settling the journal, unit by unit ----------------------------------------------------------------------


def test_settle_rebroadcasts_dropped_bytes_leaves_mined_and_names_replaced(world, tmp_path):
    from rwaledger.journal import REPLACED, Journal, entries_of
    from rwaledger.transactions import broadcast, settle, tx_state

    chain = world.reg.session.chain
    tx = world.reg.session.tx
    me = tx.address
    journal = Journal(tmp_path / "unit.sqlite")
    tx.resync_nonce()

    mined = tx.sign_data(me, b"", gas=30_000)
    broadcast(chain, [mined])
    tx.wait(mined.tx_hash)
    dropped = tx.sign_data(me, b"\x01", gas=30_000)  # journaled, never sent (the process died first)
    journal.append(entries_of([mined, dropped], "unit"))
    assert tx_state(chain, dropped.tx_hash, me, dropped.nonce) == "dropped"
    done = settle(chain, 30, journal)
    assert done.mined == [mined.tx_hash] and done.rebroadcast == [dropped.tx_hash] and not done.replaced
    receipt = world.node_w3().eth.get_transaction_receipt(dropped.tx_hash)  # the same bytes: the same hash
    assert receipt["status"] == 1 and world.node_w3().eth.get_transaction(dropped.tx_hash)["nonce"] == dropped.nonce
    assert journal.entries() == [] and tx_state(chain, mined.tx_hash) == "mined"

    tx.resync_nonce()
    lost = tx.sign_data(me, b"\x02", gas=30_000)  # journaled; then another transaction took its nonce
    journal.append(entries_of([lost], "unit"))
    tx.set_nonce(lost.nonce)
    other = tx.sign_data(me, b"\x03", gas=30_000)
    broadcast(chain, [other])
    tx.wait(other.tx_hash)
    done = settle(chain, 30, journal)
    assert [p.tx_hash for p in done.replaced] == [lost.tx_hash] and not done.rebroadcast
    assert journal.entries() == [] and [e.tx_hash for e in journal.entries(REPLACED)] == [lost.tx_hash]
    assert tx_state(chain, lost.tx_hash, me, lost.nonce) == "replaced"
    assert settle(chain, 30, journal).anything is False  # a replaced entry is never sent again


def test_a_rewound_branch_is_never_rebroadcast_onto_the_new_one(world, tmp_path):
    """CI failure (order-dependent, 2026-12-02): a batch journaled on a branch that a test then reverted was re-broadcast by
    the next batch's settle onto the new branch. Entries written since a snapshot are void after Chain.revert, and an
    entry whose anchor block is now another block (a reorg, a rewind by someone else, another chain with the same
    genesis) is forgotten, not re-sent."""
    from rwaledger.journal import Journal, entries_of, head
    from rwaledger.transactions import broadcast, settle

    chain = world.reg.session.chain
    tx = world.reg.session.tx
    me = tx.address

    # 1. through Chain.revert: what was journaled since the snapshot is forgotten
    journal = journals.for_chain(chain)
    snapshot = chain.snapshot()
    tx.resync_nonce()
    gone = tx.sign_data(me, b"\x07", gas=30_000)
    journal.append(entries_of([gone], "unit", head(chain)))
    broadcast(chain, [gone])
    tx.wait(gone.tx_hash)  # mined on this branch; the process dies before clearing its entry
    chain.revert(snapshot)
    assert journal.get(gone.tx_hash) is None
    done = settle(chain, 30, journal)
    assert not done.rebroadcast and done.anything is False
    assert tx_state_of(chain, gone) == "dropped"  # its nonce is free again and nothing re-sent it

    # 2. a rewind the journal was not told of (raw evm_revert, as another process would): the anchor tells
    own = Journal(tmp_path / "anchor.sqlite")
    mark = chain.w3.provider.make_request("evm_snapshot", [])["result"]
    chain.mine(1)
    tx.resync_nonce()
    orphan = tx.sign_data(me, b"\x08", gas=30_000)
    own.append(entries_of([orphan], "unit", head(chain)))  # anchored at the block just mined
    broadcast(chain, [orphan])
    tx.wait(orphan.tx_hash)
    assert chain.w3.provider.make_request("evm_revert", [mark])["result"] is True
    # the new branch grows past the anchor's height with other blocks (a later clock: an empty block at the same
    # height and second would be the very same block, and the anchor still on the chain)
    chain.advance_time(30)
    chain.mine(2)
    entry = own.get(orphan.tx_hash)
    assert chain.w3.eth.get_block(entry.anchor_number)["hash"].to_0x_hex() != entry.anchor_hash
    done = settle(chain, 30, own)
    assert done.discarded == [orphan.tx_hash] and not done.rebroadcast and own.entries(None) == []
    assert tx_state_of(chain, orphan) == "dropped"

    # 3. an anchor beyond the head is a node that lost blocks (restored from an older state): re-broadcast
    mark = chain.w3.provider.make_request("evm_snapshot", [])["result"]
    chain.mine(1)
    tx.resync_nonce()
    lost = tx.sign_data(me, b"\x09", gas=30_000)
    own.append(entries_of([lost], "unit", head(chain)))
    assert chain.w3.provider.make_request("evm_revert", [mark])["result"] is True  # the node "restored" older state
    done = settle(chain, 30, own)
    assert done.rebroadcast == [lost.tx_hash] and tx_state_of(chain, lost) == "mined"
    tx.resync_nonce()


def tx_state_of(chain, signed) -> str:
    from rwaledger.transactions import tx_state

    return tx_state(chain, signed.tx_hash, signed.sender.address, int(signed.nonce))


def _window_behind_a_gap(tx, tag: int):
    """Three signed transactions: the first to send, the second held back (a nonce gap), the third behind it."""
    tx.resync_nonce()
    return tuple(tx.sign_data(tx.address, bytes([tag + k]), gas=30_000) for k in range(3))


def _fill_the_gap(tx, mined, gap, behind) -> None:
    """Send the held-back transaction, wait for the one behind it, clear both from the journal."""
    from rwaledger.transactions import broadcast

    broadcast(tx.chain, [gap])
    tx.wait(behind.tx_hash)
    journals.for_chain(tx.chain).clear([mined.tx_hash, behind.tx_hash])
    tx.resync_nonce()


def test_a_timeout_names_as_pending_only_the_transactions_still_without_a_receipt(world):
    """A window whose first transaction was mined and whose second waits behind a nonce gap: the timeout names the
    second alone as pending (it listed the whole window, mined ones included: a CI failure's message named 50
    transactions "pending" from a nonce that had been mined)."""
    from rwaledger.errors import TransactionTimeout
    from rwaledger.transactions import pipeline

    chain, tx = world.reg.session.chain, world.reg.session.tx
    mined, gap, behind = _window_behind_a_gap(tx, 0x21)
    timeout = tx.timeout
    tx.timeout = 3
    try:
        with pytest.raises(TransactionTimeout) as caught:
            pipeline(chain, [mined, behind], lambda s: s, decoder_from=tx, what="unit")
    finally:
        tx.timeout = timeout
    assert caught.value.tx_hash == behind.tx_hash
    assert [(p.tx_hash, p.nonce) for p in caught.value.pending] == [(behind.tx_hash, behind.nonce)]
    assert "1 transaction(s) not confirmed" in str(caught.value) and caught.value.missing == [behind.tx_hash]
    assert world.node_w3().eth.get_transaction_receipt(mined.tx_hash)["status"] == 1
    _fill_the_gap(tx, mined, gap, behind)  # the held one executes, as "pending" said it might


def test_a_node_gone_while_a_window_waits_names_as_pending_only_those_without_a_receipt(world, monkeypatch):
    """The node goes away after the window's first transaction had its receipt: that one is counted mined, the
    other alone is pending (before, both were named pending and none mined)."""
    from rwaledger import rpc
    from rwaledger.errors import NodeUnavailable
    from rwaledger.transactions import pipeline

    chain, tx = world.reg.session.chain, world.reg.session.tx
    mined, gap, behind = _window_behind_a_gap(tx, 0x31)
    real = rpc.batch
    seen = []

    def batch(chain_, calls, **kw):  # the node "goes away" at the first receipt poll after one came back
        if calls and calls[0][0] == "eth_getTransactionReceipt":
            if any(seen):
                raise NodeUnavailable(world.node.url, kw.get("what") or "", "connection refused")
            results = real(chain_, calls, **kw)
            seen.append(any(r is not None for r in results))
            return results
        return real(chain_, calls, **kw)

    monkeypatch.setattr(rpc, "batch", batch)
    with pytest.raises(NodeUnavailable) as caught:
        pipeline(chain, [mined, behind], lambda s: s, decoder_from=tx, what="unit")
    monkeypatch.setattr(rpc, "batch", real)
    assert [(p.tx_hash, p.nonce) for p in caught.value.pending] == [(behind.tx_hash, behind.nonce)]
    assert caught.value.confirmed == 1 and "1 transaction(s) of this operation were mined" in str(caught.value)
    _fill_the_gap(tx, mined, gap, behind)


# --- `rwa tx status|cancel|pending` ---------------------------------------------------------------------------


def test_rwa_tx_status_cancel_and_pending(world):
    from rwaledger.transactions import broadcast

    chain = world.reg.session.chain
    tx = world.reg.session.tx
    journal = journals.for_chain(chain)
    journal.clear([e.tx_hash for e in journal.entries(None)])  # what earlier tests left marked replaced
    tx.resync_nonce()
    dropped = tx.sign_data(tx.address, b"\x04", gas=30_000)  # journaled by a batch that died before sending it
    journal.append(journals.entries_of([dropped], "unit"))
    mined = tx.sign_data(tx.address, b"\x05", gas=30_000)
    tx.reset_nonce()
    # the registrar's key is anvil's public development key (never a real one); the CLI reads it from the env
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tokenize"), RWA_JOURNAL_DIR=str(world.journal_dir),
               RWA_PRIVATE_KEY=chain.dev_accounts[0].key.hex(), RWA_DEPLOYMENTS_DIR=str(world.tmp / "cli-deployments"))
    env.pop("RWA_KEYSTORE", None)

    def rwa(*args):
        proc = subprocess.run([sys.executable, "-m", "rwaledger.cli", *args, "--network", world.node.url],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
        return proc.returncode, (proc.stdout + proc.stderr).strip()

    code, text = rwa("--json", "tx", "pending")
    assert code == 0 and [(r["hash"], r["nonce"], r["state"]) for r in json.loads(text)] == [
        (dropped.tx_hash, dropped.nonce, "pending")]
    code, text = rwa("tx", "status", dropped.tx_hash)
    assert code == 0 and text.startswith(f"dropped: hash {dropped.tx_hash}, nonce {dropped.nonce}") and "\n" not in text
    code, text = rwa("tx", "cancel", dropped.tx_hash)
    assert code == 0 and text.startswith(f"cancelled: {dropped.tx_hash} (nonce {dropped.nonce})"), text
    code, text = rwa("tx", "status", dropped.tx_hash)
    assert code == 0 and text.startswith(f"replaced: hash {dropped.tx_hash}"), text
    code, text = rwa("tx", "cancel", dropped.tx_hash)
    assert code == 1 and "replaced: nothing to cancel" in text and "\n" not in text
    assert journals.for_chain(chain).entries() == []  # replaced entries are not pending work

    del mined  # signed at the nonce the replacement took: never sent
    tx.resync_nonce()
    done = tx.sign_data(tx.address, b"\x06", gas=30_000)
    broadcast(chain, [done])
    tx.wait(done.tx_hash)
    code, text = rwa("tx", "status", done.tx_hash)
    assert code == 0 and text.startswith(f"{done.tx_hash}: mined in block"), text
    code, text = rwa("tx", "cancel", done.tx_hash)
    assert code == 1 and "mined: nothing to cancel" in text
    code, text = rwa("tx", "status", "0x" + "ab" * 32)
    assert code == 1 and "unknown" in text


def _sync_worker(world: World, ledger: Path, batch: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "tokenize"), str(HERE)]))
    return subprocess.Popen([sys.executable, str(HERE / "sync_worker.py"), world.node.url, str(world.deployments),
                             str(ledger), str(batch), str(world.start_block)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _committed(proc: subprocess.Popen, k: int) -> list[int]:
    """The last blocks of the first ``k`` ranges the sync process commits (fewer if it ends first)."""
    blocks: list[int] = []
    while len(blocks) < k:
        line = proc.stdout.readline().strip()
        if not line or line == "done":
            break
        blocks.append(int(line))
    return blocks


def _events(ledger: Ledger) -> list[tuple]:
    return [(e.block_number, e.log_index, e.event) for e in ledger.events()]


def test_kill_a_ledger_sync_or_its_node_mid_sync_then_sync_again_exactly(world):
    """kill -9 of a ledger sync process, and of its node (restarted from its dump), after k committed ranges; the
    same ledger synced again holds every event once, has lost no committed range, and reconciles."""
    if not world.expected:  # run alone: give the sync a chain to read
        seed = next(world.seeds)
        worker.run(world.reg, seed, COUNT, CHUNK)
        world.check(seed)
    head = world.node_w3().eth.block_number
    ranges = 20
    batch = max(1, (head - world.start_block + 1) // ranges)
    with Ledger.open(world.tmp / "sync-reference.sqlite") as reference:
        reference.sync(world.reg.stack, from_block=world.start_block, to_block=head)
        expected_events, expected_caps = _events(reference), reference.cap_table(worker.SYMBOL)
    rng = random.Random(int(os.environ.get("RWA_FAULT_SEED", "12")) + 2)
    points = sorted(rng.randrange(1, ranges) for _ in range(POINTS)) if LONG else [2, ranges - 3]
    started = time.monotonic()
    for n, k in enumerate(points):
        for victim in ("sync", "node"):
            path = world.tmp / f"sync-{victim}-{n}.sqlite"
            dump = world.tmp / f"sync-dump-{n}.json"
            if victim == "node":
                nodestate.dump(world.node.url, dump)  # the keeper's dump: the chain does not move during a sync
            proc = _sync_worker(world, path, batch)
            committed = _committed(proc, k)
            assert len(committed) == k, proc.stderr.read()[-2000:]
            if victim == "sync":
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            else:
                os.kill(world.node.pid, signal.SIGKILL)
                world.node.pid = None
                try:
                    proc.wait(timeout=60)  # the sync fails: the node is gone
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                world.restart_node(dump)
            with Ledger.open(path) as ledger:
                kept = ledger.checkpoint()
                assert kept is not None and kept.block >= committed[-1], (victim, k, kept, committed)
                ledger.sync(world.reg.stack, to_block=head)
                assert _events(ledger) == expected_events, (victim, k)  # every event once: none lost, none twice
                assert ledger.cap_table(worker.SYMBOL) == expected_caps
                report = ledger.reconcile(world.reg.stack)
                assert report.ok, report
            print(f"{victim} killed after {k} of ~{ranges} committed ranges (checkpoint {kept.block}), resynced exact")
    print(f"\nledger sync kill -9: {len(points)} points {points} x (sync, node), {time.monotonic() - started:.1f} s")
