"""Read-only queries over the ledger tables. Amounts are exact Python ints (base units); percentages are
:class:`~decimal.Decimal`. ``block=None`` means the ledger's checkpoint (the last synced block); a block is
inclusive (the state after all its transactions, like ``balanceOf(..., block)``)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable

from sqlalchemy import Connection, and_, select

from . import schema
from .db import get_checkpoint
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
    holder: str
    amount: int
    percent: Decimal  # of the total supply at that block
    country: str | None  # alpha-2 (or the numeric code as text); None: no identity at that block
    country_numeric: int | None

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
    wallet: str
    active: bool
    country: str | None
    country_numeric: int | None
    kyc_expiry: int | None
    category: int | None
    since_block: int

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


def _percent(amount: int, total: int) -> Decimal:
    return Decimal(amount) * 100 / Decimal(total) if total else Decimal(0)


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

    def identities_at(self, block: int, wallets: Iterable[str] | None = None) -> dict[str, IdentityAt]:
        i = schema.identities.c
        wanted = set(wallets) if wallets is not None else None
        out: dict[str, IdentityAt] = {}
        rows = self.conn.execute(
            select(i.wallet, i.active, i.country, i.kyc_expiry, i.category, i.block_number)
            .where(i.block_number <= block)
            .order_by(i.block_number, i.tx_index, i.log_index)
        )
        for w, active, country, kyc, category, blk in rows:
            if wanted is not None and w not in wanted:
                continue
            out[w] = IdentityAt(w, bool(active), country_code(country) if active and country else None,
                                country if active else None, kyc, category, blk)
        return out

    # --- public queries ------------------------------------------------------------------------------------

    def total_supply(self, asset: int | str, block: int | None = None) -> int:
        rec = self.asset(asset)
        return sum(self.balances(rec.token or "", self.block_or_checkpoint(block)).values())

    def balance(self, asset: int | str, wallet: str, block: int | None = None) -> int:
        rec = self.asset(asset)
        bc = schema.balance_changes.c
        at = self.block_or_checkpoint(block)
        rows = self.conn.execute(
            select(bc.delta).where(bc.token == rec.token, bc.holder == checksum(wallet), bc.block_number <= at)
        )
        return sum(d for (d,) in rows)

    def cap_table(self, asset: int | str, block: int | None = None) -> list[CapTableRow]:
        rec = self.asset(asset)
        at = self.block_or_checkpoint(block)
        held = {h: v for h, v in self.balances(rec.token or "", at).items() if v}
        total = sum(held.values())
        ids = self.identities_at(at, held)
        rows = [
            CapTableRow(h, v, _percent(v, total), ids[h].country if h in ids else None,
                        ids[h].country_numeric if h in ids else None)
            for h, v in held.items()
        ]
        rows.sort(key=lambda r: (-r.amount, r.holder))
        return rows

    def totals_by_country(self, asset: int | str, block: int | None = None) -> list[CountryTotal]:
        groups: dict[tuple[str | None, int | None], list[int]] = defaultdict(list)
        for row in self.cap_table(asset, block):
            groups[(row.country, row.country_numeric)].append(row.amount)
        total = sum(sum(v) for v in groups.values())
        out = [CountryTotal(c, n, len(v), sum(v), _percent(sum(v), total)) for (c, n), v in groups.items()]
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
            supply = sum(self.balances(token, at).values())
            out.append(Holding(rec.asset_id if rec else None, rec.symbol if rec else None, token, amount,
                               rec.decimals if rec else None, _percent(amount, supply)))
        out.sort(key=lambda h: (h.asset_id is None, h.asset_id or 0, h.token))
        return out

    def identity(self, wallet: str, block: int | None = None) -> IdentityAt | None:
        at = self.block_or_checkpoint(block)
        w = checksum(wallet)
        return self.identities_at(at, [w]).get(w)

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
