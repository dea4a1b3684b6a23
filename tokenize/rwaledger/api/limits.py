"""The HTTP API's limits: request body caps, a login attempt rate limit, CORS closed by default, security headers.

A registry's API faces the internet; each of these keeps a cheap request from costing the server something dear:

* **Body caps** (:class:`BodyLimit`, a pure ASGI middleware): a request whose ``Content-Length`` is over the cap is
  refused with ``413`` before a byte of its body is read; a body without one (``Transfer-Encoding: chunked``) is
  counted chunk by chunk as the application reads it and refused as soon as the count passes the cap, so the
  application never holds more than the cap. Uploads (``multipart/form-data``, ``text/csv``,
  ``application/octet-stream`` under :attr:`Limits.upload_prefixes`, i.e. the officer API's future document and CSV
  uploads) get the larger :attr:`Limits.max_upload`; everything else :attr:`Limits.max_body`. The cap is chosen
  before routing (an ASGI middleware sees no route), hence a path prefix and the content type rather than a marker on
  the route.
* **Login attempts** (:class:`LoginAttempts`): failed officer authentications are counted per client IP and per officer
  id (the ``<id>`` of a ``rwa_<id>_<secret>`` token) in a sliding window; over the limit the answer is ``429`` with
  ``Retry-After`` and the token's argon2 hash is *not* verified, so guessing costs the server a dictionary look-up.
* **CORS** (:func:`install`): no CORS headers at all unless origins are given; then only those origins, ``GET`` on the
  public API, and ``GET``/``POST`` with ``Authorization`` on the officer API.
* **Security headers** (:class:`SecurityHeaders`) on every response, errors included.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterable, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .models import Problem

PROBLEM = "application/problem+json"
MiB = 1024 * 1024
MAX_BODY = 1 * MiB  # a JSON request of the API: the largest today is a mint, well under a kilobyte
MAX_UPLOAD = 20 * MiB  # an asset's document (a scanned title deed) or an investor / allocation CSV
UPLOAD_PREFIXES = ("/api/officer/", "/officer/forms/")  # where the upload endpoints are (officers only; the console)
UPLOAD_TYPES = ("multipart/form-data", "text/csv", "application/octet-stream")
LOGIN_FAILURES = 10  # failed authentications of one client IP ...
LOGIN_WINDOW = 300.0  # ... within this many seconds (5 minutes), then 429 until the oldest leaves the window
OFFICER_FAILURES = 50  # failed authentications naming one officer id, from any IP, within the same window
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"))
OFFICER_PREFIX = "/api/officer"
_SIZE = re.compile(r"^\s*(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)\s*$", re.IGNORECASE)

T = TypeVar("T")


def problem(status: int, kind: str, title: str, detail: str, field: str | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """An RFC 9457 problem details answer (``application/problem+json``): the one shape of every error of the API."""
    body = Problem(type=f"https://rwaledger.dev/problems/{kind}", title=title, status=status, detail=detail,
                   field=field)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM, headers=headers)


def parse_size(text: str) -> int:
    """A size in bytes from ``1048576``, ``512KiB``, ``1MiB``, ``20M`` (binary multiples: K, M and G are 1024-based,
    as a body cap is counted in memory); for ``rwa serve --max-body/--max-upload``."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size: give bytes or a number with KiB, MiB or GiB")
    number, unit = int(match.group(1)), match.group(2).lower()[:1]
    size = number * {"": 1, "b": 1, "k": 1024, "m": MiB, "g": 1024 * MiB}[unit]
    if size <= 0:
        raise ValueError(f"{text!r}: a size limit must be positive")
    return size


