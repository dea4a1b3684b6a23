"""The ledger's tables (SQLAlchemy Core, portable: SQLite by default, PostgreSQL and others by URL).

Amounts are uint256 (and signed deltas of them): they overflow every SQL integer type, and REAL loses
precision, so :class:`Amount` stores them as exact decimal text (``NUMERIC(78, 0)`` on PostgreSQL) and they are
summed in Python.

Tables (chain order of an event is ``(block_number, tx_index, log_index)``; ``(tx_hash, log_index)`` is its
unique key because eth-tester numbers logs per transaction and nodes per block):

``meta``            key/value: schema version, chain id, stack addresses, start block, checkpoint block/hash
``blocks``          number -> hash and timestamp (every block that had events, and every checkpoint block)
``contracts``       every tracked address: the core contracts and each token discovered from the factory
``events``          every log of the stack, decoded generically (args as JSON, ints as strings)
``event_accounts``  (event, address) for every address-typed argument: the wallet index of ``history``
``balance_changes`` one row per side of an ERC-20 ``Transfer``: (token, holder, delta)
``holdings``        current state: every holder's balance now (written with its range, rebuilt on a rollback)
``supplies``        current state: each token's total supply and holder count now
``balance_checkpoints`` every holder's balance of a token at a block, now and then (a past cap table's base)
``wallet_identities`` current state: each wallet's investor, status and that investor's country, KYC, category
``liens``           current state: every lien (active or released) with its holder, beneficiary, amount
``freezes``         current state: wallets frozen and partly frozen amounts, per token
``custody_lots``    current state: each commodity lot attested, what remains of it, active or retired
``redemptions``     current state: each redemption request, open / fulfilled / rejected
``investor_states`` full state of an investor after each event that changes it (valid from that event on)
``wallet_bindings`` wallet -> investor, written once: the registry never moves a wallet to another investor
``wallet_statuses`` a wallet's status (active / removed / lost) after each later change (active from binding)
``investor_labels`` investor -> label (name): off-chain only, written by the registrar service, never public
``assets``          current asset/token record (rebuilt from ``events`` after a rollback)
``distributions``   distribution id -> token, payment token, root, expiry; what is claimed and reclaimed (current)
``distribution_claims`` current state: each entitlement claimed (account, payee, amount) or withheld
``payment_tokens``  a payment token's symbol and decimals, read from it once when a distribution first names it
``safe_proposals``  Safe transactions proposed by the registrar service (off-chain until executed)
``safe_approvals``  owners' EIP-712 signatures of a proposal, each verified before it is stored
``officers``        the service's officer accounts (role, bound signer, token hash)
``api_requests``    the first answer to each write with an Idempotency-Key (a retry gets it again, sends nothing)
``api_audit``       every write attempt through the API: append-only
``console_sessions`` the officer console's sessions (id hash, officer, CSRF token, expiry, pending previews)

Investors, not wallets (schema version 2): the IdentityRegistry keeps *investors* (country, KYC expiry,
category; the id is the address of the investor's first wallet) that own *wallets*. The state of an investor
and the status of each wallet change independently (a country update touches no wallet, a lost wallet no
investor), so each has its own history table, and the binding, which never changes, is a plain table that
the cap tables join. Version 1 kept one identity per wallet (``identities``); nothing in it says which wallets
belong to one investor, so an older database is refused, never migrated: everything but the labels comes from
the chain, and a sync into a new file rebuilds it exactly.

Within version 2 the tables change by Alembic migrations (``migrations/versions``, run on every open): this
module stays the one description of the current tables, so a change here comes with a new revision that makes
it (tests/test_ledger_schema.py checks that the migrated database equals this metadata).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

SCHEMA_VERSION = "2"  # 2: investors own wallets (version 1: one identity per wallet)


class Amount(TypeDecorator):
    """An exact integer of up to 78 digits (uint256 or a signed delta): decimal text, NUMERIC on PostgreSQL."""

    impl = String(80)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(78, 0))
        return dialect.type_descriptor(String(80))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            value = int(value)
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


class SortableAmount(Amount):
    """An :class:`Amount` that also sorts by value in SQL: NUMERIC on PostgreSQL, and on SQLite decimal text
    zero-padded to 78 digits (non-negative only: a balance), so that text order is numeric order."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return super().process_bind_param(value, dialect)
        value = int(value)
        if value < 0:
            raise ValueError(f"a sortable amount is non-negative, not {value}")
        return f"{value:078d}"


