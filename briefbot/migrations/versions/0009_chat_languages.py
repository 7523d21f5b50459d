"""The language each chat chose with /language, the user's own in a private chat, and whether
an instance's model writes summaries in any language.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=True))
        batch.add_column(sa.Column("user_language", sa.String(16), nullable=True))
    with op.batch_alter_table("instances") as batch:
        batch.add_column(
            sa.Column(
                "writes_any_language", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("writes_any_language")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("user_language")
        batch.drop_column("language")
