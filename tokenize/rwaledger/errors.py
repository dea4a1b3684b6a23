"""The exception hierarchy of rwaledger.

Every error the library raises on purpose derives from :class:`RwaError`, so a
caller (the CLI, a script) can catch one type and print one readable line.
Contract reverts are decoded into :class:`ContractRevert` subclasses by
:mod:`rwaledger.reverts`.
"""

from __future__ import annotations

from typing import Any


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


class TransactionError(ChainError):
    """A transaction could not be sent or confirmed."""


class TransactionTimeout(TransactionError):
    """No receipt arrived within the timeout."""

    def __init__(self, tx_hash: str, timeout: float):
        self.tx_hash = tx_hash
        super().__init__(f"transaction {tx_hash} not mined within {timeout:g}s")


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
