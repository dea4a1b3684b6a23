"""Payment tokens' symbol and decimals.

``payment_tokens`` keeps what each token a distribution pays in answers to ``symbol()`` and ``decimals()``, read
once when a sync first sees a distribution naming it, so the portal and the API show amounts in the token's units
(``1,500.25 TUSD``) instead of base units, with no node. The table starts empty: the next sync reads the tokens of
the distributions already in the ledger.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "payment_tokens" in set(sa.inspect(op.get_bind()).get_table_names()):
        return
    op.create_table(
        "payment_tokens",
        sa.Column("address", sa.String(42), primary_key=True),
        sa.Column("symbol", sa.String(64)),
        sa.Column("decimals", sa.Integer),
        sa.Column("read_block", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payment_tokens")
