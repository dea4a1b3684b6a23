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

import json
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Literal, Mapping, Sequence

from eth_utils import is_address
from sqlalchemy import Engine, delete
from sqlalchemy.exc import SQLAlchemyError

from . import audit as _audit
from . import export as _export
from . import schema
from .audit import SafeChange, SafeExecution
from .db import DEFAULT_PATH, Checkpoint, get_checkpoint, get_meta, open_engine, set_meta
from .decode import EventTable, checksum
from .errors import ChainReadError, LedgerError, LedgerMismatch, NotSynced, SchemaVersionError, UnknownAsset
from .queries import (
    AssetRecord,
    CapTableRow,
    ClaimRow,
    CountryTotal,
    DistributionRow,
    EventRecord,
    FreezeRow,
    Holding,
    IdentityAt,
    InvestorAt,
    InvestorCapTableRow,
    LienRow,
    LotRow,
    OwnershipPoint,
    Queries,
    RedemptionRow,
    ReserveState,
    WalletAmount,
    WalletAt,
)
from .reconcile import Difference, ReconcileReport, reconcile as _reconcile
from .rpc import reader_for
from .sync import DEFAULT_BATCH_BLOCKS, Indexer, Rollback, SyncProgress, SyncResult

__all__ = [
    "AssetRecord", "CapTableRow", "ChainReadError", "ClaimRow", "DistributionRow",
    "Checkpoint", "CountryTotal", "DEFAULT_PATH", "Difference",
    "EventRecord", "EventTable", "FreezeRow", "Holding", "IdentityAt", "Indexer", "InvestorAt", "InvestorCapTableRow", "Ledger",
    "LedgerError", "LedgerMismatch", "LienRow", "LotRow", "NotSynced", "OwnershipPoint", "ReconcileReport", "RedemptionRow",
    "ReserveState", "Rollback", "SafeChange", "SafeExecution",
    "SchemaVersionError", "SyncProgress",
    "SyncResult", "UnknownAsset", "WalletAmount", "WalletAt",
]

Exportable = Literal[
    "cap_table", "investor_cap_table", "history", "events", "totals_by_country", "portfolio", "assets", "liens",
    "freezes", "lots", "redemptions",
]


def _exports() -> dict[str, tuple[Callable[..., Sequence[Any]], type]]:
    """What :meth:`Ledger.export` writes: kind -> (the facade's typed query method, its row type). One table, so a
    kind is a key here, never a method name looked up at run time."""
    return {
        "cap_table": (Ledger.cap_table, CapTableRow),
        "investor_cap_table": (Ledger.investor_cap_table, InvestorCapTableRow),
        "history": (Ledger.history, EventRecord),
        "events": (Ledger.events, EventRecord),
        "totals_by_country": (Ledger.totals_by_country, CountryTotal),
        "portfolio": (Ledger.portfolio, Holding),
        "assets": (Ledger.assets, AssetRecord),
        "liens": (Ledger.liens, LienRow),
        "freezes": (Ledger.freezes, FreezeRow),
        "lots": (Ledger.lots, LotRow),
        "redemptions": (Ledger.redemptions, RedemptionRow),
    }


