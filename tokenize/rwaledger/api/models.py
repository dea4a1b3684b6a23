"""The HTTP API's response models (pydantic): every response is typed, amounts are decimal strings of the token's
smallest unit (a uint256 never goes through a float), percents are exact to 2 decimals, and public responses carry
wallets and countries, never investor names or labels (personal data)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int
    detail: str
    field: str | None = Field(None, description="The offending field of a validation error (e.g. query.block)")


class Valuation(BaseModel):
    amount_minor: str | None
    currency: str | None
    date: int | None = Field(None, description="Unix time of the valuation")


class Asset(BaseModel):
    asset_id: int
    kind: str | None
    symbol: str | None
    name: str | None
    token: str | None
    decimals: int | None
    unit: str | None
    cap: str | None = Field(None, description="A property's share cap (smallest units)")
    jurisdiction: str | None
    legal_reference: str | None = Field(None, description="The registry's canonical key")
    display_reference: str | None = Field(None, description="As written in the land record")
    metadata_uri: str | None
    status: str | None
    valuation: Valuation
    registered_block: int | None
    updated_block: int | None


class Document(BaseModel):
    document_id: int
    asset_id: int
    name: str
    version: int = Field(description="1 for the first document of this name, then 2, 3, ...")
    uri: str
    sha256: str
    effective_date: int
    supersedes: int | None = Field(None, description="The document id this version replaces")
    superseded_by: int | None = None
    current: bool
    block_number: int
    tx_hash: str


class DocumentVerification(BaseModel):
    sha256: str
    registered: bool
    matches: list[Document] = Field(default_factory=list, description="Every registration of this hash")


class CapTableRow(BaseModel):
    wallet: str
    amount: str
    percent: str = Field(description="Of the total supply at the block, exact to 2 decimals")
    country: str | None


class CapTablePage(BaseModel):
    asset_id: int
    symbol: str | None
    block: int
    total_supply: str
    holders: int
    page: int
    per_page: int
    rows: list[CapTableRow]


class CountryTotal(BaseModel):
    country: str | None
    holders: int
    amount: str
    percent: str


class Holding(BaseModel):
    asset_id: int | None
    symbol: str | None
    token: str
    amount: str
    decimals: int | None
    percent: str


class Event(BaseModel):
    block_number: int
    tx_hash: str
    log_index: int
    contract: str
    contract_kind: str
    event: str | None
    asset_id: int | None
    args: dict


class Wallet(BaseModel):
    wallet: str
    block: int
    holdings: list[Holding]
    history: list[Event]


class WalletDistribution(BaseModel):
    """One distribution as it concerns a wallet: what it is entitled to (from the published proofs file) and whether
    it was claimed (from the chain's ``Claimed`` event, as the ledger keeps it)."""

    distribution_id: int
    asset_id: int | None
    symbol: str | None
    token: str
    payment_token: str
    payment_symbol: str | None = Field(None, description="The payment token's symbol() (None: it does not answer)")
    payment_decimals: int | None = Field(
        None, description="The payment token's decimals(): amounts are in its base units, amount / 10**decimals "
                          "tokens (None: it does not answer)")
    record_block: int
    expiry: int | None = Field(description="Last unix second at which claims are accepted")
    index: int | None = Field(description="The wallet's leaf in the Merkle tree (None: proofs not published here)")
    amount: str | None = Field(description="The entitlement (proofs file) or, for a claim, the amount paid")
    status: Literal["claimable", "claimed", "withheld", "expired", "reclaimed"]
    payee: str | None = Field(None, description="Who was paid: the wallet or its successor after a recovery")
    claimed_block: int | None = None


class WalletDistributions(BaseModel):
    wallet: str
    block: int
    as_of: int | None = Field(description="The chain's time at the synced block (unix): what expiry is checked against")
    claimable: list[WalletDistribution]
    claimed: list[WalletDistribution]
    other: list[WalletDistribution] = Field(description="Withheld, expired or reclaimed before being claimed")


class LedgerStatus(BaseModel):
    synced_block: int | None
    head: int | None
    lag: int | None
    follower_running: bool
    last_sync_at: float | None
    last_error: str | None
    role: Literal["leader", "standby"] | None = Field(None, description="This process's follower: the one writing "
                                                      "the ledger (leader) or waiting to take over (standby); null "
                                                      "without a follower")


class Health(BaseModel):
    status: str
    synced_block: int | None


class Ping(BaseModel):
    ok: bool


class Lien(BaseModel):
    """A lien in force: part of a holder's units encumbered for a beneficiary (a lending bank)."""

    lien_id: int
    holder: str
    beneficiary: str
    amount: str
    reason_ref: str = Field(description="The bytes32 reference of the reason (loan number), 0x hex")
    document_hash: str = Field(description="SHA-256 of the lien document, 0x hex")
    created_block: int


class Freeze(BaseModel):
    """A wallet frozen whole and/or with a frozen amount now."""

    wallet: str
    frozen: bool = Field(description="The whole wallet is frozen (it neither sends nor receives)")
    frozen_amount: str
    block_number: int


class Lot(BaseModel):
    lot_id: str
    vault: str
    receipt_hash: str
    custodian: str
    attested: str
    remaining: str
    attested_block: int


class Redemption(BaseModel):
    request_id: int
    holder: str
    amount: str
    status: str = Field(description="open, fulfilled or rejected")
    requested_block: int
    block_number: int


class ReserveProof(BaseModel):
    supply: str
    reserve: str
    supply_le_reserve: bool = Field(description="supply <= reserve: every unit in circulation is in custody")


class Reserve(BaseModel):
    asset_id: int
    symbol: str | None
    unit: str | None
    block: int
    lots: list[Lot]
    open_redemptions: list[Redemption]
    proof: ReserveProof
