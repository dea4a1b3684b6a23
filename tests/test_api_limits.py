"""The HTTP API's limits (rwaledger.api.limits) on a real app over a deployed stack and officer accounts: body caps by
Content-Length and by a chunked stream (just under and just over; the stream is not read past the cap), the larger
upload cap, the failed-login limit per client IP and per officer id (429 with Retry-After and no argon2 verification
once limited; a valid token from another address still works), CORS closed by default and open only to the listed
origins, and the security headers on every response."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest
import uvicorn
from fastapi import Request
from fastapi.testclient import TestClient

from rwaledger import node
from rwaledger.api import create_app
from rwaledger.api.limits import (LOGIN_FAILURES, MAX_BODY, MAX_UPLOAD, Limits, LoginAttempts, TooManyAttempts,
                                  parse_size)
from rwaledger.ledger import Ledger
from rwaledger.officers import OfficerStore
from rwaledger.session import open_session
from rwaledger.stack import deploy_stack

CAP, UPLOAD = 1000, 5000
SMALL = Limits(max_body=CAP, max_upload=UPLOAD, login_failures=3, officer_failures=5, login_window=60)
PORTAL = "https://portal.example"
SECURITY = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


@pytest.fixture(scope="module")
def world(chain, rwa_build, tmp_path_factory):
    """A stack on the in-process chain, an empty ledger, a registrar and an auditor account."""
    snapshot = chain.snapshot()
    stack = deploy_stack(open_session(chain=chain, build=rwa_build, record=False))
    ledger = Ledger.open(str(tmp_path_factory.mktemp("limits") / "ledger.sqlite"))
    store = OfficerStore(ledger.engine)
    registrar, registrar_token = store.add("registrar officer", "registrar", account=1)
    _, auditor_token = store.add("auditor officer", "auditor")
    yield ledger, stack, registrar.id, registrar_token, auditor_token
    ledger.close()
    chain.revert(snapshot)


def serve(world, limits: Limits | None = SMALL, **kw: Any):
    """The app (with routes that echo what reached them, to see what a limit let through) and a TestClient maker."""
    ledger, stack = world[:2]
    app = create_app(ledger, stack=stack, limits=limits, **kw)

    @app.post("/echo")
    @app.post("/api/officer/uploads-echo")
    async def echo(request: Request) -> dict:
        body = await request.body()
        return {"received": len(body), "content_length": request.headers.get("content-length")}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    return app, lambda ip="10.0.0.1", **extra: TestClient(app, client=(ip, 50000), **extra)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def is_problem(r, status: int, kind: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == f"https://rwaledger.dev/problems/{kind}" and body["title"] and body["detail"]
    return body


# --- request bodies --------------------------------------------------------------------------------------------


def test_a_body_is_refused_over_its_cap_by_content_length_and_by_chunked_stream(world):
    _, client = serve(world)
    api = client()
    under = api.post("/echo", content=b"x" * CAP)
    assert under.status_code == 200 and under.json() == {"received": CAP, "content_length": str(CAP)}
    body = is_problem(api.post("/echo", content=b"x" * (CAP + 1)), 413, "body-too-large")
    assert f"{CAP} bytes" in body["detail"] and "Content-Length" in body["detail"]

    def chunks(n: int):
        yield from (b"y" * 100 for _ in range(n // 100))
        yield b"y" * (n % 100)

    streamed = api.post("/echo", content=chunks(CAP))  # no Content-Length: Transfer-Encoding chunked
    assert streamed.status_code == 200 and streamed.json() == {"received": CAP, "content_length": None}
    over = api.post("/echo", content=chunks(CAP + 1))
    assert "passed" in is_problem(over, 413, "body-too-large")["detail"]


def test_an_over_cap_write_never_reaches_the_endpoint(world):
    ledger, _, _, token, _ = world
    _, client = serve(world)
    api = client()
    before = api.get("/api/officer/audit", headers=bearer(token)).json()
    big = {"asset": "X", "to": "0x" + "1" * 40, "amount": "1", "reference": "r" * CAP}
    is_problem(api.post("/api/officer/mint", json=big, headers=bearer(token)), 413, "body-too-large")
    assert api.get("/api/officer/audit", headers=bearer(token)).json() == before  # not even an audited attempt


def test_a_chunked_stream_is_not_read_past_the_cap(world):
    """The ASGI app driven directly with a long chunked body (1 MB in 100-byte chunks, ten thousand chunks): it pulls
    the cap and one chunk, then answers 413."""
    app, _ = serve(world)
    pulled, sent = 0, []

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        await asyncio.sleep(0)
        return {"type": "http.request", "body": b"z" * 100, "more_body": pulled < 10_000}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/echo", "raw_path": b"/echo", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"transfer-encoding", b"chunked")],
             "client": ("10.0.0.9", 1), "server": ("testserver", 80)}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    assert pulled == CAP // 100 + 1  # the chunk that passed the cap was the last one asked for
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert len([m for m in sent if m["type"] == "http.response.start"]) == 1  # the endpoint's own answer was dropped


def test_a_real_server_refuses_a_chunked_upload_over_the_cap(world):
    """uvicorn, a socket, Transfer-Encoding: chunked as a client sends it."""
    app, _ = serve(world)
    port = node.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 20
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        assert server.started

        def post(size: int) -> tuple[int, bytes]:
            """A chunked request of 250-byte chunks, sent whole at once (it fits the socket buffers: the server's
            early answer and close cannot cut the sending short), and the answer's status and body."""
            chunks = b"".join(b"%x\r\n%s\r\n" % (250, b"c" * 250) for _ in range(size // 250)) + b"0\r\n\r\n"
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                             b"Connection: close\r\n\r\n" + chunks)
                answer = b""
                while part := sock.recv(65536):
                    answer += part
            head, _, body = answer.partition(b"\r\n\r\n")
            return int(head.split()[1]), body

        assert post(CAP) == (200, b'{"received":1000,"content_length":null}')
        status, text = post(8 * CAP)
        assert status == 413 and b"body-too-large" in text
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_uploads_under_the_officer_api_get_the_larger_cap(world):
    _, client = serve(world)
    api = client()
    files = lambda n: {"file": ("deed.pdf", b"p" * n, "application/pdf")}  # noqa: E731
    ok = api.post("/api/officer/uploads-echo", files=files(UPLOAD - 400))  # multipart over the JSON cap
    assert ok.status_code == 200 and CAP < ok.json()["received"] <= UPLOAD
    csv = api.post("/api/officer/uploads-echo", content=b"w,1\n" * (UPLOAD // 4), headers={"Content-Type": "text/csv"})
    assert csv.status_code == 200 and csv.json()["received"] == UPLOAD
    is_problem(api.post("/api/officer/uploads-echo", files=files(UPLOAD)), 413, "body-too-large")  # with the boundary
    is_problem(api.post("/echo", files=files(2 * CAP)), 413, "body-too-large")  # multipart off the officer API
    is_problem(api.post("/api/officer/uploads-echo", content=b"{" * (2 * CAP),  # JSON on the officer API
                        headers={"Content-Type": "application/json"}), 413, "body-too-large")


def test_the_default_limits_are_the_documented_ones():
    assert (Limits().max_body, Limits().max_upload) == (MAX_BODY, MAX_UPLOAD) == (1024 ** 2, 20 * 1024 ** 2)
    assert (Limits().login_failures, Limits().login_window) == (LOGIN_FAILURES, 300.0) == (10, 300.0)
    assert [parse_size(s) for s in ("1048576", "512KiB", "1MiB", "20M", "1 GiB")] == \
        [1048576, 512 * 1024, 1048576, 20 * 1048576, 1024 ** 3]
    for bad in ("", "1.5MiB", "3Q", "0", "-1"):
        with pytest.raises(ValueError):
            parse_size(bad)
    with pytest.raises(ValueError, match="below max_body"):
        Limits(max_body=2 * MAX_UPLOAD)


def test_rwa_serve_refuses_a_size_it_cannot_read(root):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "rwaledger.cli", "serve", "--network", "anvil", "--max-body", "3Q"],
                          capture_output=True, text=True, cwd=root, timeout=60)
    assert proc.returncode != 0 and "--max-body / --max-upload: '3Q' is not a size" in proc.stderr


# --- failed logins ---------------------------------------------------------------------------------------------


@pytest.fixture
def verifications(monkeypatch):
    """How many times the officer store verified a token (a counter around the real, argon2-verifying method)."""
    calls = []
    real = OfficerStore.authenticate

    def counted(self, token):
        calls.append(token)
        return real(self, token)

    monkeypatch.setattr(OfficerStore, "authenticate", counted)
    return calls


def test_failed_logins_from_one_address_are_limited_without_verifying(world, verifications):
    _, _, rid, token, auditor = world
    _, client = serve(world)
    attacker, officer = client("203.0.113.7"), client("198.51.100.2")
    guesses = [f"rwa_{rid}_guess{i}" for i in range(8)]
    verified = []
    for guess in guesses[:3]:  # SMALL.login_failures
        t = time.perf_counter()
        assert attacker.get("/api/officer/me", headers=bearer(guess)).status_code == 401
        verified.append(time.perf_counter() - t)
    assert len(verifications) == 3
    limited = []
    for guess in guesses[3:] + [token]:  # even a valid token: this address is not verified any more
        t = time.perf_counter()
        r = attacker.get("/api/officer/me", headers=bearer(guess))
        limited.append(time.perf_counter() - t)
        body = is_problem(r, 429, "too-many-attempts")
        assert 1 <= int(r.headers["Retry-After"]) <= SMALL.login_window and "this address" in body["detail"]
    assert len(verifications) == 3  # no argon2 verification once limited ...
    assert sorted(limited)[len(limited) // 2] < sorted(verified)[1] / 4  # ... and it shows: a 429 costs nothing
    assert officer.get("/api/officer/me", headers=bearer(token)).json()["role"] == "registrar"  # another address
    assert officer.get("/api/officer/me", headers=bearer(auditor)).json()["role"] == "auditor"
    assert attacker.get("/api/officer/me").status_code == 401  # anonymous: nothing to verify, not limited
    assert attacker.get("/api/assets").status_code == 200  # the public API is not behind the login limit
    assert len(verifications) == 5


def test_failed_logins_naming_one_officer_are_limited_from_any_address(world, verifications):
    _, _, rid, token, auditor = world
    _, client = serve(world)
    for i in range(5):  # SMALL.officer_failures, one guess from each of 5 addresses (each under its own limit)
        assert client(f"192.0.2.{i}").get("/api/officer/me", headers=bearer(f"rwa_{rid}_x{i}")).status_code == 401
    fresh = client("192.0.2.200")
    r = fresh.get("/api/officer/me", headers=bearer(token))
    assert "for this officer" in is_problem(r, 429, "too-many-attempts")["detail"] and r.headers["Retry-After"]
    assert len(verifications) == 5
    assert fresh.get("/api/officer/me", headers=bearer(auditor)).json()["role"] == "auditor"  # another officer


def test_the_window_slides_and_a_success_resets_nobody():
    now = [1000.0]
    attempts = LoginAttempts(Limits(login_failures=3, officer_failures=100, login_window=60), clock=lambda: now[0])
    tokens = {"rwa_1_good": "officer 1"}
    check = lambda ip, token: attempts.authenticate(ip, token, tokens.get)  # noqa: E731
    for t in (0, 10, 20):
        now[0] = 1000 + t
        assert check("a", "rwa_1_bad") is None
    assert check("b", "rwa_1_good") == "officer 1"  # another client's success ...
    now[0] = 1030
    with pytest.raises(TooManyAttempts) as limited:
        check("a", "rwa_1_good")  # ... reset nothing of a's, and a's own valid token waits too
    assert limited.value.retry_after == 30  # the oldest failure (t=0) leaves the window at t=60
    assert attempts.failures("ip:a") == 3 and attempts.failures("ip:b") == 0
    now[0] = 1060.5  # one failure left the window: one more attempt is verified
    assert check("a", "rwa_1_good") == "officer 1"
    assert attempts.failures("ip:a") == 2 and attempts.failures("officer:1") == 2  # the success took back its slot
    now[0] = 2000  # everything left the window; the keys are forgotten
    assert check("c", "rwa_1_good") == "officer 1" and attempts._failures == {}


def test_concurrent_guesses_run_no_more_verifications_than_the_limit():
    attempts = LoginAttempts(Limits(login_failures=4, officer_failures=100, login_window=60))
    calls, lock = [], threading.Lock()

    def slow_wrong(token: str) -> None:
        with lock:
            calls.append(token)
        time.sleep(0.05)  # a verification takes a while: the others arrive meanwhile
        return None

    outcomes: list[str] = []

    def guess(i: int) -> None:
        try:
            attempts.authenticate("203.0.113.9", f"rwa_7_{i}", slow_wrong)
            outcomes.append("401")
        except TooManyAttempts:
            outcomes.append("429")

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 4 and sorted(outcomes) == ["401"] * 4 + ["429"] * 20


# --- CORS and headers ------------------------------------------------------------------------------------------


def preflight(api: TestClient, path: str, origin: str, method: str = "GET", headers: str = "") -> Any:
    extra = {"Access-Control-Request-Headers": headers} if headers else {}
    return api.options(path, headers={"Origin": origin, "Access-Control-Request-Method": method, **extra})


def test_cors_is_closed_by_default(world):
    _, client = serve(world)
    api = client()
    for r in (preflight(api, "/api/assets", PORTAL), api.get("/api/assets", headers={"Origin": PORTAL}),
              preflight(api, "/api/officer/mint", PORTAL, "POST", "authorization,content-type")):
        assert not any(h.startswith("access-control-") for h in r.headers), r.headers


def test_cors_opens_to_the_listed_origins_only(world):
    _, client = serve(world, cors_origins=[PORTAL, "http://localhost:5173"])
    api = client()
    ok = preflight(api, "/api/assets", PORTAL)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == PORTAL
    assert api.get("/api/assets", headers={"Origin": PORTAL}).headers["access-control-allow-origin"] == PORTAL
    stranger = "https://evil.example"
    assert "access-control-allow-origin" not in preflight(api, "/api/assets", stranger).headers
    assert "access-control-allow-origin" not in api.get("/api/assets", headers={"Origin": stranger}).headers
    assert preflight(api, "/api/assets", PORTAL, "POST").status_code == 400  # the public API is read-only
    officer = preflight(api, "/api/officer/mint", PORTAL, "POST", "authorization,content-type,idempotency-key")
    assert officer.status_code == 200 and officer.headers["access-control-allow-origin"] == PORTAL
    assert {"authorization", "idempotency-key"} <= set(officer.headers["access-control-allow-headers"].lower()
                                                        .replace(" ", "").split(","))
    assert preflight(api, "/api/officer/mint", PORTAL, "DELETE").status_code == 400
    assert "access-control-allow-origin" not in preflight(api, "/api/officer/mint", stranger, "POST").headers
    too_big = api.post("/echo", content=b"x" * (CAP + 1), headers={"Origin": PORTAL})  # the portal can read a 413
    assert too_big.status_code == 413 and too_big.headers["access-control-allow-origin"] == PORTAL


def test_every_response_carries_the_security_headers(world):
    _, _, rid, _, _ = world
    _, client = serve(world, cors_origins=[PORTAL])
    api = client("10.9.9.9", raise_server_exceptions=False)
    responses = [api.get("/health"), api.get("/api/assets/NOPE"), api.get("/nowhere"),
                 api.post("/echo", content=b"x" * (CAP + 1)), preflight(api, "/api/assets", PORTAL),
                 api.get("/api/officer/me")]
    responses += [api.get("/api/officer/me", headers=bearer(f"rwa_{rid}_bad")) for _ in range(4)]  # 401s, then 429
    crash = api.get("/boom")
    assert [r.status_code for r in responses] == [200, 404, 404, 413, 200, 401, 401, 401, 401, 429]
    is_problem(crash, 500, "internal")
    for r in responses + [crash]:
        assert {k: r.headers.get(k) for k in SECURITY} == SECURITY, (r.status_code, r.headers)
