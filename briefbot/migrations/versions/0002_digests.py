"""Digest schedules per chat, delivery records and run statistics.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from briefbot.database import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(
            sa.Column("digest_days", sa.String(8), nullable=False, server_default="daily")
        )
        batch.add_column(sa.Column("schedule_changed_at", UtcDateTime(), nullable=True))
        batch.add_column(
            sa.Column("digest_watermark", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "digest_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("digest_date", sa.String(10), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(512), nullable=True),
        sa.Column("article_ids", sa.Text(), nullable=False),
        sa.Column("parts_total", sa.Integer(), nullable=False),
        sa.Column("parts_sent", sa.Integer(), nullable=False),
        sa.Column("in_flight", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("chat_id", "digest_date", name="uq_delivery_chat_date"),
    )
    op.create_index("ix_digest_deliveries_chat_id", "digest_deliveries", ["chat_id"])
    op.create_index("ix_digest_deliveries_state", "digest_deliveries", ["state"])
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("digest_runs")
    op.drop_index("ix_digest_deliveries_state", table_name="digest_deliveries")
    op.drop_index("ix_digest_deliveries_chat_id", table_name="digest_deliveries")
    op.drop_table("digest_deliveries")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("digest_watermark")
        batch.drop_column("schedule_changed_at")
        batch.drop_column("digest_days")
