"""Read-only queries over the ledger tables. Amounts are exact Python ints (base units); percentages are
:class:`~decimal.Decimal`. ``block=None`` means the ledger's checkpoint (the last synced block); a block is
inclusive (the state after all its transactions, like ``balanceOf(..., block)``).

Holders are wallets in :meth:`Queries.cap_table` (one row per wallet, with its investor) and investors in
:meth:`Queries.investor_cap_table` and :meth:`Queries.totals_by_country` (an investor with two wallets is one
holder, as the tokens count it). Investor labels (names) are off-chain and private: only
``investor_cap_table(..., labels=True)`` and the label reads return them, never another query."""

from __future__ import annotations

import heapq
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable, NamedTuple

from sqlalchemy import (Connection, Integer, Numeric, and_, bindparam, case, func, literal, select, tuple_, type_coerce,
                        union_all)
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import ColumnElement, Subquery

from . import schema
from .db import get_checkpoint, get_meta
from .decode import checksum
from .errors import NotSynced, UnknownAsset


@lru_cache(maxsize=2048)
def country_code(numeric: int) -> str:
    """ISO 3166-1 alpha-2 of a numeric code, or the number as text when pycountry does not know it."""
    try:
        from ..models import country_alpha2

        return country_alpha2(numeric)
    except Exception:
        return str(numeric)


@dataclass(frozen=True)
class AssetRecord:
    asset_id: int
    kind: str | None
    token: str | None
    symbol: str | None
    name: str | None
    decimals: int | None
    cap: int | None
    unit: str | None
    jurisdiction: str | None
    legal_reference: str | None
    display_reference: str | None
    metadata_uri: str | None
    status: str | None
    valuation_amount: int | None
    valuation_currency: str | None
    valuation_date: int | None
    registered_block: int | None
    updated_block: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CapTableRow:
    holder: str  # the wallet
    amount: int
    percent: Decimal  # of the total supply at that block
    # its investor's country (kept after a deletion, as the registry keeps it), alpha-2 (or the numeric code as
    # text); None: not known at that block
    country: str | None
    country_numeric: int | None
    investor: str | None = None  # the investor id the wallet is bound to (None: no binding in the ledger)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class WalletAmount(NamedTuple):
    """A wallet of an investor row and its units (a named pair: ``for wallet, amount in row.wallets``)."""

    wallet: str
    amount: int


@dataclass(frozen=True)
class InvestorCapTableRow:
    """One investor holding units: the sum over its wallets. ``investor`` None: a wallet the ledger has no
    binding for (its investor registered before the ledger's start block), on a row of its own."""

    investor: str | None
    label: str | None  # off-chain name; only with labels=True, else None
    amount: int  # the total over its wallets
    percent: Decimal
    country: str | None
    country_numeric: int | None
    wallets: tuple[WalletAmount, ...]  # the wallets holding units, largest first

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Holding:
    asset_id: int | None
    symbol: str | None
    token: str
    amount: int
    decimals: int | None
    percent: Decimal

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CountryTotal:
    country: str | None
    country_numeric: int | None
    holders: int
    amount: int
    percent: Decimal

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IdentityAt:
    """What a wallet is at a block: the wallet's status and its investor's state."""

    wallet: str
    investor: str
    wallet_status: str  # active / removed / lost
    active: bool  # the wallet is an active wallet of a registered investor (verified while the KYC is valid)
    investor_active: bool  # the investor is registered (not deleted)
    country: str | None
    country_numeric: int | None
    kyc_expiry: int | None
    category: int | None
    since_block: int  # of the latest change of the wallet or of its investor

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InvestorAt:
    investor: str
    active: bool
    country: str | None
    country_numeric: int | None
    kyc_expiry: int | None
    category: int | None
    since_block: int  # of the latest change

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WalletAt:
    wallet: str
    investor: str
    status: str  # active / removed / lost
    bound_block: int  # bound to the investor from this block on (for good)
    since_block: int  # of the latest status change

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EventRecord:
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    address: str
    contract_kind: str
    event: str | None
    args: dict[str, Any]  # integers as decimal strings
    asset_id: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DistributionRow:
    """A distribution as the ledger keeps it (current state: what is claimed of it, whether it was reclaimed)."""

    distribution_id: int
    asset_id: int | None
    symbol: str | None
    token: str
    payment_token: str
    total: int
    record_block: int
    merkle_root: str | None
    expiry: int | None  # last unix second at which claims are accepted
    claimed: int
    claims: int
    reclaimed: int | None
    block_number: int
    payment_symbol: str | None = None  # as the payment token answers symbol() (None: it does not, or not read yet)
    payment_decimals: int | None = None  # its decimals() (None: amounts in base units)


@dataclass(frozen=True)
class ClaimRow:
    """An entitlement the chain has spoken of: claimed (account, payee, amount) and / or withheld."""

    distribution_id: int
    claim_index: int
    account: str | None
    payee: str | None
    amount: int | None
    claimed: bool
    withheld: bool
    block_number: int


@dataclass(frozen=True)
class LienRow:
    """A lien of a token (current state): in force while ``active``."""

    asset_id: int | None
    token: str
    lien_id: int
    holder: str
    beneficiary: str
    amount: int
    reason: str  # bytes32 reference, 0x hex
    document_hash: str  # SHA-256 of the lien document, 0x hex
    active: bool
    created_block: int
    block_number: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FreezeRow:
    """A wallet's freezes on a token now: the whole wallet (``frozen``) and/or a frozen amount."""

    asset_id: int | None
    token: str
    wallet: str
    frozen: bool
    frozen_amount: int
    block_number: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LotRow:
    """A custody lot of a commodity token: what was attested and what remains."""

    asset_id: int | None
    token: str
    lot_id: str
    vault: str
    receipt_hash: str
    custodian: str
    attested: int
    remaining: int
    status: str  # active / retired
    attested_block: int
    block_number: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RedemptionRow:
    asset_id: int | None
    token: str
    request_id: int
    requester: str
    holder: str
    amount: int
    delivery_ref: str
    status: str  # open / fulfilled / rejected
    reason: str | None
    requested_block: int
    block_number: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReserveState:
    """A commodity's backing now: the active lots' remaining units against the supply."""

    asset_id: int
    block: int
    supply: int
    reserve: int  # the sum of what the active lots hold
    lots: list[LotRow]
    open_redemptions: list[RedemptionRow]

    @property
    def backed(self) -> bool:
        """supply <= reserve: every unit in circulation has metal (or whatever the unit is) in custody."""
        return self.supply <= self.reserve

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "backed": self.backed}