def as_unix_time(when: datetime | str | int) -> int:
    """Unix seconds of a time: an int as it is, an aware datetime, or ISO 8601 text (a date is its midnight UTC,
    text without a zone is UTC). :class:`ValueError` for anything else."""
    if isinstance(when, bool):
        raise ValueError(f"not a time: {when!r}")
    if isinstance(when, int):
        return when
    if isinstance(when, str):
        text = when.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        when = datetime.fromisoformat(text)
    if not isinstance(when, datetime):
        raise ValueError(f"not a time: {when!r}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp())


class Ledger:
    """One ledger database. Open with :meth:`open`; safe to use as a context manager."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._walks: dict[str, Any] = {}  # token -> OwnershipWalk: ownership_history continues from the last call
        self._walks_lock = threading.Lock()

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

    @contextmanager
    def queries(self) -> Iterator[Queries]:
        """:class:`Queries` on one connection (several reads that must see one state: one snapshot on PostgreSQL
        only inside a transaction, so the facade's methods each read on their own)."""
        with self.engine.connect() as conn:
            yield Queries(conn)

    def assets(self) -> list[AssetRecord]:
        with self.queries() as q:
            return q.assets()

    def safe_audit(self, safe: str | None = None) -> tuple[list[SafeExecution], list[SafeChange]]:
        """Every transaction the recorded Safes executed (signers recovered from their events, joined with the
        proposals and approvals stored here) and every change of their owners or threshold, in chain order."""
        with self.engine.connect() as conn:
            return _audit.safe_audit(conn, safe)

    def asset(self, asset: int | str) -> AssetRecord:
        """By id (``3``/``"#3"``), token address or symbol."""
        with self.queries() as q:
            return q.asset(asset)

    def cap_table(self, asset: int | str, block: int | None = None) -> list[CapTableRow]:
        """Wallets with a non-zero balance at ``block`` (default: the checkpoint), largest first, each with its
        investor id and country."""
        with self.queries() as q:
            return q.cap_table(asset, block)

    def cap_table_page(self, asset: int | str, page: int = 1, per_page: int = 50, sort: str = "amount",
                       block: int | None = None) -> tuple[list[CapTableRow], int, int, int]:
        """One page of the cap table: (rows, holders, total supply, block). Now (``block`` None): from the current
        holdings; at a past block: its latest balance checkpoint plus the changes after it, summed in SQL."""
        with self.queries() as q:
            return q.cap_table_page(asset, page, per_page, sort, block)

    def block_at(self, when: datetime | str | int) -> int:
        """The last block at or before a time (unix seconds, an aware datetime, ISO 8601 text; no zone: UTC), as
        far as the ledger is synced: the cap table at that time is the one at that block."""
        with self.queries() as q:
            return q.block_at(as_unix_time(when))

    def block_time(self, block: int) -> int | None:
        """A recorded block's timestamp (unix seconds)."""
        with self.queries() as q:
            return q.block_time(block)

    def cap_table_at(self, asset: int | str, when: datetime | str | int) -> list[CapTableRow]:
        """The cap table at a time: at the last block at or before it (:meth:`block_at`)."""
        with self.queries() as q:
            return q.cap_table(asset, q.block_at(as_unix_time(when)))

    def liens(self, asset: int | str, active: bool | None = True) -> list[LienRow]:
        """An asset's liens in force (``active=False``: the released ones; None: all)."""
        with self.queries() as q:
            return q.liens(asset, active)

    def freezes(self, asset: int | str) -> list[FreezeRow]:
        """An asset's wallets frozen or with a frozen amount now."""
        with self.queries() as q:
            return q.freezes(asset)

    def lots(self, asset: int | str, active: bool | None = True) -> list[LotRow]:
        """A commodity's custody lots (the active ones by default; None: all)."""
        with self.queries() as q:
            return q.lots(asset, active)

    def redemptions(self, asset: int | str, status: str | None = None) -> list[RedemptionRow]:
        """A commodity's redemption requests (``status`` open / fulfilled / rejected; None: all)."""
        with self.queries() as q:
            return q.redemptions(asset, status)

    def reserve(self, asset: int | str) -> ReserveState:
        """A commodity's reserve now: active lots, their sum, the supply, the open redemptions."""
        with self.queries() as q:
            return q.reserve(asset)

    def investor_cap_table(
        self, asset: int | str, block: int | None = None, labels: bool = False
    ) -> list[InvestorCapTableRow]:
        """Investors holding units at ``block``, largest first: id, country, the wallets holding units and the
        total. ``labels=True`` fills in their off-chain labels (registrar-side output: never publish it)."""
        with self.queries() as q:
            return q.investor_cap_table(asset, block, labels)

    def total_supply(self, asset: int | str, block: int | None = None) -> int:
        with self.queries() as q:
            return q.total_supply(asset, block)

    def balance(self, asset: int | str, wallet: str, block: int | None = None) -> int:
        with self.queries() as q:
            return q.balance(asset, wallet, block)

    def totals_by_country(self, asset: int | str, block: int | None = None) -> list[CountryTotal]:
        """Units and holders per country at ``block``; holders are investors (two wallets: one holder)."""
        with self.queries() as q:
            return q.totals_by_country(asset, block)

    def portfolio(self, wallet: str, block: int | None = None) -> list[Holding]:
        with self.queries() as q:
            return q.portfolio(wallet, block)

    def distributions(self) -> list[DistributionRow]:
        """Every distribution created (id, asset, payment token, total, root, expiry, claimed, reclaimed)."""
        with self.queries() as q:
            return q.distributions()

    def distribution_claims(self, wallet: str | None = None,
                            leaves: Iterable[tuple[int, int]] = ()) -> list[ClaimRow]:
        """The claims made by or paid to ``wallet`` and the state (claimed, withheld) of the ``leaves`` asked for."""
        with self.queries() as q:
            return q.distribution_claims(wallet, leaves)

    def identity(self, wallet: str, block: int | None = None) -> IdentityAt | None:
        """The wallet at ``block``: its investor id, its status (active / removed / lost) and the investor's
        country, KYC expiry and category (None: the wallet was bound to no investor then)."""
        with self.queries() as q:
            return q.identity(wallet, block)

    def investor(self, investor_id: str, block: int | None = None) -> InvestorAt | None:
        """An investor's state at ``block`` (None: not registered by then)."""
        with self.queries() as q:
            return q.investor(investor_id, block)

    def investor_wallets(self, investor_id: str, block: int | None = None) -> list[WalletAt]:
        """The wallets bound to an investor at ``block``, with their status, in the order they were bound."""
        with self.queries() as q:
            return q.investor_wallets(investor_id, block)

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
        with self.queries() as q:
            return q.investor_labels(investors)

    def investor_label(self, investor_id: str) -> str | None:
        with self.queries() as q:
            return q.investor_label(investor_id)

    def history(
        self, asset: int | str | None = None, wallet: str | None = None, limit: int | None = None
    ) -> list[EventRecord]:
        """Events of the asset and/or naming the wallet, in chain order (``limit``: the most recent ones)."""
        with self.queries() as q:
            return q.events(asset=asset, wallet=wallet, limit=limit)

    def events(
        self,
        *,
        event: str | None = None,
        kind: str | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
        limit: int | None = None,
    ) -> list[EventRecord]:
        with self.queries() as q:
            return q.events(event=event, kind=kind, from_block=from_block, to_block=to_block, limit=limit)

    # --- reconcile and export ----------------------------------------------------------------------------

    def reconcile(self, stack: Any, identities: bool = True) -> ReconcileReport:
        """Every holder balance and token supply of the ledger vs the chain at the checkpoint block, and (unless
        ``identities=False``) every investor's state and every wallet's investor and status vs the registry."""
        data = bytes.fromhex(stack.registry.encode_abi("assetCount")[2:])
        with self.engine.connect() as conn:
            report = _reconcile(conn, reader_for(stack.session.chain), stack.registry.address, data,
                                stack.identity.address if identities else None)
        try:  # the last run, for the portal's status page (when, at which block, its outcome); best effort: a
            # read-only database user or a writer holding the lock leaves the previous record
            with self.engine.begin() as conn:
                set_meta(conn, "last_reconciliation", json.dumps({"at": time.time(), "block": report.block,
                                                                  "ok": report.ok,
                                                                  "differences": len(report.differences)}))
        except SQLAlchemyError:
            pass
        return report

    def last_reconciliation(self) -> dict[str, Any] | None:
        """The last :meth:`reconcile` run on this ledger: ``at`` (unix time), ``block``, ``ok``, ``differences``
        (their count); None if it was never reconciled."""
        with self.engine.connect() as conn:
            value = get_meta(conn, "last_reconciliation")
        return None if value is None else json.loads(value)

    def ownership_history(self, asset: int | str, points: int = 60) -> list[OwnershipPoint]:
        """Holder count and top-holder share of an asset at up to ``points`` blocks where its balances changed
        (evenly spread, the first and the last included). The walk over the balance changes is kept here between
        calls: after a sync only the new changes are read (a rollback starts it again)."""
        with self._walks_lock, self.queries() as q:
            return q.ownership_history(asset, points, self._walks)

    def export(
        self,
        what: Exportable | str,
        dest: str | Path | IO[str] | None = None,
        fmt: _export.Format | None = None,
        **query: Any,
    ) -> int:
        """Write a query's rows (``cap_table``, ``investor_cap_table``, ``history``, ``events``,
        ``totals_by_country``, ``portfolio``, ``assets``, ``liens``, ``freezes``, ``lots``, ``redemptions``; ``-`` may
        stand for ``_``; ``query`` holds its
        arguments, e.g. ``labels=True`` for the investor cap table) as CSV or JSON to a path or stream (stdout by
        default). Exports are registrar-side output: labels appear only when asked for."""
        exports = _exports()
        kind = str(what).replace("-", "_")
        if kind not in exports:
            raise LedgerError(f"cannot export {what!r}: choose {', '.join(exports)}")
        read, row_type = exports[kind]
        rows = read(self, **query)
        columns: Sequence[str] = list(row_type.__dataclass_fields__)  # type: ignore[attr-defined]
        return _export.write(rows, dest, fmt, columns)
