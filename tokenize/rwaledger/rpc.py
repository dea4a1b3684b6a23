"""The one JSON-RPC transport of rwaledger: retries, typed errors and the batched-call helper.

Two layers, both here so no other module talks raw JSON-RPC on its own:

* :class:`Transport`, the HTTP provider every :class:`rwaledger.chain.RpcChain` uses (web3's calls go through it
  too). It retries **reads** (:data:`READ_METHODS`) with exponential backoff on connection errors, timeouts, HTTP
  429/5xx and JSON-RPC ``-32005`` (rate limited), then raises :class:`~rwaledger.errors.NodeUnavailable`
  naming the URL (without credentials) and what was being done. A **send** is never retried: a connection error
  after the request left says nothing about whether the node took the transaction, and re-sending blindly is how a
  transaction "reported failed" ends up executing; it raises NodeUnavailable at once and the caller reports the
  transaction as pending.
* :func:`answers` / :func:`batch` / :func:`request`: many calls in JSON-RPC batches (by count and by body size),
  emulated call by call on eth-tester, with an explicit error mode (:class:`OnError`): reconciling reads fail
  loudly, receipt polling can take ``None``, and pre-checks can ask for a reverted ``eth_call``'s revert data (or
  empty data) instead of an exception.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence
from urllib.parse import urlsplit

import requests
from web3 import HTTPProvider

from .errors import NodeUnavailable, RpcError

if TYPE_CHECKING:
    from .chain import Chain

BATCH_SIZE = 200  # calls per JSON-RPC batch
MAX_BATCH_BYTES = 1_000_000  # keep one request body well under nodes' limits
RATE_LIMITED = -32005  # "limit exceeded" (EIP-1474)
RETRY_HTTP = frozenset({429, 500, 502, 503, 504})

#: Methods that change nothing on the node: safe to ask again after a connection error.
READ_METHODS = frozenset({
    "eth_blockNumber", "eth_chainId", "net_version", "web3_clientVersion", "eth_syncing", "eth_gasPrice",
    "eth_maxPriorityFeePerGas", "eth_feeHistory", "eth_getBalance", "eth_getCode", "eth_getStorageAt",
    "eth_getProof", "eth_getBlockByNumber", "eth_getBlockByHash", "eth_getTransactionByHash",
    "eth_getTransactionReceipt", "eth_getTransactionCount", "eth_call", "eth_estimateGas", "eth_getLogs",
    "eth_accounts", "eth_createAccessList", "eth_getBlockTransactionCountByNumber", "anvil_nodeInfo",
})


@dataclass(frozen=True)
class RetryPolicy:
    """How reads are retried: ``attempts`` tries in all, sleeping ``backoff * 2**k`` (at most ``max_backoff``,
    with up to 25% jitter so many clients do not retry in step; a ``Retry-After`` header wins when shorter than
    ``max_backoff``) between them. The default gives a node about 3 s to come back."""

    attempts: int = 6
    backoff: float = 0.1
    max_backoff: float = 2.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff)
        base = min(self.backoff * 2**retry, self.max_backoff)
        return base * (1 + 0.25 * random.random())


def safe_url(url: str) -> str:
    """``scheme://host:port`` of a node URL: paths, queries and user info often carry API keys."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}" if parts.scheme else "the node"


# --- what is being done (for error messages) --------------------------------------------------------------------

_doing = threading.local()


@contextlib.contextmanager
def doing(what: str) -> Iterator[None]:
    """Name what the requests inside are for, so a :class:`NodeUnavailable` says more than the method."""
    stack = _doing.__dict__.setdefault("stack", [])
    stack.append(what)
    try:
        yield
    finally:
        stack.pop()


def _describe(methods: Sequence[str]) -> str:
    stack = getattr(_doing, "stack", None)
    names = sorted(set(methods))
    call = f"{names[0]}" if len(names) == 1 else ", ".join(names[:3]) + ("..." if len(names) > 3 else "")
    call += f" x{len(methods)}" if len(methods) > 1 else ""
    return f"{stack[-1]} ({call})" if stack else f"calling {call}"


def _code(response: Any) -> Any:
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        return response["error"].get("code")
    return None


class _Retry(Exception):
    def __init__(self, cause: str, retry_after: float | None = None):
        super().__init__(cause)
        self.cause = cause
        self.retry_after = retry_after


