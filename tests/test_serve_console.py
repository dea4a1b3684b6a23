"""An officer's console session through a real `rwa serve --workers 2` on one PostgreSQL ledger: logged in on every
worker, a mint previewed on one worker and confirmed on the other, still logged in on the worker uvicorn starts in
place of one killed with SIGKILL, and logged out everywhere by a logout on one.

Which worker answered is read from the kernel, not from the app (it says nothing about its processes): each request
goes over a fresh TCP connection, and while that connection is still open (HTTP/1.1 keep-alive) the server's end of
it is found in /proc/net/tcp (its socket inode) and then among the open files of the worker processes
(/proc/PID/fd). Requests are made until both workers have answered several times, so a session known to one
process only could not pass: with sessions kept per process (in memory, as before console_sessions), the worker
that did not answer the login would show the login page to at least one of these requests (and refuse the confirm
with 401), the replacement of the killed worker would know no session at all, and the login page is what the test
refuses."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from rwaledger import node
from rwaledger.ledger import Ledger, schema
from rwaledger.officers import OfficerStore
from test_serve_cluster import (  # noqa: F401 (served_world: a fixture)
    advisory_holders,
    get_json,
    serve,
    served_world,
    stop,
    wait_for,
    workers_of,
)

COOKIE, LOGIN_COOKIE = "rwa_console", "rwa_console_login"
ENOUGH = 24  # requests of the logged-in officer, over fresh connections, before the write
EACH = 4  # ... and at least this many answered by each worker


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def _hex_port(port: int) -> str:
    return f"{port:04X}"


def answered_by(r: httpx.Response, server_port: int, workers: set[int]) -> int:
    """The worker process that holds the server's end of the (still open) connection ``r`` came over."""
    _, client_port = r.extensions["network_stream"].get_extra_info("client_addr")
    local, remote = f"0100007F:{_hex_port(server_port)}", f"0100007F:{_hex_port(client_port)}"
    inodes = {f.split()[9] for f in Path("/proc/net/tcp").read_text().splitlines()[1:]
              if f.split()[1:4] == [local, remote, "01"]}  # ESTABLISHED
    assert len(inodes) == 1, (local, remote, inodes)
    link = f"socket:[{inodes.pop()}]"
    holders = set()
    for pid in workers:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == link:
                    holders.add(pid)
            except OSError:
                pass
    assert len(holders) == 1, (link, workers, holders)
    return holders.pop()


class Officer:
    """A browser of one officer: every request on a fresh connection (a new client, closed after it, the cookie
    sent by hand); each answer's worker is noted in ``seen``."""

    def __init__(self, port: int, proc):
        self.port, self.proc = port, proc
        self.cookie: str | None = None
        self.seen: list[int] = []

    def client(self, timeout: float = 20) -> httpx.Client:
        """A new client (its first request opens a new connection), sending the session cookie if any."""
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=timeout,
                            headers={"Cookie": f"{COOKIE}={self.cookie}"} if self.cookie else None)

    def request(self, method: str, path: str, **kw) -> tuple[httpx.Response, int]:
        """One request over a fresh connection: its answer and the worker that gave it."""
        with self.client() as client:
            r = client.request(method, path, **kw)
            pid = answered_by(r, self.port, workers_of(self.proc))
        self.seen.append(pid)
        return r, pid

    def on(self, worker: int, path: str = "/officer", within: float = 30) -> httpx.Response:
        """GET ``path`` over fresh connections until ``worker`` answers (each answer, whoever gives it, showing the
        officer logged in): its answer."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            r, pid = self.request("GET", path)
            assert r.status_code == 200 and "registrar officer" in r.text and 'type="password"' not in r.text, \
                (pid, r.status_code, path)
            if pid == worker:
                return r
        raise AssertionError(f"worker {worker} answered no request within {within} s (answers: {set(self.seen)})")

    def post_on(self, worker: int, path: str, data: dict, within: float = 30) -> httpx.Response:
        """POST ``data`` to ``path`` on ``worker``: fresh connections are opened (and dropped) until one is
        accepted by ``worker``, then the form is sent over that one (so that no other worker sees it)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self.client(timeout=60) as client:
                probe = client.get("/officer")  # the connection's first request: which worker accepted it
                if answered_by(probe, self.port, workers_of(self.proc)) != worker:
                    continue
                r = client.post(path, data=data)
                assert answered_by(r, self.port, workers_of(self.proc)) == worker  # the same connection still
                self.seen.append(worker)
                return r
        raise AssertionError(f"worker {worker} accepted no connection within {within} s")