@dataclass(frozen=True)
class OwnershipPoint:
    """An asset's ownership at one block: how many wallets hold units and the largest holder's share."""

    block: int
    timestamp: int | None
    holders: int
    supply: int
    top_holder: int  # the largest balance
    top_percent: Decimal

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["top_percent"] = str(self.top_percent)
        return d


def _percent(amount: int, total: int) -> Decimal:
    return Decimal(amount) * 100 / Decimal(total) if total else Decimal(0)


class OwnershipWalk:
    """A token's balance changes walked in chain order up to ``block``: every holder's balance, the holder count,
    the supply, the largest balance (a max-heap with stale entries dropped when they surface), and one
    ``(block, holders, supply, top)`` per block where a balance changed (what :meth:`Queries.ownership_history`
    samples)."""

    def __init__(self) -> None:
        self.block = -1
        self.block_hash: str | None = None
        self.balances: dict[str, int] = {}
        self.holders = 0
        self.supply = 0
        self.heap: list[tuple[int, str]] = []
        self.series: list[tuple[int, int, int, int]] = []

    def _top(self) -> int:
        heap, balances = self.heap, self.balances
        while heap and balances.get(heap[0][1], 0) != -heap[0][0]:
            heapq.heappop(heap)
        return -heap[0][0] if heap else 0

    def extend(self, rows: Iterable[tuple[int, str, Any]]) -> None:
        balances, heap = self.balances, self.heap
        current = None
        for n, holder, delta in rows:
            if current is not None and n != current:
                self.series.append((current, self.holders, self.supply, self._top()))
            current = n
            delta = int(delta)
            before = balances.get(holder, 0)
            after = before + delta
            self.holders += (after > 0) - (before > 0)
            self.supply += delta
            if after:
                balances[holder] = after
                heapq.heappush(heap, (-after, holder))
            else:
                balances.pop(holder, None)
        if current is not None:
            self.series.append((current, self.holders, self.supply, self._top()))
        if len(heap) > 4 * len(balances) + 64:  # drop the stale entries
            self.heap = [(-v, h) for h, v in balances.items()]
            heapq.heapify(self.heap)


