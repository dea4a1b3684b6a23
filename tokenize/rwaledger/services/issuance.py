"""Issuance (the registrar's act): allocations minted once each.

Every allocation carries an on-chain reference (from its own reference, or from recipient and amount), and the
token stores what it minted under it, so a re-run in any order, in other chunks or after a crash mints only what is
not minted yet, and a reference reused for another recipient or amount is refused before anything is sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Sequence

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3.logs import DISCARD

from ..amounts import AmountError, parse_amount
from ..models import MintRequest, SpecError, allocation_ref
from ..transactions import Receipt, call_functions, call_many
from .context import ZERO, AssetInfo, AssetNotFound, ServiceContext, TransferRejected
from .context import rule_name as _rule
from .investors import _duplicates
from .results import Action, Result, Status
from .selectors import DETECT_RESTRICTION


def allocation_digest(to: str, amount: int) -> bytes:
    """What a token stores per minted allocation: ``keccak256(abi.encode(to, amount))``."""
    return keccak(abi_encode(["address", "uint256"], [to, amount]))


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


def infos_by_token(infos: dict[str, AssetInfo]) -> dict[str, AssetInfo]:
    return {i.token: i for i in infos.values()}


class IssuanceService:
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx

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
                    infos[key] = self.ctx.asset(r.asset)
                except AssetNotFound as exc:
                    raise SpecError(f"{r.source}: {exc}", field="asset", source=r.source) from None
            info = infos[key]
            try:
                amount = parse_amount(r.amount, decimals=info.decimals, unit=info.unit)
            except AmountError as exc:
                raise SpecError(f"{r.source}: {info.symbol} {exc}", field="amount", source=r.source) from None
            planned.append(PlannedMint(info.asset_id, info.token, r.to, amount, allocation_ref(r.reference, r.to, amount),
                                       r.source, r.reference, False))
        _duplicates((((p.asset_id, p.reference or f"{p.to} {p.amount}"), p.source) for p in planned),
                    "allocation (asset, reference)", field="reference")
        by_token = infos_by_token(infos)
        tokens = {t: self.ctx.stack.token(t, info.kind) for t, info in by_token.items()}
        stored = call_functions(self.ctx.session.chain, [tokens[p.token].functions.allocationOf(p.ref) for p in planned])
        out = []
        for p, digest in zip(planned, stored):
            if digest and any(digest):
                if bytes(digest) != allocation_digest(p.to, p.amount):
                    what = f"reference {p.reference!r}" if p.reference else f"an allocation of {p.amount} to {p.to}"
                    raise SpecError(f"{p.source}: {what} was already minted on {by_token[p.token].symbol} to another "
                                    "recipient or for another amount: give this allocation its own reference",
                                    field="reference", source=p.source)
                p = dataclasses.replace(p, already_minted=True)
            out.append(p)
        for info in infos.values():
            todo = [p for p in out if p.asset_id == info.asset_id and not p.already_minted]
            if todo and info.status != "active":
                raise SpecError(f"{todo[0].source}: {info.symbol} is {info.status}: only an active asset mints",
                                field="asset", source=todo[0].source)
            if todo and info.paused:
                raise SpecError(f"{todo[0].source}: {info.symbol} is paused: nothing can be minted", field="asset",
                                source=todo[0].source)
            total = sum(p.amount for p in todo)
            room = info.max_supply - info.total_supply
            if total > room:
                word = "cap" if info.kind == "property" else "attested reserve"
                raise SpecError(f"{info.symbol}: these allocations mint {info.amount(total)}, but the {word} leaves "
                                f"room for {info.amount(room)}: nothing was sent", field="amount")
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
        for (token, to), raw in zip(keys, call_many(self.ctx.session.chain, calls)):
            code = abi_decode(["uint8"], raw)[0] if raw else 255
            if code:
                first = next(p for p in todo if p.token == token and p.to == to)
                raise TransferRejected(_rule(code), "mint", to, by_token[token].amount(per_recipient[(token, to)]),
                                       by_token[token].symbol, what=f"{first.source}: mint")

    def mint(self, request: MintRequest) -> Result:
        """Mint one allocation, once: a reference already minted (with this recipient and amount) is reported as
        already minted and nothing is sent."""
        (p,) = self.plan_mints([request])
        if p.already_minted:
            return self.ctx.result(Action.MINT, asset=self.ctx.handle(p.asset_id), to=p.to, amount=p.amount,
                                   reference=p.reference, ref="0x" + p.ref.hex(), minted=0, skipped=1)
        tx = self.ctx.require_role("registrar", "minting")
        token = self.ctx.stack.token(p.token)
        sent = self.ctx.send(tx, "minting", [token.functions.mint(p.to, p.amount, p.ref)],
                          references={p.ref: p.reference} if p.reference else None)
        return self.ctx.result(Action.MINT, sent, asset=self.ctx.handle(p.asset_id), to=p.to, amount=p.amount,
                               reference=p.reference, ref="0x" + p.ref.hex(), minted=1, skipped=0)

    def mint_many(
        self, requests: Sequence[MintRequest], chunk: int = 200, progress: Callable[[int], None] | None = None
    ) -> Result:
        """Mint allocations with ``batchMint``, one on-chain reference per allocation, so a re-run in any order, in
        other chunks or after a crash mints only what was not minted yet."""
        self.ctx.settle_journal()
        planned = self.plan_mints(requests)
        todo = [p for p in planned if not p.already_minted]
        calls = []
        for token in dict.fromkeys(p.token for p in todo):
            part = [p for p in todo if p.token == token]
            contract = self.ctx.stack.token(token)
            for i in range(0, len(part), chunk):
                c = part[i : i + chunk]
                calls.append(contract.functions.batchMint([p.to for p in c], [p.amount for p in c], [p.ref for p in c]))
        tx = self.ctx.require_role("registrar", "minting")
        if self.ctx.is_route(tx) and calls:  # one Safe transaction (MultiSend of the batchMint chunks)
            proposed = self.ctx.send(tx, f"minting {len(todo)} allocations", calls,
                                  references={p.ref: p.reference for p in todo if p.reference})
            return self.ctx.result(Action.MINT_MANY, proposed, minted=0, skipped=len(planned) - len(todo),
                                   proposed_allocations=len(todo), assets=len({p.asset_id for p in planned}))
        receipts = tx.send_batch(calls, progress=progress, what="minting") if calls else []  # type: ignore[union-attr]
        raced = self._count_events(receipts, "MintSkipped")  # minted by another process since the plan was made
        minted = len(todo) - raced
        skipped = len(planned) - minted
        assets = {p.asset_id for p in planned}
        return self.ctx.result(Action.MINT_MANY, receipts, status=Status.DONE if minted else Status.SKIPPED,
                               asset=self.ctx.handle(next(iter(assets))) if len(assets) == 1 else None,
                               minted=minted, skipped=skipped, assets=len(assets))

    def _count_events(self, receipts: Sequence[Receipt], name: str) -> int:
        event = getattr(self.ctx.stack.property_impl.events, name)()
        return sum(len(event.process_receipt(r.raw, errors=DISCARD)) for r in receipts)

