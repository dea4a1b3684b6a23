"""Baseline: the ledger of schema version 2 before the Safe proposals (investors own wallets).

The tables as ``metadata.create_all`` made them up to then; a database made so (``meta.schema_version`` "2", no
``alembic_version``, no ``safe_proposals``) is stamped with this revision when it is first opened, then
upgraded. A migration is a snapshot: it spells its types out and never imports schema.py (which moves on).

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# schema.Amount, Id, Addr, Hash as they are in this revision
Amount = sa.String(80).with_variant(sa.Numeric(78, 0), "postgresql")  # uint256: decimal text; NUMERIC on PostgreSQL
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Addr = sa.String(42)
Hash = sa.String(66)

TABLES = ("meta", "blocks", "contracts", "events", "event_accounts", "balance_changes", "investor_states",
          "wallet_bindings", "wallet_statuses", "investor_labels", "assets", "distributions")


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", Hash, nullable=False),
    )
    op.create_table(
        "contracts",
        sa.Column("address", Addr, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("asset_id", sa.BigInteger),
        sa.Column("first_block", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("block_hash", Hash, nullable=False),
        sa.Column("tx_hash", Hash, nullable=False),
        sa.Column("tx_index", sa.Integer, nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("address", Addr, nullable=False),
        sa.Column("contract_kind", sa.String(16), nullable=False),
        sa.Column("event", sa.String(64)),
        sa.Column("args", sa.Text, nullable=False),
        sa.Column("asset_id", sa.BigInteger),
        sa.UniqueConstraint("tx_hash", "log_index", name="uq_events_log"),
    )
    op.create_index("ix_events_order", "events", ["block_number", "tx_index", "log_index"])
    op.create_index("ix_events_asset", "events", ["asset_id", "block_number"])
    op.create_index("ix_events_name", "events", ["event"])
    op.create_table(
        "event_accounts",
        sa.Column("account", Addr, nullable=False),
        sa.Column("tx_hash", Hash, nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("account", "tx_hash", "log_index", name="uq_event_accounts"),
    )
    op.create_index("ix_event_accounts_block", "event_accounts", ["block_number"])
    op.create_table(
        "balance_changes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("token", Addr, nullable=False),
        sa.Column("asset_id", sa.BigInteger),
        sa.Column("holder", Addr, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", Hash, nullable=False),
        sa.Column("tx_index", sa.Integer, nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("delta", Amount, nullable=False),
        sa.UniqueConstraint("tx_hash", "log_index", "holder", name="uq_balance_changes"),
    )
    op.create_index("ix_balance_changes_token", "balance_changes", ["token", "block_number"])
    op.create_index("ix_balance_changes_holder", "balance_changes", ["holder", "block_number"])
    op.create_table(
        "investor_states",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("investor", Addr, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", Hash, nullable=False),
        sa.Column("tx_index", sa.Integer, nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("country", sa.Integer),
        sa.Column("kyc_expiry", Amount),
        sa.Column("category", sa.Integer),
        sa.Column("event", sa.String(64), nullable=False),
        sa.UniqueConstraint("tx_hash", "log_index", "investor", name="uq_investor_states"),
    )
    op.create_index("ix_investor_states_investor", "investor_states", ["investor", "block_number"])
    op.create_index("ix_investor_states_block", "investor_states", ["block_number"])
    op.create_table(
        "wallet_bindings",
        sa.Column("wallet", Addr, primary_key=True),
        sa.Column("investor", Addr, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", Hash, nullable=False),
        sa.Column("tx_index", sa.Integer, nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
    )
    op.create_index("ix_wallet_bindings_investor", "wallet_bindings", ["investor", "block_number"])
    op.create_index("ix_wallet_bindings_block", "wallet_bindings", ["block_number"])
    op.create_table(
        "wallet_statuses",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("wallet", Addr, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", Hash, nullable=False),
        sa.Column("tx_index", sa.Integer, nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.UniqueConstraint("tx_hash", "log_index", "wallet", name="uq_wallet_statuses"),
    )
    op.create_index("ix_wallet_statuses_wallet", "wallet_statuses", ["wallet", "block_number"])
    op.create_index("ix_wallet_statuses_block", "wallet_statuses", ["block_number"])
    op.create_table(
        "investor_labels",
        sa.Column("investor", Addr, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
    )
    op.create_table(
        "assets",
        sa.Column("asset_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("token", Addr, unique=True),
        sa.Column("symbol", sa.String(64)),
        sa.Column("name", sa.String(128)),
        sa.Column("decimals", sa.Integer),
        sa.Column("cap", Amount),
        sa.Column("unit", sa.String(64)),
        sa.Column("jurisdiction", sa.String(8)),
        sa.Column("legal_reference", sa.Text),
        sa.Column("display_reference", sa.Text),
        sa.Column("metadata_uri", sa.Text),
        sa.Column("status", sa.String(16)),
        sa.Column("valuation_amount", Amount),
        sa.Column("valuation_currency", sa.String(8)),
        sa.Column("valuation_date", sa.BigInteger),
        sa.Column("registered_block", sa.BigInteger),
        sa.Column("updated_block", sa.BigInteger),
    )
    op.create_index("ix_assets_symbol", "assets", ["symbol"])
    op.create_table(
        "distributions",
        sa.Column("distribution_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("token", Addr, nullable=False),
        sa.Column("asset_id", sa.BigInteger),
        sa.Column("payment_token", Addr, nullable=False),
        sa.Column("total", Amount, nullable=False),
        sa.Column("record_block", sa.BigInteger, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)  # its indexes go with it