class Queries:
    """Queries on one connection."""

    def __init__(self, conn: Connection):
        self.conn = conn

    # --- helpers -------------------------------------------------------------------------------------------

    def block_or_checkpoint(self, block: int | None) -> int:
        cp = get_checkpoint(self.conn)
        if cp is None:
            raise NotSynced("the ledger is empty: run sync first")
        return cp.block if block is None else int(block)

    def assets(self) -> list[AssetRecord]:
        rows = self.conn.execute(select(schema.assets).order_by(schema.assets.c.asset_id))
        return [AssetRecord(**r._mapping) for r in rows]

    def asset(self, ref: int | str) -> AssetRecord:
        """An asset by id (``3``, ``"3"``, ``"#3"``), token address or symbol (case-insensitive)."""
        a = schema.assets.c
        text = str(ref).strip()
        if isinstance(ref, int) or text.lstrip("#").isdigit():
            cond = a.asset_id == int(text.lstrip("#"))
        elif text.startswith("0x") and len(text) == 42:
            cond = a.token == checksum(text)
        else:
            matches = [r for r in self.assets() if (r.symbol or "").upper() == text.upper()]
            if len(matches) == 1:
                return matches[0]
            raise UnknownAsset(f"no asset with symbol {text!r}" if not matches else f"symbol {text!r} is ambiguous")
        row = self.conn.execute(select(schema.assets).where(cond)).first()
        if row is None:
            raise UnknownAsset(f"no asset {text!r} in the ledger (synced?)")
        return AssetRecord(**row._mapping)

    def balances(self, token: str, block: int) -> dict[str, int]:
        """Every holder that ever held ``token`` -> balance at ``block`` (zeros included)."""
        bc = schema.balance_changes.c
        sums: dict[str, int] = defaultdict(int)
        rows = self.conn.execute(
            select(bc.holder, bc.delta).where(bc.token == token, bc.block_number <= block)
        )
        for holder, delta in rows:
            sums[holder] += delta
        return dict(sums)

    # --- balances at a block: the latest checkpoint at or before it plus the changes after it, summed in SQL -------

    def _sum(self, col: Any) -> ColumnElement[Any]:
        """The exact SUM of an amount column: NUMERIC on PostgreSQL, the ``rwa_sum`` aggregate on SQLite (its
        integers are 64-bit; the aggregate returns a balance zero-padded, so it sorts)."""
        agg = func.sum(col) if self.conn.dialect.name == "postgresql" else func.rwa_sum(col)
        return type_coerce(agg, schema.SortableAmount())

    def checkpoint_block(self, token: str, block: int) -> int | None:
        """The latest balance checkpoint of ``token`` at or before ``block`` (None: none yet)."""
        cp = schema.balance_checkpoints.c
        return self.conn.execute(select(func.max(cp.block_number))
                                 .where(cp.token == token, cp.block_number <= block)).scalar()

    def _balances_at(self, token: str, block: int) -> Subquery:
        """(holder, balance) of every holder of ``token`` with units at ``block``, as a subquery: the latest
        checkpoint at or before ``block`` and the changes after it, summed exactly in SQL (:meth:`_holders_at`)."""
        held = self._holders_at(token, block, native=False)
        return select(held.c.holder, held.c.balance).subquery("balances")

    def balances_at(self, token: str, block: int) -> dict[str, int]:
        """holder -> balance at ``block`` for every holder with units then (from a checkpoint and the changes after
        it, summed in SQL)."""
        held = self._balances_at(token, block)
        return {h: v for h, v in self.conn.execute(select(held.c.holder, held.c.balance))}

    def _holders_at(self, token: str, block: int, native: bool) -> Subquery:
        """(holder, balance, width) of every holder of ``token`` with units at ``block``: the rows of the latest
        checkpoint at or before it of the holders no later change touched, as they are, and the touched holders'
        checkpoint rows and changes grouped and summed (no checkpoint: every change, grouped). ``native`` (SQLite):
        summed by SQLite's own integer SUM (exact, or an "integer overflow" error) with ``width``, the most digits
        of an amount read, which must be at most 18 for the casts to be exact; else by :meth:`_sum`."""
        cp, bc = schema.balance_checkpoints.c, schema.balance_changes.c
        base = self.checkpoint_block(token, block)
        changes = select(bc.holder.label("holder"), type_coerce(bc.delta, schema.Amount()).label("amount")).where(
            bc.token == token, bc.block_number <= block)
        if base is not None:
            changes = changes.where(bc.block_number > base)
            touched = select(bc.holder).where(bc.token == token, bc.block_number > base, bc.block_number <= block)
            at_base = (cp.token == token, cp.block_number == base)
            parts: Any = union_all(
                select(cp.holder.label("holder"), type_coerce(cp.balance, schema.Amount()).label("amount"))
                .where(*at_base, cp.holder.in_(touched)), changes)
        else:
            parts = changes
        p = parts.subquery("parts")
        if native:
            total: Any = type_coerce(func.sum(func.cast(p.c.amount, Integer)), Integer)
            width: Any = func.max(func.length(func.ltrim(p.c.amount, "-0")))
            zero: Any = literal(0)
        else:
            total, width = self._sum(p.c.amount), literal(0)
            zero = bindparam("zero", 0, type_=schema.SortableAmount())
        moved = select(p.c.holder.label("holder"), total.label("balance"), width.label("width")).group_by(
            p.c.holder).having(total > zero)
        if base is None:
            return moved.subquery("held")
        balance = type_coerce(func.cast(cp.balance, Integer), Integer) if native else cp.balance
        still = select(cp.holder.label("holder"), balance.label("balance"),
                       (func.length(func.ltrim(cp.balance, "0")) if native else literal(0)).label("width")
                       ).where(*at_base, cp.holder.not_in(touched))
        return union_all(still, moved).subquery("held")

    def _page_since(self, token: str, base: int, block: int, sort: str, limit: int, offset: int,
                    native: bool) -> tuple[list[tuple[str, int]], int, int] | None:
        """A page at ``block`` from the checkpoint at ``base``: (rows, holders, total supply), on PostgreSQL or with
        SQLite's integer SUM (``native``; None when that cannot be exact here: an amount of more than 18 digits,
        an overflow).

        Only the changes in (``base``, ``block``] are grouped (per holder, summed in SQL) and added to their
        holders' checkpoint rows, looked up by key. The page is the merge of the first ``offset + limit`` untouched checkpoint rows
        in the page's order (largest first: read backwards along ``ix_balance_checkpoints_balance``, no sort of
        the checkpoint) and the first ``offset + limit`` touched holders; the totals are the checkpoint's, less
        its rows of the touched holders, plus their new balances."""
        cp, bc = schema.balance_checkpoints.c, schema.balance_changes.c
        pg = self.conn.dialect.name == "postgresql"
        at_base = (cp.token == token, cp.block_number == base)
        changed = (bc.token == token, bc.block_number > base, bc.block_number <= block)
        touched = select(bc.holder).where(*changed)
        if native:
            d_sum: Any = type_coerce(func.sum(func.cast(bc.delta, Integer)), Integer)
            cp_sum: Any = type_coerce(func.sum(func.cast(cp.balance, Integer)), Integer)
            width: Any = func.max(func.length(func.ltrim(bc.delta, "-0")))
            was: Any = func.coalesce(func.cast(cp.balance, Integer), 0)
            zero: Any = literal(0)
        else:
            d_sum, cp_sum, width = self._sum(type_coerce(bc.delta, schema.Amount())), self._sum(cp.balance), literal(0)
            was = type_coerce(func.coalesce(cp.balance, 0), Numeric(78, 0))  # PostgreSQL: NUMERIC arithmetic
            zero = bindparam("zero", 0, type_=schema.SortableAmount())
        d = select(bc.holder.label("holder"), d_sum.label("delta"), width.label("width")).where(*changed).group_by(
            bc.holder).subquery("d")  # each touched holder's changes, summed
        balance = type_coerce(was + type_coerce(d.c.delta, Integer if native else Numeric(78, 0)),
                              Integer if native else schema.Amount())
        moved = select(d.c.holder, balance.label("balance"), d.c.width,
                       case((cp.holder.is_(None), 0), else_=1).label("old"), was.label("was")).select_from(
            d.outerjoin(schema.balance_checkpoints, and_(*at_base, cp.holder == d.c.holder))).subquery("moved")

        def over(col: Any) -> Any:
            return func.sum(col).over() if native else type_coerce(func.sum(col).over(), schema.Amount())

        m_sum, o_sum = over(moved.c.balance), over(moved.c.was)
        w = select(moved.c.holder, moved.c.balance,
                   func.count(case((moved.c.balance > zero, 1))).over().label("n"), m_sum.label("s"),
                   func.max(moved.c.width).over().label("w"), func.sum(moved.c.old).over().label("o_n"),
                   o_sum.label("o_s")).subquery("w")
        want = offset + limit
        if sort == "amount":
            still_order = (cp.balance.desc(), cp.holder.collate("C") if pg else cp.holder)
            fresh_order = (w.c.balance.desc(), w.c.holder.collate("C") if pg else w.c.holder)
            key: Any = lambda r: (-r[1], r[0])  # noqa: E731
        else:
            still_order, fresh_order = (func.lower(cp.holder),), (func.lower(w.c.holder),)
            key = lambda r: r[0].lower()  # noqa: E731
        try:
            cp_n, cp_total, top = self.conn.execute(select(func.count(), cp_sum, func.max(cp.balance))
                                                    .where(*at_base)).one()
            fresh = self.conn.execute(select(w.c.holder, w.c.balance, w.c.n, w.c.s, w.c.w, w.c.o_n, w.c.o_s)
                                      .where(w.c.balance > zero).order_by(*fresh_order).limit(want)).all()
            if native and ((top is not None and int(top) >= 10**18) or (fresh and (fresh[0][4] or 0) > 18)
                           or any(isinstance(x, float) for r in fresh[:1] for x in r[1:])):
                return None  # an amount past 18 digits, or SQLite's integer + went to a float: not exact
            if fresh:
                old_n, old_total = fresh[0][5] or 0, fresh[0][6]
            else:  # no touched holder with units (the window rows were all cut): the same totals alone
                width_, old_n, old_total = self.conn.execute(select(func.max(moved.c.width), func.sum(moved.c.old),
                                                                    self._sum(moved.c.was) if not native else
                                                                    func.sum(moved.c.was))).one()
                if native and (width_ or 0) > 18:
                    return None
            still = self.conn.execute(select(cp.holder, cp.balance).where(*at_base, cp.holder.not_in(touched))
                                      .order_by(*still_order).limit(want)).all()
        except OperationalError as exc:
            if native and "overflow" in str(exc):
                return None
            raise
        new_n, new_total = (fresh[0][2], int(fresh[0][3] or 0)) if fresh else (0, 0)
        merged = sorted([(h, int(v)) for h, v in still] + [(h, int(v)) for h, v, *_ in fresh], key=key)
        total = int(cp_total or 0) - int(old_total or 0) + new_total
        return merged[offset:offset + limit], cp_n - int(old_n or 0) + new_n, total

    def _held_page(self, token: str, block: int, sort: str, limit: int | None,
                   offset: int) -> tuple[list[tuple[str, int]], int, int] | None:
        """(rows of the page, holders, total supply) at ``block``. From a checkpoint: :meth:`_page_since`. Else (or
        SQLite's exact path): every holder's balance (:meth:`_holders_at`), the page sorted and cut in SQL, the totals
        as window aggregates over every holder. None: the page is past the last holder (no row to carry the
        totals; :meth:`_supply_at` has them)."""
        sqlite = self.conn.dialect.name == "sqlite"
        base = self.checkpoint_block(token, block)
        if base is not None and limit is not None:  # SQLite's exact path: below (its SUM over text is a float)
            found = self._page_since(token, base, block, sort, limit, offset, native=sqlite)
            if found is not None:
                return found if found[0] else None
        for attempt in ((True, False) if sqlite else (False,)):
            held = self._holders_at(token, block, attempt)
            order = (held.c.balance.desc(), held.c.holder) if sort == "amount" else (func.lower(held.c.holder),)
            if sqlite and not attempt:  # SQLite's SUM of the exact aggregate's text would be a float: apart
                q = select(held.c.holder, held.c.balance).order_by(*order).offset(offset)
                part = [(h, int(v)) for h, v in self.conn.execute(q if limit is None else q.limit(limit))]
                if not part:
                    return None
                total, count = self._supply_at(token, block, native=False)
                return part, count, total
            total = func.sum(held.c.balance).over() if attempt else type_coerce(func.sum(held.c.balance).over(),
                                                                                  schema.Amount())
            q = select(held.c.holder, held.c.balance, func.count().over(), total, func.max(held.c.width).over()
                       ).order_by(*order).offset(offset)
            if limit is not None:
                q = q.limit(limit)
            try:
                rows = self.conn.execute(q).all()
            except OperationalError as exc:
                if attempt and "overflow" in str(exc):
                    continue  # an amount or a sum past 64 bits: the exact aggregate
                raise
            if rows and attempt and rows[0][4] is not None and rows[0][4] > 18:
                continue  # an amount of more than 18 digits: the casts were not exact
            if not rows:
                return None
            return [(h, int(v)) for h, v, *_ in rows], rows[0][2], int(rows[0][3])
        raise AssertionError("unreachable")

    def _supply_at(self, token: str, block: int, native: bool = True) -> tuple[int, int]:
        """(total supply, holders) of ``token`` at ``block``, in SQL (from the latest checkpoint when there is one;
        ``native``: SQLite may try its integer SUM first)."""
        native = native and self.conn.dialect.name == "sqlite"
        for attempt in ((True, False) if native else (False,)):
            held = self._holders_at(token, block, attempt)
            total = func.sum(held.c.balance) if attempt else self._sum(held.c.balance)
            try:
                count, supply, width = self.conn.execute(select(func.count(), total, func.max(held.c.width))).one()
            except OperationalError as exc:
                if attempt and "overflow" in str(exc):
                    continue
                raise
            if attempt and width is not None and width > 18:
                continue
            return int(supply or 0), count
        raise AssertionError("unreachable")

    IN_LIMIT = 2_000  # up to this many keys: IN (...) queries; more: one scan of the table up to the block
    IN_CHUNK = 500

    def _latest(
        self, table: Any, key: str, cols: list[str], block: int, keys: Iterable[str] | None
    ) -> dict[str, tuple[Any, ...]]:
        """key -> ``(block_number, *cols)`` of the last row (in chain order) of ``table`` at or before ``block``,
        for ``keys`` (None: all). Plain tuples: a Row's attribute access costs more than the query at 10,000
        rows."""
        c = table.c
        base = select(c[key], c.block_number, *(c[n] for n in cols)).where(c.block_number <= block)
        order = (c.block_number, c.tx_index, c.log_index)
        wanted = None if keys is None else sorted(set(keys))
        if wanted is not None and len(wanted) <= self.IN_LIMIT:
            queries = [base.where(c[key].in_(wanted[i : i + self.IN_CHUNK])).order_by(*order)
                       for i in range(0, len(wanted), self.IN_CHUNK)]
        else:
            queries = [base.order_by(*order)]
        keep = None if wanted is None else set(wanted)
        out: dict[str, Any] = {}
        for q in queries:
            for k, *values in self.conn.execute(q):
                if keep is None or k in keep:
                    out[k] = tuple(values)
        return out

    def investor_states_at(self, block: int, investors: Iterable[str] | None = None) -> dict[str, InvestorAt]:
        """investor -> its state at ``block`` (investors registered by then; None: all of them)."""
        rows = self._latest(schema.investor_states, "investor", ["active", "country", "kyc_expiry", "category"],
                            block, investors)
        return {
            i: InvestorAt(i, bool(active), country_code(country) if country else None, country, kyc, category, blk)
            for i, (blk, active, country, kyc, category) in rows.items()
        }

    def countries_at(self, block: int, investors: Iterable[str] | None = None) -> dict[str, int | None]:
        """investor -> its ISO 3166-1 numeric country at ``block`` (what the cap tables need, read lean)."""
        rows = self._latest(schema.investor_states, "investor", ["country"], block, investors)
        return {i: country for i, (_, country) in rows.items()}

    def bindings_at(self, block: int, wallets: Iterable[str] | None = None) -> dict[str, str]:
        """wallet -> investor for the wallets bound at ``block``."""
        b = schema.wallet_bindings.c
        q = select(b.wallet, b.investor).where(b.block_number <= block)
        wanted = None if wallets is None else sorted(set(wallets))
        if wanted is None or len(wanted) > self.IN_LIMIT:
            keep = None if wanted is None else set(wanted)
            return {w: i for w, i in self.conn.execute(q) if keep is None or w in keep}
        out: dict[str, str] = {}
        for start in range(0, len(wanted), self.IN_CHUNK):
            out.update(self.conn.execute(q.where(b.wallet.in_(wanted[start : start + self.IN_CHUNK]))).all())
        return out

    def wallet_statuses_at(self, block: int, wallets: Iterable[str] | None = None) -> dict[str, tuple[str, int]]:
        """wallet -> (status, block of that status) at ``block``, for wallets whose status changed after their
        binding (a wallet missing here is active since its binding)."""
        rows = self._latest(schema.wallet_statuses, "wallet", ["status"], block, wallets)
        return {w: (status, blk) for w, (blk, status) in rows.items()}

    def _held(self, asset: int | str, block: int | None) -> tuple[AssetRecord, int, dict[str, int]]:
        rec = self.asset(asset)
        at = self.block_or_checkpoint(block)
        return rec, at, self.balances_at(rec.token or "", at)

    # --- public queries ------------------------------------------------------------------------------------

    def total_supply(self, asset: int | str, block: int | None = None) -> int:
        rec = self.asset(asset)
        return self._supply_at(rec.token or "", self.block_or_checkpoint(block))[0]

    def balance(self, asset: int | str, wallet: str, block: int | None = None) -> int:
        rec = self.asset(asset)
        bc = schema.balance_changes.c
        at = self.block_or_checkpoint(block)
        rows = self.conn.execute(
            select(bc.delta).where(bc.token == rec.token, bc.holder == checksum(wallet), bc.block_number <= at)
        )
        return sum(d for (d,) in rows)

    def cap_table(self, asset: int | str, block: int | None = None) -> list[CapTableRow]:
        """One row per wallet holding units at ``block``, largest first, with its investor and that investor's
        country."""
        _, at, held = self._held(asset, block)
        total = sum(held.values())
        bound = self.bindings_at(at, held)
        countries = self.countries_at(at, set(bound.values()))
        rows = []
        for h, v in sorted(held.items(), key=lambda i: (-i[1], i[0])):
            investor = bound.get(h)
            n = countries.get(investor) if investor else None
            rows.append(CapTableRow(h, v, _percent(v, total), country_code(n) if n else None, n, investor))
        return rows

    def cap_table_page(self, asset: int | str, page: int = 1, per_page: int = 50, sort: str = "amount",
                       block: int | None = None) -> tuple[list[CapTableRow], int, int, int]:
        """One page of the cap table: (rows, holders, total supply, block). Now (``block`` None or the checkpoint):
        one page of the current holdings, with the countries of ``wallet_identities``. At a past block: the latest
        balance checkpoint at or before it plus the changes after it, summed, counted, sorted and paged in SQL.
        Largest first (``sort="amount"``) or by wallet; countries looked up for the page's wallets only."""
        rec = self.asset(asset)
        cp = self.block_or_checkpoint(None)
        at = cp if block is None else int(block)
        if at != cp:
            return self._cap_table_page_at(rec, at, page, per_page, sort)
        if get_meta(self.conn, "holdings") != "2":  # not derived yet (an older ledger before its next sync)
            rows = self.cap_table(asset)
            if sort == "wallet":
                rows = sorted(rows, key=lambda r: r.holder.lower())
            return rows[(page - 1) * per_page: page * per_page], len(rows), sum(r.amount for r in rows), at
        h = schema.holdings.c
        s = schema.supplies.c
        wi = schema.wallet_identities.c
        supply = self.conn.execute(select(s.total, s.holders).where(s.token == rec.token)).first()
        total, holders = (supply.total, supply.holders) if supply else (0, 0)
        order = (h.balance.desc(), h.holder) if sort == "amount" else (func.lower(h.holder),)
        part = self.conn.execute(
            select(h.holder, h.balance, wi.investor, wi.country)
            .select_from(schema.holdings.outerjoin(schema.wallet_identities, wi.wallet == h.holder))
            .where(h.token == rec.token).order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
        rows = [CapTableRow(r.holder, r.balance, _percent(r.balance, total), country_code(r.country) if r.country else
                            None, r.country, r.investor) for r in part]
        return rows, holders, total, at

    def _cap_table_page_at(self, rec: AssetRecord, at: int, page: int, per_page: int,
                           sort: str) -> tuple[list[CapTableRow], int, int, int]:
        """A page at a past block: the latest balance checkpoint at or before it plus the changes after it, summed
        per holder in SQL (:meth:`_held_page`); countries looked up for the page's wallets only."""
        token = rec.token or ""
        found = self._held_page(token, at, sort, per_page, (page - 1) * per_page)
        if found is None:
            part, (total, holders) = [], self._supply_at(token, at)
        else:
            part, holders, total = found
        bound = self.bindings_at(at, [h for h, _ in part])
        countries = self.countries_at(at, set(bound.values()))
        rows = []
        for holder, balance in part:
            investor = bound.get(holder)
            n = countries.get(investor) if investor else None
            rows.append(CapTableRow(holder, balance, _percent(balance, total), country_code(n) if n else None, n,
                                    investor))
        return rows, holders, total, at

    def ownership_history(self, asset: int | str, points: int = 60,
                          walks: dict[str, "OwnershipWalk"] | None = None) -> list[OwnershipPoint]:
        """Holders and the top holder's share at up to ``points`` of the blocks where the asset's balances changed
        (evenly spread over them, the first and the last always in). One pass over the token's balance changes in
        chain order, read as they are stored (no SQL aggregate: summing per block and holder in SQL ran the exact-sum
        aggregate once per row and cost more than the walk): the walk keeps each holder's balance, the count of
        holders (right at the end of every block whatever the order within it) and the largest balance (a heap).

        With ``walks`` (kept by the caller between calls, e.g. :class:`rwaledger.ledger.Ledger` until it closes)
        the walk of a token is continued from where the last call left it: after a sync only the new changes are
        read. A walk whose last block is no longer recorded with the same hash (a rollback) starts again."""
        rec = self.asset(asset)
        token, points = rec.token or "", max(2, points)
        cp = self.block_or_checkpoint(None)
        bc, b = schema.balance_changes.c, schema.blocks.c
        walk = walks.get(token) if walks is not None else None
        if walk is not None and (walk.block > cp or (walk.block >= 0 and self.conn.execute(
                select(b.hash).where(b.number == walk.block)).scalar() != walk.block_hash)):
            walk = None
        if walk is None:
            walk = OwnershipWalk()
        if cp > walk.block:
            rows = self.conn.execute(select(bc.block_number, bc.holder, bc.delta)
                                     .where(bc.token == token, bc.block_number > walk.block, bc.block_number <= cp)
                                     .order_by(bc.block_number, bc.tx_index, bc.log_index))
            walk.extend(rows)
            walk.block = cp
            walk.block_hash = self.conn.execute(select(b.hash).where(b.number == cp)).scalar()
        if walks is not None:
            walks[token] = walk
        series = walk.series
        if len(series) > points:
            step = (len(series) - 1) / (points - 1)
            series = [series[i] for i in sorted({round(i * step) for i in range(points)})]
        blocks = [p[0] for p in series]
        times = dict(self.conn.execute(select(b.number, b.timestamp).where(b.number.in_(blocks))).all()) if blocks else {}
        return [OwnershipPoint(n, times.get(n), holders, supply, top, _percent(top, supply))
                for n, holders, supply, top in series]

    def distributions(self) -> list[DistributionRow]:
        """Every distribution the ledger has seen created (and not rolled back), by id."""
        d, a, p = schema.distributions.c, schema.assets.c, schema.payment_tokens.c
        rows = self.conn.execute(select(schema.distributions, a.symbol, p.symbol.label("payment_symbol"), p.decimals)
                                 .select_from(schema.distributions
                                              .outerjoin(schema.assets, a.asset_id == d.asset_id)
                                              .outerjoin(schema.payment_tokens, p.address == d.payment_token))
                                 .order_by(d.distribution_id))
        return [DistributionRow(r.distribution_id, r.asset_id, r.symbol, r.token, r.payment_token, int(r.total),
                                r.record_block, r.merkle_root, r.expiry, int(r.claimed or 0), int(r.claims or 0),
                                None if r.reclaimed is None else int(r.reclaimed), r.block_number, r.payment_symbol,
                                r.decimals) for r in rows]

    def distribution_claims(self, wallet: str | None = None,
                            leaves: Iterable[tuple[int, int]] = ()) -> list[ClaimRow]:
        """The claims made by or paid to ``wallet``, and the state of the ``leaves`` (distribution id, index) asked
        for (a leaf the chain never named, neither claimed nor withheld, has no row)."""
        c = schema.distribution_claims.c
        found: dict[tuple[int, int], Any] = {}
        if wallet is not None:
            w = checksum(wallet)
            for r in self.conn.execute(select(schema.distribution_claims).where((c.account == w) | (c.payee == w))):
                found[(r.distribution_id, r.claim_index)] = r
        wanted = sorted(set(leaves) - set(found))
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            for r in self.conn.execute(select(schema.distribution_claims)
                                       .where(tuple_(c.distribution_id, c.claim_index).in_(part))):
                found[(r.distribution_id, r.claim_index)] = r
        return [ClaimRow(r.distribution_id, r.claim_index, r.account, r.payee,
                         None if r.amount is None else int(r.amount), bool(r.claimed), bool(r.withheld),
                         r.block_number) for _, r in sorted(found.items())]

    def block_at(self, when: int) -> int:
        """The last block the ledger recorded at or before unix time ``when`` (every block with an event and every
        sync checkpoint is recorded, so the state at that block is the state at that time, as far as the ledger is
        synced). :class:`NotSynced` when the ledger has no block that early."""
        b = schema.blocks.c
        cp = self.block_or_checkpoint(None)
        found = self.conn.execute(select(func.max(b.number)).where(b.timestamp <= int(when), b.number <= cp)).scalar()
        if found is None:
            raise NotSynced(f"the ledger has no block at or before {when} (unix time): its first recorded block is later")
        return int(found)

    def block_time(self, block: int) -> int | None:
        """The timestamp of a recorded block (None: not recorded, or before its time was read)."""
        b = schema.blocks.c
        return self.conn.execute(select(b.timestamp).where(b.number == block)).scalar()

    # --- current state: liens, freezes, custody lots, redemptions --------------------------------------------

    def liens(self, asset: int | str, active: bool | None = True) -> list[LienRow]:
        """The liens of an asset's token, by id: in force (``active=True``, the default), released (False), all
        (None)."""
        rec = self.asset(asset)
        c = schema.liens.c
        q = select(schema.liens).where(c.token == rec.token)
        if active is not None:
            q = q.where(c.active == active)
        return [LienRow(**{k: r._mapping[k] for k in LienRow.__dataclass_fields__})
                for r in self.conn.execute(q.order_by(c.lien_id))]

    def freezes(self, asset: int | str) -> list[FreezeRow]:
        """The wallets of an asset's token that are frozen or have a frozen amount now."""
        rec = self.asset(asset)
        c = schema.freezes.c
        return [FreezeRow(**{k: r._mapping[k] for k in FreezeRow.__dataclass_fields__})
                for r in self.conn.execute(select(schema.freezes).where(c.token == rec.token).order_by(c.wallet))]

    def lots(self, asset: int | str, active: bool | None = True) -> list[LotRow]:
        """A commodity's custody lots (active ones by default; None: all), in the order they were attested."""
        rec = self.asset(asset)
        c = schema.custody_lots.c
        q = select(schema.custody_lots).where(c.token == rec.token)
        if active is not None:
            q = q.where((c.status == "active") if active else (c.status != "active"))
        return [LotRow(**{k: r._mapping[k] for k in LotRow.__dataclass_fields__})
                for r in self.conn.execute(q.order_by(c.attested_block, c.lot_id))]

    def redemptions(self, asset: int | str, status: str | None = None) -> list[RedemptionRow]:
        """A commodity's redemption requests by id (``status``: open / fulfilled / rejected; None: all)."""
        rec = self.asset(asset)
        c = schema.redemptions.c
        q = select(schema.redemptions).where(c.token == rec.token)
        if status is not None:
            q = q.where(c.status == status)
        return [RedemptionRow(**{k: r._mapping[k] for k in RedemptionRow.__dataclass_fields__})
                for r in self.conn.execute(q.order_by(c.request_id))]

    def reserve(self, asset: int | str) -> ReserveState:
        """A commodity's reserve now: its active lots, their sum against the supply, and the open redemptions."""
        rec = self.asset(asset)
        at = self.block_or_checkpoint(None)
        s = schema.supplies.c
        supply = self.conn.execute(select(s.total).where(s.token == rec.token)).scalar() or 0
        lots = self.lots(asset)
        return ReserveState(rec.asset_id, at, supply, sum(lot.remaining for lot in lots), lots,
                            self.redemptions(asset, "open"))

    def investor_cap_table(
        self, asset: int | str, block: int | None = None, labels: bool = False
    ) -> list[InvestorCapTableRow]:
        """One row per investor holding units at ``block`` (the sum over its wallets), largest first. ``labels``:
        fill in the investors' off-chain labels (registrar-side output only; never publish them)."""
        _, at, held = self._held(asset, block)
        total = sum(held.values())
        bound = self.bindings_at(at, held)
        groups: dict[tuple[str, str], list[WalletAmount]] = defaultdict(list)
        for h, v in held.items():
            key = ("investor", bound[h]) if h in bound else ("wallet", h)  # an unbound wallet: a row of its own
            groups[key].append(WalletAmount(h, v))
        countries = self.countries_at(at, set(bound.values()))
        names = self.investor_labels(set(bound.values())) if labels else {}
        totals = sorted(((sum(w.amount for w in ws), what, key) for (what, key), ws in groups.items()),
                        key=lambda t: (-t[0], t[2]))  # largest first; an investor id or a wallet breaks ties
        rows = []
        for amount, what, key in totals:
            wallets = groups[(what, key)]
            if len(wallets) > 1:
                wallets.sort(key=lambda w: (-w.amount, w.wallet))
            investor = key if what == "investor" else None
            n = countries.get(key) if investor else None
            rows.append(InvestorCapTableRow(investor, names.get(key) if investor else None, amount,
                                            _percent(amount, total), country_code(n) if n else None, n,
                                            tuple(wallets)))
        return rows

    def totals_by_country(self, asset: int | str, block: int | None = None) -> list[CountryTotal]:
        """Per country of the holding investors: how many investors (not wallets) and how many units. Now (``block``
        None or the checkpoint): grouped in SQL over the current holdings and ``wallet_identities``; at a past block,
        from the investor cap table at that block."""
        cp = self.block_or_checkpoint(None)
        if (block is None or int(block) == cp) and get_meta(self.conn, "holdings") == "2":
            return self._totals_by_country_now(self.asset(asset).token)
        groups: dict[tuple[str | None, int | None], list[int]] = defaultdict(list)
        for row in self.investor_cap_table(asset, block):
            groups[(row.country, row.country_numeric)].append(row.amount)
        total = sum(sum(v) for v in groups.values())
        out = [CountryTotal(c, n, len(v), sum(v), _percent(sum(v), total)) for (c, n), v in groups.items()]
        out.sort(key=lambda r: (-r.amount, r.country or ""))
        return out

    def _totals_by_country_now(self, token: str | None) -> list[CountryTotal]:
        """:meth:`totals_by_country` now, in one SQL query: the holdings grouped by their investor's country, the
        investors counted once (an unbound wallet counts as a holder of its own, of no known country), the units
        summed exactly (:meth:`_sum`)."""
        h, wi = schema.holdings.c, schema.wallet_identities.c
        rows = self.conn.execute(
            select(wi.country, func.count(func.distinct(func.coalesce(wi.investor, h.holder))), self._sum(h.balance))
            .select_from(schema.holdings.outerjoin(schema.wallet_identities, wi.wallet == h.holder))
            .where(h.token == token).group_by(wi.country)).all()
        total = sum(int(amount) for _, _, amount in rows)
        out = [CountryTotal(country_code(n) if n else None, n, holders, int(amount), _percent(int(amount), total))
               for n, holders, amount in rows]
        out.sort(key=lambda r: (-r.amount, r.country or ""))
        return out

    def portfolio(self, wallet: str, block: int | None = None) -> list[Holding]:
        at = self.block_or_checkpoint(block)
        bc = schema.balance_changes.c
        sums: dict[str, int] = defaultdict(int)
        for token, delta in self.conn.execute(
            select(bc.token, bc.delta).where(bc.holder == checksum(wallet), bc.block_number <= at)
        ):
            sums[token] += delta
        by_token = {r.token: r for r in self.assets()}
        out = []
        for token, amount in sums.items():
            if not amount:
                continue
            rec = by_token.get(token)
            supply = self._supply_at(token, at)[0]
            out.append(Holding(rec.asset_id if rec else None, rec.symbol if rec else None, token, amount,
                               rec.decimals if rec else None, _percent(amount, supply)))
        out.sort(key=lambda h: (h.asset_id is None, h.asset_id or 0, h.token))
        return out

    def identity(self, wallet: str, block: int | None = None) -> IdentityAt | None:
        """The wallet's status and its investor's state at ``block`` (None: not bound to an investor then)."""
        at = self.block_or_checkpoint(block)
        w = checksum(wallet)
        b = schema.wallet_bindings.c
        bound = self.conn.execute(select(b.investor, b.block_number).where(b.wallet == w, b.block_number <= at)).first()
        if bound is None:
            return None
        investor, bound_block = bound
        status, status_block = self.wallet_statuses_at(at, [w]).get(w, ("active", bound_block))
        st = self.investor_states_at(at, [investor]).get(investor)
        investor_active = st.active if st else True
        return IdentityAt(
            w, investor, status, status == "active" and investor_active, investor_active,
            st.country if st else None, st.country_numeric if st else None, st.kyc_expiry if st else None,
            st.category if st else None, max(status_block, st.since_block if st else 0),
        )

    def investor(self, investor_id: str, block: int | None = None) -> InvestorAt | None:
        """An investor's state at ``block`` (None: the ledger has no record of it by then)."""
        at = self.block_or_checkpoint(block)
        i = checksum(investor_id)
        return self.investor_states_at(at, [i]).get(i)

    def investor_wallets(self, investor_id: str, block: int | None = None) -> list[WalletAt]:
        """The wallets bound to the investor at ``block`` (removed and lost ones too, with their status), in the
        order they were bound."""
        at = self.block_or_checkpoint(block)
        b = schema.wallet_bindings.c
        bound = self.conn.execute(
            select(b.wallet, b.block_number)
            .where(b.investor == checksum(investor_id), b.block_number <= at)
            .order_by(b.block_number, b.tx_index, b.log_index)
        ).all()
        statuses = self.wallet_statuses_at(at, [w for w, _ in bound])
        out = []
        for w, blk in bound:
            status, since = statuses.get(w, ("active", blk))  # active from its binding on
            out.append(WalletAt(w, checksum(investor_id), status, blk, since))
        return out

    def investor_labels(self, investors: Iterable[str] | None = None) -> dict[str, str]:
        """investor id -> label, for ``investors`` (None: every labelled investor). Off-chain and private."""
        lb = schema.investor_labels.c
        q = select(lb.investor, lb.label)
        if investors is None:
            return dict(self.conn.execute(q.order_by(lb.investor)).all())
        wanted = sorted({checksum(i) for i in investors})
        out: dict[str, str] = {}
        for start in range(0, len(wanted), self.IN_CHUNK):
            out.update(self.conn.execute(q.where(lb.investor.in_(wanted[start : start + self.IN_CHUNK]))).all())
        return out

    def investor_label(self, investor_id: str) -> str | None:
        return self.investor_labels([investor_id]).get(checksum(investor_id))

    def events(
        self,
        *,
        asset: int | str | None = None,
        wallet: str | None = None,
        event: str | None = None,
        kind: str | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
        limit: int | None = None,
    ) -> list[EventRecord]:
        """Events in chain order, filtered; ``limit`` keeps the LAST ``limit`` (the most recent), still in chain order."""
        e = schema.events.c
        q = select(schema.events)
        if asset is not None:
            q = q.where(e.asset_id == self.asset(asset).asset_id)
        if wallet is not None:
            ea = schema.event_accounts.c
            q = q.join(schema.event_accounts, and_(ea.tx_hash == e.tx_hash, ea.log_index == e.log_index)).where(
                ea.account == checksum(wallet)
            )
        if event is not None:
            q = q.where(e.event == event)
        if kind is not None:
            q = q.where(e.contract_kind == kind)
        if from_block is not None:
            q = q.where(e.block_number >= from_block)
        if to_block is not None:
            q = q.where(e.block_number <= to_block)
        if limit is not None:
            q = q.order_by(e.block_number.desc(), e.tx_index.desc(), e.log_index.desc()).limit(limit)
        else:
            q = q.order_by(e.block_number, e.tx_index, e.log_index)
        rows = [
            EventRecord(r.block_number, r.block_hash, r.tx_hash, r.tx_index, r.log_index, r.address,
                        r.contract_kind, r.event, json.loads(r.args), r.asset_id)
            for r in self.conn.execute(q)
        ]
        if limit is not None:
            rows.reverse()
        return rows
