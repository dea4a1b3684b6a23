"""Assets: register a parcel or a commodity and create its token, its transfer rules, its documents, its status.

One parcel, one token: the registry keys an asset by jurisdiction and canonical legal reference, and a spec that
names a registered parcel (or symbol) is refused, except the same spec run again, which completes what a first run
left undone and otherwise sends nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from web3.contract import Contract
from web3.logs import DISCARD

from ..constants import ASSET_STATUSES as STATUSES
from ..constants import COUNTRY_MODES
from ..encoding import b32 as _b32
from ..models import AssetSpec, CommoditySpec, DocumentSpec, PropertySpec, TransferRules, country_alpha2, country_numeric, parse
from ..transactions import call_functions
from .context import AssetExists, AssetInfo, RegistrarError, ServiceContext
from .context import timestamp as _ts
from .results import Action, Result, Status

if TYPE_CHECKING:
    from .redemptions import RedemptionService


class AssetService:
    """The registrar's and the compliance officer's acts on an asset's record and rules."""

    def __init__(self, ctx: ServiceContext, reserve: "RedemptionService"):
        self.ctx = ctx
        self.reserve = reserve  # attests a commodity spec's lots

    def asset_id(self, ref: str | int) -> int:
        """An asset id from ``3``, ``#3``, a token address or a symbol (any case)."""
        return self.ctx.asset_id(ref)

    def asset(self, ref: str | int) -> AssetInfo:
        """The asset's record and its token's live state."""
        return self.ctx.asset(ref)

    def assets(self) -> list[AssetInfo]:
        """Every registered asset, in id order."""
        return self.ctx.assets()

    def token(self, ref: str | int) -> Contract:
        """The asset's token contract (resolved once)."""
        return self.ctx.token(ref)

    def register(self, spec: PropertySpec | CommoditySpec) -> Result:
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
        registry = self.ctx.stack.registry.functions
        jurisdiction = spec.jurisdiction.encode()
        existing, by_symbol = call_functions(self.ctx.session.chain, [
            registry.assetIdOf(jurisdiction, spec.canonical_reference), registry.assetIdOfSymbol(spec.symbol)])
        if existing:
            return self._rerun(existing, spec)
        if by_symbol:
            other = self.ctx.asset(by_symbol)
            raise AssetExists(f"symbol {spec.symbol} is already used by asset #{by_symbol} ({other.legal_reference}, "
                              f"{other.jurisdiction}); choose another symbol: nothing was changed")
        registrar = self.ctx.require_role("registrar", "registering an asset")
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
            fn = self.ctx.stack.factory.functions.createPropertyToken(
                params, (spec.name, spec.symbol, spec.decimals, spec.total_shares, home))
            event = self.ctx.stack.factory.events.PropertyTokenCreated()
        else:
            fn = self.ctx.stack.factory.functions.createCommodityToken(
                params, (spec.name, spec.symbol, spec.decimals, spec.unit, home))
            event = self.ctx.stack.factory.events.CommodityTokenCreated()
        sent = self.ctx.send(registrar, f"registering {spec.symbol}", [fn])
        if not isinstance(sent, list):
            return self.ctx.result(Action.ASSET_REGISTER, sent, symbol=spec.symbol, rerun=False)
        (receipt,) = sent
        (log,) = event.process_receipt(receipt.raw, errors=DISCARD)
        asset_id = log["args"]["assetId"]
        steps = self._complete(asset_id, spec)
        result = self.ctx.result(Action.ASSET_REGISTER, sent, asset=self.ctx.handle(asset_id), steps=steps,
                                 status=Status.PENDING if any(s.status is Status.PENDING for s in steps) else Status.DONE,
                                 asset_id=asset_id, token=log["args"]["token"], symbol=spec.symbol, rerun=False)
        return result

    def _rerun(self, asset_id: int, spec: PropertySpec | CommoditySpec) -> Result:
        info = self.ctx.asset(asset_id)
        named = f"{spec.canonical_reference} ({spec.jurisdiction}) is already registered as asset #{asset_id} ({info.symbol})"
        differences = self._identity_differences(info, spec)
        if differences:
            raise AssetExists(f"{named}; this spec differs ({'; '.join(differences)}): nothing was changed")
        steps, pending = self._missing_steps(info, spec)
        if isinstance(steps, str):
            raise AssetExists(f"{named}; {steps}: nothing was changed")
        facts = {"asset_id": asset_id, "token": info.token, "symbol": info.symbol, "rerun": True,
                 "reference": spec.canonical_reference, "jurisdiction": spec.jurisdiction}
        if not steps:
            return self.ctx.result(Action.ASSET_REGISTER, asset=info, status=Status.SKIPPED, **facts)
        done = self._complete(asset_id, spec)
        status = Status.PENDING if any(s.status is Status.PENDING for s in done) else Status.DONE
        return self.ctx.result(Action.ASSET_REGISTER, asset=info, status=status, steps=done, **facts)

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
        registry = self.ctx.stack.registry.functions
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
            token = self.ctx.token(info.asset_id)
            for lot in spec.lots:
                if not token.functions.lot(_b32(lot.lot_id)).call()[1]:
                    if info.status != "registered":
                        return f"it has no lot {lot.lot_id}; attest it with `rwa lot attest`", []
                    steps.append(f"lot {lot.lot_id}")
        if spec.activate and info.status == "registered":
            steps.append("activate")
        return steps, []

    def _complete(self, asset_id: int, spec: PropertySpec | CommoditySpec) -> list[Result]:
        """Apply the spec's rules, documents and lots, then activate; the steps that did or still need something."""
        steps = [self.set_rules(asset_id, spec.rules, _pending_ok=True)]
        steps += [self.add_document(asset_id, doc) for doc in spec.documents]
        if isinstance(spec, CommoditySpec):
            steps += [self.reserve.attest_lot(asset_id, lot, _pending_ok=True) for lot in spec.lots]
        steps = [s for s in steps if s.status is not Status.SKIPPED]
        if spec.activate and self.ctx.stack.registry.functions.statusOf(asset_id).call() == 0:
            if any(s.status is Status.PENDING for s in steps):
                steps.append(self.ctx.result(Action.ASSET_STATUS, status=Status.PENDING, asset_id=asset_id,
                                             status_to="active", symbol=spec.symbol, after_steps=True))
            else:
                steps.append(self.set_status(asset_id, "active"))
        return steps

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
        listed = call_functions(self.ctx.session.chain, [f.isCountryListed(c) for c in codes]) if codes else []
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
        return [d for d, _ in self._rule_calls(self.ctx.token(asset), rules)]

    def set_rules(self, asset: str | int, rules: TransferRules, *, _pending_ok: bool = False) -> Result:
        """Apply transfer rules (the compliance officer's act); only what differs from the chain is sent."""
        token = self.ctx.token(asset)
        calls = self._rule_calls(token, rules)
        handle = self.ctx.handle(asset)
        changes = [d for d, _ in calls]
        if not calls:
            return self.ctx.result(Action.ASSET_RULES, asset=handle, changes=[])
        tx = self.ctx.role_tx("compliance")
        if tx is None:
            if _pending_ok:
                return self.ctx.result(Action.ASSET_RULES, status=Status.PENDING, asset=handle, changes=changes,
                                       role="compliance")
            self.ctx.require_role("compliance", "changing rules")
        sent = self.ctx.send(tx, "changing rules", [c for _, c in calls])  # type: ignore[arg-type]
        return self.ctx.result(Action.ASSET_RULES, sent, asset=handle, changes=changes)

    def add_document(self, asset: str | int, doc: DocumentSpec, supersede: bool = True) -> Result:
        """Record a document version (its file was hashed when the spec loaded). A new hash supersedes the current
        version of that name; a Retired asset takes no documents."""
        asset_id = self.ctx.asset_id(asset)
        registry = self.ctx.stack.registry.functions
        status, current = call_functions(self.ctx.session.chain, [registry.statusOf(asset_id),
                                                              registry.currentDocument(asset_id, doc.name)])
        if STATUSES[status] == "retired":
            raise RegistrarError(f"asset #{asset_id} is retired: its record takes no new documents")
        digest = doc.sha256()
        if current:
            existing = registry.document(current).call()
            if bytes(existing[4]) == digest:
                return self.ctx.result(Action.ASSET_DOCUMENT, asset=self.ctx.handle(asset_id), name=doc.name,
                                       document_id=current, supersedes=None, sha256="0x" + digest.hex())
            if not supersede:
                raise RegistrarError(f"asset #{asset_id} already has a current {doc.name!r}; supersede it")
        tx = self.ctx.require_role("registrar", "recording a document")
        sent = self.ctx.send(tx, f"recording document {doc.name!r}",
                          [registry.addDocument(asset_id, doc.name, doc.uri, digest, _ts(doc.effective_date), current)])
        return self.ctx.result(Action.ASSET_DOCUMENT, sent, asset=self.ctx.handle(asset_id), name=doc.name,
                               supersedes=current or None, sha256="0x" + digest.hex(), uri=doc.uri)

    def set_status(self, asset: str | int, status: str) -> Result:
        """Move an asset's status: forward only (registered -> active -> suspended -> retired), except
        suspended -> active; retired is final."""
        asset_id = self.ctx.asset_id(asset)
        status = status.strip().lower()
        if status not in STATUSES:
            raise RegistrarError(f"status must be one of {', '.join(STATUSES)}")
        current = STATUSES[self.ctx.stack.registry.functions.statusOf(asset_id).call()]
        if current == status:
            return self.ctx.result(Action.ASSET_STATUS, asset=self.ctx.handle(asset_id), asset_id=asset_id,
                                   status_to=status)
        wanted, have = STATUSES.index(status), STATUSES.index(current)
        if wanted < have and not (current == "suspended" and status == "active"):
            allowed = [s for i, s in enumerate(STATUSES) if i > have] + (["active"] if current == "suspended" else [])
            raise RegistrarError(f"asset #{asset_id} is {current}: it can only become {' or '.join(allowed) or 'nothing (retired is final)'}")
        tx = self.ctx.require_role("registrar", "changing an asset's status")
        sent = self.ctx.send(tx, f"making asset #{asset_id} {status}", [self.ctx.stack.registry.functions.setStatus(asset_id, wanted)])
        return self.ctx.result(Action.ASSET_STATUS, sent, asset=self.ctx.handle(asset_id), asset_id=asset_id,
                               status_to=status)

