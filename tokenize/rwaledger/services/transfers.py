"""Transfers between investors, signed by the holder: each asked of the token first (ERC-1404's
``detectTransferRestriction``), so a refusal names the rule and nothing is sent; many are signed locally and
pipelined."""

from __future__ import annotations

from typing import Callable, Iterable

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from ..signers import Signer
from ..transactions import Receipt, SignedTx, call_many, pipeline
from .context import ServiceContext, TransferRejected
from .context import checked_address as _address
from .context import rule_name as _rule
from .selectors import DETECT_RESTRICTION, TRANSFER, TRANSFER_GAS


class TransferService:
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx

    def check_transfer(self, asset: str | int, sender: str, to: str, amount: int) -> tuple[bool, str]:
        """Whether the token would move ``amount`` from ``sender`` to ``to``, and the rule (``Allowed`` if so)."""
        code = self.ctx.token(asset).functions.detectTransferRestriction(sender, to, amount).call()
        return code == 0, _rule(code)

    def transfer(self, asset: str | int, signer: Signer, to: str, amount: int | str) -> Receipt:
        """Transfer as ``signer``; asks ``detectTransferRestriction`` first and raises :class:`TransferRejected` naming the rule."""
        to = _address(to)
        info = self.ctx.handle(asset)
        value = self.ctx.amount(info, amount)
        token = info.contract
        code = token.functions.detectTransferRestriction(signer.address, to, value).call()
        if code:
            raise TransferRejected(_rule(code), signer.address, to, info.amount(value), info.symbol)
        return self.ctx.sender(signer).transact(token.functions.transfer(to, value))

    def transfer_many(
        self,
        transfers: Iterable[tuple[str | int, Signer, str, int]],
        check: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> list[Receipt]:
        """Many transfers, pipelined: pre-checked, signed locally (each sender's nonces in order), broadcast in
        JSON-RPC batches a window at a time, each window confirmed in batches before the next. A rejected pre-check
        raises before anything is sent."""
        self.ctx.settle_journal()
        items = [(asset, signer, _address(to), amount) for asset, signer, to, amount in transfers]
        tokens = {a: self.ctx.token(a) for a in {t[0] for t in items}}
        if check:  # checked against the current state: earlier transfers of the same batch are not applied yet
            calls = [(tokens[a].address, DETECT_RESTRICTION + abi_encode(["address", "address", "uint256"], [s.address, to, n]))
                     for a, s, to, n in items]
            for (asset, signer, to, amount), raw in zip(items, call_many(self.ctx.session.chain, calls)):
                code = abi_decode(["uint8"], raw)[0] if raw else 255
                if code:
                    raise TransferRejected(_rule(code), signer.address, to, amount, str(asset))
        self.ctx.prepare_senders(signer for _, signer, _, _ in items)

        def sign(item: tuple) -> SignedTx:
            asset, signer, to, amount = item
            data = TRANSFER + abi_encode(["address", "uint256"], [to, amount])
            return self.ctx.sender(signer).sign_data(tokens[asset].address, data, gas=TRANSFER_GAS)

        return pipeline(self.ctx.session.chain, items, sign, decoder_from=self.ctx.tx, progress=progress,
                        what="transfer")

