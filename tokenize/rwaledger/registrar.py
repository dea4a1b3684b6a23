"""The registrar service: what a registrar office does, over the deployed stack.

Register an asset and create its token, onboard investors and their wallets, attest custody lots, mint once per
allocation, transfer (checked with ``detectTransferRestriction`` first), force transfers within the rules, freeze, recover a lost
wallet into another wallet of the same investor, handle redemptions, and run distributions (entitlements from the
cap table at a record block, a Merkle tree, funding, proofs, claims). Batch work is signed locally and pipelined.

Everything that can be checked is checked before anything is sent: specs and files are validated by
:mod:`rwaledger.models`, amounts are read in the asset's unit (:mod:`rwaledger.amounts`), references and duplicates
are checked against the file and the chain, and each transfer is asked of the token first. Refusals raise typed
errors (:class:`TransferRejected` naming the rule, :class:`AssetExists`, :class:`RegistrarError`, decoded
:class:`~rwaledger.errors.ContractRevert`) that name what to change.

Roles: by default one signer does everything (right for a dev chain). On a network with separated duties, pass the
compliance officer's and the custodian's signers; a step whose role the available signers lack is reported as
*pending* with the command that completes it, never sent to fail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from eth_utils import function_abi_to_4byte_selector

from .amounts import AmountError, format_amount, parse_amount
from .constants import ASSET_KINDS as KINDS
from .constants import ASSET_STATUSES as STATUSES
from .constants import COUNTRY_MODES, REASON_TEXT, REASONS, ROLES, WALLET_STATUSES
from .encoding import b32 as _b32
from .errors import CustomErrorRevert, RwaError
from .merkle import MerkleTree
from .models import (
    AssetSpec,
    CommoditySpec,
    DocumentSpec,
    InvestorSpec,
    LotSpec,
    MintRequest,
    PropertySpec,
    SpecError,
    TransferRules,
    allocation_ref,
    country_alpha2,
    country_numeric,
    parse,
)
from .signers import Signer
from .stack import Stack
from .transactions import Receipt, SignedTx, Transactor, call_functions, call_many, pending_nonces, pipeline

if TYPE_CHECKING:  # the route is only ever given (``via=``): the registrar never needs the proposals module itself
    from .proposals import SafeRoute

ZERO = "0x0000000000000000000000000000000000000000"


def _selector(contract: str, name: str, inputs: int) -> bytes:
    """A function's selector, from the shipped ABI (never a signature typed by hand)."""
    from .shipped import load

    (item,) = [i for i in load()[contract].abi
               if i.get("type") == "function" and i["name"] == name and len(i["inputs"]) == inputs]
    return function_abi_to_4byte_selector(item)


DETECT_RESTRICTION = _selector("PropertyShareToken", "detectTransferRestriction", 3)  # ERC-1404: the reason code
TRANSFER = _selector("PropertyShareToken", "transfer", 2)
TRANSFER_GAS = 150_000  # generous upper bound for one compliant transfer (measured 51k-108k, scripts/gas_report.py)


class RegistrarError(RwaError):
    """A registrar operation was refused before anything was sent."""


class AssetNotFound(RegistrarError):
    """No asset matches the given id, symbol or token address."""


class AssetExists(RegistrarError):
    """The parcel (or the symbol) is already registered; nothing was changed."""


class TransferRejected(RegistrarError):
    """The token says a move would fail; ``rule`` names the rule. Nothing was sent."""

    def __init__(self, rule: str, sender: str, to: str, amount: int | str, symbol: str, what: str = "transfer"):
        self.rule = rule
        self.code = REASONS.index(rule) if rule in REASONS else -1
        super().__init__(
            f"{what} of {amount} {symbol} from {sender} to {to} rejected by rule {rule}: {REASON_TEXT.get(rule, rule)}"
        )


def _rule(code: int) -> str:
    return REASONS[code] if 0 <= code < len(REASONS) else f"Reason{code}"


def _ts(value: dt.date | dt.datetime) -> int:
    if isinstance(value, dt.datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).timestamp())
    return int(dt.datetime.combine(value, dt.time(), dt.timezone.utc).timestamp())


def allocation_digest(to: str, amount: int) -> bytes:
    """What a token stores per minted allocation: ``keccak256(abi.encode(to, amount))``."""
    return keccak(abi_encode(["address", "uint256"], [to, amount]))


@dataclass
class AssetInfo:
    asset_id: int
    kind: str
    status: str
    symbol: str
    name: str
    token: str
    jurisdiction: str
    legal_reference: str  # canonical: the registry's key
    display_reference: str  # as written in the land record (= legal_reference when written canonically)
    metadata_uri: str
    decimals: int
    unit: str  # "share" for property tokens
    total_supply: int
    max_supply: int  # the share cap, or the attested reserve of a commodity
    paused: bool
    valuation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def amount(self, value: int) -> str:
        return format_amount(value, decimals=self.decimals, unit=self.unit)


@dataclass
class Outcome:
    """What an operation did: ``done`` (sent now), ``skipped`` (already so: nothing sent) or ``pending`` (a step
    needs a role the signer lacks), and why."""

    status: str
    detail: str
    tx_hash: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedMint:
    """One allocation, validated and resolved against the chain."""

    asset_id: int
    token: str
    to: str
    amount: int  # smallest units
    ref: bytes
    source: str  # "file:line" of the request
    reference: str | None
    already_minted: bool


@dataclass
class DistributionPlan:
    asset_id: int
    token: str
    record_block: int
    total: int
    entries: list[tuple[int, str, int]]  # (index, account, amount)
    tree: MerkleTree

    @property
    def root(self) -> bytes:
        return self.tree.root

    def proof(self, account: str) -> tuple[int, int, list[bytes]]:
        account = Web3.to_checksum_address(account)
        for i, (index, who, amount) in enumerate(self.entries):
            if who == account:
                return index, amount, self.tree.proof(i)
        raise RegistrarError(f"{account} has no entitlement in this distribution")

    def to_json(self, distribution_id: int | None = None, payment_token: str | None = None) -> dict[str, Any]:
        return {
            "distributionId": distribution_id,
            "assetId": self.asset_id,
            "token": self.token,
            "paymentToken": payment_token,
            "recordBlock": self.record_block,
            "total": str(self.total),
            "merkleRoot": "0x" + self.root.hex(),
            "leafEncoding": "keccak256(bytes.concat(keccak256(abi.encode(uint256 index, address account, uint256 amount))))",
            "claims": [
                {"index": idx, "account": who, "amount": str(amt), "proof": ["0x" + p.hex() for p in self.tree.proof(i)]}
                for i, (idx, who, amt) in enumerate(self.entries)
            ],
        }


LEAF_TYPES = ("uint256", "address", "uint256")


