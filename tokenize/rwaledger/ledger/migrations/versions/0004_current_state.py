"""Current state beyond the holdings, balance checkpoints, block timestamps.

``wallet_identities``, ``liens``, ``freezes``, ``custody_lots``, ``redemptions`` (current state, kept by the indexer in
each range's transaction), ``balance_checkpoints`` (a past cap table's base) and ``blocks.timestamp`` (a cap table at
a date). An existing ledger upgrades in place: this revision creates the tables and clears meta ``state``, and
:func:`rwaledger.ledger.db.migrate`, in the same transaction right after the upgrade, derives them from the event and
history tables already there (ledger/state.py ``rebuild_state``). The derivation is not written out here because it
is the indexer's own code: a migration that copied it would be a second implementation to keep equal. The
timestamps of the blocks already recorded come from the chain: the next sync reads them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Amount = sa.String(80).with_variant(sa.Numeric(78, 0), "postgresql")
Addr = sa.String(42)
Hash = sa.String(66)

TABLES = ("balance_checkpoints", "wallet_identities", "liens", "freezes", "custody_lots", "redemptions")


def token_table(name: str, key: tuple[str, sa.types.TypeEngine], *columns: sa.Column, indexed: str | None = None
                ) -> None:
    """A current-state table of one kind of a token's items (liens, freezes, lots, redemptions): the primary key
    ``(token, key)``, the item's asset, its ``columns``, the block of its last change; with ``indexed``, an index
    ``ix_<name>_token_<indexed>`` on ``(token, indexed)``."""
    op.create_table(
        name,
        sa.Column("token", Addr, primary_key=True),
        sa.Column(key[0], key[1], primary_key=True, autoincrement=False),
        sa.Column("asset_id", sa.BigInteger),
        *columns,
        sa.Column("block_number", sa.BigInteger, nullable=False),
    )
    if indexed is not None:
        op.create_index(f"ix_{name}_token_{indexed}", name, ["token", indexed])


def upgrade() -> None:
    with op.batch_alter_table("blocks") as batch:
        batch.add_column(sa.Column("timestamp", sa.BigInteger))
    op.create_index("ix_blocks_timestamp", "blocks", ["timestamp"])
    op.create_table(
        "balance_checkpoints",
        sa.Column("token", Addr, primary_key=True),
        sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("holder", Addr, primary_key=True),
        sa.Column("balance", Amount, nullable=False),
    )
    op.create_table(
        "wallet_identities",
        sa.Column("wallet", Addr, primary_key=True),
        sa.Column("investor", Addr, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("investor_active", sa.Boolean, nullable=False),
        sa.Column("country", sa.Integer),
        sa.Column("kyc_expiry", Amount),
        sa.Column("category", sa.Integer),
        sa.Column("block_number", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_wallet_identities_investor", "wallet_identities", ["investor"])
    token_table(
        "liens", ("lien_id", sa.BigInteger),
        sa.Column("holder", Addr, nullable=False),
        sa.Column("beneficiary", Addr, nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("reason", Hash, nullable=False),
        sa.Column("document_hash", Hash, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_block", sa.BigInteger, nullable=False),
        indexed="active",
    )
    token_table(
        "freezes", ("wallet", Addr),
        sa.Column("frozen", sa.Boolean, nullable=False),
        sa.Column("frozen_amount", Amount, nullable=False),
    )
    token_table(
        "custody_lots", ("lot_id", Hash),
        sa.Column("vault", sa.Text, nullable=False),
        sa.Column("receipt_hash", Hash, nullable=False),
        sa.Column("custodian", Addr, nullable=False),
        sa.Column("attested", Amount, nullable=False),
        sa.Column("remaining", Amount, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attested_block", sa.BigInteger, nullable=False),
    )
    token_table(
        "redemptions", ("request_id", sa.BigInteger),
        sa.Column("requester", Addr, nullable=False),
        sa.Column("holder", Addr, nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("delivery_ref", Hash, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", Hash),
        sa.Column("requested_block", sa.BigInteger, nullable=False),
        indexed="status",
    )
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.execute(meta.delete().where(meta.c.key == "state"))  # derived by db.migrate right after


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
    op.drop_index("ix_blocks_timestamp", "blocks")
    with op.batch_alter_table("blocks") as batch:
        batch.drop_column("timestamp")
