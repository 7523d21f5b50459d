"""Full-text search: the article_search index (FTS5 on SQLite, a tsvector with a GIN index on
PostgreSQL), filled for the articles stored before; and each chat's last search, for paging.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from briefbot.articles.search import FTS5_TOKENIZER, SearchIndex

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    connection = op.get_bind()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE TABLE article_search (article_id INTEGER PRIMARY KEY REFERENCES articles(id) "
            "ON DELETE CASCADE, words TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX ix_article_search_words ON article_search USING GIN (words)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE article_search USING "
            f'fts5(title, text, tokenize = "{FTS5_TOKENIZER}")'
        )
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("last_search", sa.String(256), nullable=True))
    index = SearchIndex(dialect)
    articles = sa.table(
        "articles", sa.column("id", sa.Integer), sa.column("title"), sa.column("text")
    )
    session = Session(bind=connection)
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(articles.c.id, articles.c.title, articles.c.text)
            .where(articles.c.id > last_id)
            .order_by(articles.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        for article_id, title, text in rows:
            index.put(session, article_id, title, text)
        session.flush()
        last_id = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("last_search")
    op.execute("DROP TABLE article_search")
