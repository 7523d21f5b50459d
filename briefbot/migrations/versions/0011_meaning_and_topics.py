"""Articles by meaning and chat topics: one vector per article (filled in the background),
the topics each chat follows or mutes, and whether /next and /prev keep to them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from briefbot.database import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_vectors",
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("encoder", sa.String(64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "chat_topics",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "chat_id",
            sa.BigInteger(),
            sa.ForeignKey("chats.chat_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("words", sa.String(128), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("added_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_chat_topics_chat_id", "chat_topics", ["chat_id"])
    with op.batch_alter_table("chats") as batch:
        batch.add_column(
            sa.Column("follow_topics", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("follow_topics")
    op.drop_index("ix_chat_topics_chat_id", "chat_topics")
    op.drop_table("chat_topics")
    op.drop_table("article_vectors")
