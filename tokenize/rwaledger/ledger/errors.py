"""Exceptions of the off-chain ledger (all derive from :class:`rwaledger.errors.RwaError`)."""

from __future__ import annotations

from ..errors import RwaError


class LedgerError(RwaError):
    """Base class of the ledger's deliberate errors."""


class LedgerMismatch(LedgerError):
    """The database was built for another chain or another contract stack."""


class UnknownAsset(LedgerError):
    """No asset in the ledger matches the given id, token address or symbol."""


class ChainReadError(LedgerError):
    """The chain answered a read (logs, block, call) with an error."""


class NotSynced(LedgerError):
    """A query needs a synced ledger (run ``sync`` first)."""
