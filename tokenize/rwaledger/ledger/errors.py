"""Exceptions of the off-chain ledger (all derive from :class:`rwaledger.errors.RwaError`)."""

from __future__ import annotations

from ..errors import RwaError


class LedgerError(RwaError):
    """Base class of the ledger's deliberate errors."""


class LedgerMismatch(LedgerError):
    """The database was built for another chain or another contract stack."""


class SchemaVersionError(LedgerMismatch):
    """The database was written by another schema version of the ledger (or is not a ledger database): sync into
    a new file. ``found`` is the version it has (None: not a ledger database)."""

    def __init__(self, message: str, found: str | None = None):
        super().__init__(message)
        self.found = found


class UnknownAsset(LedgerError):
    """No asset in the ledger matches the given id, token address or symbol."""


class ChainReadError(LedgerError):
    """The chain answered a read (logs, block, call) with an error."""


class NotSynced(LedgerError):
    """A query needs a synced ledger (run ``sync`` first)."""
