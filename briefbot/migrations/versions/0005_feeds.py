"""Feeds and the entries already seen in them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from briefbot.database import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("url", sa.String(2048), nullable=False, unique=True),
        sa.Column("title", sa.String(512), nullable=True),
        sa.Column("etag", sa.String(512), nullable=True),
        sa.Column("last_modified", sa.String(128), nullable=True),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.Column("checked_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(512), nullable=True),
    )
    op.create_table(
        "feed_entries",
        sa.Column(
            "feed_id",
            sa.Integer(),
            sa.ForeignKey("feeds.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("guid", sa.String(1024), primary_key=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("seen_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feed_entries")
    op.drop_table("feeds")
