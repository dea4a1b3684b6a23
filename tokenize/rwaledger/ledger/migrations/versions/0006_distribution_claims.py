"""Distributions and their claims as current state: what a wallet can claim and has claimed.

``distributions`` gains the Merkle root and the expiry of each distribution (from its ``DistributionCreated``), what
has been claimed of it and what was reclaimed after expiry (``claimed``, ``reclaimed``: current state, kept by the
indexer in each range's transaction and recomputed on a rollback); ``distribution_claims`` is the current state of
each entitlement the chain has spoken of: claimed (by whom, how much, paid to which wallet) or withheld by the
registrar. Like 0004, this revision clears meta ``state``, and :func:`rwaledger.ledger.db.migrate` derives the new
columns and table from the events already recorded (ledger/state.py ``rebuild_state``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Amount = sa.String(80).with_variant(sa.Numeric(78, 0), "postgresql")
Addr = sa.String(42)
Hash = sa.String(66)


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "distribution_claims" not in present:
        with op.batch_alter_table("distributions") as batch:
            batch.add_column(sa.Column("merkle_root", Hash))
            batch.add_column(sa.Column("expiry", sa.BigInteger))
            batch.add_column(sa.Column("claimed", Amount))
            batch.add_column(sa.Column("claims", sa.Integer))
            batch.add_column(sa.Column("reclaimed", Amount))
        op.create_table(
            "distribution_claims",
            sa.Column("distribution_id", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("claim_index", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("asset_id", sa.BigInteger),
            sa.Column("account", Addr),
            sa.Column("payee", Addr),
            sa.Column("amount", Amount),
            sa.Column("claimed", sa.Boolean, nullable=False),
            sa.Column("withheld", sa.Boolean, nullable=False),
            sa.Column("block_number", sa.BigInteger, nullable=False),
        )
        op.create_index("ix_distribution_claims_account", "distribution_claims", ["account"])
        op.create_index("ix_distribution_claims_payee", "distribution_claims", ["payee"])
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.execute(meta.delete().where(meta.c.key == "state"))  # derived by db.migrate right after


def downgrade() -> None:
    op.drop_index("ix_distribution_claims_payee", "distribution_claims")
    op.drop_index("ix_distribution_claims_account", "distribution_claims")
    op.drop_table("distribution_claims")
    with op.batch_alter_table("distributions") as batch:
        for col in ("reclaimed", "claims", "claimed", "expiry", "merkle_root"):
            batch.drop_column(col)