class Transport(HTTPProvider):
    """web3's HTTP provider with rwaledger's retry policy and typed errors (web3's own retries are off: they
    retry HTTP 500s of any read but never a batch, and raise ``requests`` exceptions at the end).

    ``generation`` counts the connection failures seen: a transactor compares it to know that its cached nonce may
    be stale (the node may have restarted from an older state)."""

    def __init__(self, url: str, timeout: float = 60.0, retry: RetryPolicy | None = None):
        super().__init__(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        self.url = safe_url(url)
        self.retry = retry or RetryPolicy()
        self.generation = 0

    @property
    def timeout(self) -> float:
        return float(self._request_kwargs.get("timeout", 60.0))  # type: ignore[union-attr]

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._request_kwargs["timeout"] = seconds  # type: ignore[index]

    def make_request(self, method: Any, params: Any) -> Any:
        return self._retrying([str(method)], lambda: HTTPProvider.make_request(self, method, params))

    def make_batch_request(self, batch_requests: list[tuple[Any, Any]]) -> Any:
        methods = [str(m) for m, _ in batch_requests]
        responses = self._retrying(methods, lambda: HTTPProvider.make_batch_request(self, batch_requests))
        if not isinstance(responses, list) or not all(m in READ_METHODS for m in methods):
            return responses
        responses = list(responses)
        for retry in range(self.retry.attempts - 1):  # entries the node rate-limited: ask for those again
            limited = [i for i, r in enumerate(responses) if _code(r) == RATE_LIMITED]
            if not limited:
                break
            time.sleep(self.retry.delay(retry))
            again = self._retrying([methods[i] for i in limited],
                                   lambda: HTTPProvider.make_batch_request(self, [batch_requests[i] for i in limited]))
            if not isinstance(again, list):
                continue
            for i, r in zip(limited, again):
                responses[i] = r
        else:
            if any(_code(r) == RATE_LIMITED for r in responses):
                raise NodeUnavailable(self.url, _describe(methods), "rate limited (-32005) after retries")
        return responses

    def _retrying(self, methods: list[str], send: Callable[[], Any]) -> Any:
        reads = all(m in READ_METHODS for m in methods)
        attempts = self.retry.attempts if reads else 1
        cause = ""
        for attempt in range(attempts):
            try:
                response = self._once(send)
                if reads and (_code(response) == RATE_LIMITED):
                    raise _Retry("rate limited (-32005)")
                return response
            except _Retry as exc:
                cause = exc.cause
                if attempt + 1 < attempts:
                    time.sleep(self.retry.delay(attempt, exc.retry_after))
        what = _describe(methods)
        if not reads:
            cause += "; it is unknown whether the node received the request, so it was not sent again"
        raise NodeUnavailable(self.url, what, cause)

    def _once(self, send: Callable[[], Any]) -> Any:
        """One HTTP round trip; failures worth a retry become :class:`_Retry`."""
        try:
            return send()
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status not in RETRY_HTTP:
                raise RpcError("http", {"code": status, "message": f"HTTP {status} from {self.url}"}) from None
            after = exc.response.headers.get("Retry-After") if exc.response is not None else None
            raise _Retry(f"HTTP {status}", float(after) if after and after.isdigit() else None) from None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                ConnectionError) as exc:
            self.generation += 1
            raise _Retry(_connection_cause(exc)) from None
        except (ValueError, json.JSONDecodeError) as exc:  # a truncated or garbled body (a dropped connection)
            self.generation += 1
            raise _Retry(f"unreadable answer ({type(exc).__name__})") from None


def _connection_cause(exc: BaseException) -> str:
    text = str(exc).lower()
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        return "timed out"
    if "refused" in text:
        return "connection refused"
    if "reset" in text or "aborted" in text or "remotedisconnected" in text:
        return "connection reset"
    return f"connection failed ({type(exc).__name__})"


def connection_generation(chain: "Chain") -> int:
    """How many connection failures the chain's transport has seen (0 for eth-tester)."""
    return int(getattr(chain.w3.provider, "generation", 0))


# --- the batched-call helper ------------------------------------------------------------------------------------


class OnError(StrEnum):
    """What :func:`batch` does with a call the node answers with an error."""

    RAISE = "raise"  # raise RpcError: reads that reconcile, nonces, receipts
    NONE = "none"  # that call's result is None
    EMPTY = "empty"  # a reverted eth_call answers "0x" (pre-checks decode "no answer" themselves); other errors raise
    REVERT_DATA = "revert_data"  # a reverted eth_call answers its revert data ("0x" without data); others raise


def is_revert(error: Any) -> bool:
    """Whether a JSON-RPC error object is an execution revert (not a node or request problem)."""
    if not isinstance(error, dict):
        return False
    message = str(error.get("message", "")).lower()
    return error.get("code") == 3 or "revert" in message or "invalid opcode" in message


def revert_hex(error: dict[str, Any]) -> str:
    data = error.get("data")
    if isinstance(data, dict):
        data = data.get("data")
    return data if isinstance(data, str) and data.startswith("0x") else "0x"


