"""Projections: from decoded logs (in chain order) to the rows of the query tables. Pure apart from two
lookups the caller supplies (an identity's state before this batch, read from the database).

The event-specific part is table-driven and small: :data:`ASSET_EVENTS` (asset records),
:data:`IDENTITY_EVENTS` (identity history), :data:`TOKEN_CREATION_EVENTS` (token discovery), the ERC-20
``Transfer`` (balance changes) and ``DistributionCreated`` (distribution -> asset). Every log, known or not,
becomes an ``events`` row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .decode import TOKEN_KINDS, ZERO_ADDRESS, DecodedLog
from .errors import LedgerError

ASSET_KINDS = ("property", "commodity")  # AssetKind enum
ASSET_STATUSES = ("registered", "active", "suspended", "retired")  # AssetStatus enum


def ascii_of(hex_value: str) -> str:
    """bytes2/bytes3 codes ("0x504b") as text ("PK"); empty for zero bytes."""
    raw = bytes.fromhex(hex_value[2:]).rstrip(b"\0")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return hex_value


def _enum(names: tuple[str, ...], value: str) -> str:
    i = int(value)
    return names[i] if 0 <= i < len(names) else str(i)


# --- asset records: (contract kind, event) -> fields to set from the args ---------------------------------------

ASSET_EVENTS: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("registry", "AssetRegistered"): lambda a: {
        "kind": _enum(ASSET_KINDS, a["kind"]),
        "token": a["token"],
        "jurisdiction": ascii_of(a["jurisdiction"]),
        "legal_reference": a["legalReference"],
        "metadata_uri": a["metadataURI"],
        "valuation_amount": int(a["valuationAmount"]),
        "valuation_currency": ascii_of(a["valuationCurrency"]),
        "valuation_date": int(a["valuationDate"]),
        "status": "registered",
    },
    ("factory", "PropertyTokenCreated"): lambda a: {
        "kind": "property",
        "token": a["token"],
        "name": a["name"],
        "symbol": a["symbol"],
        "decimals": int(a["decimals"]),
        "cap": int(a["cap"]),
    },
    ("factory", "CommodityTokenCreated"): lambda a: {
        "kind": "commodity",
        "token": a["token"],
        "name": a["name"],
        "symbol": a["symbol"],
        "decimals": int(a["decimals"]),
        "unit": a["unit"],
    },
    ("registry", "AssetStatusChanged"): lambda a: {"status": _enum(ASSET_STATUSES, a["newStatus"])},
    ("registry", "ValuationUpdated"): lambda a: {
        "valuation_amount": int(a["amount"]),
        "valuation_currency": ascii_of(a["currency"]),
        "valuation_date": int(a["valuationDate"]),
    },
    ("registry", "MetadataURIUpdated"): lambda a: {"metadata_uri": a["metadataURI"]},
}

# (contract kind, event) whose args name a new token: -> (token address, token kind) ------------------------------

TOKEN_CREATION_EVENTS: dict[tuple[str, str], Callable[[dict[str, Any]], tuple[str, str]]] = {
    ("factory", "PropertyTokenCreated"): lambda a: (a["token"], "property"),
    ("factory", "CommodityTokenCreated"): lambda a: (a["token"], "commodity"),
    ("registry", "AssetRegistered"): lambda a: (a["token"], _enum(ASSET_KINDS, a["kind"])),
}


# --- identity history: event -> [(wallet, new state or None = no identity)] ------------------------------------


@dataclass(frozen=True)
class IdentityState:
    country: int
    kyc_expiry: int
    category: int


def _full(a: dict[str, Any]) -> IdentityState:
    return IdentityState(int(a["country"]), int(a["kycExpiry"]), int(a["category"]))


def _changed(prev: IdentityState | None, **fields: int) -> IdentityState | None:
    if prev is None:  # an update of an identity we never saw registered: keep what the event says
        base = {"country": 0, "kyc_expiry": 0, "category": 0}
        base.update(fields)
        return IdentityState(**base)
    return IdentityState(**{**prev.__dict__, **fields})


Lookup = Callable[[str], "IdentityState | None"]

IDENTITY_EVENTS: dict[str, Callable[[dict[str, Any], Lookup], list[tuple[str, IdentityState | None]]]] = {
    "IdentityRegistered": lambda a, prev: [(a["wallet"], _full(a))],
    "CountryUpdated": lambda a, prev: [(a["wallet"], _changed(prev(a["wallet"]), country=int(a["country"])))],
    "KycExpiryUpdated": lambda a, prev: [(a["wallet"], _changed(prev(a["wallet"]), kyc_expiry=int(a["kycExpiry"])))],
    "CategoryUpdated": lambda a, prev: [(a["wallet"], _changed(prev(a["wallet"]), category=int(a["category"])))],
    "IdentityRemoved": lambda a, prev: [(a["wallet"], None)],
    "IdentityRecovered": lambda a, prev: [(a["lostWallet"], None), (a["newWallet"], _full(a))],
}


# --- the projector -------------------------------------------------------------------------------------------


@dataclass
class RangeRows:
    """Everything one block range writes."""

    events: list[dict[str, Any]] = field(default_factory=list)
    event_accounts: list[dict[str, Any]] = field(default_factory=list)
    balance_changes: list[dict[str, Any]] = field(default_factory=list)
    identities: list[dict[str, Any]] = field(default_factory=list)
    distributions: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    assets_changed: set[int] = field(default_factory=set)
    blocks: dict[int, str] = field(default_factory=dict)


class Projector:
    """Holds what attribution needs across ranges (contract kinds, token -> asset, distribution -> asset, asset
    records, identity states seen) and turns decoded logs into :class:`RangeRows`."""

    def __init__(
        self,
        contract_kinds: dict[str, str],
        token_assets: dict[str, int | None],
        distribution_assets: dict[int, int | None],
        assets: dict[int, dict[str, Any]],
        identity_lookup: Lookup,
    ):
        self.contract_kinds = contract_kinds
        self.token_assets = token_assets
        self.distribution_assets = distribution_assets
        self.assets = assets
        self._identity_lookup = identity_lookup
        self._identities: dict[str, IdentityState | None] = {}

    # -- token discovery

    def new_tokens(self, decoded: Iterable[DecodedLog]) -> list[tuple[str, str, int, int]]:
        """(token, kind, asset id, block) for every token a creation event names that is not tracked yet."""
        found: dict[str, tuple[str, str, int, int]] = {}
        for d in decoded:
            fn = TOKEN_CREATION_EVENTS.get((d.kind, d.event or ""))
            if fn is None:
                continue
            token, kind = fn(d.args)
            if token not in self.contract_kinds and token not in found and token != ZERO_ADDRESS:
                found[token] = (token, kind, int(d.args["assetId"]), d.log.block_number)
        return list(found.values())

    def track(self, token: str, kind: str, asset_id: int | None, block: int, rows: RangeRows) -> None:
        self.contract_kinds[token] = kind
        self.token_assets[token] = asset_id
        rows.contracts.append({"address": token, "kind": kind, "asset_id": asset_id, "first_block": block})

    # -- projections

    def identity(self, wallet: str) -> IdentityState | None:
        if wallet not in self._identities:
            self._identities[wallet] = self._identity_lookup(wallet)
        return self._identities[wallet]

    def asset_of(self, d: DecodedLog) -> int | None:
        kind, args = d.kind, d.args
        if kind in TOKEN_KINDS:
            return self.token_assets.get(d.address)
        if d.event is None:
            return None
        if "assetId" in args:
            return int(args["assetId"])
        if kind == "distributions":
            if "token" in args:
                return self.token_assets.get(args["token"])
            if "distributionId" in args:
                return self.distribution_assets.get(int(args["distributionId"]))
        return None

    def apply_asset_event(self, kind: str, event: str, args: dict[str, Any], block: int) -> int | None:
        fn = ASSET_EVENTS.get((kind, event))
        if fn is None:
            return None
        asset_id = int(args["assetId"])
        rec = self.assets.setdefault(asset_id, {"asset_id": asset_id, "registered_block": block})
        rec.update(fn(args))
        rec["updated_block"] = block
        return asset_id

    def project(self, decoded: list[DecodedLog], rows: RangeRows) -> None:
        """Append the rows of ``decoded`` (already in chain order) to ``rows``."""
        for d in decoded:
            try:
                self._project_one(d, rows)
            except (KeyError, ValueError, TypeError) as exc:
                raise LedgerError(
                    f"cannot project {d.kind} event {d.event} in tx {d.log.tx_hash} (log {d.log.log_index}): "
                    f"{type(exc).__name__} {exc}; did the contract's event change? (see ledger/project.py)"
                ) from exc

    def _project_one(self, d: DecodedLog, rows: RangeRows) -> None:
        ev_rows, acc_rows, bal_rows = rows.events, rows.event_accounts, rows.balance_changes
        lg = d.log
        asset_id = self.asset_of(d)
        if d.kind == "distributions" and d.event == "DistributionCreated":
            dist_id = int(d.args["distributionId"])
            self.distribution_assets[dist_id] = asset_id
            rows.distributions.append({
                "distribution_id": dist_id, "token": d.args["token"], "asset_id": asset_id,
                "payment_token": d.args["paymentToken"], "total": int(d.args["total"]),
                "record_block": int(d.args["recordBlock"]), "block_number": lg.block_number,
            })
        ev_rows.append({
            "block_number": lg.block_number, "block_hash": lg.block_hash, "tx_hash": lg.tx_hash,
            "tx_index": lg.tx_index, "log_index": lg.log_index, "address": d.address,
            "contract_kind": d.kind, "event": d.event, "args": d.args_json(), "asset_id": asset_id,
        })
        rows.blocks[lg.block_number] = lg.block_hash
        for account in d.accounts:
            acc_rows.append({"account": account, "tx_hash": lg.tx_hash, "log_index": lg.log_index,
                             "block_number": lg.block_number})
        if d.event is None:
            return
        if d.event == "Transfer" and d.kind in TOKEN_KINDS:
            value = int(d.args["value"])
            if d.args["from"] == d.args["to"]:
                return  # a self-transfer changes no balance
            for holder, delta in ((d.args["from"], -value), (d.args["to"], value)):
                if holder != ZERO_ADDRESS and value:
                    bal_rows.append({
                        "token": d.address, "asset_id": asset_id, "holder": holder,
                        "block_number": lg.block_number, "tx_hash": lg.tx_hash, "tx_index": lg.tx_index,
                        "log_index": lg.log_index, "delta": delta,
                    })
        elif d.kind == "identity" and d.event in IDENTITY_EVENTS:
            for wallet, state in IDENTITY_EVENTS[d.event](d.args, self.identity):
                self._identities[wallet] = state
                rows.identities.append({
                    "wallet": wallet, "block_number": lg.block_number, "tx_hash": lg.tx_hash,
                    "tx_index": lg.tx_index, "log_index": lg.log_index, "active": state is not None,
                    "country": state.country if state else None,
                    "kyc_expiry": state.kyc_expiry if state else None,
                    "category": state.category if state else None, "event": d.event,
                })
        else:
            changed = self.apply_asset_event(d.kind, d.event, d.args, lg.block_number)
            if changed is not None:
                rows.assets_changed.add(changed)


def asset_row(rec: dict[str, Any]) -> dict[str, Any]:
    """An ``assets`` row with every column present."""
    cols = ("asset_id", "kind", "token", "symbol", "name", "decimals", "cap", "unit", "jurisdiction",
            "legal_reference", "metadata_uri", "status", "valuation_amount", "valuation_currency",
            "valuation_date", "registered_block", "updated_block")
    return {c: rec.get(c) for c in cols}
