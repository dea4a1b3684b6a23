"""The off-chain ledger: every event of a deployed stack in a SQL database, with cap tables, portfolios,
histories, reconciliation against the chain and CSV/JSON export.

    from rwaledger.ledger import Ledger

    with Ledger.open("build/ledger.sqlite") as ledger:   # or any SQLAlchemy URL
        result = ledger.sync(stack)                       # resumable, reorg-safe
        rows = ledger.cap_table("PKLHR1", block=1234)
        report = ledger.reconcile(stack)

Modules: :mod:`.schema` (tables), :mod:`.db` (engine, meta, checkpoint), :mod:`.rpc` (raw JSON-RPC reads),
:mod:`.decode` (ABI event tables), :mod:`.project` (events -> projection rows), :mod:`.sync` (the indexer),
:mod:`.queries`, :mod:`.reconcile`, :mod:`.export`.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Callable, Literal, Sequence

from sqlalchemy import Engine

from . import export as _export
from .db import DEFAULT_PATH, Checkpoint, get_checkpoint, open_engine
from .decode import EventTable
from .errors import ChainReadError, LedgerError, LedgerMismatch, NotSynced, UnknownAsset
from .queries import AssetRecord, CapTableRow, CountryTotal, EventRecord, Holding, IdentityAt, Queries
from .reconcile import Difference, ReconcileReport, reconcile as _reconcile
from .rpc import reader_for
from .sync import DEFAULT_BATCH_BLOCKS, Indexer, Rollback, SyncProgress, SyncResult

__all__ = [
    "AssetRecord", "CapTableRow", "ChainReadError", "Checkpoint", "CountryTotal", "DEFAULT_PATH", "Difference",
    "EventRecord", "EventTable", "Holding", "IdentityAt", "Indexer", "Ledger", "LedgerError", "LedgerMismatch", "NotSynced",
    "ReconcileReport", "Rollback", "SyncProgress", "SyncResult", "UnknownAsset",
]

Exportable = Literal["cap_table", "history", "events", "totals_by_country", "portfolio", "assets"]


class Ledger:
    """One ledger database. Open with :meth:`open`; safe to use as a context manager."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, target: str | Path = DEFAULT_PATH, *, echo: bool = False) -> "Ledger":
        """Open (creating tables if needed) a SQLite file path, ``":memory:"``, or any SQLAlchemy URL
        (``postgresql+psycopg://user@host/db``)."""
        return cls(open_engine(target, echo=echo))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sync --------------------------------------------------------------------------------------------

    def indexer(self, stack: Any) -> Indexer:
        """The indexer of this database for ``stack`` (its event table comes from the stack's ABIs)."""
        return Indexer(self.engine, stack)

    def sync(
        self,
        stack: Any,
        to_block: int | None = None,
        batch_blocks: int = DEFAULT_BATCH_BLOCKS,
        *,
        from_block: int | None = None,
        confirmations: int = 0,
        progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncResult:
        """Bring the ledger up to ``to_block`` (default: the chain head minus ``confirmations``), starting at the
        checkpoint (or at ``from_block``, default 0, on the first run). Rolls back reorged blocks first."""
        return self.indexer(stack).sync(to_block, batch_blocks, from_block, confirmations, progress)

    def checkpoint(self) -> Checkpoint | None:
        with self.engine.connect() as conn:
            return get_checkpoint(conn)

    # --- queries -----------------------------------------------------------------------------------------

    def _q(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with self.engine.connect() as conn:
            return getattr(Queries(conn), method)(*args, **kwargs)

    def assets(self) -> list[AssetRecord]:
        return self._q("assets")

    def asset(self, asset: int | str) -> AssetRecord:
        """By id (``3``/``"#3"``), token address or symbol."""
        return self._q("asset", asset)

    def cap_table(self, asset: int | str, block: int | None = None) -> list[CapTableRow]:
        """Holders with a non-zero balance at ``block`` (default: the checkpoint), largest first."""
        return self._q("cap_table", asset, block)

    def total_supply(self, asset: int | str, block: int | None = None) -> int:
        return self._q("total_supply", asset, block)

    def balance(self, asset: int | str, wallet: str, block: int | None = None) -> int:
        return self._q("balance", asset, wallet, block)

    def totals_by_country(self, asset: int | str, block: int | None = None) -> list[CountryTotal]:
        return self._q("totals_by_country", asset, block)

    def portfolio(self, wallet: str, block: int | None = None) -> list[Holding]:
        return self._q("portfolio", wallet, block)

    def identity(self, wallet: str, block: int | None = None) -> IdentityAt | None:
        """The wallet's identity at ``block`` (None: not registered or removed)."""
        return self._q("identity", wallet, block)

    def history(
        self, asset: int | str | None = None, wallet: str | None = None, limit: int | None = None
    ) -> list[EventRecord]:
        """Events of the asset and/or naming the wallet, in chain order (``limit``: the most recent ones)."""
        return self._q("events", asset=asset, wallet=wallet, limit=limit)

    def events(
        self,
        *,
        event: str | None = None,
        kind: str | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
        limit: int | None = None,
    ) -> list[EventRecord]:
        return self._q("events", event=event, kind=kind, from_block=from_block, to_block=to_block, limit=limit)

    # --- reconcile and export ----------------------------------------------------------------------------

    def reconcile(self, stack: Any) -> ReconcileReport:
        """Every holder balance and token supply of the ledger vs the chain at the checkpoint block."""
        data = bytes.fromhex(stack.registry.functions.assetCount()._encode_transaction_data()[2:])
        with self.engine.connect() as conn:
            return _reconcile(conn, reader_for(stack.session.chain), stack.registry.address, data)

    def export(
        self,
        what: Exportable,
        dest: str | Path | IO[str] | None = None,
        fmt: _export.Format | None = None,
        **query: Any,
    ) -> int:
        """Write a query's rows (``cap_table``, ``history``, ``events``, ``totals_by_country``, ``portfolio``,
        ``assets``; ``query`` holds its arguments) as CSV or JSON to a path or stream (stdout by default)."""
        if what not in ("cap_table", "history", "events", "totals_by_country", "portfolio", "assets"):
            raise LedgerError(f"cannot export {what!r}")
        rows = getattr(self, what)(**query)  # the facade's own query methods (history narrows `events`)
        method = what
        columns: Sequence[str] | None = {
            "cap_table": CapTableRow, "events": EventRecord, "history": EventRecord, "totals_by_country": CountryTotal,
            "portfolio": Holding, "assets": AssetRecord,
        }[method].__dataclass_fields__.keys()  # type: ignore[attr-defined]
        return _export.write(rows, dest, fmt, list(columns or []))