@dataclass(frozen=True)
class Limits:
    """The API's limits; the defaults are the documented constants of this module."""

    max_body: int = MAX_BODY
    max_upload: int = MAX_UPLOAD
    upload_prefixes: tuple[str, ...] = UPLOAD_PREFIXES
    login_failures: int = LOGIN_FAILURES
    officer_failures: int = OFFICER_FAILURES
    login_window: float = LOGIN_WINDOW

    def __post_init__(self) -> None:
        for name in ("max_body", "max_upload", "login_failures", "officer_failures"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1, not {getattr(self, name)}")
        if self.login_window <= 0:
            raise ValueError(f"Limits.login_window must be positive, not {self.login_window}")
        if self.max_upload < self.max_body:
            raise ValueError(f"Limits.max_upload ({self.max_upload}) is below max_body ({self.max_body})")

    def body_cap(self, path: str, content_type: str) -> int:
        """The cap of one request: the upload cap for an upload's content type under an upload prefix."""
        media = content_type.split(";", 1)[0].strip().lower()
        if media in UPLOAD_TYPES and any(path.startswith(p) for p in self.upload_prefixes):
            return self.max_upload
        return self.max_body


# --- request bodies --------------------------------------------------------------------------------------------


class BodyTooLarge(Exception):
    """Raised into the application from ``receive`` when a streamed body passes its cap (never an RwaError: the
    application's handlers must not turn it into an answer of their own)."""


def _too_large(cap: int, detail: str) -> JSONResponse:
    return problem(413, "body-too-large", "Request body too large", f"{detail}; the limit here is {cap} bytes",
                   headers={"Connection": "close"})


class BodyLimit:
    """Refuses request bodies over their cap (:meth:`Limits.body_cap`) with ``413`` problem+json.

    By ``Content-Length`` up front (nothing read); without one, by counting the chunks the application pulls: the
    chunk that would pass the cap is not handed over, the application gets :class:`BodyTooLarge` instead, and whatever
    it answers then is replaced by the ``413`` (if it has not started answering already).
    """

    def __init__(self, app: ASGIApp, limits: Limits):
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", ())}
        cap = self.limits.body_cap(scope.get("path", ""), headers.get(b"content-type", b"").decode("latin-1"))
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await problem(400, "bad-request", "Bad request", "Content-Length is not a number")(scope, receive, send)
                return
            if int(declared) > cap:
                await _too_large(cap, f"Content-Length is {int(declared)} bytes")(scope, receive, send)
                return
        received, exceeded, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge(cap)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    exceeded = True
                    raise BodyTooLarge(cap)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the application's answer to the exception: the 413 below replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
        if exceeded and not started:
            await _too_large(cap, f"the body passed {cap} bytes")(scope, receive, send)


# --- login attempts --------------------------------------------------------------------------------------------


class TooManyAttempts(Exception):
    """A client (or an officer id) is over its failed-login limit; answered ``429`` with ``Retry-After``."""

    def __init__(self, retry_after: int, who: str):
        super().__init__(f"too many failed logins from {who}: try again in {retry_after} s")
        self.retry_after = retry_after


def officer_id_of(token: str) -> int | None:
    """The officer id a ``rwa_<id>_<secret>`` token names (unverified), or None."""
    parts = token.split("_", 2)
    if len(parts) == 3 and parts[0] == "rwa" and parts[1].isdigit() and len(parts[1]) <= 18:
        return int(parts[1])
    return None


class LoginAttempts:
    """Failed officer authentications in a sliding window, per client IP and per officer id.

    In memory, per process: each API process counts on its own, so behind a load balancer with P processes a client
    gets at most P times the limit (still a bounded number of argon2 verifications, which is what this protects). A
    success resets nothing: a client holding one valid token cannot wipe its own failures, nor anyone else's.

    A verification takes its slot *before* it runs (given back on success), so concurrent requests cannot run more
    verifications than the limit between a check and a count. Every method is thread-safe (FastAPI runs the
    dependency in its thread pool). The per-officer limit is higher than the per-IP one: it bounds a guess at one
    account spread over many addresses, and keeps one noisy address from locking the account's owner out.
    """

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic):
        self.limits, self.clock = limits, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def _limit(self, key: str) -> int:
        return self.limits.officer_failures if key.startswith("officer:") else self.limits.login_failures

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.limits.login_window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def _sweep(self, now: float) -> None:
        """Forget keys whose failures all left the window (memory stays bounded by the recent failures)."""
        if now - self._last_sweep < self.limits.login_window:
            return
        self._last_sweep = now
        for key in list(self._failures):
            self._recent(key, now)

    def authenticate(self, client: str, token: str, verify: Callable[[str], T | None]) -> T | None:
        """``verify(token)`` unless ``client`` or the token's officer id is over its limit (then
        :class:`TooManyAttempts`, and ``verify`` is not called); a ``None`` from it is counted as a failure."""
        oid = officer_id_of(token)
        keys = [f"ip:{client}"] + ([f"officer:{oid}"] if oid is not None else [])
        with self._lock:
            now = self.clock()
            self._sweep(now)
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self._limit(key):
                    wait = max(1, math.ceil(times[0] + self.limits.login_window - now))
                    raise TooManyAttempts(wait, "this address" if key.startswith("ip:") else "for this officer")
            for key in keys:  # the slot is taken before the verification runs
                self._failures.setdefault(key, deque()).append(now)
        found = verify(token)
        if found is not None:
            with self._lock:
                for key in keys:
                    times = self._failures.get(key)
                    if times is not None and now in times:
                        times.remove(now)
                        if not times:
                            del self._failures[key]
        return found

    def failures(self, key: str) -> int:
        """How many failures ``key`` (``ip:ADDRESS`` or ``officer:ID``) has in the window now."""
        with self._lock:
            return len(self._recent(key, self.clock()))


