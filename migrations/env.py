"""Alembic environment: the portal's models are the target; the engine comes from the portal."""

from alembic import context

from rfp_portal import models  # noqa: F401 - registers every table on Base.metadata
from rfp_portal.db import Base, UtcDateTime, make_engine
from rfp_portal.search import is_search_table

config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """Migrations spell the portal's own column types in plain SQLAlchemy, so they never change."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_name(name, type_, parent_names):
    """The search index tables depend on the database and are made by hand in 0005."""
    return not (type_ == "table" and is_search_table(name))


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(
        config.get_main_option("sqlalchemy.url")
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
            render_item=render_item,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
