"""Investors and their wallets (the compliance officer's acts): onboarding from a file, wallets added, removed and
recovered, investors deleted and recounted.

An investor owns wallets (the IdentityRegistry's model); a wallet never changes investor, and a wallet replaced as
lost is never used again. Investor labels (names) are personal data: they are kept off-chain, in the ledger, and
only where a ledger was given.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable, Sequence

from pydantic import BaseModel
from web3.contract import Contract

from ..constants import WALLET_STATUSES
from ..models import InvestorSpec, SpecError, country_alpha2, country_numeric
from ..transactions import Receipt, call_functions
from .context import ZERO, RegistrarError, ServiceContext
from .context import checked_address as _address
from .results import Action, Result


class InvestorRecord(BaseModel):
    """The investor a wallet belongs to, as the identity registry has it (``label`` only from a ledger)."""

    wallet: str
    investor: str
    wallet_status: str
    country: str
    country_code: int
    kyc_expiry: str
    category: int
    investor_active: bool
    multi_wallet: bool
    verified: bool
    label: str | None = None


def _duplicates(items: Iterable[tuple[Any, str]], what: str, field: str | None = None) -> None:
    """Raise naming both sources (and ``field``, the column) when two items share a key."""
    seen: dict[Any, str] = {}
    for key, source in items:
        if key in seen:
            raise SpecError(f"{source}: {what} {key} is also at {seen[key]}: each must appear once", field=field,
                            source=source)
        seen[key] = source


def _category_name(code: int) -> str:
    return {1: "retail", 2: "accredited", 3: "institutional"}.get(code, str(code))


class InvestorService:
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx

    def investor(self, wallet: str) -> InvestorRecord | None:
        """The investor a wallet belongs to, from the chain (None when it belongs to none)."""
        wallet = _address(wallet)
        ident = self.ctx.stack.identity.functions
        investor_id, status, verified = call_functions(self.ctx.session.chain, [
            ident.investorOf(wallet), ident.walletStatus(wallet), ident.isVerified(wallet)])
        if investor_id == ZERO:
            return None
        country, expiry, category, active, multi = ident.investor(investor_id).call()
        out = {"wallet": wallet, "investor": investor_id, "wallet_status": WALLET_STATUSES[status],
               "country": country_alpha2(country), "country_code": country,
               "kyc_expiry": dt.datetime.fromtimestamp(expiry, dt.timezone.utc).date().isoformat(),
               "category": category, "investor_active": active, "multi_wallet": multi, "verified": verified}
        if self.ctx.ledger is not None:
            out["label"] = self.ctx.ledger.investor_labels().get(investor_id)
        return InvestorRecord(**out)

    def add(self, spec: InvestorSpec) -> Result:
        """Onboard one investor wallet (see :meth:`add_many`)."""
        return self.add_many([spec])

    def plan_many(self, specs: Sequence[InvestorSpec]) -> tuple[list[InvestorSpec], list[tuple[str, Any]],
                                                                list[tuple[str, str]], dict[str, str]]:
        """Check onboarding rows against the file and the chain, sending nothing: (investors to register, field
        updates as (what, call), (investor, wallet) links to add, labels by investor); a bad row raises
        :class:`SpecError` naming its line and field."""
        if not specs:
            raise SpecError("no investors given")
        _duplicates(((s.wallet, s.source) for s in specs), "wallet", field="wallet")
        ident = self.ctx.stack.identity.functions
        chain = self.ctx.session.chain
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
                                    "to describe it, not a new investor", field="wallet", source=s.source)
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
                                    "this file)", field="investor", source=s.source)
                target = s.investor
                target_data = (country_numeric(first_in_file[target].country), first_in_file[target].kyc_expiry_timestamp(),
                               int(first_in_file[target].category or 1))
            else:
                target_data = records[target][:3]
            if s.country is not None and country_numeric(s.country) != target_data[0]:
                raise SpecError(f"{s.source}: wallet {s.wallet} would join investor {target}, whose country is "
                                f"{country_alpha2(target_data[0])}, not {s.country}", field="country",
                                source=s.source)
            if s.category is not None and int(s.category) != target_data[2]:
                raise SpecError(f"{s.source}: investor {target} is {_category_name(target_data[2])}, not {s.category.name}",
                                field="category", source=s.source)
            if owner not in (ZERO, target):
                raise SpecError(f"{s.source}: wallet {s.wallet} already belongs to investor {owner}, and a wallet never "
                                "changes investor", field="wallet", source=s.source)
            status = WALLET_STATUSES[statuses[s.wallet]]
            if status == "lost":
                raise SpecError(f"{s.source}: wallet {s.wallet} was replaced as lost and can never be used again",
                                field="wallet", source=s.source)
            if status in ("none", "removed"):  # a new wallet, or a removed one added back
                links.append((target, s.wallet))
            if s.label:
                labels[target] = s.label

        return register, updates, links, labels

    def add_many(
        self, specs: Sequence[InvestorSpec], chunk: int = 200, progress: Callable[[int], None] | None = None
    ) -> Result:
        """Onboard investors and their wallets (the compliance officer's act). A row without ``investor`` is an
        investor's first wallet: registered if new, else its changed fields updated (a category left out is kept).
        A row with ``investor`` adds the wallet to that investor (registered on chain, or earlier in the same file).
        Everything is checked against the file and the chain before anything is sent (:meth:`plan_many`)."""
        self.ctx.settle_journal()
        register, updates, links, labels = self.plan_many(specs)
        ident = self.ctx.stack.identity.functions
        if not (register or updates or links):
            self._store_labels(labels)
            return self.ctx.result(Action.INVESTORS_ONBOARD, wallets=len(specs), registered=0, updates=0,
                                   wallets_added=0, already=len(specs))
        tx = self.ctx.require_role("compliance", "onboarding investors")
        calls = []
        for i in range(0, len(register), chunk):
            part = register[i : i + chunk]
            calls.append(ident.batchRegisterIdentity(
                [s.wallet for s in part],
                [country_numeric(s.country) for s in part],
                [s.kyc_expiry_timestamp() for s in part],
                [int(s.category or 1) for s in part],
            ))
        if self.ctx.is_route(tx):  # one proposal: the wallets join once their investors are registered
            self._store_labels(labels)
            proposed = self.ctx.send(tx, "onboarding investors", calls + [c for _, c in updates]
                                     + [ident.addWallet(inv, w) for inv, w in links])
            return self.ctx.result(Action.INVESTORS_ONBOARD, proposed, wallets=len(specs), registered=len(register),
                                   updates=len(updates), wallets_added=len(links),
                                   already=len(specs) - len(register) - len(links))
        receipts = tx.send_batch(calls + [c for _, c in updates], progress=progress, what="onboarding") if calls or updates else []
        # wallets join investors only once those are registered (each call is estimated against the chain)
        receipts += tx.send_batch([ident.addWallet(inv, w) for inv, w in links], progress=progress,
                                   what="adding wallets") if links else []
        self._store_labels(labels)
        return self.ctx.result(Action.INVESTORS_ONBOARD, receipts, wallets=len(specs), registered=len(register),
                               updates=len(updates), wallets_added=len(links),
                               already=len(specs) - len(register) - len(links), transactions=len(receipts))

    def _store_labels(self, labels: dict[str, str]) -> None:
        if labels and self.ctx.ledger is not None:
            self.ctx.ledger.set_investor_labels(labels)

    def add_wallet(self, investor_wallet: str, wallet: str) -> Result:
        """Give an investor one more wallet (the compliance officer's act)."""
        investor_wallet, wallet = _address(investor_wallet), _address(wallet)
        ident = self.ctx.stack.identity.functions
        owner, target = call_functions(self.ctx.session.chain, [ident.investorOf(wallet), ident.investorOf(investor_wallet)])
        if target == ZERO:
            raise RegistrarError(f"{investor_wallet} belongs to no investor")
        if owner == target and WALLET_STATUSES[ident.walletStatus(wallet).call()] == "active":
            return self.ctx.result(Action.WALLET_ADD, wallet=wallet, investor=target)
        if owner not in (ZERO, target):
            raise RegistrarError(f"{wallet} belongs to investor {owner}, and a wallet never changes investor")
        sent = self.ctx.send(self.ctx.require_role("compliance", "adding a wallet"), "adding a wallet", [ident.addWallet(target, wallet)])
        return self.ctx.result(Action.WALLET_ADD, sent, wallet=wallet, investor=target)

    def remove_wallet(self, wallet: str) -> Result:
        """Stop a wallet from being verified (it stays bound to its investor and can be added back)."""
        wallet = _address(wallet)
        ident = self.ctx.stack.identity.functions
        status = WALLET_STATUSES[ident.walletStatus(wallet).call()]
        if status != "active":
            raise RegistrarError(f"{wallet} is not an active wallet ({status})")
        sent = self.ctx.send(self.ctx.require_role("compliance", "removing a wallet"), "removing a wallet", [ident.removeWallet(wallet)])
        return self.ctx.result(Action.WALLET_REMOVE, sent, wallet=wallet, investor=ident.investorOf(wallet).call())

    def recover_wallet(self, lost: str, new: str) -> Result:
        """Replace a lost wallet with another wallet of the same investor, then move its units and token state in
        every token (one atomic transaction per token). The compliance officer replaces the wallet, the registrar
        moves the units. Re-running after an interruption continues where it stopped."""
        lost, new = _address(lost), _address(new)
        ident = self.ctx.stack.identity.functions
        chain = self.ctx.session.chain
        investor, lost_status, new_owner, new_status = call_functions(chain, [
            ident.investorOf(lost), ident.walletStatus(lost), ident.investorOf(new), ident.walletStatus(new)])
        if investor == ZERO:
            raise RegistrarError(f"{lost} belongs to no investor: nothing to recover")
        if new_owner not in (ZERO, investor):
            raise RegistrarError(f"{new} belongs to another investor ({new_owner}): units move only between wallets "
                                 "of the same investor")
        if new_owner == investor and WALLET_STATUSES[new_status] != "active":
            raise RegistrarError(f"{new} is a {WALLET_STATUSES[new_status]} wallet of the investor: add it back first")
        tokens = [self.ctx.token(i) for i in range(1, self.ctx.count() + 1)]
        holdings = self._token_state(tokens, lost)
        registrar = self.ctx.role_tx("registrar")
        facts = {"lost": lost, "new": new, "investor": investor}
        receipts: list[Receipt] = []
        if self.ctx.via:  # through a Safe: the replacement and every token's move as one proposal, all or none
            calls = [ident.replaceWallet(lost, new)] if WALLET_STATUSES[lost_status] != "lost" else []
            calls += [t.functions.recoveryAddress(lost, new) for t in holdings]
            if not calls:
                return self.ctx.result(Action.WALLET_RECOVER, replaced=False, moved=[], **facts)
            routes = {self.ctx.require_role("compliance", "replacing a lost wallet").address if WALLET_STATUSES[lost_status] != "lost" else None,
                      self.ctx.require_role("registrar", "recovering units").address if holdings else None} - {None}
            if len(routes) != 1:
                raise RegistrarError("recovering a wallet through Safes needs the compliance and registrar roles in one "
                                     "Safe (the replacement and the moves are one transaction): nothing was proposed")
            (route,) = [r for r in self.ctx.via if r.address in routes]
            proposed = self.ctx.send(route, f"recovering {lost} into {new}", calls)
            return self.ctx.result(Action.WALLET_RECOVER, proposed, replaced=bool(calls) and len(calls) > len(holdings),
                                   moved=[t.functions.symbol().call() for t in holdings], **facts)
        if WALLET_STATUSES[lost_status] != "lost":
            compliance = self.ctx.require_role("compliance", "replacing a lost wallet")
            if holdings and registrar is None:
                raise RegistrarError("moving the units needs the registrar role, which no given signer holds: nothing "
                                     "was sent")
            receipts.append(compliance.transact(ident.replaceWallet(lost, new)))
            facts["replaced"] = True
        elif new_owner != investor:
            raise RegistrarError(f"{lost} is already lost, and {new} is not a wallet of its investor {investor}")
        if holdings and registrar is None:
            self.ctx.require_role("registrar", "recovering units")
        moved = []
        for token in holdings:
            receipts.append(registrar.transact(token.functions.recoveryAddress(lost, new)))  # type: ignore[union-attr]
            moved.append(token.functions.symbol().call())
        facts.setdefault("replaced", False)
        return self.ctx.result(Action.WALLET_RECOVER, receipts, moved=moved, **facts)

    def _token_state(self, tokens: Sequence[Contract], wallet: str) -> list[Contract]:
        """The tokens in which ``wallet`` holds units or token state (a freeze, frozen, encumbered or locked units)."""
        calls = []
        for t in tokens:
            f = t.functions
            calls += [f.balanceOf(wallet), f.isFrozen(wallet), f.getFrozenTokens(wallet)]
        values = call_functions(self.ctx.session.chain, calls) if calls else []
        return [t for i, t in enumerate(tokens) if any(values[3 * i : 3 * i + 3])]

    def delete_investor(self, wallet: str) -> Result:
        """Delete the investor of ``wallet``: none of its wallets is verified any more."""
        sent = self.ctx.send(self.ctx.require_role("compliance", "deleting an investor"), "deleting an investor",
                          [self.ctx.stack.identity.functions.deleteIdentity(_address(wallet))])
        return self.ctx.result(Action.INVESTOR_DELETE, sent, wallet=wallet)

    def sync_investor(self, wallet: str) -> Result:
        """Recount an investor under its current category and country in every token it holds (after the compliance
        officer changed them)."""
        wallet = _address(wallet)
        tokens = [self.ctx.token(i) for i in range(1, self.ctx.count() + 1)]
        balances = call_functions(self.ctx.session.chain, [t.functions.investorBalanceOf(wallet) for t in tokens]) if tokens else []
        held = [t for t, b in zip(tokens, balances) if b]
        receipts = self.ctx.tx.send_batch([t.functions.syncInvestor(wallet) for t in held]) if held else []
        return self.ctx.result(Action.INVESTOR_SYNC, receipts, wallet=wallet, tokens=len(held))