def chunks(calls: Sequence[tuple[str, list[Any]]]) -> list[Sequence[tuple[str, list[Any]]]]:
    """``calls`` cut into JSON-RPC batches: at most :data:`BATCH_SIZE` calls and about :data:`MAX_BATCH_BYTES`."""
    chunks, start, size = [], 0, 0
    for i, (_, params) in enumerate(calls):
        length = len(json.dumps(params, default=str)) + 64
        if i > start and (i - start >= BATCH_SIZE or size + length > MAX_BATCH_BYTES):
            chunks.append(calls[start:i])
            start, size = i, 0
        size += length
    if start < len(calls):
        chunks.append(calls[start:])
    return chunks


def can_batch(chain: "Chain") -> bool:
    """Whether the chain's provider sends JSON-RPC batches (HTTP; not eth-tester, not the WebSocket provider)."""
    return getattr(chain, "kind", "") != "tester" and isinstance(chain.w3.provider, HTTPProvider)


def answers(chain: "Chain", calls: Sequence[tuple[str, list[Any]]], *, what: str | None = None) -> list[dict[str, Any]]:
    """The raw JSON-RPC answer (``{"result": ...}`` or ``{"error": {...}}``) of every call, in order.

    Calls go out in batches of at most :data:`BATCH_SIZE` calls and :data:`MAX_BATCH_BYTES`; a node without
    batching (eth-tester) is asked call by call. Connection failures raise
    :class:`~rwaledger.errors.NodeUnavailable` (after the retries, for reads)."""
    calls = list(calls)
    if not calls:
        return []
    with doing(what) if what else contextlib.nullcontext():
        if getattr(chain, "kind", "") == "tester":
            return [_single(chain, m, p) for m, p in calls]
        if not can_batch(chain):
            return [chain.w3.provider.make_request(m, p) for m, p in calls]
        out: list[dict[str, Any]] = []
        for chunk in chunks(calls):
            if len(chunk) == 1:
                out.append(chain.w3.provider.make_request(*chunk[0]))
                continue
            responses = chain.w3.provider.make_batch_request(list(chunk))
            if isinstance(responses, dict):  # a node that answers a whole batch with one error
                raise RpcError(chunk[0][0], responses.get("error", responses), what)
            if responses and "id" in responses[0]:
                responses = sorted(responses, key=lambda r: r.get("id", 0))
            if len(responses) != len(chunk):
                raise RpcError(chunk[0][0], {"message": f"{len(responses)} answers to {len(chunk)} calls"}, what)
            out.extend(responses)
        return out


def batch(chain: "Chain", calls: Sequence[tuple[str, list[Any]]], *, what: str | None = None,
          on_error: OnError = OnError.RAISE) -> list[Any]:
    """The ``result`` of every call, in order (see :func:`answers`), errors handled as ``on_error`` says."""
    out: list[Any] = []
    for (method, _), r in zip(calls, answers(chain, calls, what=what)):
        if "error" not in r:
            out.append(r.get("result"))
        elif on_error is OnError.NONE:
            out.append(None)
        elif on_error in (OnError.EMPTY, OnError.REVERT_DATA) and method == "eth_call" and is_revert(r["error"]):
            out.append("0x" if on_error is OnError.EMPTY else revert_hex(r["error"]))
        else:
            raise RpcError(method, r["error"], what)
    return out


def request(chain: "Chain", method: str, params: list[Any], *, what: str | None = None) -> Any:
    """One call's result; an error answer raises :class:`~rwaledger.errors.RpcError`."""
    return batch(chain, [(method, params)], what=what)[0]


# --- eth-tester: the same answers, call by call ----------------------------------------------------------------


def _single(chain: "Chain", method: str, params: list[Any]) -> dict[str, Any]:
    """Answer one call on a chain that takes no raw JSON-RPC (eth-tester) through web3, shaped like JSON-RPC."""
    from web3.exceptions import TransactionNotFound

    from .reverts import revert_data_from

    eth = chain.w3.eth
    try:
        if method == "eth_sendRawTransaction":
            return {"result": eth.send_raw_transaction(params[0]).to_0x_hex()}
        if method == "eth_getTransactionReceipt":
            try:
                return {"result": eth.get_transaction_receipt(params[0])}
            except TransactionNotFound:
                return {"result": None}
        if method == "eth_getTransactionCount":
            return {"result": hex(eth.get_transaction_count(params[0], params[1] if len(params) > 1 else "latest"))}
        if method == "eth_call":
            tx = {k: v for k, v in params[0].items()}
            return {"result": "0x" + bytes(eth.call(tx, params[1] if len(params) > 1 else "latest")).hex()}
        if method == "eth_blockNumber":
            return {"result": hex(eth.block_number)}
    except Exception as exc:
        data = revert_data_from(exc)
        if data is not None:
            return {"error": {"code": 3, "message": "execution reverted", "data": "0x" + bytes(data).hex()}}
        return {"error": {"code": -32000, "message": str(exc)}}
    raise RpcError(method, {"message": "not supported on eth-tester by rwaledger.rpc"})
