"""Commodity reserve (the custodian's acts): custody lots attested, redemptions requested, fulfilled from lots or
rejected.

A commodity token mints only within its attested reserve; a redemption burns the holder's units when it is
fulfilled from lots (the lots and the reserve shrink with it), so supply never exceeds the reserve.
"""

from __future__ import annotations

from typing import Sequence

from web3.logs import DISCARD

from ..encoding import b32 as _b32
from ..models import LotSpec
from ..signers import Signer
from .context import ZERO, RegistrarError, ServiceContext, TransferRejected
from .context import rule_name as _rule
from .results import Action, Result, Status


class RedemptionService:
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx

    def attest_lot(self, asset: str | int, lot: LotSpec, *, _pending_ok: bool = False) -> Result:
        """Attest a custody lot (the custodian's act): the reserve grows by its quantity. A lot id is used once."""
        handle = self.ctx.handle(asset)
        token = handle.contract
        if not hasattr(token.functions, "attestLot"):
            raise RegistrarError("lots belong to commodity tokens")
        lot_id = _b32(lot.lot_id)
        facts = {"lot": lot.lot_id, "quantity": lot.quantity, "vault": lot.vault}
        quantity, attested_at, status, receipt_hash, vault = token.functions.lot(lot_id).call()
        if attested_at:  # lot ids are never reused, even once retired
            return self.ctx.result(Action.LOT_ATTEST, asset=handle, **facts)
        tx = self.ctx.role_tx("custodian")
        if tx is None:
            if _pending_ok:
                return self.ctx.result(Action.LOT_ATTEST, status=Status.PENDING, asset=handle, role="custodian", **facts)
            self.ctx.require_role("custodian", "attesting a lot")
        sent = self.ctx.send(tx, f"attesting lot {lot.lot_id}",  # type: ignore[arg-type]
                             [token.functions.attestLot(lot_id, lot.vault, lot.quantity, lot.receipt_hash())])
        return self.ctx.result(Action.LOT_ATTEST, sent, asset=handle, **facts)

    def request_redemption(self, asset: str | int, signer: Signer, amount: int | str, delivery_ref: str) -> int:
        """A holder asks for delivery of ``amount`` (signed by the holder); returns the request id."""
        info = self.ctx.asset(asset)
        value = self.ctx.amount(info, amount)
        token = self.ctx.token(info.asset_id)
        code = token.functions.detectTransferRestriction(signer.address, ZERO, value).call()
        if code:
            raise TransferRejected(_rule(code), signer.address, "redemption", info.amount(value), info.symbol,
                                   what="redemption request")
        receipt = self.ctx.sender(signer).transact(token.functions.requestRedemption(value, _b32(delivery_ref)))
        (log,) = token.events.RedemptionRequested().process_receipt(receipt.raw, errors=DISCARD)
        return int(log["args"]["requestId"])

    def fulfil_redemption(self, asset: str | int, request_id: int, lot_ids: str | Sequence[str]) -> Result:
        """Deliver a redemption from one or more lots, drawn in the order given."""
        lots = [lot_ids] if isinstance(lot_ids, str) else list(lot_ids)
        if not lots:
            raise RegistrarError("give at least one lot to deliver from")
        handle = self.ctx.handle(asset)
        token = handle.contract
        holder, status, amount, _ = token.functions.redemption(request_id).call()
        if status != 1:
            raise RegistrarError(f"redemption #{request_id} is not pending")
        available = sum(token.functions.lot(_b32(lot)).call()[0] for lot in lots)
        if available < amount:
            raise RegistrarError(f"redemption #{request_id} asks {amount} units; the lots {', '.join(lots)} hold "
                                 f"{available}: add lots")
        sent = self.ctx.send(self.ctx.require_role("custodian", "delivering a redemption"),
                             f"delivering redemption #{request_id}",
                             [token.functions.fulfilRedemption(request_id, [_b32(lot) for lot in lots])])
        return self.ctx.result(Action.REDEMPTION_FULFIL, sent, asset=handle, request_id=request_id, lots=lots,
                               amount=amount, holder=holder)

    def reject_redemption(self, asset: str | int, request_id: int, reason: str) -> Result:
        """Refuse a pending redemption: the holder's units are released."""
        handle = self.ctx.handle(asset)
        sent = self.ctx.send(self.ctx.require_role("custodian", "rejecting a redemption"),
                             f"rejecting redemption #{request_id}",
                             [handle.contract.functions.rejectRedemption(request_id, _b32(reason))])
        return self.ctx.result(Action.REDEMPTION_REJECT, sent, asset=handle, request_id=request_id, reason=reason)
