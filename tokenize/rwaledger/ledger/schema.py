"""The ledger's tables (SQLAlchemy Core, portable: SQLite by default, PostgreSQL and others by URL).

Amounts are uint256 (and signed deltas of them): they overflow every SQL integer type, and REAL loses
precision, so :class:`Amount` stores them as exact decimal text (``NUMERIC(78, 0)`` on PostgreSQL) and they are
summed in Python.

Tables (chain order of an event is ``(block_number, tx_index, log_index)``; ``(tx_hash, log_index)`` is its
unique key because eth-tester numbers logs per transaction and nodes per block):

``meta``            key/value: schema version, chain id, stack addresses, start block, checkpoint block/hash
``blocks``          number -> hash (every block that had events, and every checkpoint block)
``contracts``       every tracked address: the core contracts and each token discovered from the factory
``events``          every log of the stack, decoded generically (args as JSON, ints as strings)
``event_accounts``  (event, address) for every address-typed argument: the wallet index of ``history``
``balance_changes`` one row per side of an ERC-20 ``Transfer``: (token, holder, delta)
``identities``      full identity state of a wallet after each identity event (valid from that event on)
``assets``          current asset/token record (rebuilt from ``events`` after a rollback)
``distributions``   distribution id -> token (to attribute claims to an asset)
"""

from __future__ import annotations

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

SCHEMA_VERSION = "1"


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

identities = Table(
    "identities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("wallet", Addr, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("tx_hash", Hash, nullable=False),
    Column("tx_index", Integer, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("active", Boolean, nullable=False),  # false after IdentityRemoved / recovered away
    Column("country", Integer),  # ISO 3166-1 numeric
    Column("kyc_expiry", Amount),  # uint64 does not fit a signed BIGINT
    Column("category", Integer),
    Column("event", String(64), nullable=False),
    UniqueConstraint("tx_hash", "log_index", "wallet", name="uq_identities"),
    Index("ix_identities_wallet", "wallet", "block_number"),
    Index("ix_identities_block", "block_number"),
)

assets = Table(
    "assets",
    metadata,
    Column("asset_id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(16)),
    Column("token", Addr, unique=True),
    Column("symbol", String(64)),
    Column("name", String(128)),
    Column("decimals", Integer),
    Column("cap", Amount),  # property share cap
    Column("unit", String(64)),  # commodity unit
    Column("jurisdiction", String(8)),
    Column("legal_reference", Text),
    Column("metadata_uri", Text),
    Column("status", String(16)),
    Column("valuation_amount", Amount),
    Column("valuation_currency", String(8)),
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
)

# Tables whose rows belong to one block: a rollback deletes the rows above the fork point.
BLOCK_SCOPED: tuple[tuple[Table, str], ...] = (
    (events, "block_number"),
    (event_accounts, "block_number"),
    (balance_changes, "block_number"),
    (identities, "block_number"),
    (distributions, "block_number"),
    (contracts, "first_block"),
    (blocks, "number"),
)
