"""An index of the balance checkpoints by balance: a page of a past cap table, largest first, reads its checkpoint
along it (backwards) instead of sorting every row of it (100,000 at 100,000 holders).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("balance_checkpoints")}
    if "ix_balance_checkpoints_balance" in present:  # a database made by create_all of today, stamped at 0004
        return
    op.create_index("ix_balance_checkpoints_balance", "balance_checkpoints", ["token", "block_number", "balance"])


def downgrade() -> None:
    op.drop_index("ix_balance_checkpoints_balance", table_name="balance_checkpoints")
