"""The registrar office's services, one per concern, over one deployed stack.

    from rwaledger.services import Services

    svc = Services(stack, ledger=ledger)             # or compliance=, custodian=, guardian= signers, via= Safe routes
    result = svc.assets.register(spec)               # a typed Result: status, transactions, events, facts
    svc.investors.add_many(specs)
    svc.issuance.mint_many(requests)
    svc.transfers.transfer("PKLHR1", signer, to, "10 shares")
    svc.enforcement.freeze("PKLHR1", wallet)
    svc.redemptions.attest_lot("KHI-GOLD", lot)
    svc.distributions.distribute("PKLHR1", pkr, total, expiry)

Everything that can be checked is checked before anything is sent: specs and files by :mod:`rwaledger.models`,
amounts in the asset's unit (:mod:`rwaledger.amounts`), references and duplicates against the file and the chain,
each transfer asked of the token first. Refusals raise typed errors (:class:`TransferRejected` naming the rule,
:class:`AssetExists`, :class:`RegistrarError`, decoded :class:`~rwaledger.errors.ContractRevert`) that name what to
change. Results carry data, not sentences: :func:`rwaledger.render.describe` words them for the CLI and the API.

Roles: by default one signer does everything (right for a dev chain). On a network with separated duties, pass the
compliance officer's and the custodian's signers; a step whose role the available signers lack is reported as
*pending*, never sent to fail. Built ``via`` Safe routes, each act of a role a Safe holds becomes a proposal.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..stack import Stack
from .assets import AssetService
from .context import (
    AssetExists,
    AssetHandle,
    AssetInfo,
    AssetNotFound,
    RegistrarError,
    ServiceContext,
    TransferRejected,
)
from .distributions import LEAF_TYPES, DistributionPlan, DistributionService, pro_rata
from .enforcement import EnforcementService
from .investors import InvestorRecord, InvestorService
from .issuance import IssuanceService, PlannedMint, allocation_digest
from .redemptions import RedemptionService
from .results import Action, AssetRef, EventOut, ProposalRef, Result, Status, TxRef
from .transfers import TransferService

__all__ = [
    "Action", "AssetExists", "AssetHandle", "AssetInfo", "AssetNotFound", "AssetRef", "AssetService",
    "DistributionPlan", "DistributionService", "EnforcementService", "EventOut", "InvestorRecord", "InvestorService",
    "IssuanceService", "LEAF_TYPES", "PlannedMint", "ProposalRef", "RedemptionService", "RegistrarError", "Result",
    "ServiceContext", "Services", "Status", "TransferRejected", "TransferService", "TxRef", "allocation_digest",
    "pro_rata",
]


class Services:
    """The services of one registrar office, sharing one :class:`ServiceContext` (signers, Safe routes, the
    resolved assets)."""

    def __init__(self, stack: "Stack | ServiceContext", *args: Any, **options: Any):
        """``Services(stack, distributions_dir=None, *, ledger=, compliance=, custodian=, guardian=, via=)``: the
        arguments are :class:`ServiceContext`'s (one context is built from them and shared), or
        ``Services(ctx)`` over a context already made."""
        if isinstance(stack, ServiceContext):
            if args or options:
                raise TypeError("Services(ctx) takes no further arguments: they are the context's")
            self.ctx = stack
        else:
            self.ctx = ServiceContext(stack, *args, **options)
        self.stack = self.ctx.stack
        self.redemptions = RedemptionService(self.ctx)
        self.assets = AssetService(self.ctx, self.redemptions)
        self.investors = InvestorService(self.ctx)
        self.issuance = IssuanceService(self.ctx)
        self.transfers = TransferService(self.ctx)
        self.enforcement = EnforcementService(self.ctx)
        self.distributions = DistributionService(self.ctx)

    @property
    def session(self):
        """The session the services sign with by default."""
        return self.ctx.session

    @property
    def tx(self):
        """The session's own transactor (the default signer)."""
        return self.ctx.tx


# help(Services) and inspect.signature(Services) show the context's parameters (the one list of them)
Services.__init__.__signature__ = inspect.signature(ServiceContext.__init__)  # type: ignore[attr-defined]