def pro_rata(balances: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` in proportion to ``balances`` exactly (largest remainder), so the parts sum to ``total``."""
    supply = sum(balances.values())
    if supply <= 0:
        raise RegistrarError("no holders at the record block: nothing to distribute to")
    shares = {a: total * b // supply for a, b in balances.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(balances, key=lambda a: (-(total * balances[a] % supply), a))
    for a in by_remainder[:left]:
        shares[a] += 1
    return {a: v for a, v in shares.items() if v > 0}


def _duplicates(items: Iterable[tuple[Any, str]], what: str) -> None:
    """Raise naming both sources when two items share a key."""
    seen: dict[Any, str] = {}
    for key, source in items:
        if key in seen:
            raise SpecError(f"{source}: {what} {key} is also at {seen[key]}: each must appear once")
        seen[key] = source


class Registrar:
    """Registrar operations on one stack, signed by the session's signer (and, where given, by the compliance
    officer's and the custodian's signers)."""

    def __init__(
        self,
        stack: Stack,
        distributions_dir: Path | None = None,
        *,
        ledger: Any = None,
        compliance: Signer | None = None,
        custodian: Signer | None = None,
        guardian: Signer | None = None,
        via: "SafeRoute | Sequence[SafeRoute] | None" = None,
    ):
        self.stack = stack
        self.session = stack.session
        self.tx: Transactor = stack.session.tx
        self.w3 = stack.w3
        self.ledger = ledger  # where investor labels are kept (off-chain only), if given
        store_dir = self.session.deployer.store.dir
        self.distributions_dir = distributions_dir or (store_dir / "distributions" if store_dir else None)
        self._plans: dict[int, DistributionPlan] = {}
        self._plans_by_root: dict[bytes, DistributionPlan] = {}  # proposed, not created yet
        self._senders: dict[str, Transactor] = {}
        self._role_signers = {"compliance": compliance, "custodian": custodian, "guardian": guardian}
        self._role_cache: dict[tuple[str, str], bool] = {}
        self.via: list[SafeRoute] = list(via) if isinstance(via, (list, tuple)) else [via] if via is not None else []

    # --- roles ------------------------------------------------------------------------

    def _role_tx(self, role: str, keys_only: bool = False) -> "Transactor | SafeRoute | None":
        """The transactor to send a ``role`` step with, or None when no available signer holds the role. Built
        ``via`` Safes, only those Safes act (unless ``keys_only``): a step of a role one of them holds becomes a
        proposal."""
        candidates: list[Any]
        if self.via and not keys_only:
            candidates = list(self.via)
        else:
            signer = self._role_signers.get(role)
            candidates = [self._sender(signer)] if signer else []
            candidates.append(self.tx)
        for tx in candidates:
            key = (role, tx.address)
            if key not in self._role_cache:
                self._role_cache[key] = self.stack.has_role(role, tx.address)
            if self._role_cache[key]:
                return tx
        return None

    def _require_role(self, role: str, what: str) -> "Transactor | SafeRoute":
        tx = self._role_tx(role)
        if tx is None and self.via:
            raise RegistrarError(f"{what} needs the {role} role, which none of the Safes "
                                 f"{', '.join(r.address for r in self.via)} holds")
        if tx is None:
            raise RegistrarError(f"{what} needs the {role} role, which {self.tx.address} does not hold: sign with the "
                                 f"{role} officer's key")
        return tx

    def _is_route(self, tx: Any) -> bool:
        return any(tx is route for route in self.via)

    def _send(self, tx: "Transactor | SafeRoute", what: str, calls: Sequence[Any], *,
              progress: Callable[[int], None] | None = None,
              references: dict[bytes, str] | None = None) -> "list[Receipt] | Outcome":
        """Send ``calls`` in order with ``tx`` (several pipelined), or, when ``tx`` is a Safe, store them as one
        proposal (a MultiSend for several: all or none) and return its ``proposed`` outcome: nothing is sent."""
        if self._is_route(tx):
            p = tx.propose(calls, what, references)
            return Outcome(
                "proposed",
                f"proposal #{p.id} to the Safe {tx.address} (nonce {p.tx.nonce}, needs {tx.threshold()} of "
                f"{len(tx.owners())} owners): " + "; ".join(c.text for c in p.calls),
                None,
                {"proposal": p.id, "safe": tx.address, "safe_tx_hash": p.safe_tx_hash, "nonce": p.tx.nonce,
                 "calls": [c.text for c in p.calls]},
            )
        try:
            if len(calls) == 1:
                return [tx.transact(calls[0])]
            return tx.send_batch(list(calls), progress=progress)
        except CustomErrorRevert as exc:
            if exc.name != "AccessControlUnauthorizedAccount":
                raise
            self._role_cache.clear()  # a role moved since it was looked up (e.g. to a Safe): look again next time
            needed = {v: k for k, v in ROLES.items()}.get(bytes(exc.args_by_name["neededRole"]), "a")
            raise RegistrarError(f"{what}: the chain refused it, {tx.address} no longer holds the {needed} role "
                                 "(it moved since this registrar looked): nothing was sent") from exc

    # --- assets ---------------------------------------------------------------------

    def asset_id(self, ref: str | int) -> int:
        """Resolve an asset id (``3``, ``#3``), a token address or a symbol (any case) with one registry read."""
        text = str(ref).strip()
        registry = self.stack.registry.functions
        if text.lstrip("#").isdigit():
            asset_id = int(text.lstrip("#"))
            count = registry.assetCount().call()
            if not 1 <= asset_id <= count:
                raise AssetNotFound(f"no asset with id {asset_id} (there are {count})")
            return asset_id
        if Web3.is_address(text):
            token = self.w3.eth.contract(address=Web3.to_checksum_address(text), abi=self.stack.property_impl.abi)
            try:
                asset_id = token.functions.assetId().call()
                if asset_id and registry.tokenOf(asset_id).call() == token.address:
                    return asset_id
            except Exception:
                pass
            raise AssetNotFound(f"{text} is not a token of this registry")
        asset_id = registry.assetIdOfSymbol(text.upper()).call()
        if not asset_id:
            raise AssetNotFound(f"no asset with symbol {text.upper()!r}")
        return asset_id

    def _count(self) -> int:
        return self.stack.registry.functions.assetCount().call()

    def _record(self, asset_id: int) -> tuple:
        return self.stack.registry.functions.asset(asset_id).call()

    def token(self, ref: str | int) -> Contract:
        asset_id = int(ref) if isinstance(ref, int) else self.asset_id(ref)
        rec = self._record(asset_id)
        return self.stack.token(rec[0], KINDS[rec[1]])

    def asset(self, ref: str | int) -> AssetInfo:
        asset_id = self.asset_id(ref)
        rec = self._record(asset_id)
        kind = KINDS[rec[1]]
        token = self.stack.token(rec[0], kind)
        f = token.functions
        calls = [f.symbol(), f.name(), f.decimals(), f.totalSupply(), f.paused()]
        calls += [f.cap()] if kind == "property" else [f.attestedReserve(), f.unit()]
        symbol, name, decimals, supply, paused, max_supply, *unit = call_functions(self.session.chain, calls)
        return AssetInfo(
            asset_id=asset_id,
            kind=kind,
            status=STATUSES[rec[2]],
            symbol=symbol,
            name=name,
            token=token.address,
            jurisdiction=rec[3].decode(),
            legal_reference=rec[7],
            display_reference=rec[8] or rec[7],
            metadata_uri=rec[9],
            decimals=decimals,
            unit=unit[0] if unit else "share",
            total_supply=supply,
            max_supply=max_supply,
            paused=paused,
            valuation={
                "amount_minor": rec[6],
                "currency": rec[4].decode() if rec[4] != b"\0\0\0" else "",
                "date": dt.datetime.fromtimestamp(rec[5], dt.timezone.utc).date().isoformat() if rec[5] else None,
            },
        )

    def assets(self) -> list[AssetInfo]:
        return [self.asset(i) for i in range(1, self._count() + 1)]

    def amount(self, asset: str | int | AssetInfo, value: int | str, what: str = "amount") -> int:
        """``value`` (``"10.5 kg"``, ``"100 shares"``, or an integer of smallest units) in the asset's smallest units."""
        info = asset if isinstance(asset, AssetInfo) else self.asset(asset)
        try:
            return parse_amount(value, decimals=info.decimals, unit=info.unit, what=what)
        except AmountError as exc:
            raise RegistrarError(f"{info.symbol}: {exc}") from None

    def register_asset(self, spec: PropertySpec | CommoditySpec) -> Outcome:
        """Register an asset and create its token in one transaction, then apply its rules, documents and lots
        and activate it.

        One parcel, one token: a spec whose parcel (jurisdiction + canonical legal reference) or symbol is already
        registered is refused with :class:`AssetExists` naming the asset, and nothing is changed; change an asset's
        rules with :meth:`set_rules` and its documents with :meth:`add_document`. The one exception is the same
        spec run again: if it matches the asset exactly, nothing is sent ("already registered"), and if the first
        run stopped before the asset was activated, the steps it had not done yet are completed.
        """
        if not isinstance(spec, (PropertySpec, CommoditySpec)):
            spec = parse(AssetSpec, spec, "asset spec")
        registry = self.stack.registry.functions
        jurisdiction = spec.jurisdiction.encode()
        existing, by_symbol = call_functions(self.session.chain, [
            registry.assetIdOf(jurisdiction, spec.canonical_reference), registry.assetIdOfSymbol(spec.symbol)])
        if existing:
            return self._rerun(existing, spec)
        if by_symbol:
            other = self.asset(by_symbol)
            raise AssetExists(f"symbol {spec.symbol} is already used by asset #{by_symbol} ({other.legal_reference}, "
                              f"{other.jurisdiction}); choose another symbol: nothing was changed")
        registrar = self._require_role("registrar", "registering an asset")
        params = (
            jurisdiction,
            spec.canonical_reference,
            spec.display_reference,
            spec.metadata_uri,
            spec.valuation.minor_units(),
            spec.valuation.currency.encode(),
            _ts(spec.valuation.date),
        )
        home = country_numeric(spec.jurisdiction)
        if isinstance(spec, PropertySpec):
            fn = self.stack.factory.functions.createPropertyToken(
                params, (spec.name, spec.symbol, spec.decimals, spec.total_shares, home))
            event = self.stack.factory.events.PropertyTokenCreated()
        else:
            fn = self.stack.factory.functions.createCommodityToken(
                params, (spec.name, spec.symbol, spec.decimals, spec.unit, home))
            event = self.stack.factory.events.CommodityTokenCreated()
        sent = self._send(registrar, f"registering {spec.symbol}", [fn])
        if isinstance(sent, Outcome):
            sent.detail += " (once executed, run the spec again to apply its rules, documents and lots)"
            return sent
        (receipt,) = sent
        (log,) = event.process_receipt(receipt.raw, errors=DISCARD)
        asset_id = log["args"]["assetId"]
        steps, pending = self._complete(asset_id, spec)
        detail = f"registered {spec.symbol} as asset #{asset_id}, token {log['args']['token']}"
        return Outcome("pending" if pending else "done", detail, receipt.tx_hash,
                       {"asset_id": asset_id, "token": log["args"]["token"], "steps": steps, "pending": pending})

    def _rerun(self, asset_id: int, spec: PropertySpec | CommoditySpec) -> Outcome:
        info = self.asset(asset_id)
        named = f"{spec.canonical_reference} ({spec.jurisdiction}) is already registered as asset #{asset_id} ({info.symbol})"
        differences = self._identity_differences(info, spec)
        if differences:
            raise AssetExists(f"{named}; this spec differs ({'; '.join(differences)}): nothing was changed")
        steps, pending = self._missing_steps(info, spec)
        if isinstance(steps, str):
            raise AssetExists(f"{named}; {steps}: nothing was changed")
        if not steps:
            return Outcome("skipped", f"{named}: nothing to change", None,
                           {"asset_id": asset_id, "token": info.token, "steps": [], "pending": pending})
        done, pending = self._complete(asset_id, spec)
        return Outcome("pending" if pending else "done",
                       f"{named}: completed its registration ({'; '.join(done)})", None,
                       {"asset_id": asset_id, "token": info.token, "steps": done, "pending": pending})

    @staticmethod
    def _identity_differences(info: AssetInfo, spec: PropertySpec | CommoditySpec) -> list[str]:
        wanted = {
            "kind": spec.kind, "symbol": spec.symbol, "name": spec.name, "decimals": spec.decimals,
            "metadata_uri": spec.metadata_uri,
            "legal_reference as written": spec.legal_reference,
            "valuation": {"amount_minor": spec.valuation.minor_units(), "currency": spec.valuation.currency,
                          "date": spec.valuation.date.isoformat()},
        }
        have = {
            "kind": info.kind, "symbol": info.symbol, "name": info.name, "decimals": info.decimals,
            "metadata_uri": info.metadata_uri, "legal_reference as written": info.display_reference,
            "valuation": info.valuation,
        }
        if isinstance(spec, PropertySpec):
            wanted["total_shares"], have["total_shares"] = spec.total_shares, info.max_supply if info.kind == "property" else None
        else:
            wanted["unit"], have["unit"] = spec.unit, info.unit
        differ = [k for k in wanted if have[k] != wanted[k]]
        if not differ:
            return []
        first = f"{differ[0]} {have[differ[0]]!r} registered, {wanted[differ[0]]!r} in the spec"
        return [first + (f", and {', '.join(differ[1:])}" if differ[1:] else "")]

    def _missing_steps(self, info: AssetInfo, spec: PropertySpec | CommoditySpec) -> tuple[list[str] | str, list[str]]:
        """What a re-run of the same spec would still do, or (as a string) why the asset differs from it."""
        steps: list[str] = []
        rules = self._rule_changes(info.asset_id, spec.rules)
        if rules:
            if info.status != "registered":
                return f"its rules differ from this spec ({', '.join(rules)}); change them with `rwa asset rules`", []
            steps.append("rules")
        registry = self.stack.registry.functions
        for doc in spec.documents:
            current = registry.currentDocument(info.asset_id, doc.name).call()
            if current == 0:
                if info.status != "registered":
                    return f"it has no document {doc.name!r}; add it with `rwa asset document`", []
                steps.append(f"document {doc.name}")
            elif bytes(registry.document(current).call()[4]) != doc.sha256():
                return (f"its current {doc.name!r} (document #{current}) has another SHA-256 than {doc.file}; record a "
                        "new version with `rwa asset document`"), []
        if isinstance(spec, CommoditySpec):
            token = self.token(info.asset_id)
            for lot in spec.lots:
                if not token.functions.lot(_b32(lot.lot_id)).call()[1]:
                    if info.status != "registered":
                        return f"it has no lot {lot.lot_id}; attest it with `rwa lot attest`", []
                    steps.append(f"lot {lot.lot_id}")
        if spec.activate and info.status == "registered":
            steps.append("activate")
        return steps, []

    def _complete(self, asset_id: int, spec: PropertySpec | CommoditySpec) -> tuple[list[str], list[str]]:
        """Apply the spec's rules, documents and lots, then activate; returns (done, pending) step lists."""
        done: list[str] = []
        pending: list[str] = []

        def step(outcome: Outcome) -> None:
            if outcome.status == "done":
                done.append(outcome.detail)
            elif outcome.status == "pending":
                pending.append(outcome.detail)

        step(self.set_rules(asset_id, spec.rules, _pending_ok=True))
        for doc in spec.documents:
            step(self.add_document(asset_id, doc))
        if isinstance(spec, CommoditySpec):
            for lot in spec.lots:
                step(self.attest_lot(asset_id, lot, _pending_ok=True))
        if spec.activate and self.stack.registry.functions.statusOf(asset_id).call() == 0:
            if pending:
                pending.append(f"activate asset #{asset_id} once the steps above are done (`rwa asset status "
                               f"{spec.symbol} active`)")
            else:
                step(self.set_status(asset_id, "active"))
        return done, pending

    def _rule_calls(self, token: Contract, rules: TransferRules) -> list[tuple[str, Any]]:
        """(description, call) for every rule that differs from the chain."""
        f = token.functions
        mode, lockup, max_holders, max_balance = f.rules().call()
        caps = f.holderCaps().call()
        calls: list[tuple[str, Any]] = []
        wanted_mode, countries = 0, []
        if rules.allowed_countries:
            wanted_mode, countries = 1, rules.allowed_countries
        elif rules.blocked_countries:
            wanted_mode, countries = 2, rules.blocked_countries
        codes = [country_numeric(c) for c in countries]
        listed = call_functions(self.session.chain, [f.isCountryListed(c) for c in codes]) if codes else []
        missing = [c for c, on in zip(codes, listed) if not on]
        if missing:
            calls.append((f"list countries {', '.join(country_alpha2(c) for c in missing)}",
                          f.setCountriesListed(missing, True)))
        if wanted_mode != mode:
            calls.append((f"country mode {COUNTRY_MODES[wanted_mode]}", f.setCountryRestriction(wanted_mode)))
        if (rules.max_holders or 0) != max_holders:
            calls.append((f"max holders {rules.max_holders or 'unlimited'}", f.setMaxHolders(rules.max_holders or 0)))
        if (rules.max_balance or 0) != max_balance:
            calls.append((f"max balance {rules.max_balance or 'unlimited'}", f.setMaxBalance(rules.max_balance or 0)))
        wanted_lockup = _ts(rules.lockup_until) if rules.lockup_until else 0
        if wanted_lockup != lockup:
            calls.append((f"lock-up until {rules.lockup_until or 'none'}", f.setLockupUntil(wanted_lockup)))
        if rules.category_caps() != tuple(caps[:3]):
            calls.append(("holder caps per category %s" % "/".join(str(c or "-") for c in rules.category_caps()),
                          f.setCategoryHolderCaps(*rules.category_caps())))
        if rules.foreign_caps() != tuple(caps[3:]):
            holders, bps = rules.foreign_caps()
            calls.append((f"foreign caps {holders or '-'} holders, {bps / 100 if bps else '-'}% of the supply",
                          f.setForeignCaps(holders, bps)))
        return calls

    def _rule_changes(self, asset: str | int, rules: TransferRules) -> list[str]:
        return [d for d, _ in self._rule_calls(self.token(asset), rules)]

    def set_rules(self, asset: str | int, rules: TransferRules, *, _pending_ok: bool = False) -> Outcome:
        """Apply transfer rules (the compliance officer's act); only what differs from the chain is sent."""
        token = self.token(asset)
        calls = self._rule_calls(token, rules)
        if not calls:
            return Outcome("skipped", "rules unchanged")
        tx = self._role_tx("compliance")
        if tx is None:
            if _pending_ok:
                return Outcome("pending", f"rules ({', '.join(d for d, _ in calls)}) need the compliance officer: "
                                          f"`rwa asset rules {token.address} SPEC`")
            self._require_role("compliance", "changing rules")
        receipts = self._send(tx, "changing rules", [c for _, c in calls])  # type: ignore[arg-type]
        if isinstance(receipts, Outcome):
            return receipts
        return Outcome("done", "rules: " + ", ".join(d for d, _ in calls), receipts[-1].tx_hash,
                       {"changes": [d for d, _ in calls]})

    def add_document(self, asset: str | int, doc: DocumentSpec, supersede: bool = True) -> Outcome:
        """Record a document version (its file was hashed when the spec loaded). A new hash supersedes the current
        version of that name; a Retired asset takes no documents."""
        asset_id = self.asset_id(asset)
        registry = self.stack.registry.functions
        status, current = call_functions(self.session.chain, [registry.statusOf(asset_id),
                                                              registry.currentDocument(asset_id, doc.name)])
        if STATUSES[status] == "retired":
            raise RegistrarError(f"asset #{asset_id} is retired: its record takes no new documents")
        digest = doc.sha256()
        if current:
            existing = registry.document(current).call()
            if bytes(existing[4]) == digest:
                return Outcome("skipped", f"document {doc.name!r} unchanged (#{current})")
            if not supersede:
                raise RegistrarError(f"asset #{asset_id} already has a current {doc.name!r}; supersede it")
        tx = self._require_role("registrar", "recording a document")
        sent = self._send(tx, f"recording document {doc.name!r}",
                          [registry.addDocument(asset_id, doc.name, doc.uri, digest, _ts(doc.effective_date), current)])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        verb = f"superseding #{current}" if current else "first version"
        return Outcome("done", f"document {doc.name!r} recorded ({verb})", receipt.tx_hash)

    def set_status(self, asset: str | int, status: str) -> Outcome:
        """Move an asset's status: forward only (registered -> active -> suspended -> retired), except
        suspended -> active; retired is final."""
        asset_id = self.asset_id(asset)
        status = status.strip().lower()
        if status not in STATUSES:
            raise RegistrarError(f"status must be one of {', '.join(STATUSES)}")
        current = STATUSES[self.stack.registry.functions.statusOf(asset_id).call()]
        if current == status:
            return Outcome("skipped", f"asset #{asset_id} is already {status}")
        wanted, have = STATUSES.index(status), STATUSES.index(current)
        if wanted < have and not (current == "suspended" and status == "active"):
            allowed = [s for i, s in enumerate(STATUSES) if i > have] + (["active"] if current == "suspended" else [])
            raise RegistrarError(f"asset #{asset_id} is {current}: it can only become {' or '.join(allowed) or 'nothing (retired is final)'}")
        tx = self._require_role("registrar", "changing an asset's status")
        sent = self._send(tx, f"making asset #{asset_id} {status}", [self.stack.registry.functions.setStatus(asset_id, wanted)])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"asset #{asset_id} is now {status}", receipt.tx_hash)

    # --- investors ------------------------------------------------------------------

    def investor(self, wallet: str) -> dict[str, Any] | None:
        """The investor a wallet belongs to, from the chain (None when it belongs to none)."""
        wallet = _address(wallet)
        ident = self.stack.identity.functions
        investor_id, status, verified = call_functions(self.session.chain, [
            ident.investorOf(wallet), ident.walletStatus(wallet), ident.isVerified(wallet)])
        if investor_id == ZERO:
            return None
        country, expiry, category, active, multi = ident.investor(investor_id).call()
        out = {"wallet": wallet, "investor": investor_id, "wallet_status": WALLET_STATUSES[status],
               "country": country_alpha2(country), "country_code": country,
               "kyc_expiry": dt.datetime.fromtimestamp(expiry, dt.timezone.utc).date().isoformat(),
               "category": category, "investor_active": active, "multi_wallet": multi, "verified": verified}
        if self.ledger is not None:
            out["label"] = self.ledger.investor_labels().get(investor_id)
        return out

    def add_investor(self, spec: InvestorSpec) -> Outcome:
        return self.add_investors([spec])

    def add_investors(
        self, specs: Sequence[InvestorSpec], chunk: int = 200, progress: Callable[[int], None] | None = None
    ) -> Outcome:
        """Onboard investors and their wallets (the compliance officer's act). A row without ``investor`` is an
        investor's first wallet: registered if new, else its changed fields updated (a category left out is kept).
        A row with ``investor`` adds the wallet to that investor (registered on chain, or earlier in the same file).
        Everything is checked against the file and the chain before anything is sent."""
        if not specs:
            raise SpecError("no investors given")
        _duplicates(((s.wallet, s.source) for s in specs), "wallet")
        ident = self.stack.identity.functions
        chain = self.session.chain
        wallets = sorted({s.wallet for s in specs} | {s.investor for s in specs if s.investor})
        owners = dict(zip(wallets, call_functions(chain, [ident.investorOf(w) for w in wallets])))
        ids = sorted({o for o in owners.values() if o != ZERO})
        records = dict(zip(ids, call_functions(chain, [ident.investor(i) for i in ids])))
        statuses = dict(zip(wallets, call_functions(chain, [ident.walletStatus(w) for w in wallets])))
        first_in_file = {s.wallet: s for s in specs if s.investor is None}

        register: list[InvestorSpec] = []
        updates: list[tuple[str, Any]] = []
        links: list[tuple[str, str]] = []  # (investor, wallet)
        labels: dict[str, str] = {}
        for s in specs:
            owner = owners[s.wallet]
            if s.investor is None:
                if owner == ZERO:
                    register.append(s)
                    if s.label:
                        labels[s.wallet] = s.label
                    continue
                if owner != s.wallet:
                    raise SpecError(f"{s.source}: wallet {s.wallet} belongs to investor {owner}: give investor={owner} "
                                    "to describe it, not a new investor")
                country, expiry, category, active, _ = records[owner]
                if not active:
                    register.append(s)  # a deleted investor registered again
                else:
                    if country != country_numeric(s.country):
                        updates.append((f"country {s.country}", ident.updateCountry(s.wallet, country_numeric(s.country))))
                    if expiry != s.kyc_expiry_timestamp():
                        updates.append((f"KYC expiry {s.kyc_expiry}", ident.updateKycExpiry(s.wallet, s.kyc_expiry_timestamp())))
                    if s.category is not None and category != int(s.category):
                        updates.append((f"category {s.category.name}", ident.updateCategory(s.wallet, int(s.category))))
                if s.label:
                    labels[owner] = s.label
                continue
            target = owners[s.investor]
            if target == ZERO:
                if s.investor not in first_in_file:
                    raise SpecError(f"{s.source}: investor {s.investor} is not registered (on chain or earlier in "
                                    "this file)")
                target = s.investor
                target_data = (country_numeric(first_in_file[target].country), first_in_file[target].kyc_expiry_timestamp(),
                               int(first_in_file[target].category or 1))
            else:
                target_data = records[target][:3]
            if s.country is not None and country_numeric(s.country) != target_data[0]:
                raise SpecError(f"{s.source}: wallet {s.wallet} would join investor {target}, whose country is "
                                f"{country_alpha2(target_data[0])}, not {s.country}")
            if s.category is not None and int(s.category) != target_data[2]:
                raise SpecError(f"{s.source}: investor {target} is {_category_name(target_data[2])}, not {s.category.name}")
            if owner not in (ZERO, target):
                raise SpecError(f"{s.source}: wallet {s.wallet} already belongs to investor {owner}, and a wallet never "
                                "changes investor")
            status = WALLET_STATUSES[statuses[s.wallet]]
            if status == "lost":
                raise SpecError(f"{s.source}: wallet {s.wallet} was replaced as lost and can never be used again")
            if status in ("none", "removed"):  # a new wallet, or a removed one added back
                links.append((target, s.wallet))
            if s.label:
                labels[target] = s.label

        if not (register or updates or links):
            self._store_labels(labels)
            return Outcome("skipped", f"{len(specs)} wallets already registered as given: nothing sent",
                           data={"registered": 0, "updates": 0, "wallets_added": 0, "transactions": 0})
        tx = self._require_role("compliance", "onboarding investors")
        calls = []
        for i in range(0, len(register), chunk):
            part = register[i : i + chunk]
            calls.append(ident.batchRegisterIdentity(
                [s.wallet for s in part],
                [country_numeric(s.country) for s in part],
                [s.kyc_expiry_timestamp() for s in part],
                [int(s.category or 1) for s in part],
            ))
        if self._is_route(tx):  # one proposal: the wallets join once their investors are registered
            self._store_labels(labels)
            return self._send(tx, "onboarding investors", calls + [c for _, c in updates]  # type: ignore[return-value]
                              + [ident.addWallet(inv, w) for inv, w in links])
        receipts = tx.send_batch(calls + [c for _, c in updates], progress=progress) if calls or updates else []
        # wallets join investors only once those are registered (each call is estimated against the chain)
        receipts += tx.send_batch([ident.addWallet(inv, w) for inv, w in links], progress=progress) if links else []
        self._store_labels(labels)
        return Outcome(
            "done",
            f"{len(register)} investors registered, {len(updates)} field updates, {len(links)} wallets added, "
            f"{len(specs) - len(register) - len(links)} already registered",
            receipts[-1].tx_hash if receipts else None,
            {"registered": len(register), "updates": len(updates), "wallets_added": len(links),
             "transactions": len(receipts)},
        )

    def _store_labels(self, labels: dict[str, str]) -> None:
        if labels and self.ledger is not None:
            self.ledger.set_investor_labels(labels)

    def add_wallet(self, investor_wallet: str, wallet: str) -> Outcome:
        """Give an investor one more wallet (the compliance officer's act)."""
        investor_wallet, wallet = _address(investor_wallet), _address(wallet)
        ident = self.stack.identity.functions
        owner, target = call_functions(self.session.chain, [ident.investorOf(wallet), ident.investorOf(investor_wallet)])
        if target == ZERO:
            raise RegistrarError(f"{investor_wallet} belongs to no investor")
        if owner == target and WALLET_STATUSES[ident.walletStatus(wallet).call()] == "active":
            return Outcome("skipped", f"{wallet} already is a wallet of investor {target}")
        if owner not in (ZERO, target):
            raise RegistrarError(f"{wallet} belongs to investor {owner}, and a wallet never changes investor")
        sent = self._send(self._require_role("compliance", "adding a wallet"), "adding a wallet", [ident.addWallet(target, wallet)])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"{wallet} is now a wallet of investor {target}", receipt.tx_hash, {"investor": target})

    def remove_wallet(self, wallet: str) -> Outcome:
        """Stop a wallet from being verified (it stays bound to its investor and can be added back)."""
        wallet = _address(wallet)
        ident = self.stack.identity.functions
        status = WALLET_STATUSES[ident.walletStatus(wallet).call()]
        if status != "active":
            raise RegistrarError(f"{wallet} is not an active wallet ({status})")
        sent = self._send(self._require_role("compliance", "removing a wallet"), "removing a wallet", [ident.removeWallet(wallet)])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"{wallet} removed from investor {ident.investorOf(wallet).call()}", receipt.tx_hash)

    def recover_wallet(self, lost: str, new: str) -> Outcome:
        """Replace a lost wallet with another wallet of the same investor, then move its units and token state in
        every token (one atomic transaction per token). The compliance officer replaces the wallet, the registrar
        moves the units. Re-running after an interruption continues where it stopped."""
        lost, new = _address(lost), _address(new)
        ident = self.stack.identity.functions
        chain = self.session.chain
        investor, lost_status, new_owner, new_status = call_functions(chain, [
            ident.investorOf(lost), ident.walletStatus(lost), ident.investorOf(new), ident.walletStatus(new)])
        if investor == ZERO:
            raise RegistrarError(f"{lost} belongs to no investor: nothing to recover")
        if new_owner not in (ZERO, investor):
            raise RegistrarError(f"{new} belongs to another investor ({new_owner}): units move only between wallets "
                                 "of the same investor")
        if new_owner == investor and WALLET_STATUSES[new_status] != "active":
            raise RegistrarError(f"{new} is a {WALLET_STATUSES[new_status]} wallet of the investor: add it back first")
        tokens = [self.token(i) for i in range(1, self._count() + 1)]
        holdings = self._token_state(tokens, lost)
        registrar = self._role_tx("registrar")
        steps: list[str] = []
        if self.via:  # through a Safe: the replacement and every token's move as one proposal, all or none
            calls = [ident.replaceWallet(lost, new)] if WALLET_STATUSES[lost_status] != "lost" else []
            calls += [t.functions.recoveryAddress(lost, new) for t in holdings]
            if not calls:
                return Outcome("skipped", f"{lost} was already recovered into a wallet of investor {investor}: nothing held")
            routes = {self._require_role("compliance", "replacing a lost wallet").address if WALLET_STATUSES[lost_status] != "lost" else None,
                      self._require_role("registrar", "recovering units").address if holdings else None} - {None}
            if len(routes) != 1:
                raise RegistrarError("recovering a wallet through Safes needs the compliance and registrar roles in one "
                                     "Safe (the replacement and the moves are one transaction): nothing was proposed")
            (route,) = [r for r in self.via if r.address in routes]
            return self._send(route, f"recovering {lost} into {new}", calls)  # type: ignore[return-value]
        if WALLET_STATUSES[lost_status] != "lost":
            compliance = self._require_role("compliance", "replacing a lost wallet")
            if holdings and registrar is None:
                raise RegistrarError("moving the units needs the registrar role, which no given signer holds: nothing "
                                     "was sent")
            compliance.transact(ident.replaceWallet(lost, new))
            steps.append("wallet replaced in the identity registry")
        elif new_owner != investor:
            raise RegistrarError(f"{lost} is already lost, and {new} is not a wallet of its investor {investor}")
        if holdings and registrar is None:
            self._require_role("registrar", "recovering units")
        moved = []
        for token in holdings:
            registrar.transact(token.functions.recoveryAddress(lost, new))  # type: ignore[union-attr]
            moved.append(token.functions.symbol().call())
        if moved:
            steps.append("units moved: " + ", ".join(moved))
        if not steps:
            return Outcome("skipped", f"{lost} was already recovered into a wallet of investor {investor}: nothing held")
        return Outcome("done", f"recovered {lost} -> {new}: {'; '.join(steps)}", data={"moved": moved, "investor": investor})

    def _token_state(self, tokens: Sequence[Contract], wallet: str) -> list[Contract]:
        """The tokens in which ``wallet`` holds units or token state (a freeze, frozen, encumbered or locked units)."""
        calls = []
        for t in tokens:
            f = t.functions
            calls += [f.balanceOf(wallet), f.isFrozen(wallet), f.getFrozenTokens(wallet)]
        values = call_functions(self.session.chain, calls) if calls else []
        return [t for i, t in enumerate(tokens) if any(values[3 * i : 3 * i + 3])]

    def delete_investor(self, wallet: str) -> Outcome:
        sent = self._send(self._require_role("compliance", "deleting an investor"), "deleting an investor",
                          [self.stack.identity.functions.deleteIdentity(_address(wallet))])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"the investor of {wallet} is deleted: none of its wallets is verified", receipt.tx_hash)

    def sync_investor(self, wallet: str) -> Outcome:
        """Recount an investor under its current category and country in every token it holds (after the compliance
        officer changed them)."""
        wallet = _address(wallet)
        tokens = [self.token(i) for i in range(1, self._count() + 1)]
        balances = call_functions(self.session.chain, [t.functions.investorBalanceOf(wallet) for t in tokens]) if tokens else []
        held = [t for t, b in zip(tokens, balances) if b]
        receipts = self.tx.send_batch([t.functions.syncInvestor(wallet) for t in held]) if held else []
        return Outcome("done" if receipts else "skipped", f"recounted in {len(held)} tokens", receipts[-1].tx_hash if receipts else None)

    # --- lots -------------------------------------------------------------------------

    def attest_lot(self, asset: str | int, lot: LotSpec, *, _pending_ok: bool = False) -> Outcome:
        token = self.token(asset)
        if not hasattr(token.functions, "attestLot"):
            raise RegistrarError("lots belong to commodity tokens")
        lot_id = _b32(lot.lot_id)
        quantity, attested_at, status, receipt_hash, vault = token.functions.lot(lot_id).call()
        if attested_at:  # lot ids are never reused, even once retired
            return Outcome("skipped", f"lot {lot.lot_id} already attested")
        tx = self._role_tx("custodian")
        if tx is None:
            if _pending_ok:
                return Outcome("pending", f"lot {lot.lot_id} needs the custodian: `rwa lot attest ...`")
            self._require_role("custodian", "attesting a lot")
        sent = self._send(tx, f"attesting lot {lot.lot_id}",  # type: ignore[arg-type]
                          [token.functions.attestLot(lot_id, lot.vault, lot.quantity, lot.receipt_hash())])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"lot {lot.lot_id}: {lot.quantity} units in {lot.vault}", receipt.tx_hash)

    # --- minting ------------------------------------------------------------------------

    def plan_mints(self, requests: Sequence[MintRequest]) -> list[PlannedMint]:
        """Validate allocations against the file and the chain, before anything is sent: the assets exist and are
        active, the amounts read in each asset's unit and fit its decimals, no reference appears twice, and each
        reference is either unminted or minted with this very recipient and amount ("already minted")."""
        if not requests:
            raise SpecError("no allocations given")
        infos: dict[str, AssetInfo] = {}
        planned: list[PlannedMint] = []
        for r in requests:
            key = str(r.asset).strip().upper()
            if key not in infos:
                try:
                    infos[key] = self.asset(r.asset)
                except AssetNotFound as exc:
                    raise SpecError(f"{r.source}: {exc}") from None
            info = infos[key]
            try:
                amount = parse_amount(r.amount, decimals=info.decimals, unit=info.unit)
            except AmountError as exc:
                raise SpecError(f"{r.source}: {info.symbol} {exc}") from None
            planned.append(PlannedMint(info.asset_id, info.token, r.to, amount, allocation_ref(r.reference, r.to, amount),
                                       r.source, r.reference, False))
        _duplicates((((p.asset_id, p.reference or f"{p.to} {p.amount}"), p.source) for p in planned),
                    "allocation (asset, reference)")
        by_token = infos_by_token(infos)
        tokens = {t: self.stack.token(t, info.kind) for t, info in by_token.items()}
        stored = call_functions(self.session.chain, [tokens[p.token].functions.allocationOf(p.ref) for p in planned])
        out = []
        for p, digest in zip(planned, stored):
            if digest and any(digest):
                if bytes(digest) != allocation_digest(p.to, p.amount):
                    what = f"reference {p.reference!r}" if p.reference else f"an allocation of {p.amount} to {p.to}"
                    raise SpecError(f"{p.source}: {what} was already minted on {by_token[p.token].symbol} to another "
                                    "recipient or for another amount: give this allocation its own reference")
                p = dataclasses.replace(p, already_minted=True)
            out.append(p)
        for info in infos.values():
            todo = [p for p in out if p.asset_id == info.asset_id and not p.already_minted]
            if todo and info.status != "active":
                raise SpecError(f"{todo[0].source}: {info.symbol} is {info.status}: only an active asset mints")
            if todo and info.paused:
                raise SpecError(f"{todo[0].source}: {info.symbol} is paused: nothing can be minted")
            total = sum(p.amount for p in todo)
            room = info.max_supply - info.total_supply
            if total > room:
                word = "cap" if info.kind == "property" else "attested reserve"
                raise SpecError(f"{info.symbol}: these allocations mint {info.amount(total)}, but the {word} leaves "
                                f"room for {info.amount(room)}: nothing was sent")
        self._precheck_recipients([p for p in out if not p.already_minted], infos)
        return out

    def _precheck_recipients(self, todo: list[PlannedMint], infos: dict[str, AssetInfo]) -> None:
        """Ask each token whether it would mint each allocation (and each recipient's total), in one batch."""
        if not todo:
            return
        per_recipient: dict[tuple[str, str], int] = {}
        for p in todo:
            per_recipient[(p.token, p.to)] = per_recipient.get((p.token, p.to), 0) + p.amount
        keys = list(per_recipient)
        calls = [(t, DETECT_RESTRICTION + abi_encode(["address", "address", "uint256"], [ZERO, to, per_recipient[(t, to)]]))
                 for t, to in keys]
        by_token = infos_by_token(infos)
        for (token, to), raw in zip(keys, call_many(self.session.chain, calls)):
            code = abi_decode(["uint8"], raw)[0] if raw else 255
            if code:
                first = next(p for p in todo if p.token == token and p.to == to)
                raise TransferRejected(_rule(code), "mint", to, by_token[token].amount(per_recipient[(token, to)]),
                                       by_token[token].symbol, what=f"{first.source}: mint")

    def mint(self, request: MintRequest) -> Outcome:
        """Mint one allocation, once: a reference already minted (with this recipient and amount) is reported as
        already minted and nothing is sent."""
        (p,) = self.plan_mints([request])
        if p.already_minted:
            return Outcome("skipped", f"already minted (allocation {p.reference or p.ref.hex()[:16]}): nothing sent",
                           data={"minted": 0, "skipped": 1, "ref": "0x" + p.ref.hex()})
        tx = self._require_role("registrar", "minting")
        token = self.stack.token(p.token)
        sent = self._send(tx, "minting", [token.functions.mint(p.to, p.amount, p.ref)],
                          references={p.ref: p.reference} if p.reference else None)
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"minted {p.amount} to {p.to}", receipt.tx_hash,
                       {"minted": 1, "skipped": 0, "ref": "0x" + p.ref.hex()})

    def mint_many(
        self, requests: Sequence[MintRequest], chunk: int = 200, progress: Callable[[int], None] | None = None
    ) -> Outcome:
        """Mint allocations with ``batchMint``, one on-chain reference per allocation, so a re-run in any order, in
        other chunks or after a crash mints only what was not minted yet."""
        planned = self.plan_mints(requests)
        todo = [p for p in planned if not p.already_minted]
        calls = []
        for token in dict.fromkeys(p.token for p in todo):
            part = [p for p in todo if p.token == token]
            contract = self.stack.token(token)
            for i in range(0, len(part), chunk):
                c = part[i : i + chunk]
                calls.append(contract.functions.batchMint([p.to for p in c], [p.amount for p in c], [p.ref for p in c]))
        tx = self._require_role("registrar", "minting")
        if self._is_route(tx) and calls:  # one Safe transaction (MultiSend of the batchMint chunks)
            proposed = self._send(tx, f"minting {len(todo)} allocations", calls,
                                  references={p.ref: p.reference for p in todo if p.reference})
            assert isinstance(proposed, Outcome)
            proposed.data.update({"minted": 0, "skipped": len(planned) - len(todo), "proposed_allocations": len(todo)})
            return proposed
        receipts = tx.send_batch(calls, progress=progress) if calls else []  # type: ignore[union-attr]
        raced = self._count_events(receipts, "MintSkipped")  # minted by another process since the plan was made
        minted = len(todo) - raced
        skipped = len(planned) - minted
        return Outcome("done" if minted else "skipped", f"{minted} allocations minted, {skipped} already minted",
                       receipts[-1].tx_hash if receipts else None, {"minted": minted, "skipped": skipped})

    def _count_events(self, receipts: Sequence[Receipt], name: str) -> int:
        event = getattr(self.stack.property_impl.events, name)()
        return sum(len(event.process_receipt(r.raw, errors=DISCARD)) for r in receipts)

    # --- transfers ------------------------------------------------------------------------

    def check_transfer(self, asset: str | int, sender: str, to: str, amount: int) -> tuple[bool, str]:
        code = self.token(asset).functions.detectTransferRestriction(sender, to, amount).call()
        return code == 0, _rule(code)

    def _sender(self, signer: Signer) -> Transactor:
        if signer.address == self.tx.address:
            return self.tx
        if signer.address not in self._senders:
            self._senders[signer.address] = self.session.transactor(signer)
        return self._senders[signer.address]

    def _prepare_senders(self, signers: Iterable[Signer]) -> None:
        """Create the transactors of many signers and read all their nonces in one batch."""
        fresh = {s.address: s for s in signers if s.address != self.tx.address}
        stale = [s for a, s in fresh.items() if a not in self._senders or self._senders[a]._epoch != self.session.chain.epoch
                 or self._senders[a]._nonce is None]
        self.tx.fees()  # one fee reading (cached on the chain) serves every sender of the batch
        for signer, nonce in zip(stale, pending_nonces(self.session.chain, [s.address for s in stale])):
            self._senders.pop(signer.address, None)
            self._sender(signer).set_nonce(nonce)

    def transfer(self, asset: str | int, signer: Signer, to: str, amount: int | str) -> Receipt:
        """Transfer as ``signer``; asks ``detectTransferRestriction`` first and raises :class:`TransferRejected` naming the rule."""
        to = _address(to)
        info = self.asset(asset)
        value = self.amount(info, amount)
        token = self.stack.token(info.token, info.kind)
        code = token.functions.detectTransferRestriction(signer.address, to, value).call()
        if code:
            raise TransferRejected(_rule(code), signer.address, to, info.amount(value), info.symbol)
        return self._sender(signer).transact(token.functions.transfer(to, value))

    def transfer_many(
        self,
        transfers: Iterable[tuple[str | int, Signer, str, int]],
        check: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> list[Receipt]:
        """Many transfers, pipelined: pre-checked, signed locally (each sender's nonces in order), broadcast in
        JSON-RPC batches a window at a time, each window confirmed in batches before the next. A rejected pre-check
        raises before anything is sent."""
        items = [(asset, signer, _address(to), amount) for asset, signer, to, amount in transfers]
        tokens = {a: self.token(a) for a in {t[0] for t in items}}
        if check:  # checked against the current state: earlier transfers of the same batch are not applied yet
            calls = [(tokens[a].address, DETECT_RESTRICTION + abi_encode(["address", "address", "uint256"], [s.address, to, n]))
                     for a, s, to, n in items]
            for (asset, signer, to, amount), raw in zip(items, call_many(self.session.chain, calls)):
                code = abi_decode(["uint8"], raw)[0] if raw else 255
                if code:
                    raise TransferRejected(_rule(code), signer.address, to, amount, str(asset))
        self._prepare_senders(signer for _, signer, _, _ in items)

        def sign(item: tuple) -> SignedTx:
            asset, signer, to, amount = item
            data = TRANSFER + abi_encode(["address", "uint256"], [to, amount])
            return self._sender(signer).sign_data(tokens[asset].address, data, gas=TRANSFER_GAS)

        return pipeline(self.session.chain, items, sign, decoder_from=self.tx, progress=progress)

    def forced_transfer(self, asset: str | int, sender: str, to: str, amount: int | str, reason: str,
                        include_frozen: bool = False) -> Outcome:
        """A forced transfer (court order): within the recipient's rules; frozen units only with ``include_frozen``.
        Asked of the token first (``canForceTransfer``): a refusal names the rule and nothing is sent."""
        info = self.asset(asset)
        sender, to = _address(sender), _address(to)
        if sender == to:
            raise RegistrarError("a forced transfer needs two different wallets")
        value = self.amount(info, amount)
        token = self.stack.token(info.token, info.kind)
        ok, code = token.functions.canForceTransfer(sender, to, value, include_frozen).call()
        if not ok:
            hint = " (add --include-frozen to move frozen units)" if _rule(code) in ("SenderFrozen", "InsufficientUnlockedBalance") and not include_frozen else ""
            raise RegistrarError(str(TransferRejected(_rule(code), sender, to, info.amount(value), info.symbol,
                                                      what="forced transfer")) + hint)
        tx = self._require_role("registrar", "a forced transfer")
        sent = self._send(tx, "a forced transfer", [token.functions.forcedTransfer(sender, to, value, _b32(reason), include_frozen)])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        (log,) = token.events.ForcedTransferReason().process_receipt(receipt.raw, errors=DISCARD)
        frozen = log["args"]["frozenUnitsMoved"]
        return Outcome("done", f"forced transfer of {info.amount(value)} from {sender} to {to} ({reason})"
                       + (f", of which {info.amount(frozen)} frozen" if frozen else ""), receipt.tx_hash,
                       {"frozen_units_moved": frozen})

    def burn(self, asset: str | int, holder: str, amount: int | str, reason: str, include_frozen: bool = False) -> Outcome:
        info = self.asset(asset)
        holder = _address(holder)
        value = self.amount(info, amount)
        token = self.stack.token(info.token, info.kind)
        ok, code = token.functions.canForceTransfer(holder, ZERO, value, include_frozen).call()
        if not ok:
            raise TransferRejected(_rule(code), holder, "burn", info.amount(value), info.symbol, what="burn")
        sent = self._send(self._require_role("registrar", "burning"), "burning",
                          [token.functions.burn(holder, value, _b32(reason), include_frozen)])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"burned {info.amount(value)} of {holder} ({reason})", receipt.tx_hash)

    def freeze(self, asset: str | int, wallet: str, frozen: bool = True) -> Outcome:
        token = self.token(asset)
        sent = self._send(self._require_role("compliance", "freezing"), "freezing",
                          [token.functions.setAddressFrozen(_address(wallet), frozen)])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"{wallet} {'frozen' if frozen else 'unfrozen'}", receipt.tx_hash)

    def freeze_partial(self, asset: str | int, wallet: str, amount: int | str, freeze: bool = True) -> Outcome:
        info = self.asset(asset)
        value = self.amount(info, amount)
        token = self.stack.token(info.token, info.kind)
        fn = token.functions.freezePartialTokens if freeze else token.functions.unfreezePartialTokens
        sent = self._send(self._require_role("compliance", "freezing"), "freezing", [fn(_address(wallet), value)])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"{info.amount(value)} of {wallet} {'frozen' if freeze else 'unfrozen'}", receipt.tx_hash)

    def pause(self, asset: str | int, paused: bool = True) -> Outcome:
        token = self.token(asset)
        # the pause guardian's key pauses at once, even where the compliance role is a Safe's: the one emergency act
        # of a single hand (it moves nothing); unpausing is the compliance officer's (the Safe's threshold). Built
        # via Safes, the registrar proposes (the compliance Safe pauses or unpauses)
        tx = (self._role_tx("guardian", keys_only=True) if paused and not self.via else None) or self._require_role(
            "compliance", "pausing" if paused else "unpausing")
        sent = self._send(tx, "pausing" if paused else "unpausing", [token.functions.pause() if paused else token.functions.unpause()])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", "paused" if paused else "unpaused", receipt.tx_hash)

    def create_lien(self, asset: str | int, holder: str, beneficiary: str, amount: int | str, reason: str,
                    document: DocumentSpec | None = None) -> Outcome:
        info = self.asset(asset)
        value = self.amount(info, amount)
        token = self.stack.token(info.token, info.kind)
        doc_hash = document.sha256() if document else b"\0" * 32
        sent = self._send(self._require_role("registrar", "creating a lien"), "creating a lien",
                          [token.functions.createLien(_address(holder), _address(beneficiary), value, _b32(reason), doc_hash)])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        (log,) = token.events.LienCreated().process_receipt(receipt.raw, errors=DISCARD)
        return Outcome("done", f"lien #{log['args']['lienId']} of {info.amount(value)} on {holder}", receipt.tx_hash,
                       {"lien_id": log["args"]["lienId"]})

    def release_lien(self, asset: str | int, lien_id: int, signer: Signer | None = None) -> Outcome:
        token = self.token(asset)
        sender = self._sender(signer) if signer else self.tx
        receipt = sender.transact(token.functions.releaseLien(lien_id))
        return Outcome("done", f"lien #{lien_id} released", receipt.tx_hash)

    def change_lien_beneficiary(self, asset: str | int, lien_id: int, beneficiary: str,
                                signer: Signer | None = None) -> Outcome:
        token = self.token(asset)
        sender = self._sender(signer) if signer else self.tx
        receipt = sender.transact(token.functions.changeLienBeneficiary(lien_id, _address(beneficiary)))
        return Outcome("done", f"lien #{lien_id} now has beneficiary {beneficiary}", receipt.tx_hash)

    # --- redemptions ------------------------------------------------------------------------

    def request_redemption(self, asset: str | int, signer: Signer, amount: int | str, delivery_ref: str) -> int:
        info = self.asset(asset)
        value = self.amount(info, amount)
        token = self.stack.token(info.token, info.kind)
        code = token.functions.detectTransferRestriction(signer.address, ZERO, value).call()
        if code:
            raise TransferRejected(_rule(code), signer.address, "redemption", info.amount(value), info.symbol,
                                   what="redemption request")
        receipt = self._sender(signer).transact(token.functions.requestRedemption(value, _b32(delivery_ref)))
        (log,) = token.events.RedemptionRequested().process_receipt(receipt.raw, errors=DISCARD)
        return int(log["args"]["requestId"])

    def fulfil_redemption(self, asset: str | int, request_id: int, lot_ids: str | Sequence[str]) -> Outcome:
        """Deliver a redemption from one or more lots, drawn in the order given."""
        lots = [lot_ids] if isinstance(lot_ids, str) else list(lot_ids)
        if not lots:
            raise RegistrarError("give at least one lot to deliver from")
        token = self.token(asset)
        holder, status, amount, _ = token.functions.redemption(request_id).call()
        if status != 1:
            raise RegistrarError(f"redemption #{request_id} is not pending")
        available = sum(token.functions.lot(_b32(lot)).call()[0] for lot in lots)
        if available < amount:
            raise RegistrarError(f"redemption #{request_id} asks {amount} units; the lots {', '.join(lots)} hold "
                                 f"{available}: add lots")
        sent = self._send(self._require_role("custodian", "delivering a redemption"), f"delivering redemption #{request_id}",
                          [token.functions.fulfilRedemption(request_id, [_b32(lot) for lot in lots])])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"redemption #{request_id} fulfilled from {', '.join(lots)}", receipt.tx_hash)

    def reject_redemption(self, asset: str | int, request_id: int, reason: str) -> Outcome:
        token = self.token(asset)
        sent = self._send(self._require_role("custodian", "rejecting a redemption"), f"rejecting redemption #{request_id}",
                          [token.functions.rejectRedemption(request_id, _b32(reason))])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"redemption #{request_id} rejected ({reason})", receipt.tx_hash)

    # --- distributions ------------------------------------------------------------------------

    def balances_at(self, asset: str | int, block: int) -> dict[str, int]:
        """Every holder's balance at ``block``, from the token's Transfer logs (the chain's cap table)."""
        token = self.token(asset)
        logs = token.events.Transfer().get_logs(from_block=0, to_block=block)
        balances: dict[str, int] = {}
        for log in logs:
            a = log["args"]
            balances[a["from"]] = balances.get(a["from"], 0) - a["value"]
            balances[a["to"]] = balances.get(a["to"], 0) + a["value"]
        balances.pop(ZERO, None)
        return {h: b for h, b in balances.items() if b > 0}

    def plan_distribution(self, asset: str | int, total: int, record_block: int | None = None,
                          balances: dict[str, int] | None = None, ledger: Any = None) -> DistributionPlan:
        """Entitlements pro rata to the cap table at ``record_block`` and their Merkle tree.

        The cap table comes from ``balances`` if given, else from ``ledger`` (an :class:`rwaledger.ledger.Ledger`,
        synced here first), else from the token's Transfer logs up to the record block.
        """
        asset_id = self.asset_id(asset)
        record_block = self.w3.eth.block_number if record_block is None else record_block
        if balances is None and ledger is not None:
            ledger.sync(self.stack)
            balances = {row.holder: row.amount for row in ledger.cap_table(asset_id, block=record_block)}
        balances = balances if balances is not None else self.balances_at(asset_id, record_block)
        shares = pro_rata(balances, total)
        entries = [(i, holder, amount) for i, (holder, amount) in enumerate(sorted(shares.items()))]
        tree = MerkleTree.build(LEAF_TYPES, entries)
        return DistributionPlan(asset_id, self.token(asset_id).address, record_block, total, entries, tree)

    def distribute(self, asset: str | int, payment_token: str, total: int, expiry: dt.datetime,
                   record_block: int | None = None, balances: dict[str, int] | None = None,
                   ledger: Any = None) -> Outcome:
        """Compute entitlements, fund the distribution (approve + create) and publish the root and proofs."""
        plan = self.plan_distribution(asset, total, record_block, balances, ledger)
        pay = self.w3.eth.contract(address=_address(payment_token), abi=self.session.build["IERC20"].abi)
        dist = self.stack.distributions
        tx = self._require_role("registrar", "funding a distribution")
        allowance = pay.functions.allowance(tx.address, dist.address).call()
        calls = [pay.functions.approve(dist.address, total)] if allowance < total else []
        calls.append(dist.functions.createDistribution(plan.token, pay.address, total, plan.root, plan.record_block,
                                                       _ts(expiry)))
        if self._is_route(tx):  # the id is known once it runs: the proofs are kept by their Merkle root until then
            self._plans_by_root[plan.root] = plan
            if self.distributions_dir is not None:
                self.distributions_dir.mkdir(parents=True, exist_ok=True)
                (self.distributions_dir / f"root-{plan.root.hex()}.json").write_text(
                    json.dumps(plan.to_json(None, pay.address), indent=1))
            proposed = self._send(tx, f"funding a distribution to {len(plan.entries)} holders", calls)
            assert isinstance(proposed, Outcome)
            proposed.data.update({"root": "0x" + plan.root.hex(), "holders": len(plan.entries)})
            return proposed
        receipt = [tx.transact(c) for c in calls][-1]  # in turn: the creation is estimated after the approval
        (log,) = dist.events.DistributionCreated().process_receipt(receipt.raw, errors=DISCARD)
        dist_id = int(log["args"]["distributionId"])
        self._plans[dist_id] = plan
        path = None
        if self.distributions_dir is not None:
            self.distributions_dir.mkdir(parents=True, exist_ok=True)
            path = self.distributions_dir / f"{dist_id}.json"
            path.write_text(json.dumps(plan.to_json(dist_id, pay.address), indent=1))
        return Outcome("done", f"distribution #{dist_id}: {total} to {len(plan.entries)} holders, root "
                       f"0x{plan.root.hex()[:16]}...", receipt.tx_hash,
                       {"distribution_id": dist_id, "holders": len(plan.entries), "proofs_file": str(path) if path else None})

    def plan(self, distribution_id: int) -> DistributionPlan:
        """The entitlements and proofs of a distribution: made here, or published in ``distributions/<id>.json``,
        or (a distribution proposed to a Safe, whose id was not known yet) by its on-chain Merkle root."""
        if distribution_id in self._plans:
            return self._plans[distribution_id]
        path = self.distributions_dir / f"{distribution_id}.json" if self.distributions_dir else None
        if path is None or not path.exists():
            root = bytes(self.stack.distributions.functions.distribution(distribution_id).call()[3])
            if root in self._plans_by_root:
                self._plans[distribution_id] = self._plans_by_root[root]
                return self._plans[distribution_id]
            path = self.distributions_dir / f"root-{root.hex()}.json" if self.distributions_dir else None
            if path is None or not path.exists():
                raise RegistrarError(f"no proofs known for distribution #{distribution_id}")
        data = json.loads(path.read_text())
        entries = [(c["index"], c["account"], int(c["amount"])) for c in data["claims"]]
        plan = DistributionPlan(data["assetId"], data["token"], data["recordBlock"], int(data["total"]), entries,
                                MerkleTree.build(LEAF_TYPES, entries))
        self._plans[distribution_id] = plan
        return plan

    def claim(self, distribution_id: int, account: str, signer: Signer | None = None) -> Outcome:
        """Claim ``account``'s entitlement (anyone may submit it): paid to ``account``, or to its successor after a
        recovery, while that wallet may be paid (verified, not frozen) and the entitlement is not withheld."""
        plan = self.plan(distribution_id)
        account = _address(account)
        index, amount, proof = plan.proof(account)
        token = self.stack.token(plan.token)
        payee = token.functions.successorOf(account).call()
        dist = self.stack.distributions.functions
        claimed, withheld, allowed = call_functions(self.session.chain, [
            dist.isClaimed(distribution_id, index), dist.isWithheld(distribution_id, index),
            token.functions.canTransact(payee)])
        if claimed:
            return Outcome("skipped", f"{account} already claimed distribution #{distribution_id}")
        if withheld:
            raise RegistrarError(f"the registrar withholds {account}'s entitlement in distribution #{distribution_id}")
        if not allowed:
            raise RegistrarError(f"{payee} cannot be paid now (its wallet is frozen or not verified): the claim of "
                                 f"{account} waits until it can")
        sender = self._sender(signer) if signer else self.tx
        receipt = sender.transact(dist.claim(distribution_id, index, account, amount, proof))
        paid = f" (paid to its successor {payee})" if payee != account else ""
        return Outcome("done", f"{account} claimed {amount}{paid}", receipt.tx_hash, {"amount": amount, "payee": payee})

    def withhold(self, distribution_id: int, accounts: Sequence[str], withheld: bool = True) -> Outcome:
        """Withhold (or release) the entitlements of ``accounts`` in a distribution."""
        plan = self.plan(distribution_id)
        indexes = [plan.proof(_address(a))[0] for a in accounts]
        sent = self._send(self._require_role("registrar", "withholding"), "withholding",
                          [self.stack.distributions.functions.setWithheld(distribution_id, indexes, withheld)])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"{len(indexes)} entitlements {'withheld' if withheld else 'released'}", receipt.tx_hash)

    def reclaim_expired(self, distribution_id: int) -> Outcome:
        sent = self._send(self._require_role("registrar", "reclaiming"), "reclaiming",
                          [self.stack.distributions.functions.reclaimExpired(distribution_id)])
        if isinstance(sent, Outcome):
            return sent
        (receipt,) = sent
        return Outcome("done", f"unclaimed funds of distribution #{distribution_id} returned", receipt.tx_hash)


def infos_by_token(infos: dict[str, AssetInfo]) -> dict[str, AssetInfo]:
    return {i.token: i for i in infos.values()}


def _category_name(code: int) -> str:
    return {1: "retail", 2: "accredited", 3: "institutional"}.get(code, str(code))


def _address(value: str) -> str:
    from .models import _checksum_address

    try:
        return _checksum_address(value)
    except ValueError as exc:
        raise RegistrarError(str(exc)) from None
