"""Several `rwa serve` processes on one ledger: exactly one follower writes (a PostgreSQL advisory lock, or a file
lock beside a SQLite database), the others serve reads, and when the writer is killed another takes over with
nothing lost or recorded twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from rwaledger import node
from rwaledger.chain import AnvilChain
from rwaledger.election import LOCK_KEY, Leadership
from rwaledger.ledger import Ledger, schema
from rwaledger.models import AssetSpec, InvestorSpec, MintRequest, load_csv, load_spec
from rwaledger.services import Services
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack

EXAMPLES = Path(__file__).resolve().parents[1] / "scripts" / "examples"
TAKEOVER_S = 5.0  # the issue: "another takes over within seconds"; the standbys poll every 0.2 s here


# --- the election alone ------------------------------------------------------------------------------------------


def sqlite_engine(path: Path):
    return create_engine(f"sqlite:///{path}", poolclass=NullPool)


def test_one_sqlite_leader_at_a_time_and_the_lead_moves_on_release(tmp_path):
    db = tmp_path / "ledger.sqlite"
    a, b = Leadership.for_engine(sqlite_engine(db)), Leadership.for_engine(sqlite_engine(db))
    assert a.lock_path == b.lock_path == tmp_path / "ledger.sqlite.follower.lock"
    assert a.try_acquire() and a.held
    assert not b.try_acquire() and not b.held
    assert a.try_acquire() and not b.try_acquire()  # leading stays leading; a standby stays out
    assert a.lock_path.read_text() == f"{os.getpid()}\n"
    a.release()
    assert not a.held
    assert b.try_acquire() and not a.try_acquire()
    b.close()
    assert a.try_acquire()
    a.close()


def test_a_dead_sqlite_leaders_lock_is_free(tmp_path):
    """The leader is another process, killed with SIGKILL: the kernel drops its lock, a standby leads."""
    db = tmp_path / "ledger.sqlite"
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from sqlalchemy import create_engine\n"
        "from rwaledger.election import Leadership\n"
        f"lead = Leadership.for_engine(create_engine('sqlite:///{db}'))\n"
        "print(lead.try_acquire(), flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "True"
        standby = Leadership.for_engine(sqlite_engine(db))
        assert not standby.try_acquire()
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert standby.try_acquire()
        standby.close()
    finally:
        child.kill()
        child.wait(10)


def test_an_in_memory_ledger_always_leads():
    one, two = (Leadership.for_engine(create_engine("sqlite://")) for _ in range(2))
    assert one.backend == "memory" and one.try_acquire() and two.try_acquire()  # two databases, nothing shared


def advisory_holders(url: str, key: int = LOCK_KEY) -> list[str]:
    """The application names of the sessions holding the election's advisory lock on this database."""
    k = key & 0xFFFF_FFFF_FFFF_FFFF  # pg_locks shows a bigint key as two oids and objsubid 1
    with create_engine(url, poolclass=NullPool).connect() as conn:
        return list(conn.execute(text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid::bigint = :hi AND l.objid::bigint = :lo"), {"hi": k >> 32, "lo": k & 0xFFFF_FFFF}).scalars())


def test_one_postgres_leader_and_a_takeover_when_its_session_ends(postgres_url):
    a = Leadership.for_engine(create_engine(postgres_url))
    b = Leadership.for_engine(create_engine(postgres_url))
    try:
        assert a.try_acquire() and not b.try_acquire()
        assert advisory_holders(postgres_url) == [f"rwaledger follower pid={os.getpid()}"]
        assert a.try_acquire() and not b.try_acquire()
        a.release()
        assert advisory_holders(postgres_url) == [] and b.try_acquire() and not a.try_acquire()
        # b's session dies under it (as when its process is killed: the server ends the session)
        with create_engine(postgres_url, poolclass=NullPool).connect() as admin:
            killed = admin.execute(text(
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalars().all()
        assert killed == [True]
        # the server releases b's lock with its session; pg_terminate_backend only signals the backend, which ends a
        # moment later (asking at once lost that race once in 11 CI runs)
        wait_for("b's session to end and free the lock", a.try_acquire, 10)
        assert not b.try_acquire() and not b.held  # b learns it lost the lead (and stays a standby)
        assert len(advisory_holders(postgres_url)) == 1
    finally:
        a.dispose()
        b.dispose()


def test_another_database_on_the_same_server_elects_its_own_leader(postgres_server):
    urls = [postgres_server.create_database(f"elect{os.getpid()}_{i}") for i in range(2)]
    leads = [Leadership.for_engine(create_engine(u)) for u in urls]
    try:
        assert all(lead.try_acquire() for lead in leads)  # advisory locks are scoped to one database
    finally:
        for lead in leads:
            lead.dispose()
        for i in range(2):
            postgres_server.drop_database(f"elect{os.getpid()}_{i}")


# --- the sync's own guard ------------------------------------------------------------------------------------------


def test_a_stale_second_writer_cannot_record_a_range_twice(chain, rwa_build, ledger_url, isolation):
    """Two indexers on one ledger that both read the same checkpoint (what two writers without the election would
    do): the second one's write of the range fails whole (unique events and blocks), nothing is recorded twice."""
    stack = deploy_stack(open_session(chain=chain, build=rwa_build, record=False))
    Services(stack).assets.register(load_spec(EXAMPLES / "lahore-apartment.toml", AssetSpec))
    ledger = Ledger.open(ledger_url)
    try:
        first, second = ledger.indexer(stack), ledger.indexer(stack)
        with ledger.engine.begin() as conn:  # the second writer gets as far as the write, from the empty checkpoint
            second._projector = second._load(conn, second._bind(conn, None))
        head = chain.w3.eth.block_number
        fetched = second.fetch(0, head, second._projector.contract_kinds)
        done = first.sync()
        assert done.events > 0 and done.to_block == head
        with pytest.raises(IntegrityError):
            with ledger.engine.begin() as conn:
                second.write_range(conn, head, *fetched)
        with ledger.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(schema.events)).scalar_one() == done.events
        assert ledger.reconcile(stack).ok
    finally:
        ledger.close()


# --- two `rwa serve` processes on one PostgreSQL ----------------------------------------------------------------


def get_json(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def wait_for(what, check, timeout: float):
    """``check()`` until it is truthy (its value) or ``timeout`` seconds pass (then fail saying ``what``)."""
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        try:
            last = check()
            if last:
                return last
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


@pytest.fixture
def served_world(tmp_path, rwa_build):
    """A background anvil (a node the `rwa` processes find by RWA_NODE_DIR), the stack deployed and recorded
    where they look (RWA_DEPLOYMENTS_DIR), the example apartment, investors and allocations on it."""
    node_dir, deployments = tmp_path / "node", tmp_path / "deployments"
    info = node.start_background(node_dir, port=node.free_port())
    try:
        chain = AnvilChain(url=info["url"])
        session = open_session(chain=chain, build=rwa_build, record=True, deployments_dir=deployments)
        stack = deploy_stack(session)
        reg = Services(stack)
        reg.assets.register(load_spec(EXAMPLES / "lahore-apartment.toml", AssetSpec))
        investors = load_csv(EXAMPLES / "investors.csv", InvestorSpec)
        reg.investors.add_many(investors)
        reg.issuance.mint_many([m for m in load_csv(EXAMPLES / "allocations.csv", MintRequest) if m.asset == "LHR-GH12B"])
        env = {**os.environ, "RWA_NODE_DIR": str(node_dir), "RWA_DEPLOYMENTS_DIR": str(deployments)}
        for name in ("RWA_PRIVATE_KEY", "RWA_KEYSTORE", "RWA_LEDGER_URL"):
            env.pop(name, None)
        keys = {a.address: Signer(a, a.address) for a in chain.dev_accounts}
        yield stack, reg, [keys[i.wallet] for i in investors], env
    finally:
        node.stop_background(node_dir)


def serve(env, root, db: str, port: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rwaledger.cli", "serve", "--network", "anvil", "--db", db,
                             "--port", str(port), "--poll", "0.2", *extra],
                            env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.terminate()
    try:
        _, stderr = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate(timeout=10)
    return stderr or ""


def ledger_matches_chain(ledger: Ledger, stack, head: int) -> None:
    """Every log of the followed contracts up to ``head`` is in the ledger exactly once, and the balances
    reconcile."""
    with ledger.engine.connect() as conn:
        tracked = list(conn.execute(select(schema.contracts.c.address)).scalars())
        recorded = [(r.tx_hash.lower(), r.log_index) for r in conn.execute(
            select(schema.events.c.tx_hash, schema.events.c.log_index).where(schema.events.c.block_number <= head))]
    logs = stack.session.chain.w3.eth.get_logs({"fromBlock": 0, "toBlock": head, "address": tracked})
    on_chain = sorted(("0x" + lg["transactionHash"].hex().removeprefix("0x").lower(), lg["logIndex"]) for lg in logs)
    assert len(recorded) == len(set(recorded))  # nothing twice
    assert sorted(recorded) == on_chain  # nothing lost
    report = ledger.reconcile(stack)
    assert report.ok, report.differences


def test_kill_the_writing_rwa_serve_and_the_other_takes_over(served_world, postgres_url, root):
    stack, reg, holders, env = served_world
    ledger = Ledger.open(postgres_url)  # migrated once here: the two servers start on an up-to-date schema
    w3 = stack.session.chain.w3
    ports = [node.free_port(), node.free_port()]
    procs = [serve(env, root, postgres_url, p) for p in ports]
    try:
        def statuses():
            return [get_json(f"http://127.0.0.1:{p}/api/status") for p in ports]

        def settled():
            s = statuses()
            head = w3.eth.block_number
            return s if all(x["follower_running"] and x["synced_block"] == head for x in s) else None

        first = wait_for("both servers up and the ledger synced", settled, 45)
        assert sorted(x["role"] for x in first) == ["leader", "standby"], first
        leader = [x["role"] for x in first].index("leader")
        standby = 1 - leader
        time.sleep(0.6)  # three more polls: the standby keeps standing by while the leader lives
        assert [x["role"] for x in statuses()] == [x["role"] for x in first]
        assert len(advisory_holders(postgres_url)) == 1

        reg.transfers.transfer("LHR-GH12B", holders[0], holders[2].address, "100 shares")
        os.kill(procs[leader].pid, signal.SIGKILL)
        killed_at = time.time()
        procs[leader].wait(10)
        reg.transfers.transfer("LHR-GH12B", holders[1], holders[3].address, "200 shares")
        reg.issuance.mint(MintRequest(asset="LHR-GH12B", to=holders[4].address, amount="50 shares", reference="after-kill"))
        head = w3.eth.block_number

        base = f"http://127.0.0.1:{ports[standby]}"
        wait_for("the standby leads", lambda: get_json(base + "/api/status")["role"] == "leader", TAKEOVER_S)
        took_over = time.time() - killed_at
        wait_for("the new leader syncs to the head",
                 lambda: get_json(base + "/api/status")["synced_block"] >= head, 10)
        assert took_over < TAKEOVER_S
        assert get_json(base + "/api/status")["last_error"] is None
        rows = {r["wallet"]: r["amount"] for r in get_json(base + "/api/assets/LHR-GH12B/cap-table")["rows"]}
        assert rows[holders[4].address] == "50" and rows[holders[3].address] == "2200"
        ledger_matches_chain(ledger, stack, head)
    finally:
        for p in procs:
            stop(p)
        ledger.close()


def workers_of(proc) -> set[int]:
    """uvicorn's worker processes: the children of `rwa serve` that multiprocessing spawned (not its resource
    tracker)."""
    found = set()
    for kid in map(int, Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()):
        try:
            if b"spawn_main" in Path(f"/proc/{kid}/cmdline").read_bytes():
                found.add(kid)
        except OSError:  # just exited
            pass
    return found


def test_rwa_serve_workers_elect_one_writer_and_a_killed_one_is_replaced(served_world, postgres_url, root):
    """`rwa serve --workers 2`: two worker processes, one advisory lock held (by one of them); SIGKILL the holder
    and the lock is held again within seconds (by the other worker, or the one uvicorn starts in its place) and
    the ledger keeps following."""
    stack, reg, holders, env = served_world
    ledger = Ledger.open(postgres_url)
    w3 = stack.session.chain.w3
    port = node.free_port()
    proc = serve(env, root, postgres_url, port, "--workers", "2")
    try:
        def workers() -> set[int]:
            return workers_of(proc)

        def lock_holder() -> int | None:
            names = advisory_holders(postgres_url)
            assert len(names) <= 1, names
            return int(names[0].rsplit("=", 1)[1]) if names else None

        wait_for("two workers", lambda: len(workers()) == 2, 45)
        holder = wait_for("a worker leads", lock_holder, 45)
        assert holder in workers()
        wait_for("the ledger synced", lambda: get_json(f"http://127.0.0.1:{port}/api/status")["synced_block"]
                 == w3.eth.block_number, 20)
        os.kill(holder, signal.SIGKILL)
        killed_at = time.time()
        reg.transfers.transfer("LHR-GH12B", holders[0], holders[2].address, "10 shares")
        head = w3.eth.block_number
        new = wait_for("another worker leads", lambda: (h := lock_holder()) not in (None, holder) and h, TAKEOVER_S)
        assert time.time() - killed_at < TAKEOVER_S and new in workers()
        wait_for("the ledger follows on", lambda: ledger.checkpoint().block >= head, 10)
        ledger_matches_chain(ledger, stack, head)
    finally:
        stop(proc)
        ledger.close()
