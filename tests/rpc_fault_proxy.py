"""A fault-injecting JSON-RPC proxy for tests: a small HTTP server between rwaledger and anvil.

Every POST is forwarded to the upstream node unless a :class:`Rule` matching it fires first. A rule matches a
request (a single call or a batch) that contains ``method`` (any method when None), fires on the ``nth`` matching
request and the ``times - 1`` after it (every matching request when ``nth`` is None), or with ``probability``
drawn from its own seeded generator, and then does its ``action``:

* ``drop``: read the request, answer nothing, close the connection (the node never sees it);
* ``reset``: as ``drop`` but with a TCP reset (SO_LINGER 0);
* ``delay``: wait ``delay`` seconds, then forward (a client timeout shorter than that sees a timeout);
* ``http``: answer HTTP ``status`` (429, 500...) without forwarding;
* ``rpc_error``: answer a JSON-RPC error ``code`` (-32005: rate limited) for every call, without forwarding;
* ``forward_then_drop`` / ``forward_then_reset``: forward (the node does it) and drop the answer: the client cannot
  know whether its transaction was received.

:meth:`FaultProxy.down` closes the listening socket (connection refused, like a dead node) and :meth:`up` opens it
again on the same port. ``log`` records (methods, action) of every request, for assertions such as "the signed
transaction was sent once".
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACTIONS = ("drop", "reset", "delay", "http", "rpc_error", "forward_then_drop", "forward_then_reset")


@dataclass
class Rule:
    action: str
    method: str | None = None
    nth: int | None = 1
    times: int = 1
    probability: float | None = None
    seed: int = 0
    delay: float = 0.0
    status: int = 500
    code: int = -32005
    seen: int = 0
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")
        self._rng = random.Random(self.seed)

    def fires(self, methods: list[str]) -> bool:
        if self.method is not None and self.method not in methods:
            return False
        self.seen += 1
        if self.probability is not None:
            hit = self._rng.random() < self.probability
        elif self.nth is None:
            hit = True
        else:
            hit = self.nth <= self.seen < self.nth + self.times
        self.fired += hit
        return hit


class FaultProxy:
    def __init__(self, upstream: str, port: int = 0):
        self.upstream = upstream
        self.rules: list[Rule] = []
        self.log: list[tuple[tuple[str, ...], str]] = []
        self.lock = threading.Lock()
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- control ---------------------------------------------------------------------------------------------

    def add(self, action: str, method: str | None = None, **options: Any) -> Rule:
        rule = Rule(action, method, **options)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def sent(self, method: str) -> int:
        """How many requests containing ``method`` reached the upstream node."""
        return sum(1 for methods, action in self.log if method in methods and action in ("forward", "delay",
                                                                                          "forward_then_drop",
                                                                                          "forward_then_reset"))

    def up(self) -> None:
        if self._server is not None:
            return
        proxy = self

        class Handler(_Handler):
            owner = proxy

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def down(self) -> None:
        """Stop listening: new connections are refused (open keep-alive connections are cut too)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def close(self) -> None:
        self.down()

    # --- one request -----------------------------------------------------------------------------------------

    def choose(self, methods: list[str]) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.fires(methods):
                    return rule
        return None

    def forward(self, body: bytes) -> bytes:
        req = urllib.request.Request(self.upstream, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's session expects

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        calls = payload if isinstance(payload, list) else [payload]
        methods = [str(c.get("method")) for c in calls if isinstance(c, dict)]
        if self.owner._server is None:  # down: a kept-alive connection dies as well
            self.owner.log.append((tuple(methods), "down"))
            self._cut(reset=True)
            return
        rule = self.owner.choose(methods)
        action = rule.action if rule else "forward"
        self.owner.log.append((tuple(methods), action))
        if action in ("drop", "reset"):
            self._cut(reset=action == "reset")
            return
        if action == "http":
            self._answer(json.dumps({"error": f"HTTP {rule.status}"}).encode(), rule.status,
                         {"Retry-After": "0"} if rule.status == 429 else {})
            return
        if action == "rpc_error":
            errors = [{"jsonrpc": "2.0", "id": c.get("id"), "error": {"code": rule.code, "message": "limit exceeded"}}
                      for c in calls]
            self._answer(json.dumps(errors if isinstance(payload, list) else errors[0]).encode())
            return
        if action == "delay":
            time.sleep(rule.delay)
        try:
            answer = self.owner.forward(body)
        except Exception:
            self._cut(reset=True)
            return
        if action in ("forward_then_drop", "forward_then_reset"):
            self._cut(reset=action == "forward_then_reset")
            return
        self._answer(answer)

    def _answer(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def _cut(self, reset: bool) -> None:
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR) if not reset else None
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass
