"""Articles, chats and the summary cache.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from briefbot.database import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
    )
    op.create_table(
        "chats",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(256), nullable=True),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column(
            "current_article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("digest_time", sa.String(5), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_chats_subscribed", "chats", ["subscribed"])
    op.create_table(
        "summaries",
        sa.Column("content_hash", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("length", sa.String(16), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("summaries")
    op.drop_index("ix_chats_subscribed", table_name="chats")
    op.drop_table("chats")
    op.drop_table("articles")
