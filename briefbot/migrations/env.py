"""Alembic environment: the engine comes from the caller (see briefbot.database)."""

from alembic import context

import briefbot.articles.schema
import briefbot.chats.schema
import briefbot.coordination.schema  # noqa: F401 (every room's tables in the metadata)
from briefbot.database import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
