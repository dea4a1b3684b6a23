"""rwaledger's HTTP API (FastAPI): :func:`create_app` over a ledger database; ``rwa serve`` runs it with the ledger
follower beside it."""

from .app import create_app

__all__ = ["create_app"]
