"""Safe proposals: the registrar's proposed Safe transactions and the owners' verified approvals.

Off-chain work in progress (not block-scoped): ``safe_proposals`` keeps everything the Safe signs, so the
EIP-712 hash can be recomputed; ``safe_approvals`` one signature per owner and proposal.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Amount = sa.String(80).with_variant(sa.Numeric(78, 0), "postgresql")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Addr = sa.String(42)
Hash = sa.String(66)

TABLES = ("safe_proposals", "safe_approvals")


def upgrade() -> None:
    op.create_table(
        "safe_proposals",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("safe", Addr, nullable=False),
        sa.Column("nonce", sa.BigInteger, nullable=False),
        sa.Column("to", Addr, nullable=False),
        sa.Column("value", Amount, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("operation", sa.Integer, nullable=False),
        sa.Column("safe_tx_hash", Hash, nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("calls", sa.Text, nullable=False),
        sa.Column("proposer", Addr),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("executed_tx", Hash),
        sa.Column("executed_block", sa.BigInteger),
    )
    op.create_index("ix_safe_proposals_safe", "safe_proposals", ["safe", "nonce"])
    op.create_table(
        "safe_approvals",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("proposal_id", sa.BigInteger, nullable=False),
        sa.Column("owner", Addr, nullable=False),
        sa.Column("signature", sa.String(132), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("proposal_id", "owner", name="uq_safe_approvals"),
    )


def downgrade() -> None:
    op.drop_table("safe_approvals")
    op.drop_table("safe_proposals")
