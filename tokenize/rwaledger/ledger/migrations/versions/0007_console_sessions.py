"""The officer console's sessions, shared by every worker of a server.

``console_sessions`` keeps each console login (the SHA-256 of its id, never the id; the officer, the CSRF token,
the expiry) and its previewed writes awaiting confirmation (JSON). They were kept in each process's memory, so with
``rwa serve --workers N`` a login made in one worker was unknown to the others, and a restart logged every officer
out. The table starts empty: officers logged in before the upgrade log in again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "console_sessions" in set(sa.inspect(op.get_bind()).get_table_names()):
        return
    op.create_table(
        "console_sessions",
        sa.Column("id_sha256", sa.String(64), primary_key=True),
        sa.Column("officer_id", sa.BigInteger, nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("expires", sa.BigInteger, nullable=False),
        sa.Column("pending", sa.Text, nullable=False),
    )
    op.create_index("ix_console_sessions_expires", "console_sessions", ["expires"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_expires", "console_sessions")
    op.drop_table("console_sessions")