def test_an_officer_session_is_shared_by_the_workers_of_rwa_serve(served_world, postgres_url, root):
    stack, reg, holders, env = served_world
    ledger = Ledger.open(postgres_url)  # migrated here once, as in test_serve_cluster
    token = OfficerStore(ledger.engine).add("registrar officer", "registrar", account=0)[1]
    w3 = stack.session.chain.w3
    port = node.free_port()
    proc = serve(env, root, postgres_url, port, "--workers", "2")
    try:
        wait_for("two workers", lambda: len(workers_of(proc)) == 2, 45)
        wait_for("a worker leads", lambda: advisory_holders(postgres_url), 45)
        wait_for("the ledger synced", lambda: get_json(f"http://127.0.0.1:{port}/api/status")["synced_block"]
                 == w3.eth.block_number, 20)
        workers = workers_of(proc)
        officer = Officer(port, proc)

        # both workers answer (a worker answers only once its app is up: until then the other accepts everything)
        def both_answer():
            officer.request("GET", "/api/status")
            return set(officer.seen[-40:]) == workers
        wait_for("both workers answer", both_answer, 30)

        # log in: the login form from one connection, posted over another (the form's CSRF token is a
        # double-submit cookie, checked by whichever worker gets the post)
        page, _ = officer.request("GET", "/officer")
        assert 'type="password"' in page.text
        r, login_pid = officer.request("POST", "/officer/login", data={"token": token, "csrf": csrf_of(page.text)},
                                       headers={"Cookie": f"{LOGIN_COOKIE}={page.cookies[LOGIN_COOKIE]}"})
        assert r.status_code == 303, r.text[:500]
        officer.cookie = r.cookies[COOKIE]

        # many requests over fresh connections: every worker knows the session and its CSRF token (with sessions
        # per process, the first answer of the worker that did not open it would be the login page, a 401)
        officer.seen.clear()
        csrfs = set()
        paths = ("/officer", "/officer/forms/mint", "/officer/audit")
        i = 0
        while i < ENOUGH or min(officer.seen.count(w) for w in workers) < EACH:
            assert i < 300, f"answers by worker: {[officer.seen.count(w) for w in workers]}"
            r, pid = officer.request("GET", paths[i % len(paths)])
            assert r.status_code == 200 and "registrar officer" in r.text and 'type="password"' not in r.text, \
                (pid, r.status_code, paths[i % len(paths)])
            csrfs.add(csrf_of(r.text))
            i += 1
        assert set(officer.seen) == workers and len(workers) == 2 and login_pid in workers
        (csrf,) = csrfs  # one session: one CSRF token, whichever worker renders the form

        # a mint previewed on one worker and confirmed on the other (the preview lives in the session row; a
        # worker without the session would answer the confirm with 401, one without the preview with 404)
        one = login_pid
        (other,) = workers - {one}
        asset = ledger.asset("LHR-GH12B")
        contract = stack.token(asset.token)
        to = holders[0].address
        before = contract.functions.balanceOf(to).call()
        preview = officer.post_on(one, "/officer/forms/mint", {"csrf": csrf, "asset": "LHR-GH12B", "to": to,
                                                               "amount": "10 shares", "reference": "two-workers-1"})
        assert preview.status_code == 200 and "Would mint 10 shares of LHR-GH12B" in preview.text, preview.text[-2000:]
        pending = re.search(r'/officer/pending/([^/"]+)/send', preview.text)[1]
        assert contract.functions.balanceOf(to).call() == before  # the pre-check sent nothing
        done = officer.post_on(other, f"/officer/pending/{pending}/send", {"csrf": csrf})
        assert done.status_code == 303 and done.headers["location"] == f"/officer/pending/{pending}", done.text[-2000:]
        minted = contract.functions.balanceOf(to).call()
        assert minted == before + 10  # the apartment's shares have no decimals
        # the outcome recorded by `other` is what `one` shows; a second confirm on `one` sends nothing again
        assert re.search(r"<li>0x[0-9a-f]{64}</li>", officer.on(one, f"/officer/pending/{pending}").text)
        head = w3.eth.block_number
        again = officer.post_on(one, f"/officer/pending/{pending}/send", {"csrf": csrf})
        assert again.status_code == 303 and w3.eth.block_number == head
        assert contract.functions.balanceOf(to).call() == minted

        # SIGKILL a worker: uvicorn starts another in its place, a new process that knows the session (it starts
        # with nothing in memory)
        os.kill(other, signal.SIGKILL)
        replaced = wait_for("a new worker in place of the killed one",
                            lambda: (now := workers_of(proc)) - workers and other not in now and len(now) == 2
                            and now, 30)
        (new,) = replaced - workers
        officer.seen.clear()
        officer.on(new)  # once it is up; every answer before it (the other worker's) shows the officer logged in
        assert "Mint one allocation" in officer.on(new, "/officer/forms/mint").text
        workers = replaced

        # logout on one worker ends the session on every worker: the old cookie is refused by both
        r = officer.post_on(one, "/officer/logout", {"csrf": csrf})
        assert r.status_code == 303
        with ledger.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(schema.console_sessions)).scalar_one() == 0
        officer.seen.clear()
        i = 0
        while i < 8 or set(officer.seen) != workers:
            assert i < 300, f"answers by worker: {[officer.seen.count(w) for w in workers]}"
            r, pid = officer.request("GET", "/officer/forms/mint")
            assert r.status_code == 401 and 'type="password"' in r.text and "registrar officer" not in r.text, pid
            i += 1
        r, _ = officer.request("POST", "/officer/forms/mint", data={"csrf": csrf, "asset": "LHR-GH12B", "to": to,
                                                                    "amount": "1 shares", "reference": "after-out"})
        assert r.status_code == 401
    finally:
        stop(proc)
        ledger.close()


