"""What a service operation answers: typed data, never console text.

Every write of the services returns a :class:`Result`: the :class:`Action` it was, a :class:`Status`, the asset it
acted on (enough to format its amounts), the transactions it sent (hash and block), the events they emitted
(decoded against the stack's ABIs), the proposal it stored when a Safe holds the role, the steps of a composite act
(registering an asset applies rules, documents and lots) and the act's figures in ``facts``. Nothing here is worded
for a reader: :mod:`rwaledger.render` turns a result into the sentence the CLI prints and the API returns beside it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Status(StrEnum):
    DONE = "done"  # sent now, and mined
    SKIPPED = "skipped"  # already so on the chain: nothing was sent
    PENDING = "pending"  # a step needs a role no available signer holds: nothing was sent for it
    PROPOSED = "proposed"  # stored as a Safe proposal: nothing was sent, the Safe's owners approve and execute it
    FAILED = "failed"  # sent and mined, but the act did not happen (a Safe execution whose inner call reverted)


class Action(StrEnum):
    """Every act a service performs (``concern.verb``); the renderer has one sentence per action."""

    ASSET_REGISTER = "asset.register"
    ASSET_RULES = "asset.rules"
    ASSET_DOCUMENT = "asset.document"
    ASSET_STATUS = "asset.status"
    INVESTORS_ONBOARD = "investors.onboard"
    WALLET_ADD = "wallet.add"
    WALLET_REMOVE = "wallet.remove"
    WALLET_RECOVER = "wallet.recover"
    INVESTOR_DELETE = "investor.delete"
    INVESTOR_SYNC = "investor.sync"
    LOT_ATTEST = "lot.attest"
    MINT = "mint"
    MINT_MANY = "mint.many"
    FORCED_TRANSFER = "transfer.forced"
    BURN = "burn"
    FREEZE_WALLET = "freeze.wallet"
    FREEZE_PARTIAL = "freeze.partial"
    PAUSE = "pause"
    LIEN_CREATE = "lien.create"
    LIEN_RELEASE = "lien.release"
    LIEN_BENEFICIARY = "lien.beneficiary"
    REDEMPTION_FULFIL = "redemption.fulfil"
    REDEMPTION_REJECT = "redemption.reject"
    DISTRIBUTION_CREATE = "distribution.create"
    DISTRIBUTION_CLAIM = "distribution.claim"
    DISTRIBUTION_CLAIM_MANY = "distribution.claim_many"
    DISTRIBUTION_WITHHOLD = "distribution.withhold"
    DISTRIBUTION_RECLAIM = "distribution.reclaim"


class AssetRef(BaseModel):
    """An asset as a result names it: what formatting its amounts needs."""

    model_config = ConfigDict(frozen=True)

    asset_id: int
    symbol: str
    kind: str
    token: str
    decimals: int
    unit: str  # "share" for property tokens


class TxRef(BaseModel):
    hash: str
    block: int
    gas_used: int


class EventOut(BaseModel):
    """One decoded log of a sent transaction (arguments JSON-ready: integers as decimal strings)."""

    tx_hash: str
    address: str
    event: str | None  # None: no ABI of the stack explains it
    args: dict[str, Any]


class ProposalRef(BaseModel):
    """The Safe proposal an act became (nothing was sent)."""

    id: int
    safe: str
    safe_tx_hash: str
    nonce: int
    threshold: int
    owners: int
    calls: list[str]  # each call in plain words


class Result(BaseModel):
    action: Action
    status: Status
    asset: AssetRef | None = None
    txs: list[TxRef] = Field(default_factory=list)
    events: list[EventOut] = Field(default_factory=list)
    proposal: ProposalRef | None = None
    steps: list["Result"] = Field(default_factory=list)  # a composite act's parts, in order
    facts: dict[str, Any] = Field(default_factory=dict)  # the act's figures (integers in smallest units)

    @property
    def tx_hash(self) -> str | None:
        """The last transaction sent (the one a caller waits for), if any."""
        return self.txs[-1].hash if self.txs else None

    @property
    def pending(self) -> list["Result"]:
        return [s for s in self.steps if s.status is Status.PENDING]

    @property
    def done_steps(self) -> list["Result"]:
        return [s for s in self.steps if s.status is Status.DONE]
