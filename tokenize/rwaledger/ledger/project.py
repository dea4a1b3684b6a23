"""Projections: from decoded logs (in chain order) to the rows of the query tables. Pure apart from the
lookups the caller supplies (an investor's state and a wallet's binding before this batch, read from the
database).

The event-specific part is table-driven and small: :data:`ASSET_EVENTS` (asset records),
:data:`IDENTITY_EVENTS` (investor and wallet histories), :data:`TOKEN_CREATION_EVENTS` (token discovery), the
ERC-20 ``Transfer`` (balance changes) and ``DistributionCreated`` (distribution -> asset). Every log, known or
not, becomes an ``events`` row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..constants import ASSET_KINDS, ASSET_STATUSES  # the AssetKind / AssetStatus enums, from the compiler's output
from .decode import TOKEN_KINDS, ZERO_ADDRESS, DecodedLog
from .errors import LedgerError


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
        "display_reference": a["displayReference"],
        "metadata_uri": a["metadataURI"],
        "symbol": a["symbol"],
        "status": "registered",
        # no valuation here: the registry emits a ValuationUpdated right after when the record has one
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


# --- investors and wallets: event -> the changes it makes --------------------------------------------------------
#
# The IdentityRegistry's model: an investor (country, KYC expiry, category, active) owns wallets; its id is its
# first wallet. A wallet is bound to one investor for good (the first event that names it with an investor
# binds it) and has a status: active, removed (may come back) or lost (final).

WALLET_ACTIVE, WALLET_REMOVED, WALLET_LOST = "active", "removed", "lost"  # IdentityRegistry.walletStatus 1..3
WALLET_STATUSES = (WALLET_ACTIVE, WALLET_REMOVED, WALLET_LOST)


@dataclass(frozen=True)
class InvestorState:
    """An investor's state; None: a field the ledger never saw (the investor was registered before its start)."""

    country: int | None
    kyc_expiry: int | None
    category: int | None
    active: bool


@dataclass(frozen=True)
class WalletState:
    investor: str
    status: str  # WALLET_STATUSES


@dataclass(frozen=True)
class InvestorChange:
    """Set ``fields`` (of :class:`InvestorState`) on ``investor``."""

    investor: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class WalletChange:
    """``wallet`` (bound to ``investor``, now if it is not yet) gets ``status``; ``only_if_new``: only a wallet
    the ledger has not bound yet (a deleted investor registered again keeps its wallets as they are)."""

    wallet: str
    investor: str
    status: str
    only_if_new: bool = False


IDENTITY_EVENTS: dict[str, Callable[[dict[str, Any]], list[InvestorChange | WalletChange]]] = {
    "IdentityRegistered": lambda a: [
        InvestorChange(a["investor"], {"country": int(a["country"]), "kyc_expiry": int(a["kycExpiry"]),
                                       "category": int(a["category"]), "active": True}),
        WalletChange(a["investor"], a["investor"], WALLET_ACTIVE, only_if_new=True),  # its first wallet
    ],
    "CountryUpdated": lambda a: [InvestorChange(a["investor"], {"country": int(a["country"])})],
    "KycExpiryUpdated": lambda a: [InvestorChange(a["investor"], {"kyc_expiry": int(a["kycExpiry"])})],
    "CategoryUpdated": lambda a: [InvestorChange(a["investor"], {"category": int(a["category"])})],
    "IdentityRemoved": lambda a: [InvestorChange(a["investor"], {"active": False})],  # its wallets stay bound
    "WalletAdded": lambda a: [WalletChange(a["wallet"], a["investor"], WALLET_ACTIVE)],
    "WalletRemoved": lambda a: [WalletChange(a["wallet"], a["investor"], WALLET_REMOVED)],
    "WalletReplaced": lambda a: [
        WalletChange(a["lostWallet"], a["investor"], WALLET_LOST),
        WalletChange(a["newWallet"], a["investor"], WALLET_ACTIVE),  # new, or already an active wallet of it
    ],
}


class IdentityLookup:
    """The state before the rows being projected, many at a time (the indexer reads it from the database);
    none by default. A name missing from the answer has no state."""

    def investors(self, ids: Iterable[str]) -> dict[str, InvestorState]:
        return {}

    def wallets(self, wallets: Iterable[str]) -> dict[str, WalletState]:
        return {}


_INVESTOR_FIELDS = frozenset(InvestorState.__dataclass_fields__)


# --- the projector -------------------------------------------------------------------------------------------


@dataclass
class RangeRows:
    """Everything one block range writes."""

    events: list[dict[str, Any]] = field(default_factory=list)
    event_accounts: list[dict[str, Any]] = field(default_factory=list)
    balance_changes: list[dict[str, Any]] = field(default_factory=list)
    investor_states: list[dict[str, Any]] = field(default_factory=list)
    wallet_bindings: list[dict[str, Any]] = field(default_factory=list)
    wallet_statuses: list[dict[str, Any]] = field(default_factory=list)
    distributions: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    assets_changed: set[int] = field(default_factory=set)
    blocks: dict[int, str] = field(default_factory=dict)


