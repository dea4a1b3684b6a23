"""The exception hierarchy of rwaledger.

Every error the library raises on purpose derives from :class:`RwaError`, so a
caller (the CLI, a script) can catch one type and print one readable line.
Contract reverts are decoded into :class:`ContractRevert` subclasses by
:mod:`rwaledger.reverts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence


class RwaError(Exception):
    """Base class of every error rwaledger raises deliberately."""


class ConfigError(RwaError):
    """A setting, environment variable or argument is missing or wrong."""


# --- compiler -----------------------------------------------------------------


class CompilerError(RwaError):
    """The Solidity compiler could not be found or run."""


class CompilerNotFound(CompilerError):
    """No usable solc of the pinned version is available."""


class CompilationFailed(CompilerError):
    """solc reported errors; ``diagnostics`` holds one readable line per error."""

    def __init__(self, diagnostics: list[str]):
        self.diagnostics = diagnostics
        super().__init__("compilation failed:\n" + "\n".join(diagnostics))


# --- chain and transactions ---------------------------------------------------


class ChainError(RwaError):
    """A chain could not be reached, started or driven."""


class NodeError(ChainError):
    """A local node (anvil) could not be started, found or stopped."""


class SignerError(RwaError):
    """No signer could be loaded (missing keystore, password or key)."""


class RpcError(ChainError):
    """The node answered a JSON-RPC request with an error (it is reachable; the request itself failed).

    ``method`` is the JSON-RPC method, ``code``/``data`` the error object's fields (``data`` often holds revert
    bytes as hex)."""

    def __init__(self, method: str, error: Any, doing: str | None = None):
        self.method = method
        error = error if isinstance(error, dict) else {"message": str(error)}
        self.code = error.get("code")
        self.data = error.get("data")
        self.error_message = str(error.get("message", error))
        where = f" while {doing}" if doing else ""
        super().__init__(f"{method} failed{where}: {self.error_message}" + (f" (code {self.code})" if self.code else ""))


@dataclass(frozen=True)
class PendingTx:
    """A transaction that was broadcast (or may have been) and has no receipt yet: it can still execute."""

    tx_hash: str
    sender: str
    nonce: int | None  # None when only the hash is known

    def __str__(self) -> str:
        return f"hash {self.tx_hash}" + (f", nonce {self.nonce}" if self.nonce is not None else "")


class NodeUnavailable(ChainError):
    """The node did not answer: connection refused or reset, a timeout, or rate limiting that outlasted the
    retries (reads are retried with backoff first; a send never is, since the node may have received it).

    ``url`` is the node's address without credentials, ``doing`` what was being done. ``pending`` lists the
    transactions that were sent (or may have been) and have no receipt: they were *not* reported failed and
    may still execute, so a re-run must look them up (by hash or nonce) before sending anything again.
    ``confirmed`` counts those of the same operation that were mined before the node went away."""

    def __init__(self, url: str, doing: str, cause: str, pending: Sequence[PendingTx] = (), confirmed: int = 0,
                 missing: Sequence[str] = ()):
        self.url = url
        self.doing = doing
        self.cause = cause
        self.pending = list(pending)
        self.confirmed = confirmed
        # while waiting for receipts: the hashes awaited that had none when the node went away (empty: not known)
        self.missing = list(missing)
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"the node at {self.url} is unavailable ({self.cause}) while {self.doing}"
        if self.confirmed:
            text += f"; {self.confirmed} transaction(s) of this operation were mined"
        if self.pending:
            shown = "; ".join(str(p) for p in self.pending[:5])
            more = f" and {len(self.pending) - 5} more" if len(self.pending) > 5 else ""
            text += (f"; {len(self.pending)} transaction(s) were sent and are pending, not failed (they may still "
                     f"execute): {shown}{more}")
        return text

    @property
    def refused(self) -> bool:
        """The node refused the connection: the request never reached it (a send was certainly not received)."""
        return self.cause.startswith("connection refused")

    def with_pending(self, pending: Sequence[PendingTx], confirmed: int = 0) -> "NodeUnavailable":
        """The same error, naming the transactions of the operation that are still pending."""
        return NodeUnavailable(self.url, self.doing, self.cause, pending, confirmed, self.missing)

    def with_missing(self, missing: Sequence[str]) -> "NodeUnavailable":
        """The same error, knowing which awaited transactions had no receipt yet."""
        return NodeUnavailable(self.url, self.doing, self.cause, self.pending, self.confirmed, missing)


class ChainReset(ChainError):
    """The chain no longer holds a block that data was read at (its number is past the head, or its hash is gone):
    the node was reset or restored from an older state, or the chain reorganized under it."""


class TransactionError(ChainError):
    """A transaction could not be sent or confirmed."""


class TransactionTimeout(TransactionError):
    """No receipt arrived within the timeout. The transaction is pending, not failed: it may still execute (the
    sender's nonce is re-read from the chain before its next transaction)."""

    def __init__(self, tx_hash: str, timeout: float, pending: Sequence[PendingTx] = (), missing: Sequence[str] = ()):
        self.tx_hash = tx_hash
        self.timeout = timeout
        self.pending = list(pending)  # every transaction of the operation still without a receipt (hash, nonce)
        # the hashes awaited that had no receipt when it gave up (the others were mined): ``tx_hash`` first
        self.missing = list(missing) or [tx_hash]
        text = f"transaction {tx_hash} not mined within {timeout:g}s: it is pending, not failed (it may still execute)"
        if self.pending:
            shown = "; ".join(f"pending: {p}" for p in self.pending[:5])
            more = f" and {len(self.pending) - 5} more" if len(self.pending) > 5 else ""
            text += f"; {len(self.pending)} transaction(s) not confirmed when it gave up: {shown}{more}"
        super().__init__(text)

    def with_pending(self, pending: Sequence[PendingTx]) -> "TransactionTimeout":
        return TransactionTimeout(self.tx_hash, self.timeout, pending, self.missing)


class ContractRevert(TransactionError):
    """A call or transaction reverted.

    ``name`` is the Solidity error's name (``"TransferNotAllowed"``,
    ``"Error"`` for ``revert("...")``/``require``, ``"Panic"``), ``args`` maps
    its parameter names to decoded values, ``selector`` is the 4-byte selector
    and ``data`` the raw revert data.
    """

    def __init__(self, name: str, args: dict[str, Any], selector: bytes, data: bytes, message: str | None = None):
        self.name = name
        self.args_by_name = dict(args)
        self.selector = selector
        self.data = data
        super().__init__(message or self._describe())

    def _describe(self) -> str:
        inner = ", ".join(f"{k}={_short(v)}" for k, v in self.args_by_name.items())
        return f"reverted with {self.name}({inner})"


class CustomErrorRevert(ContractRevert):
    """A revert with a custom error declared in one of the compiled ABIs."""


class ReasonRevert(ContractRevert):
    """A revert with a reason string (``Error(string)``)."""

    @property
    def reason(self) -> str:
        return self.args_by_name.get("reason", "")

    def _describe(self) -> str:
        return f"reverted: {self.reason}"


class PanicRevert(ContractRevert):
    """A Solidity panic (``Panic(uint256)``): overflow, division by zero, assert..."""


class UnknownRevert(ContractRevert):
    """A revert whose data matches no known error (or carries no data)."""

    def _describe(self) -> str:
        return "reverted without data" if not self.data else f"reverted with unknown data 0x{self.data.hex()}"


# --- deployments --------------------------------------------------------------


class DeploymentError(RwaError):
    """A deployment could not be made, reused or recorded."""


class DeploymentRecordError(DeploymentError):
    """A file under ``deployments/`` is malformed."""


class BytecodeChanged(DeploymentError):
    """The recorded contract differs from the compiled one and ``redeploy`` was not asked for."""


class ChainChanged(DeploymentError):
    """A network's records belong to another chain than the node's (a reset node, another network at the same URL);
    nothing is deployed over them unless ``redeploy`` is asked for."""


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value) if isinstance(value, str) else str(value)