class AnyText(TypeDecorator):
    """Text that may hold any character: strings from the chain (token names, units, references, URIs) and from
    the registrar (labels) may hold a NUL, which PostgreSQL's text types refuse (SQLite stores it).

    On PostgreSQL a value that holds a NUL, or begins with the marker U+FDD0 (a Unicode noncharacter, never in
    real text), is stored as the marker and the value with each marker doubled and each NUL as marker + "0";
    every other value (all usual text) is stored as it is, so SQL sees it unchanged. Reading undoes it. Other
    backends store every value as it is. ``AnyText()`` is TEXT, ``AnyText(n)`` VARCHAR(n) (the DDL of Text and
    String(n): no migration)."""

    impl = Text
    cache_ok = True
    MARK = "\ufdd0"

    def __init__(self, length: int | None = None):
        super().__init__()
        self.length = length
        if length is not None:
            self.impl = String(length)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "postgresql" or ("\0" not in value and not value.startswith(self.MARK)):
            return value
        return self.MARK + value.replace(self.MARK, self.MARK * 2).replace("\0", self.MARK + "0")

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "postgresql" or not value.startswith(self.MARK):
            return value
        return re.sub(f"{self.MARK}(.)", lambda m: "\0" if m.group(1) == "0" else m.group(1), value[1:], flags=re.S)


Id = BigInteger().with_variant(Integer, "sqlite")  # autoincrementing key on every backend
Addr = String(42)
Hash = String(66)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

