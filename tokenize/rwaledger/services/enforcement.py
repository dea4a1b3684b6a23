"""Enforcement (the registrar's and the compliance officer's acts): forced transfers and burns within the rules,
wallet and partial freezes, the pause, liens.

Each act is asked of the token first where the token can answer (``canForceTransfer``): a refusal names the rule
and nothing is sent. The pause guardian's key pauses at once (the one emergency act of a single hand: it moves
nothing); unpausing is the compliance officer's.
"""

from __future__ import annotations

from web3.logs import DISCARD

from ..encoding import b32 as _b32
from ..models import DocumentSpec
from ..signers import Signer
from .context import ZERO, RegistrarError, ServiceContext, TransferRejected
from .context import checked_address as _address
from .context import rule_name as _rule
from .results import Action, Result


class EnforcementService:
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx

    def forced_transfer(self, asset: str | int, sender: str, to: str, amount: int | str, reason: str,
                        include_frozen: bool = False) -> Result:
        """A forced transfer (court order): within the recipient's rules; frozen units only with ``include_frozen``.
        Asked of the token first (``canForceTransfer``): a refusal names the rule and nothing is sent."""
        info = self.ctx.handle(asset)
        sender, to = _address(sender), _address(to)
        if sender == to:
            raise RegistrarError("a forced transfer needs two different wallets")
        value = self.ctx.amount(info, amount)
        token = info.contract
        ok, code = token.functions.canForceTransfer(sender, to, value, include_frozen).call()
        if not ok:
            hint = (" (add --include-frozen to move frozen units)"
                    if _rule(code) in ("SenderFrozen", "InsufficientUnlockedBalance") and not include_frozen else "")
            raise TransferRejected(_rule(code), sender, to, info.amount(value), info.symbol,
                                   what="forced transfer").with_hint(hint)
        tx = self.ctx.require_role("registrar", "a forced transfer")
        sent = self.ctx.send(tx, "a forced transfer",
                             [token.functions.forcedTransfer(sender, to, value, _b32(reason), include_frozen)])
        frozen = 0
        if isinstance(sent, list):
            (log,) = token.events.ForcedTransferReason().process_receipt(sent[0].raw, errors=DISCARD)
            frozen = log["args"]["frozenUnitsMoved"]
        return self.ctx.result(Action.FORCED_TRANSFER, sent, asset=info, sender=sender, to=to, amount=value,
                               reason=reason, frozen_units_moved=frozen)

    def burn(self, asset: str | int, holder: str, amount: int | str, reason: str, include_frozen: bool = False) -> Result:
        """Burn a holder's units (a court order, a destroyed asset), within the rules."""
        info = self.ctx.handle(asset)
        holder = _address(holder)
        value = self.ctx.amount(info, amount)
        token = info.contract
        ok, code = token.functions.canForceTransfer(holder, ZERO, value, include_frozen).call()
        if not ok:
            raise TransferRejected(_rule(code), holder, "burn", info.amount(value), info.symbol, what="burn")
        sent = self.ctx.send(self.ctx.require_role("registrar", "burning"), "burning",
                             [token.functions.burn(holder, value, _b32(reason), include_frozen)])
        return self.ctx.result(Action.BURN, sent, asset=info, holder=holder, amount=value, reason=reason)

    def freeze(self, asset: str | int, wallet: str, frozen: bool = True) -> Result:
        """Freeze (or unfreeze) a wallet in one token: it can neither send nor receive."""
        info = self.ctx.handle(asset)
        wallet = _address(wallet)
        sent = self.ctx.send(self.ctx.require_role("compliance", "freezing"), "freezing",
                             [info.contract.functions.setAddressFrozen(wallet, frozen)])
        return self.ctx.result(Action.FREEZE_WALLET, sent, asset=info, wallet=wallet, frozen=frozen)

    def freeze_partial(self, asset: str | int, wallet: str, amount: int | str, freeze: bool = True) -> Result:
        """Freeze (or unfreeze) ``amount`` of a wallet's units: the rest stays free to move."""
        info = self.ctx.handle(asset)
        wallet = _address(wallet)
        value = self.ctx.amount(info, amount)
        f = info.contract.functions
        fn = f.freezePartialTokens if freeze else f.unfreezePartialTokens
        sent = self.ctx.send(self.ctx.require_role("compliance", "freezing"), "freezing", [fn(wallet, value)])
        return self.ctx.result(Action.FREEZE_PARTIAL, sent, asset=info, wallet=wallet, amount=value, frozen=freeze)

    def pause(self, asset: str | int, paused: bool = True) -> Result:
        """Pause (or unpause) every move of a token."""
        info = self.ctx.handle(asset)
        f = info.contract.functions
        # the pause guardian's key pauses at once, even where the compliance role is a Safe's: the one emergency act
        # of a single hand (it moves nothing); unpausing is the compliance officer's (the Safe's threshold). Built
        # via Safes, the registrar proposes (the compliance Safe pauses or unpauses)
        tx = (self.ctx.role_tx("guardian", keys_only=True) if paused and not self.ctx.via else None) or \
            self.ctx.require_role("compliance", "pausing" if paused else "unpausing")
        sent = self.ctx.send(tx, "pausing" if paused else "unpausing", [f.pause() if paused else f.unpause()])
        return self.ctx.result(Action.PAUSE, sent, asset=info, paused=paused)

    def create_lien(self, asset: str | int, holder: str, beneficiary: str, amount: int | str, reason: str,
                    document: DocumentSpec | bytes | None = None) -> Result:
        """Encumber ``amount`` of a holder's units for a beneficiary (a mortgage, a court's charge); ``document`` is
        the charge document (hashed when its spec loaded) or its SHA-256."""
        info = self.ctx.handle(asset)
        holder, beneficiary = _address(holder), _address(beneficiary)
        value = self.ctx.amount(info, amount)
        token = info.contract
        doc_hash = document.sha256() if isinstance(document, DocumentSpec) else document or b"\0" * 32
        sent = self.ctx.send(self.ctx.require_role("registrar", "creating a lien"), "creating a lien",
                             [token.functions.createLien(holder, beneficiary, value, _b32(reason), doc_hash)])
        lien_id = None
        if isinstance(sent, list):
            (log,) = token.events.LienCreated().process_receipt(sent[0].raw, errors=DISCARD)
            lien_id = log["args"]["lienId"]
        return self.ctx.result(Action.LIEN_CREATE, sent, asset=info, lien_id=lien_id, holder=holder,
                               beneficiary=beneficiary, amount=value, reason=reason, document_sha256="0x" + doc_hash.hex())

    def release_lien(self, asset: str | int, lien_id: int, signer: Signer | None = None) -> Result:
        """Release a lien (its beneficiary's act, or the registrar's)."""
        info = self.ctx.handle(asset)
        sender = self.ctx.sender(signer) if signer else self.ctx.tx
        receipt = sender.transact(info.contract.functions.releaseLien(lien_id))
        return self.ctx.result(Action.LIEN_RELEASE, [receipt], asset=info, lien_id=lien_id)

    def change_lien_beneficiary(self, asset: str | int, lien_id: int, beneficiary: str,
                                signer: Signer | None = None) -> Result:
        """Hand a lien to another beneficiary (its beneficiary's act)."""
        info = self.ctx.handle(asset)
        beneficiary = _address(beneficiary)
        sender = self.ctx.sender(signer) if signer else self.ctx.tx
        receipt = sender.transact(info.contract.functions.changeLienBeneficiary(lien_id, beneficiary))
        return self.ctx.result(Action.LIEN_BENEFICIARY, [receipt], asset=info, lien_id=lien_id, beneficiary=beneficiary)
