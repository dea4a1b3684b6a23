"""The service: officer accounts, idempotent API writes and their audit log; current holdings and supplies.

``officers`` (token hashes, never tokens), ``api_requests`` (the first answer to each Idempotency-Key),
``api_audit`` (every write attempt, append-only); ``holdings`` and ``supplies``, the current state a cap-table page
reads. They start empty: the next sync derives the holdings and supplies from ``balance_changes`` (meta
``holdings``), so an existing ledger upgrades in place without re-reading the chain.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Amount = sa.String(80).with_variant(sa.Numeric(78, 0), "postgresql")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Addr = sa.String(42)
Hash = sa.String(66)

TABLES = ("officers", "api_requests", "api_audit", "holdings", "supplies")


def upgrade() -> None:
    op.create_table(
        "officers",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("signer", sa.Text),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "api_requests",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("officer_id", sa.BigInteger, nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("request_hash", Hash, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("officer_id", "idempotency_key", name="uq_api_requests_key"),
    )
    op.create_table(
        "api_audit",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("officer_id", sa.BigInteger),
        sa.Column("officer", sa.String(64)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("tx_hashes", sa.Text, nullable=False),
    )
    op.create_index("ix_api_audit_at", "api_audit", ["at"])
    op.create_table(
        "holdings",
        sa.Column("token", Addr, primary_key=True),
        sa.Column("holder", Addr, primary_key=True),
        sa.Column("asset_id", sa.BigInteger),
        sa.Column("balance", Amount, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_holdings_token_balance", "holdings", ["token", "balance"])
    op.create_table(
        "supplies",
        sa.Column("token", Addr, primary_key=True),
        sa.Column("total", Amount, nullable=False),
        sa.Column("holders", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
