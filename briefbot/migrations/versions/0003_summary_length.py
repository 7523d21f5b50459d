"""Each chat's default summary length.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(
            sa.Column("summary_length", sa.String(16), nullable=False, server_default="standard")
        )


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("summary_length")