def client_address(request: Request) -> str:
    """The client's IP as the ASGI server reports it. Behind a proxy, run uvicorn with ``--proxy-headers`` and
    ``--forwarded-allow-ips`` of that proxy: it then puts the forwarded address here (never trust the header
    otherwise, or a client picks its own address and its own limit)."""
    return request.client.host if request.client else "unknown"


# --- headers ---------------------------------------------------------------------------------------------------


class SecurityHeaders:
    """Adds ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and ``X-Frame-Options: DENY`` to
    every response (an answer that set one keeps its own). Outermost of the app's middleware; an exception that
    escapes the application is answered here (``500`` problem+json with the headers) before it goes on to be logged,
    since Starlette's own error answer is made outside every user middleware."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", ())}
                message = {**message, "headers": [*message.get("headers", ()),
                                                  *((k, v) for k, v in SECURITY_HEADERS if k not in present)]}
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            if not started:
                await problem(500, "internal", "Internal server error",
                              "the server failed on this request; it is logged")(scope, receive, with_headers)
            raise


class _ByPath:
    """Sends a request to ``officer`` under ``/api/officer``, to ``public`` elsewhere (two CORS policies)."""

    def __init__(self, public: ASGIApp, officer: ASGIApp):
        self.public, self.officer = public, officer

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        inner = self.officer if path == OFFICER_PREFIX or path.startswith(OFFICER_PREFIX + "/") else self.public
        return inner(scope, receive, send)


class Cors:
    """CORS for the listed origins only (Starlette's :class:`CORSMiddleware`, two policies by path): the public API
    reads with ``GET``; the officer API also ``POST``s, with ``Authorization``, ``Content-Type`` and
    ``Idempotency-Key``. No credentials mode: officers send a bearer token, not cookies."""

    def __init__(self, app: ASGIApp, origins: Iterable[str]):
        allowed = [o.rstrip("/") for o in origins]
        public = CORSMiddleware(app, allow_origins=allowed, allow_methods=["GET"], expose_headers=["Retry-After"])
        officer = CORSMiddleware(app, allow_origins=allowed, allow_methods=["GET", "POST"],
                                 allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                                 expose_headers=["Retry-After", "Idempotent-Replay"])
        self.route = _ByPath(public, officer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.route(scope, receive, send)


def install(app: FastAPI, limits: Limits, cors_origins: Iterable[str] | None) -> None:
    """Wire the limits into ``app``: outermost the security headers, then CORS (so a ``413`` or ``429`` is readable
    by a listed origin's page), then the body caps; and the ``429`` answer of :class:`TooManyAttempts`."""
    app.add_middleware(BodyLimit, limits=limits)
    origins = list(cors_origins or ())
    if origins:
        app.add_middleware(Cors, origins=origins)
    app.add_middleware(SecurityHeaders)  # added last: outermost

    @app.exception_handler(TooManyAttempts)
    async def _too_many(_: Request, exc: TooManyAttempts) -> JSONResponse:
        return problem(429, "too-many-attempts", "Too many failed logins", str(exc),
                       headers={"Retry-After": str(exc.retry_after)})