def test_rwa_serve_keeps_uploads_and_proofs_where_its_flags_say(served_world, postgres_url, root, tmp_path):
    """`rwa serve --workers 2 --upload-dir U --proofs-dir P`: an officer's uploaded document is kept as U/<sha256>,
    a distribution's proofs are published in P, and every worker (another process, configured through the
    environment) reads the entitlements from P; the defaults (build/uploads, beside the deployment records) get
    nothing."""
    import hashlib

    stack, reg, holders, env = served_world
    ledger = Ledger.open(postgres_url)
    token = OfficerStore(ledger.engine).add("registrar officer", "registrar", account=0)[1]
    pkr = stack.session.deployer.deploy("TestStablecoin")
    stack.session.tx.transact(pkr.functions.mint(stack.session.signer.address, 10**12))
    uploads, proofs = tmp_path / "up" / "files", tmp_path / "proofs"  # not there yet: made by `rwa serve`
    records = Path(env["RWA_DEPLOYMENTS_DIR"])
    w3 = stack.session.chain.w3
    port = node.free_port()
    proc = serve(env, root, postgres_url, port, "--workers", "2", "--upload-dir", str(uploads),
                 "--proofs-dir", str(proofs))
    try:
        wait_for("two workers", lambda: len(workers_of(proc)) == 2, 45)
        wait_for("the ledger synced", lambda: get_json(f"http://127.0.0.1:{port}/api/status")["synced_block"]
                 == w3.eth.block_number, 30)
        auth = {"Authorization": f"Bearer {token}"}
        scan = f"valuation report, served with --upload-dir {tmp_path}\n".encode()  # new bytes each run
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as api:
            r = api.post("/api/officer/assets/LHR-GH12B/documents", headers=auth, files={"file": ("v.txt", scan)},
                         data={"name": "valuation-report", "uri": "ipfs://bafkreiexample-valuation-9",
                               "effective_date": "2026-12-04"})
            assert r.status_code == 200 and r.json()["status"] == "done", r.text
            assert (uploads / hashlib.sha256(scan).hexdigest()).read_bytes() == scan
            assert not (root / "build" / "uploads" / hashlib.sha256(scan).hexdigest()).exists()

            r = api.post("/api/officer/distributions", headers=auth,
                         json={"asset": "LHR-GH12B", "payment_token": pkr.address, "total_amount": 1000})
            assert r.status_code == 200 and r.json()["status"] == "done", r.text
            published = sorted(p.name for p in proofs.iterdir())
            assert published == ["1.json"], published
            assert not list(records.rglob("distributions/*.json"))
            wait_for("the distribution synced", lambda: get_json(f"http://127.0.0.1:{port}/api/status")["synced_block"]
                     == w3.eth.block_number, 30)
        wallet, asker, workers = holders[0].address, Officer(port, proc), workers_of(proc)
        while set(asker.seen) != workers:  # fresh connections until both workers have answered
            assert len(asker.seen) < 200, f"answers by worker: {[asker.seen.count(w) for w in workers]}"
            r, pid = asker.request("GET", f"/api/wallets/{wallet}/distributions")
            (mine,) = r.json()["claimable"]
            assert mine["distribution_id"] == 1 and int(mine["amount"]) > 0, (pid, r.text)
    finally:
        stop(proc)
        ledger.close()


def test_rwa_serve_refuses_an_upload_dir_it_cannot_use(root, tmp_path):
    import subprocess
    import sys

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for flag in ("--upload-dir", "--proofs-dir"):
        proc = subprocess.run([sys.executable, "-m", "rwaledger.cli", "serve", "--network", "anvil", flag,
                               str(blocker / "sub")], capture_output=True, text=True, cwd=root, timeout=60)
        assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0, proc.stderr
        assert f"{flag} {blocker / 'sub'}: Not a directory" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "rwaledger.cli", "serve", "--demo", "--proofs-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=root, timeout=60)
    assert proc.returncode == 1 and "drop --proofs-dir" in proc.stderr
