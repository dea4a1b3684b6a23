"""The off-chain ledger: every event of a deployed stack in a SQL database, with cap tables, portfolios,
histories, reconciliation against the chain and CSV/JSON export.

    from rwaledger.ledger import Ledger

    with Ledger.open("build/ledger.sqlite") as ledger:   # or any SQLAlchemy URL
        result = ledger.sync(stack)                       # resumable, reorg-safe
        rows = ledger.cap_table("PKLHR1", block=1234)            # one row per wallet
        investors = ledger.investor_cap_table("PKLHR1")          # one row per investor (labels=True: names)
        report = ledger.reconcile(stack)

Investors own wallets (the IdentityRegistry's model): the ledger keeps each investor's state by block and each
wallet's binding (for good) and status by block. Investor labels (names) are off-chain, written by the
registrar service with :meth:`Ledger.set_investor_labels`, and only returned where asked for.

Modules: :mod:`.schema` (tables), :mod:`.db` (engine, meta, checkpoint), :mod:`.rpc` (raw JSON-RPC reads),
:mod:`.decode` (ABI event tables), :mod:`.project` (events -> projection rows), :mod:`.sync` (the indexer),
:mod:`.queries`, :mod:`.reconcile`, :mod:`.export`, :mod:`.audit` (the Safes' executions and owner changes).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Callable, Literal, Mapping, Sequence

from eth_utils import is_address
from sqlalchemy import Engine, delete

from . import audit as _audit
from . import export as _export
from . import schema
from .audit import SafeChange, SafeExecution
from .db import DEFAULT_PATH, Checkpoint, get_checkpoint, open_engine
from .decode import EventTable, checksum
from .errors import ChainReadError, LedgerError, LedgerMismatch, NotSynced, SchemaVersionError, UnknownAsset
from .queries import (
    AssetRecord,
    CapTableRow,
    CountryTotal,
    EventRecord,
    Holding,
    IdentityAt,
    InvestorAt,
    InvestorCapTableRow,
    Queries,
    WalletAmount,
    WalletAt,
)
from .reconcile import Difference, ReconcileReport, reconcile as _reconcile
from .rpc import reader_for
from .sync import DEFAULT_BATCH_BLOCKS, Indexer, Rollback, SyncProgress, SyncResult

__all__ = [
    "AssetRecord", "CapTableRow", "ChainReadError", "Checkpoint", "CountryTotal", "DEFAULT_PATH", "Difference",
    "EventRecord", "EventTable", "Holding", "IdentityAt", "Indexer", "InvestorAt", "InvestorCapTableRow", "Ledger",
    "LedgerError", "LedgerMismatch", "NotSynced", "ReconcileReport", "Rollback", "SafeChange", "SafeExecution",
    "SchemaVersionError", "SyncProgress",
    "SyncResult", "UnknownAsset", "WalletAmount", "WalletAt",
]

Exportable = Literal[
    "cap_table", "investor_cap_table", "history", "events", "totals_by_country", "portfolio", "assets"
]
EXPORT_ROWS: dict[str, type] = {
    "cap_table": CapTableRow, "investor_cap_table": InvestorCapTableRow, "events": EventRecord,
    "history": EventRecord, "totals_by_country": CountryTotal, "portfolio": Holding, "assets": AssetRecord,
}


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

    def safe_audit(self, safe: str | None = None) -> tuple[list[SafeExecution], list[SafeChange]]:
        """Every transaction the recorded Safes executed (signers recovered from their events, joined with the
        proposals and approvals stored here) and every change of their owners or threshold, in chain order."""
        with self.engine.connect() as conn:
            return _audit.safe_audit(conn, safe)

    def asset(self, asset: int | str) -> AssetRecord:
        """By id (``3``/``"#3"``), token address or symbol."""
        return self._q("asset", asset)

    def cap_table(self, asset: int | str, block: int | None = None) -> list[CapTableRow]:
        """Wallets with a non-zero balance at ``block`` (default: the checkpoint), largest first, each with its
        investor id and country."""
        return self._q("cap_table", asset, block)

    def cap_table_page(self, asset: int | str, page: int = 1, per_page: int = 50,
                       sort: str = "amount") -> tuple[list[CapTableRow], int, int, int]:
        """One page of the cap table now, from the current holdings: (rows, holders, total supply, block)."""
        return self._q("cap_table_page", asset, page, per_page, sort)

    def investor_cap_table(
        self, asset: int | str, block: int | None = None, labels: bool = False
    ) -> list[InvestorCapTableRow]:
        """Investors holding units at ``block``, largest first: id, country, the wallets holding units and the
        total. ``labels=True`` fills in their off-chain labels (registrar-side output: never publish it)."""
        return self._q("investor_cap_table", asset, block, labels)

    def total_supply(self, asset: int | str, block: int | None = None) -> int:
        return self._q("total_supply", asset, block)

    def balance(self, asset: int | str, wallet: str, block: int | None = None) -> int:
        return self._q("balance", asset, wallet, block)

    def totals_by_country(self, asset: int | str, block: int | None = None) -> list[CountryTotal]:
        """Units and holders per country at ``block``; holders are investors (two wallets: one holder)."""
        return self._q("totals_by_country", asset, block)

    def portfolio(self, wallet: str, block: int | None = None) -> list[Holding]:
        return self._q("portfolio", wallet, block)

    def identity(self, wallet: str, block: int | None = None) -> IdentityAt | None:
        """The wallet at ``block``: its investor id, its status (active / removed / lost) and the investor's
        country, KYC expiry and category (None: the wallet was bound to no investor then)."""
        return self._q("identity", wallet, block)

    def investor(self, investor_id: str, block: int | None = None) -> InvestorAt | None:
        """An investor's state at ``block`` (None: not registered by then)."""
        return self._q("investor", investor_id, block)

    def investor_wallets(self, investor_id: str, block: int | None = None) -> list[WalletAt]:
        """The wallets bound to an investor at ``block``, with their status, in the order they were bound."""
        return self._q("investor_wallets", investor_id, block)

    # --- investor labels (off-chain, private) ------------------------------------------------------------

    def set_investor_labels(self, labels: Mapping[str, str | None]) -> int:
        """Write investor labels (names) ``{investor_id: label}``: insert or replace, all in one transaction;
        ``None`` removes a label. Labels are off-chain only, never on the chain nor in a public query; any
        investor id may be labelled before the ledger has synced its registration. Returns the number of
        ids written."""
        rows: dict[str, str | None] = {}
        for raw, label in labels.items():
            if not isinstance(raw, str) or not is_address(raw):
                raise LedgerError(f"investor labels: {raw!r} is not an address (an investor id is its first wallet)")
            investor = checksum(raw)
            if label is not None:
                if not isinstance(label, str) or not label.strip():
                    raise LedgerError(f"investor labels: the label of {investor} must be non-empty text, not {label!r}")
                label = label.strip()
            if investor in rows and rows[investor] != label:
                raise LedgerError(f"investor labels: {investor} is given twice with different labels")
            rows[investor] = label
        lb = schema.investor_labels
        ids = sorted(rows)
        with self.engine.begin() as conn:
            for start in range(0, len(ids), 500):
                conn.execute(delete(lb).where(lb.c.investor.in_(ids[start : start + 500])))
            new = [{"investor": i, "label": rows[i]} for i in ids if rows[i] is not None]
            if new:
                conn.execute(lb.insert(), new)
        return len(ids)

    def investor_labels(self, investors: Sequence[str] | None = None) -> dict[str, str]:
        """investor id -> label, of ``investors`` (default: every labelled investor). Private data."""
        return self._q("investor_labels", investors)

    def investor_label(self, investor_id: str) -> str | None:
        return self._q("investor_label", investor_id)

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

    def reconcile(self, stack: Any, identities: bool = True) -> ReconcileReport:
        """Every holder balance and token supply of the ledger vs the chain at the checkpoint block, and (unless
        ``identities=False``) every investor's state and every wallet's investor and status vs the registry."""
        data = bytes.fromhex(stack.registry.functions.assetCount()._encode_transaction_data()[2:])
        with self.engine.connect() as conn:
            return _reconcile(conn, reader_for(stack.session.chain), stack.registry.address, data,
                              stack.identity.address if identities else None)

    def export(
        self,
        what: Exportable | str,
        dest: str | Path | IO[str] | None = None,
        fmt: _export.Format | None = None,
        **query: Any,
    ) -> int:
        """Write a query's rows (``cap_table``, ``investor_cap_table``, ``history``, ``events``,
        ``totals_by_country``, ``portfolio``, ``assets``; ``-`` may stand for ``_``; ``query`` holds its
        arguments, e.g. ``labels=True`` for the investor cap table) as CSV or JSON to a path or stream (stdout by
        default). Exports are registrar-side output: labels appear only when asked for."""
        method = str(what).replace("-", "_")
        if method not in EXPORT_ROWS:
            raise LedgerError(f"cannot export {what!r}: choose {', '.join(EXPORT_ROWS)}")
        rows = getattr(self, method)(**query)  # the facade's own query methods (history narrows `events`)
        columns: Sequence[str] = list(EXPORT_ROWS[method].__dataclass_fields__)  # type: ignore[attr-defined]
        return _export.write(rows, dest, fmt, columns)