blocks = Table(
    "blocks",
    metadata,
    Column("number", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", Hash, nullable=False),
    # unix seconds of the block (a cap table "at a date" is the one at the last block at or before it); NULL only
    # for a block recorded before revision 0004, until the next sync reads it
    Column("timestamp", BigInteger),
    Index("ix_blocks_timestamp", "timestamp"),
)

contracts = Table(
    "contracts",
    metadata,
    Column("address", Addr, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("asset_id", BigInteger),
    Column("first_block", BigInteger, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", Hash, nullable=False),
    Column("tx_hash", Hash, nullable=False),
    Column("tx_index", Integer, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("address", Addr, nullable=False),
    Column("contract_kind", String(16), nullable=False),
    Column("event", String(64)),  # NULL: a log no ABI of the stack explains (args hold topics and data)
    Column("args", Text, nullable=False),
    Column("asset_id", BigInteger),
    UniqueConstraint("tx_hash", "log_index", name="uq_events_log"),
    Index("ix_events_order", "block_number", "tx_index", "log_index"),
    Index("ix_events_asset", "asset_id", "block_number"),
    Index("ix_events_name", "event"),
)

event_accounts = Table(
    "event_accounts",
    metadata,
    Column("account", Addr, nullable=False),
    Column("tx_hash", Hash, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    UniqueConstraint("account", "tx_hash", "log_index", name="uq_event_accounts"),
    Index("ix_event_accounts_block", "block_number"),
)

balance_changes = Table(
    "balance_changes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token", Addr, nullable=False),
    Column("asset_id", BigInteger),
    Column("holder", Addr, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("tx_hash", Hash, nullable=False),
    Column("tx_index", Integer, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("delta", Amount, nullable=False),
    UniqueConstraint("tx_hash", "log_index", "holder", name="uq_balance_changes"),
    Index("ix_balance_changes_token", "token", "block_number"),
    Index("ix_balance_changes_holder", "holder", "block_number"),
)

holdings = Table(
    "holdings",
    metadata,
    # Current state, derived from balance_changes in the same transaction as each range (and rebuilt from it on a
    # rollback), so that "who holds what now" is one indexed query: a page of a cap table reads one page of rows.
    # Holders whose balance is 0 have no row
    Column("token", Addr, primary_key=True),
    Column("holder", Addr, primary_key=True),
    Column("asset_id", BigInteger),
    Column("balance", SortableAmount, nullable=False),
    Column("block_number", BigInteger, nullable=False),  # of its latest change
    Index("ix_holdings_token_balance", "token", "balance"),
)

supplies = Table(
    "supplies",
    metadata,
    # Current state beside ``holdings``: each token's total supply and holder count now (a cap table's header),
    # kept in Python because a sum of uint256 does not fit SQLite's integers
    Column("token", Addr, primary_key=True),
    Column("total", Amount, nullable=False),
    Column("holders", BigInteger, nullable=False),
)

balance_checkpoints = Table(
    "balance_checkpoints",
    metadata,
    # Every holder's balance of one token at one block (a copy of its holdings then), written now and then (see
    # ledger/state.py CHECKPOINT_CHANGES), so that a cap table at a past block is the latest checkpoint at or
    # before it plus the balance changes after it, summed in SQL: a few deltas, not the whole history. Holders at 0
    # have no row. Block-scoped: a rollback deletes the checkpoints above the fork point
    Column("token", Addr, primary_key=True),
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("holder", Addr, primary_key=True),
    Column("balance", SortableAmount, nullable=False),
    # A page of a past cap table, largest first, reads the checkpoint along this index (backwards: no sort of it)
    Index("ix_balance_checkpoints_balance", "token", "block_number", "balance"),
)

wallet_identities = Table(
    "wallet_identities",
    metadata,
    # Current state beside the histories (investor_states, wallet_bindings, wallet_statuses): who each wallet is
    # now, one row per bound wallet, rewritten for the wallets and investors a range touches (same transaction)
    # and for those a rollback touched. Its investor's fields are copied to each of its wallets: a page of
    # holders needs them by wallet, and a country update rewrites only that investor's few wallets
    Column("wallet", Addr, primary_key=True),
    Column("investor", Addr, nullable=False),
    Column("status", String(16), nullable=False),  # active / removed / lost
    Column("investor_active", Boolean, nullable=False),  # registered and not deleted
    Column("country", Integer),  # ISO 3166-1 numeric (NULL: not known to the ledger)
    Column("kyc_expiry", Amount),
    Column("category", Integer),
    Column("block_number", BigInteger, nullable=False),  # of the latest change of the wallet or of its investor
    Index("ix_wallet_identities_investor", "investor"),
)

liens = Table(
    "liens",
    metadata,
    # Current state of every lien of every token (LienCreated / LienReleased / LienBeneficiaryChanged, and a
    # recovery moving a lien to the holder's new wallet), so "liens in force on an asset" is one indexed query.
    # Released liens stay (active false): the id is never reused and the release is part of the record
    Column("token", Addr, primary_key=True),
    Column("lien_id", BigInteger, primary_key=True, autoincrement=False),
    Column("asset_id", BigInteger),
    Column("holder", Addr, nullable=False),  # follows a recovery (the token moves the lien with the units)
    Column("beneficiary", Addr, nullable=False),
    Column("amount", Amount, nullable=False),
    Column("reason", Hash, nullable=False),  # bytes32 reference (loan number), 0x hex
    Column("document_hash", Hash, nullable=False),  # SHA-256 of the lien document
    Column("active", Boolean, nullable=False),
    Column("created_block", BigInteger, nullable=False),
    Column("block_number", BigInteger, nullable=False),  # of its latest change
    Index("ix_liens_token_active", "token", "active"),
)

freezes = Table(
    "freezes",
    metadata,
    # Current state of freezes per token and wallet: the whole wallet frozen (AddressFrozen) and the frozen amount
    # (ERC-7943 Frozen sets it, TokensFrozen / TokensUnfrozen change it, as a recovery moves it). A wallet neither
    # frozen nor with a frozen amount has no row: the table is what is in force now
    Column("token", Addr, primary_key=True),
    Column("wallet", Addr, primary_key=True),
    Column("asset_id", BigInteger),
    Column("frozen", Boolean, nullable=False),
    Column("frozen_amount", Amount, nullable=False),
    Column("block_number", BigInteger, nullable=False),  # of its latest change
)

custody_lots = Table(
    "custody_lots",
    metadata,
    # Current state of each commodity token's custody lots (LotAttested, LotReduced, LotRetired, LotDrawn): the
    # reserve is the sum of what the active lots hold, so "supply <= reserve" is read here, beside ``supplies``
    Column("token", Addr, primary_key=True),
    Column("lot_id", Hash, primary_key=True),  # bytes32, 0x hex
    Column("asset_id", BigInteger),
    Column("vault", AnyText(), nullable=False),
    Column("receipt_hash", Hash, nullable=False),
    Column("custodian", Addr, nullable=False),
    Column("attested", Amount, nullable=False),  # the quantity attested
    Column("remaining", Amount, nullable=False),  # what the lot holds now (0 once retired)
    Column("status", String(16), nullable=False),  # active / retired
    Column("attested_block", BigInteger, nullable=False),
    Column("block_number", BigInteger, nullable=False),  # of its latest change
)

redemptions = Table(
    "redemptions",
    metadata,
    # Current state of each redemption request of a commodity token (RedemptionRequested, then RedemptionFulfilled
    # or RedemptionRejected; a recovery moves an open request's holder, as the token does)
    Column("token", Addr, primary_key=True),
    Column("request_id", BigInteger, primary_key=True, autoincrement=False),
    Column("asset_id", BigInteger),
    Column("requester", Addr, nullable=False),  # the wallet that asked
    Column("holder", Addr, nullable=False),  # whose units are locked / were burned (follows a recovery)
    Column("amount", Amount, nullable=False),
    Column("delivery_ref", Hash, nullable=False),
    Column("status", String(16), nullable=False),  # open / fulfilled / rejected
    Column("reason", Hash),  # a rejection's reference
    Column("requested_block", BigInteger, nullable=False),
    Column("block_number", BigInteger, nullable=False),  # of its latest change
    Index("ix_redemptions_token_status", "token", "status"),
)

investor_states = Table(
    "investor_states",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("investor", Addr, nullable=False),  # the investor id (its first wallet)
    Column("block_number", BigInteger, nullable=False),
    Column("tx_hash", Hash, nullable=False),
    Column("tx_index", Integer, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("active", Boolean, nullable=False),  # registered and not deleted (IdentityRemoved clears it)
    # NULL: not known to the ledger (an update of an investor registered before the ledger's start block)
    Column("country", Integer),  # ISO 3166-1 numeric
    Column("kyc_expiry", Amount),  # uint64 does not fit a signed BIGINT
    Column("category", Integer),  # 1 retail, 2 accredited, 3 institutional
    Column("event", String(64), nullable=False),
    # one event changes one investor once, so (tx_hash, log_index) alone would do; the investor keeps the key
    # readable
    UniqueConstraint("tx_hash", "log_index", "investor", name="uq_investor_states"),
    Index("ix_investor_states_investor", "investor", "block_number"),
    Index("ix_investor_states_block", "block_number"),
)

wallet_bindings = Table(
    "wallet_bindings",
    metadata,
    # the primary key is the wallet: a wallet is bound to at most one investor, ever (IdentityRegistry), so a
    # second binding of a wallet is an error of the ledger or of the contract, and the database refuses it
    Column("wallet", Addr, primary_key=True),
    Column("investor", Addr, nullable=False),
    Column("block_number", BigInteger, nullable=False),  # bound from this event on (a rollback above it unbinds)
    Column("tx_hash", Hash, nullable=False),
    Column("tx_index", Integer, nullable=False),
    Column("log_index", Integer, nullable=False),
    Index("ix_wallet_bindings_investor", "investor", "block_number"),
    Index("ix_wallet_bindings_block", "block_number"),
)

wallet_statuses = Table(
    "wallet_statuses",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("wallet", Addr, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("tx_hash", Hash, nullable=False),
    Column("tx_index", Integer, nullable=False),
    Column("log_index", Integer, nullable=False),
    # "active" / "removed" / "lost" (IdentityRegistry.walletStatus 1..3); lost is final. Only changes after
    # the binding are written: a wallet is active from its binding on (so a registration writes no row here),
    # and a WalletReplaced whose new wallet already is active adds no row for it
    Column("status", String(16), nullable=False),
    Column("event", String(64), nullable=False),
    UniqueConstraint("tx_hash", "log_index", "wallet", name="uq_wallet_statuses"),  # WalletReplaced: two wallets
    Index("ix_wallet_statuses_wallet", "wallet", "block_number"),
    Index("ix_wallet_statuses_block", "block_number"),
)

investor_labels = Table(
    "investor_labels",
    metadata,
    # Off-chain data: the chain never sees an investor's name. Not block-scoped (a rollback keeps labels) and
    # read only by the registrar-side queries that ask for labels (investor_cap_table(labels=True), exports)
    Column("investor", Addr, primary_key=True),
    Column("label", AnyText(), nullable=False),
)

assets = Table(
    "assets",
    metadata,
    Column("asset_id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(16)),
    Column("token", Addr, unique=True),
    Column("symbol", AnyText(64)),
    Column("name", AnyText(128)),
    Column("decimals", Integer),
    Column("cap", Amount),  # property share cap
    Column("unit", AnyText(64)),  # commodity unit
    Column("jurisdiction", AnyText(8)),
    Column("legal_reference", AnyText()),  # canonical (the registry's key with the jurisdiction)
    Column("display_reference", AnyText()),  # as written in the land record
    Column("metadata_uri", AnyText()),
    Column("status", String(16)),
    Column("valuation_amount", Amount),
    Column("valuation_currency", AnyText(8)),
    Column("valuation_date", BigInteger),
    Column("registered_block", BigInteger),
    Column("updated_block", BigInteger),
    Index("ix_assets_symbol", "symbol"),
)

distributions = Table(
    "distributions",
    metadata,
    Column("distribution_id", BigInteger, primary_key=True, autoincrement=False),
    Column("token", Addr, nullable=False),
    Column("asset_id", BigInteger),
    Column("payment_token", Addr, nullable=False),
    Column("total", Amount, nullable=False),
    Column("record_block", BigInteger, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("merkle_root", Hash),
    Column("expiry", BigInteger),  # last unix second at which claims are accepted
    # current state (ledger/state.py): what has been claimed (sum, count) and what was reclaimed after expiry
    Column("claimed", Amount),
    Column("claims", Integer),
    Column("reclaimed", Amount),  # NULL: not reclaimed
)

payment_tokens = Table(
    "payment_tokens",
    metadata,
    # What a distribution pays in, as the token itself answers ``symbol()`` and ``decimals()`` (read once, at the
    # block of the range that first named it: ERC-20 metadata does not change), so that amounts are shown in the
    # token's units without a node. NULL where the token does not answer (both are optional in ERC-20): amounts are
    # then shown in base units. Not block-scoped: a rollback keeps it, the address still names the same token
    Column("address", Addr, primary_key=True),
    Column("symbol", String(64)),
    Column("decimals", Integer),
    Column("read_block", BigInteger, nullable=False),
)

distribution_claims = Table(
    "distribution_claims",
    metadata,
    # Current state of each entitlement the chain has spoken of (Claimed, EntitlementsWithheld): the entitlements
    # themselves are in the proofs files (services/distributions.py), a leaf the chain never named has no row
    Column("distribution_id", BigInteger, primary_key=True, autoincrement=False),
    Column("claim_index", BigInteger, primary_key=True, autoincrement=False),  # the leaf index
    Column("asset_id", BigInteger),
    Column("account", Addr),  # the entitled wallet (the leaf's), once claimed
    Column("payee", Addr),  # who was paid: the account or its successor after a recovery
    Column("amount", Amount),
    Column("claimed", Boolean, nullable=False),
    Column("withheld", Boolean, nullable=False),
    Column("block_number", BigInteger, nullable=False),  # of its latest change
    Index("ix_distribution_claims_account", "account"),
    Index("ix_distribution_claims_payee", "payee"),
)

safe_proposals = Table(
    "safe_proposals",
    metadata,
    # Off-chain work in progress, like the labels: a proposal is not on chain until it is executed, so it is not
    # block-scoped (a rollback keeps it; its execution is read back from the Safe's events). Everything the Safe
    # signs is stored, so the hash can be recomputed and checked before any owner signs or anyone executes.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("safe", Addr, nullable=False),
    Column("nonce", BigInteger, nullable=False),
    Column("to", Addr, nullable=False),
    Column("value", Amount, nullable=False),
    Column("data", Text, nullable=False),  # 0x-hex calldata (a MultiSend batch for more than one call)
    Column("operation", Integer, nullable=False),  # 0 call, 1 delegatecall (MultiSendCallOnly only)
    Column("safe_tx_hash", Hash, nullable=False, unique=True),  # the EIP-712 hash owners sign
    Column("title", AnyText(), nullable=False),  # what the registrar asked for, e.g. "minting"
    Column("calls", Text, nullable=False),  # JSON [{to, data, text}]: each call and its plain-words decoding
    Column("proposer", Addr),
    Column("created_at", BigInteger, nullable=False),  # unix seconds
    # open -> executed | failed (ExecutionFailure) | replaced (another transaction used its nonce)
    Column("status", String(16), nullable=False),
    Column("executed_tx", Hash),
    Column("executed_block", BigInteger),
    Index("ix_safe_proposals_safe", "safe", "nonce"),
)

safe_approvals = Table(
    "safe_approvals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),  # the order the approvals came in
    Column("proposal_id", BigInteger, nullable=False),
    Column("owner", Addr, nullable=False),
    Column("signature", String(132), nullable=False),  # 0x + 65 bytes r|s|v over safe_tx_hash (EIP-712)
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("proposal_id", "owner", name="uq_safe_approvals"),  # one signature per owner
)

officers = Table(
    "officers",
    metadata,
    # Off-chain, like the labels. The token is shown once when the account is made; only its argon2 hash is kept,
    # and the token carries the id so that one hash is checked per request (argon2 is slow by design)
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # registrar | compliance | custodian | auditor
    # how this officer's writes are signed: "keystore:PATH" (password from the environment) or "dev:N" (a local
    # chain's dev account); NULL for an auditor, who writes nothing. Never a key
    Column("signer", Text),
    Column("token_hash", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

api_requests = Table(
    "api_requests",
    metadata,
    # One row per (officer, Idempotency-Key): written with the first answer, so a retry, also after a restart,
    # returns it and sends nothing
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("officer_id", BigInteger, nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("request_hash", Hash, nullable=False),  # a retry with the same key but another body is refused
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("officer_id", "idempotency_key", name="uq_api_requests_key"),
)

api_audit = Table(
    "api_audit",
    metadata,
    # Append-only: every write attempt (refused ones too), who, what, the transactions, the outcome
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("officer_id", BigInteger),  # NULL: no valid token
    Column("officer", String(64)),
    Column("action", String(64), nullable=False),
    Column("params", Text, nullable=False),  # JSON
    Column("status_code", Integer, nullable=False),
    Column("outcome", String(32), nullable=False),  # done | skipped | proposed | refused | rejected | error
    Column("detail", Text, nullable=False),
    Column("tx_hashes", Text, nullable=False),  # JSON list
    Index("ix_api_audit_at", "at"),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    # The officer console's logins, here rather than in a process's memory so that every worker of one server
    # (``rwa serve --workers N``) knows them and a restart logs no officer out. Only the SHA-256 of the session id
    # is kept (the id itself is only in the officer's cookie); an expired row is deleted when it is next seen and
    # whenever a session is opened. Off-chain, never public
    Column("id_sha256", String(64), primary_key=True),
    Column("officer_id", BigInteger, nullable=False),
    Column("csrf", String(64), nullable=False),  # the session's CSRF token, in every form it renders
    Column("expires", BigInteger, nullable=False),  # unix time
    # JSON: the previewed writes awaiting confirmation, by preview id: what each route call needs (the form's
    # values, the uploaded files in base64, the CSV chunks), rebuilt into the call on confirm, and the parts'
    # results so far
    Column("pending", Text, nullable=False),
    Index("ix_console_sessions_expires", "expires"),
)

# Tables whose rows belong to one block: a rollback deletes the rows above the fork point. (The current-state tables
# holdings, supplies, wallet_identities, liens, freezes, custody_lots, redemptions, distribution_claims and the
# distributions' claimed / reclaimed columns are recomputed instead: see
# ledger/state.py.)
BLOCK_SCOPED: tuple[tuple[Table, str], ...] = (
    (events, "block_number"),
    (event_accounts, "block_number"),
    (balance_changes, "block_number"),
    (investor_states, "block_number"),
    (wallet_bindings, "block_number"),
    (wallet_statuses, "block_number"),
    (distributions, "block_number"),
    (balance_checkpoints, "block_number"),
    (contracts, "first_block"),
    (blocks, "number"),
)
