"""The registrar service: what a registrar does, over the deployed stack.

Register an asset and create its token, onboard investors, attest custody lots,
mint (idempotently), transfer (checked with ``canTransfer`` first), force
transfers, freeze, recover wallets, handle redemptions, and run distributions
(entitlements from the cap table at a record block, a Merkle tree, funding,
proofs, claims). Batch work is signed locally and pipelined.

Every method validates its input with the models of :mod:`rwaledger.models`
and raises typed errors (:class:`TransferRejected`, :class:`AssetNotFound`,
decoded :class:`~rwaledger.errors.ContractRevert`) before anything is sent
when it can tell.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from .errors import RwaError
from .merkle import MerkleTree
from .models import (
    AssetSpec,
    CommoditySpec,
    DocumentSpec,
    InvestorSpec,
    LotSpec,
    MintRequest,
    PropertySpec,
    TransferRules,
    country_alpha2,
    country_numeric,
    parse,
)
from .signers import Signer
from .stack import Stack
from .transactions import Receipt, SignedTx, Transactor, call_many, pending_nonces, pipeline

# Mirrors CompliantToken.Reason (append-only on chain).
REASONS = (
    "Ok",
    "Paused",
    "SenderNotVerified",
    "RecipientNotVerified",
    "SenderFrozen",
    "RecipientFrozen",
    "LockedUp",
    "CountryNotAllowed",
    "InsufficientBalance",
    "InsufficientUnlockedBalance",
    "MaxBalanceExceeded",
    "MaxHoldersExceeded",
    "CapExceeded",
    "ReserveExceeded",
    "Disabled",
)
REASON_TEXT = {
    "Paused": "the token is paused",
    "SenderNotVerified": "the sender has no valid KYC identity (unregistered or expired)",
    "RecipientNotVerified": "the recipient has no valid KYC identity (unregistered or expired)",
    "SenderFrozen": "the sender's wallet is frozen",
    "RecipientFrozen": "the recipient's wallet is frozen",
    "LockedUp": "the token is still in its lock-up period",
    "CountryNotAllowed": "the recipient's country is not allowed for this token",
    "InsufficientBalance": "the sender does not hold that many units",
    "InsufficientUnlockedBalance": "part of the sender's balance is frozen, under a lien or locked for redemption",
    "MaxBalanceExceeded": "the recipient would exceed the maximum balance per investor",
    "MaxHoldersExceeded": "a new holder would exceed the token's maximum number of holders",
    "CapExceeded": "the mint would exceed the asset's fixed number of shares",
    "ReserveExceeded": "the mint would exceed the attested custody reserve",
    "Disabled": "this address is the shared implementation, not a token",
}
KINDS = ("property", "commodity")
STATUSES = ("registered", "active", "suspended", "retired")
CAN_TRANSFER = keccak(text="canTransfer(address,address,uint256)")[:4]
IDENTITY = keccak(text="identity(address)")[:4]
TRANSFER = keccak(text="transfer(address,uint256)")[:4]
TRANSFER_GAS = 150_000  # generous upper bound for one compliant transfer (measured ~55k)


class RegistrarError(RwaError):
    """A registrar operation was refused before anything was sent."""


class AssetNotFound(RegistrarError):
    """No asset matches the given id, symbol or token address."""


class TransferRejected(RegistrarError):
    """``canTransfer`` says a transfer would fail; ``rule`` names the rule."""

    def __init__(self, rule: str, sender: str, to: str, amount: int, symbol: str):
        self.rule = rule
        self.code = REASONS.index(rule) if rule in REASONS else -1
        super().__init__(
            f"transfer of {amount} {symbol} from {sender} to {to} rejected by rule {rule}: "
            f"{REASON_TEXT.get(rule, rule)}"
        )


def _b32(text: str) -> bytes:
    """A short text as bytes32 (right-padded) when it fits, else its keccak256."""
    raw = text.encode()
    return raw.ljust(32, b"\0") if len(raw) <= 32 else keccak(raw)


def _text_of_b32(value: bytes) -> str:
    stripped = value.rstrip(b"\0")
    try:
        return stripped.decode() if stripped and all(32 <= c < 127 for c in stripped) else "0x" + value.hex()
    except UnicodeDecodeError:
        return "0x" + value.hex()


def _ts(value: dt.date | dt.datetime) -> int:
    if isinstance(value, dt.datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).timestamp())
    return int(dt.datetime.combine(value, dt.time(), dt.timezone.utc).timestamp())


@dataclass
class AssetInfo:
    asset_id: int
    kind: str
    status: str
    symbol: str
    name: str
    token: str
    jurisdiction: str
    legal_reference: str
    metadata_uri: str
    decimals: int
    total_supply: int
    max_supply: int  # the share cap, or the attested reserve of a commodity
    valuation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Outcome:
    """What an idempotent operation did: ``done`` (sent now) or ``skipped`` (already so), and why."""

    status: str
    detail: str
    tx_hash: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


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


class Registrar:
    """Registrar operations on one stack, signed by the session's signer."""

    def __init__(self, stack: Stack, distributions_dir: Path | None = None):
        self.stack = stack
        self.session = stack.session
        self.tx: Transactor = stack.session.tx
        self.w3 = stack.w3
        store_dir = self.session.deployer.store.dir
        self.distributions_dir = distributions_dir or (store_dir / "distributions" if store_dir else None)
        self._plans: dict[int, DistributionPlan] = {}
        self._senders: dict[str, Transactor] = {}
        self._symbols: dict[str, int] = {}

    # --- assets ---------------------------------------------------------------------

    def _asset_record(self, asset_id: int) -> tuple:
        count = self.stack.registry.functions.assetCount().call()
        if not 1 <= asset_id <= count:
            raise AssetNotFound(f"no asset with id {asset_id} (there are {count})")
        return self.stack.registry.functions.asset(asset_id).call()

    def asset_id(self, ref: str | int) -> int:
        """Resolve an asset id, ``#id``, a token address or a symbol."""
        text = str(ref).strip()
        if text.lstrip("#").isdigit():
            asset_id = int(text.lstrip("#"))
            self._asset_record(asset_id)
            return asset_id
        if Web3.is_address(text):
            token = self.w3.eth.contract(address=Web3.to_checksum_address(text), abi=self.stack.property_impl.abi)
            try:
                asset_id = token.functions.assetId().call()
                if self.stack.registry.functions.tokenOf(asset_id).call() == token.address:
                    return asset_id
            except Exception:
                pass
            raise AssetNotFound(f"{text} is not a token of this registry")
        symbol = text.upper()
        if symbol not in self._symbols:
            self._symbols = {self.token(i).functions.symbol().call(): i for i in range(1, self._count() + 1)}
        if symbol not in self._symbols:
            raise AssetNotFound(f"no asset with symbol {symbol!r}")
        return self._symbols[symbol]

    def _count(self) -> int:
        return self.stack.registry.functions.assetCount().call()

    def token(self, ref: str | int) -> Contract:
        asset_id = int(ref) if isinstance(ref, int) else self.asset_id(ref)
        rec = self._asset_record(asset_id)
        return self.stack.token(rec[0], KINDS[rec[1]])

    def asset(self, ref: str | int) -> AssetInfo:
        asset_id = self.asset_id(ref)
        rec = self._asset_record(asset_id)
        token = self.stack.token(rec[0], KINDS[rec[1]])
        f = token.functions
        kind = KINDS[rec[1]]
        return AssetInfo(
            asset_id=asset_id,
            kind=kind,
            status=STATUSES[rec[2]],
            symbol=f.symbol().call(),
            name=f.name().call(),
            token=token.address,
            jurisdiction=rec[3].decode(),
            legal_reference=rec[7],
            metadata_uri=rec[8],
            decimals=f.decimals().call(),
            total_supply=f.totalSupply().call(),
            max_supply=f.cap().call() if kind == "property" else f.attestedReserve().call(),
            valuation={
                "amount_minor": rec[6],
                "currency": rec[4].decode() if rec[4] != b"\0\0\0" else "",
                "date": dt.datetime.fromtimestamp(rec[5], dt.timezone.utc).date().isoformat() if rec[5] else None,
            },
        )

    def assets(self) -> list[AssetInfo]:
        return [self.asset(i) for i in range(1, self._count() + 1)]

    def register_asset(self, spec: PropertySpec | CommoditySpec) -> Outcome:
        """Register an asset and create its token in one transaction, then apply its rules, documents and lots.

        Idempotent: a spec whose (jurisdiction, legal reference) is already registered is not registered again;
        its missing documents, rules and lots are still applied.
        """
        spec = parse(AssetSpec, spec if isinstance(spec, dict) else spec.model_dump(), "asset spec")
        registry = self.stack.registry
        jurisdiction = spec.jurisdiction.encode()
        existing = registry.functions.assetIdOf(jurisdiction, spec.legal_reference).call()
        if existing:
            asset_id, status, tx_hash = existing, "skipped", None
            detail = f"{spec.legal_reference} ({spec.jurisdiction}) is already registered as asset #{existing}"
        else:
            params = (
                jurisdiction,
                spec.legal_reference,
                spec.metadata_uri,
                spec.valuation.minor_units(),
                spec.valuation.currency.encode(),
                _ts(spec.valuation.date),
            )
            if isinstance(spec, PropertySpec):
                fn = self.stack.factory.functions.createPropertyToken(
                    params, (spec.name, spec.symbol, spec.decimals, spec.total_shares)
                )
                event = self.stack.factory.events.PropertyTokenCreated()
            else:
                fn = self.stack.factory.functions.createCommodityToken(
                    params, (spec.name, spec.symbol, spec.decimals, spec.unit)
                )
                event = self.stack.factory.events.CommodityTokenCreated()
            receipt = self.tx.transact(fn)
            (log,) = event.process_receipt(receipt.raw, errors=DISCARD)
            asset_id, status, tx_hash = log["args"]["assetId"], "done", receipt.tx_hash
            detail = f"registered {spec.symbol} as asset #{asset_id}, token {log['args']['token']}"
            self._symbols[spec.symbol] = asset_id
        extras = [self.set_rules(asset_id, spec.rules)]
        extras += [self.add_document(asset_id, doc) for doc in spec.documents]
        if isinstance(spec, CommoditySpec):
            extras += [self.attest_lot(asset_id, lot) for lot in spec.lots]
        token = self.token(asset_id)
        return Outcome(status, detail, tx_hash, {"asset_id": asset_id, "token": token.address,
                                                  "steps": [e.detail for e in extras if e.status == "done"]})

    def set_rules(self, asset: str | int, rules: TransferRules) -> Outcome:
        """Apply transfer rules; only what differs from the chain is sent."""
        token = self.token(asset)
        f = token.functions
        mode, lockup, max_holders, max_balance = f.rules().call()
        sent = []
        wanted_mode, countries = 0, []
        if rules.allowed_countries:
            wanted_mode, countries = 1, rules.allowed_countries
        elif rules.blocked_countries:
            wanted_mode, countries = 2, rules.blocked_countries
        codes = [country_numeric(c) for c in countries]
        missing = [c for c in codes if not f.isCountryListed(c).call()]
        if missing:
            sent.append(self.tx.transact(f.setCountriesListed(missing, True)))
        if wanted_mode != mode:
            sent.append(self.tx.transact(f.setCountryRestriction(wanted_mode)))
        if (rules.max_holders or 0) != max_holders:
            sent.append(self.tx.transact(f.setMaxHolders(rules.max_holders or 0)))
        if (rules.max_balance or 0) != max_balance:
            sent.append(self.tx.transact(f.setMaxBalance(rules.max_balance or 0)))
        wanted_lockup = _ts(rules.lockup_until) if rules.lockup_until else 0
        if wanted_lockup != lockup:
            sent.append(self.tx.transact(f.setLockupUntil(wanted_lockup)))
        return Outcome("done" if sent else "skipped", f"{len(sent)} rule changes" if sent else "rules unchanged")

    def add_document(self, asset: str | int, doc: DocumentSpec, supersede: bool = True) -> Outcome:
        """Record a document version (the service hashes the file). A new hash supersedes the current version."""
        asset_id = self.asset_id(asset)
        digest = doc.sha256()
        registry = self.stack.registry.functions
        current = registry.currentDocument(asset_id, doc.name).call()
        if current:
            existing = registry.document(current).call()
            if bytes(existing[4]) == digest:
                return Outcome("skipped", f"document {doc.name!r} unchanged (#{current})")
            if not supersede:
                raise RegistrarError(f"asset #{asset_id} already has a current {doc.name!r}; supersede it")
        receipt = self.tx.transact(
            registry.addDocument(asset_id, doc.name, doc.uri, digest, _ts(doc.effective_date), current)
        )
        verb = f"superseding #{current}" if current else "first version"
        return Outcome("done", f"document {doc.name!r} recorded ({verb})", receipt.tx_hash)

    def set_status(self, asset: str | int, status: str) -> Outcome:
        asset_id = self.asset_id(asset)
        if status not in STATUSES:
            raise RegistrarError(f"status must be one of {', '.join(STATUSES)}")
        receipt = self.tx.transact(self.stack.registry.functions.setStatus(asset_id, STATUSES.index(status)))
        return Outcome("done", f"asset #{asset_id} is now {status}", receipt.tx_hash)

    # --- investors ------------------------------------------------------------------

    def investor(self, wallet: str) -> dict[str, Any] | None:
        country, expiry, category, exists = self.stack.identity.functions.identity(Web3.to_checksum_address(wallet)).call()
        if not exists:
            return None
        return {"wallet": Web3.to_checksum_address(wallet), "country": country_alpha2(country), "country_code": country,
                "kyc_expiry": dt.datetime.fromtimestamp(expiry, dt.timezone.utc).date().isoformat(), "category": category,
                "verified": self.stack.identity.functions.isVerified(wallet).call()}

    def add_investor(self, spec: InvestorSpec) -> Outcome:
        return self.add_investors([spec])

    def add_investors(
        self, specs: Sequence[InvestorSpec], chunk: int = 200, progress: Callable[[int], None] | None = None
    ) -> Outcome:
        """Register identities in batches; wallets already registered get only their changed fields updated."""
        ident = self.stack.identity.functions
        new: list[InvestorSpec] = []
        updates = []
        address = self.stack.identity.address
        known = call_many(self.session.chain, [(address, IDENTITY + abi_encode(["address"], [s.wallet])) for s in specs])
        for s, raw in zip(specs, known):
            country, expiry, category, exists = abi_decode(["uint16", "uint64", "uint8", "bool"], raw)
            if not exists:
                new.append(s)
                continue
            if country != country_numeric(s.country):
                updates.append(ident.updateCountry(s.wallet, country_numeric(s.country)))
            if expiry != s.kyc_expiry_timestamp():
                updates.append(ident.updateKycExpiry(s.wallet, s.kyc_expiry_timestamp()))
            if category != int(s.category):
                updates.append(ident.updateCategory(s.wallet, int(s.category)))
        calls = []
        for i in range(0, len(new), chunk):
            part = new[i : i + chunk]
            calls.append(ident.batchRegisterIdentity(
                [s.wallet for s in part],
                [country_numeric(s.country) for s in part],
                [s.kyc_expiry_timestamp() for s in part],
                [int(s.category) for s in part],
            ))
        receipts = self.tx.send_batch(calls + updates, progress=progress) if calls or updates else []
        skipped = len(specs) - len(new)
        return Outcome(
            "done" if receipts else "skipped",
            f"{len(new)} registered, {len(updates)} field updates, {skipped - 0} already registered",
            receipts[-1].tx_hash if receipts else None,
            {"registered": len(new), "updates": len(updates), "transactions": len(receipts)},
        )

    # --- lots -------------------------------------------------------------------------

    def attest_lot(self, asset: str | int, lot: LotSpec) -> Outcome:
        token = self.token(asset)
        if not hasattr(token.functions, "attestLot"):
            raise RegistrarError("lots belong to commodity tokens")
        lot_id = _b32(lot.lot_id)
        quantity, attested_at, status, receipt_hash, vault = token.functions.lot(lot_id).call()
        if attested_at:  # lot ids are never reused, even once retired
            return Outcome("skipped", f"lot {lot.lot_id} already attested")
        receipt_hash = (
            bytes.fromhex(lot.receipt_sha256.removeprefix("0x"))
            if lot.receipt_sha256
            else DocumentSpec(name="receipt", file=lot.receipt_file, uri="-", effective_date=dt.date.today()).sha256()
        )
        receipt = self.tx.transact(token.functions.attestLot(lot_id, lot.vault, lot.quantity, receipt_hash))
        return Outcome("done", f"lot {lot.lot_id}: {lot.quantity} units in {lot.vault}", receipt.tx_hash)

    # --- minting ------------------------------------------------------------------------

    def mint(self, request: MintRequest) -> Outcome:
        """Mint once per request: the idempotency reference is derived from the request."""
        token = self.token(request.asset)
        ref = request.idempotency_ref()
        if token.functions.isReferenceUsed(ref).call():
            return Outcome("skipped", f"already minted (reference 0x{ref.hex()[:16]}...): nothing sent")
        ok, code = token.functions.canTransfer(
            "0x0000000000000000000000000000000000000000", request.to, request.amount
        ).call()
        if not ok:
            raise TransferRejected(REASONS[code], "mint", request.to, request.amount, token.functions.symbol().call())
        receipt = self.tx.transact(token.functions.mint(request.to, request.amount, ref))
        return Outcome("done", f"minted {request.amount} to {request.to}", receipt.tx_hash, {"ref": "0x" + ref.hex()})

    def mint_many(
        self, requests: Sequence[MintRequest], chunk: int = 200, progress: Callable[[int], None] | None = None
    ) -> Outcome:
        """Mint allocations with ``batchMint``, one idempotency reference per chunk (derived from its contents)."""
        by_asset: dict[int, list[MintRequest]] = {}
        for r in requests:
            by_asset.setdefault(self.asset_id(r.asset), []).append(r)
        calls, skipped = [], 0
        for asset_id, reqs in by_asset.items():
            token = self.token(asset_id)
            for i in range(0, len(reqs), chunk):
                part = reqs[i : i + chunk]
                ref = keccak(b"".join(r.idempotency_ref() for r in part))
                if token.functions.isReferenceUsed(ref).call():
                    skipped += len(part)
                    continue
                calls.append(token.functions.batchMint([r.to for r in part], [r.amount for r in part], ref))
        receipts = self.tx.send_batch(calls, progress=progress) if calls else []
        minted = len(requests) - skipped
        return Outcome("done" if receipts else "skipped", f"{minted} allocations minted, {skipped} already minted",
                       receipts[-1].tx_hash if receipts else None, {"minted": minted, "skipped": skipped})

    # --- transfers ------------------------------------------------------------------------

    def check_transfer(self, asset: str | int, sender: str, to: str, amount: int) -> tuple[bool, str]:
        ok, code = self.token(asset).functions.canTransfer(sender, to, amount).call()
        return ok, REASONS[code] if code < len(REASONS) else f"Reason{code}"

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

    def transfer(self, asset: str | int, signer: Signer, to: str, amount: int) -> Receipt:
        """Transfer as ``signer``; asks ``canTransfer`` first and raises :class:`TransferRejected` naming the rule."""
        to = _address(to)
        if amount <= 0:
            raise RegistrarError("amount must be positive")
        token = self.token(asset)
        ok, code = token.functions.canTransfer(signer.address, to, amount).call()
        if not ok:
            raise TransferRejected(REASONS[code], signer.address, to, amount, token.functions.symbol().call())
        return self._sender(signer).transact(token.functions.transfer(to, amount))

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
            calls = [(tokens[a].address, CAN_TRANSFER + abi_encode(["address", "address", "uint256"], [s.address, to, n]))
                     for a, s, to, n in items]
            for (asset, signer, to, amount), raw in zip(items, call_many(self.session.chain, calls)):
                ok, code = abi_decode(["bool", "uint8"], raw) if raw else (False, len(REASONS))
                if not ok:
                    rule = REASONS[code] if code < len(REASONS) else "CallFailed"
                    raise TransferRejected(rule, signer.address, to, amount, str(asset))
        self._prepare_senders(signer for _, signer, _, _ in items)
        def sign(item: tuple) -> SignedTx:
            asset, signer, to, amount = item
            data = TRANSFER + abi_encode(["address", "uint256"], [to, amount])
            return self._sender(signer).sign_data(tokens[asset].address, data, gas=TRANSFER_GAS)

        return pipeline(self.session.chain, items, sign, decoder_from=self.tx, progress=progress)

    def forced_transfer(self, asset: str | int, sender: str, to: str, amount: int, reason: str) -> Outcome:
        token = self.token(asset)
        receipt = self.tx.transact(token.functions.forcedTransfer(_address(sender), _address(to), amount, _b32(reason)))
        return Outcome("done", f"forced transfer of {amount} from {sender} to {to} ({reason})", receipt.tx_hash)

    def freeze(self, asset: str | int, wallet: str, frozen: bool = True) -> Outcome:
        token = self.token(asset)
        receipt = self.tx.transact(token.functions.setAddressFrozen(_address(wallet), frozen))
        return Outcome("done", f"{wallet} {'frozen' if frozen else 'unfrozen'}", receipt.tx_hash)

    def freeze_partial(self, asset: str | int, wallet: str, amount: int, freeze: bool = True) -> Outcome:
        token = self.token(asset)
        fn = token.functions.freezePartialTokens if freeze else token.functions.unfreezePartialTokens
        receipt = self.tx.transact(fn(_address(wallet), amount))
        return Outcome("done", f"{amount} units of {wallet} {'frozen' if freeze else 'unfrozen'}", receipt.tx_hash)

    def pause(self, asset: str | int, paused: bool = True) -> Outcome:
        token = self.token(asset)
        receipt = self.tx.transact(token.functions.pause() if paused else token.functions.unpause())
        return Outcome("done", "paused" if paused else "unpaused", receipt.tx_hash)

    def create_lien(self, asset: str | int, holder: str, beneficiary: str, amount: int, reason: str,
                    document: DocumentSpec | None = None) -> Outcome:
        token = self.token(asset)
        doc_hash = document.sha256() if document else b"\0" * 32
        receipt = self.tx.transact(
            token.functions.createLien(_address(holder), _address(beneficiary), amount, _b32(reason), doc_hash)
        )
        (log,) = token.events.LienCreated().process_receipt(receipt.raw, errors=DISCARD)
        return Outcome("done", f"lien #{log['args']['lienId']} of {amount} on {holder}", receipt.tx_hash,
                       {"lien_id": log["args"]["lienId"]})

    def release_lien(self, asset: str | int, lien_id: int, signer: Signer | None = None) -> Outcome:
        token = self.token(asset)
        sender = self._sender(signer) if signer else self.tx
        receipt = sender.transact(token.functions.releaseLien(lien_id))
        return Outcome("done", f"lien #{lien_id} released", receipt.tx_hash)

    def recover_wallet(self, lost: str, new: str) -> Outcome:
        """Move a verified investor's identity and every token balance from a lost wallet to a new one."""
        lost, new = _address(lost), _address(new)
        steps = []
        if self.stack.identity.functions.identity(lost).call()[3]:
            self.tx.transact(self.stack.identity.functions.recoverIdentity(lost, new))
            steps.append("identity")
        elif not self.stack.identity.functions.identity(new).call()[3]:
            raise RegistrarError(f"{lost} has no identity to recover and {new} is not registered")
        for i in range(1, self._count() + 1):
            token = self.token(i)
            f = token.functions
            if f.balanceOf(lost).call() or f.encumberedBalanceOf(lost).call() or f.isFrozen(lost).call():
                self.tx.transact(f.recoveryAddress(lost, new))
                steps.append(f.symbol().call())
        return Outcome("done", f"recovered {lost} -> {new}: {', '.join(steps) or 'nothing held'}", data={"moved": steps})

    # --- redemptions ------------------------------------------------------------------------

    def request_redemption(self, asset: str | int, signer: Signer, amount: int, delivery_ref: str) -> int:
        token = self.token(asset)
        ok, code = token.functions.canTransfer(signer.address, "0x" + "00" * 20, amount).call()
        if not ok:
            raise TransferRejected(REASONS[code], signer.address, "redemption", amount, token.functions.symbol().call())
        receipt = self._sender(signer).transact(token.functions.requestRedemption(amount, _b32(delivery_ref)))
        (log,) = token.events.RedemptionRequested().process_receipt(receipt.raw, errors=DISCARD)
        return int(log["args"]["requestId"])

    def fulfil_redemption(self, asset: str | int, request_id: int, lot_id: str) -> Outcome:
        token = self.token(asset)
        receipt = self.tx.transact(token.functions.fulfilRedemption(request_id, _b32(lot_id)))
        return Outcome("done", f"redemption #{request_id} fulfilled from lot {lot_id}", receipt.tx_hash)

    def reject_redemption(self, asset: str | int, request_id: int, reason: str) -> Outcome:
        token = self.token(asset)
        receipt = self.tx.transact(token.functions.rejectRedemption(request_id, _b32(reason)))
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
        balances.pop("0x0000000000000000000000000000000000000000", None)
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
        pay = self.w3.eth.contract(address=_address(payment_token), abi=self.session.build["TestStablecoin"].abi)
        dist = self.stack.distributions
        allowance = pay.functions.allowance(self.tx.address, dist.address).call()
        if allowance < total:
            self.tx.transact(pay.functions.approve(dist.address, total))
        receipt = self.tx.transact(dist.functions.createDistribution(
            plan.token, pay.address, total, plan.root, plan.record_block, _ts(expiry)
        ))
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
        if distribution_id in self._plans:
            return self._plans[distribution_id]
        path = self.distributions_dir / f"{distribution_id}.json" if self.distributions_dir else None
        if path is None or not path.exists():
            raise RegistrarError(f"no proofs known for distribution #{distribution_id}")
        data = json.loads(path.read_text())
        entries = [(c["index"], c["account"], int(c["amount"])) for c in data["claims"]]
        plan = DistributionPlan(data["assetId"], data["token"], data["recordBlock"], int(data["total"]), entries,
                                MerkleTree.build(LEAF_TYPES, entries))
        self._plans[distribution_id] = plan
        return plan

    def claim(self, distribution_id: int, account: str, signer: Signer | None = None) -> Outcome:
        """Claim ``account``'s entitlement (anyone may submit it; the payment goes to ``account``)."""
        plan = self.plan(distribution_id)
        index, amount, proof = plan.proof(account)
        sender = self._sender(signer) if signer else self.tx
        receipt = sender.transact(
            self.stack.distributions.functions.claim(distribution_id, index, _address(account), amount, proof)
        )
        return Outcome("done", f"{account} claimed {amount}", receipt.tx_hash, {"amount": amount})

    def reclaim_expired(self, distribution_id: int) -> Outcome:
        receipt = self.tx.transact(self.stack.distributions.functions.reclaimExpired(distribution_id))
        return Outcome("done", f"unclaimed funds of distribution #{distribution_id} returned", receipt.tx_hash)


def _address(value: str) -> str:
    from .models import _checksum_address

    try:
        return _checksum_address(value)
    except ValueError as exc:
        raise RegistrarError(str(exc)) from None
