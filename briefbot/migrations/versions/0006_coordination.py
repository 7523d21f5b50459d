"""Instances, the update inbox, summary jobs and digest owners: work shared safely.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from briefbot.database import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("host", sa.String(256), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(256), nullable=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False, index=True),
    )
    op.create_table(
        "updates",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False, index=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False, index=True),
    )
    op.create_table(
        "summary_jobs",
        sa.Column("content_hash", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("length", sa.String(16), primary_key=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(12), nullable=False, index=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("solo", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.String(512), nullable=True),
        sa.Column("retry_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    with op.batch_alter_table("digest_deliveries") as batch:
        batch.add_column(sa.Column("owner", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digest_deliveries") as batch:
        batch.drop_column("owner")
    op.drop_table("summary_jobs")
    op.drop_table("updates")
    op.drop_table("instances")
