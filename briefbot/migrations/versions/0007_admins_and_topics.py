"""Admins added at run time, the forum topic a chat's digest goes to, and each stored
update's chat.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from briefbot.database import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admins",
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
    )
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("digest_thread_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("updates") as batch:
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
    # Updates used to be claimed when their turn came; now the receiving instance owns them.
    op.execute("UPDATE updates SET state = 'received' WHERE state = 'started'")


def downgrade() -> None:
    with op.batch_alter_table("updates") as batch:
        batch.drop_column("chat_id")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("digest_thread_id")
    op.drop_table("admins")