class Projector:
    """Holds what attribution needs across ranges (contract kinds, token -> asset, distribution -> asset, asset
    records, investor and wallet states seen) and turns decoded logs into :class:`RangeRows`."""

    def __init__(
        self,
        contract_kinds: dict[str, str],
        token_assets: dict[str, int | None],
        distribution_assets: dict[int, int | None],
        assets: dict[int, dict[str, Any]],
        lookup: IdentityLookup | None = None,
    ):
        self.contract_kinds = contract_kinds
        self.token_assets = token_assets
        self.distribution_assets = distribution_assets
        self.assets = assets
        self.lookup = lookup or IdentityLookup()
        self._investors: dict[str, InvestorState | None] = {}
        self._wallets: dict[str, WalletState | None] = {}

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

    def investor(self, investor: str) -> InvestorState | None:
        if investor not in self._investors:
            self._investors[investor] = self.lookup.investors([investor]).get(investor)
        return self._investors[investor]

    def wallet(self, wallet: str) -> WalletState | None:
        if wallet not in self._wallets:
            self._wallets[wallet] = self.lookup.wallets([wallet]).get(wallet)
        return self._wallets[wallet]

    def prefetch(self, decoded: Iterable[DecodedLog]) -> None:
        """Read the prior state of every investor and wallet the identity events of ``decoded`` change, in a
        few queries instead of one per event (a batch registration of 10,000 investors is 10,000 events)."""
        investors: set[str] = set()
        wallets: set[str] = set()
        for d in decoded:
            if d.kind != "identity" or d.event not in IDENTITY_EVENTS:
                continue
            for change in IDENTITY_EVENTS[d.event](d.args):
                if isinstance(change, WalletChange):
                    wallets.add(change.wallet)
                elif not _INVESTOR_FIELDS <= change.fields.keys():
                    investors.add(change.investor)
        investors -= self._investors.keys()
        wallets -= self._wallets.keys()
        if investors:
            found = self.lookup.investors(investors)
            self._investors.update({i: found.get(i) for i in investors})
        if wallets:
            found_w = self.lookup.wallets(wallets)
            self._wallets.update({w: found_w.get(w) for w in wallets})

    def apply_identity_event(self, d: DecodedLog, rows: RangeRows) -> None:
        lg = d.log
        at = {"block_number": lg.block_number, "tx_hash": lg.tx_hash, "tx_index": lg.tx_index,
              "log_index": lg.log_index}
        for change in IDENTITY_EVENTS[d.event or ""](d.args):
            if isinstance(change, InvestorChange):
                if _INVESTOR_FIELDS <= change.fields.keys():
                    prev = None  # (re-)registered: every field is new, the prior state does not matter
                else:  # an investor the ledger never saw registered (before its start block) exists: active
                    prev = self.investor(change.investor)
                prev = prev or InvestorState(None, None, None, True)
                state = InvestorState(**{**prev.__dict__, **change.fields})
                self._investors[change.investor] = state
                rows.investor_states.append({"investor": change.investor, **at, **state.__dict__, "event": d.event})
                continue
            prev_wallet = self.wallet(change.wallet)
            if prev_wallet is None:
                # a wallet is active from its binding on: no status row for that (one row less per registration)
                rows.wallet_bindings.append({"wallet": change.wallet, "investor": change.investor, **at})
                self._wallets[change.wallet] = WalletState(change.investor, WALLET_ACTIVE)
                if change.status == WALLET_ACTIVE:
                    continue
                # else: a wallet bound before the ledger's start block, first seen being removed or lost
            elif change.only_if_new:
                continue
            elif prev_wallet.investor != change.investor:
                raise LedgerError(
                    f"{d.event} in tx {lg.tx_hash} (log {lg.log_index}) names wallet {change.wallet} with investor "
                    f"{change.investor}, but the ledger has it bound to {prev_wallet.investor}; a wallet never "
                    "changes investor: is this the ledger of another registry, or did the contract change?"
                )
            elif prev_wallet.status == change.status:
                continue  # no change (replaceWallet onto a wallet that already is active)
            elif prev_wallet.status == WALLET_LOST:
                raise LedgerError(
                    f"{d.event} in tx {lg.tx_hash} (log {lg.log_index}) makes lost wallet {change.wallet} "
                    f"{change.status}; a lost wallet stays lost: did the contract change?"
                )
            self._wallets[change.wallet] = WalletState(change.investor, change.status)
            rows.wallet_statuses.append({"wallet": change.wallet, **at, "status": change.status, "event": d.event})

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
        self.prefetch(decoded)
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
                "merkle_root": d.args["merkleRoot"], "expiry": int(d.args["expiry"]), "claimed": 0, "claims": 0,
                "reclaimed": None,
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
            self.apply_identity_event(d, rows)
        else:
            changed = self.apply_asset_event(d.kind, d.event, d.args, lg.block_number)
            if changed is not None:
                rows.assets_changed.add(changed)


def asset_row(rec: dict[str, Any]) -> dict[str, Any]:
    """An ``assets`` row with every column present."""
    cols = ("asset_id", "kind", "token", "symbol", "name", "decimals", "cap", "unit", "jurisdiction",
            "legal_reference", "display_reference", "metadata_uri", "status", "valuation_amount", "valuation_currency",
            "valuation_date", "registered_block", "updated_block")
    return {c: rec.get(c) for c in cols}
