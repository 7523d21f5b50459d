"""Each article's language, detected for the articles stored before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from briefbot.articles.language import detect_language

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))
    articles = sa.table(
        "articles",
        sa.column("id", sa.Integer),
        sa.column("title", sa.String),
        sa.column("text", sa.Text),
        sa.column("language", sa.String),
    )
    connection = op.get_bind()
    last_id = 0
    while True:  # about 1.5 ms an article
        rows = connection.execute(
            sa.select(articles.c.id, articles.c.title, sa.func.substr(articles.c.text, 1, 2000))
            .where(articles.c.id > last_id)
            .order_by(articles.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        for article_id, title, text in rows:
            language = detect_language(f"{title}\n{text}")
            if language:
                connection.execute(
                    articles.update().where(articles.c.id == article_id).values(language=language)
                )
        last_id = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("language")
