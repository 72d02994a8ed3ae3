"""The content generation: one number, bumped in the same transaction as every committed write.

Its table sits on the models' ``Base`` (so ``create_all`` and Alembic see it), but it is the page
cache's bookkeeping, not part of the portal's content.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from rfp_portal.db import Base, get_session, insert_for
from rfp_portal.page_cache.listener import CHANNEL, listener_for, note_committed

_READ_ONLY_SQL = ("SELECT", "WITH", "EXPLAIN", "SET", "PRAGMA", "SHOW")
GENERATION_SQL = "SELECT content_generation FROM site_state WHERE id = 1"


class SiteState(Base):
    """One row (id 1). ``content_generation`` grows with every committed write."""

    __tablename__ = "site_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_generation: Mapped[int] = mapped_column(sa.BigInteger, default=0)


def _note_write(execute_state) -> None:
    statement = execute_state.statement
    if execute_state.is_select:
        return
    if isinstance(statement, sa.TextClause) and statement.text.lstrip()[:7].upper().startswith(
        _READ_ONLY_SQL
    ):
        return
    execute_state.session.info["wrote"] = True


def _note_flush(session: Session, _context) -> None:
    session.info["wrote"] = True  # after_flush only fires when there was something to flush


def _bump_generation(session: Session) -> None:
    # SQLAlchemy calls before_commit before it flushes what is still pending: flush it here, so
    # that a change first written by the commit is seen as a write (after_flush).
    if session.new or session.dirty or session.deleted:
        session.flush()
    if not session.info.pop("wrote", False):
        return
    statement = _bump_statement(insert_for(session))
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Every worker LISTENs (page_cache.listener): the notification leaves at commit, only
        # if the transaction commits, carrying the new number.
        generation = connection.execute(statement).scalar()
        connection.execute(_NOTIFY, {"generation": str(generation)})
        session.info["generation"] = generation
    else:
        connection.execute(statement).close()


_NOTIFY = sa.select(sa.func.pg_notify(CHANNEL, sa.bindparam("generation", type_=sa.Text)))


@functools.cache
def _bump_statement(insert) -> sa.Insert:
    """One statement that also makes the row if it is missing; writers queue on this row only
    for the moment between their last write and their commit. Built once per dialect's
    ``insert`` (every write runs it). It returns the new number (PostgreSQL's NOTIFY sends it)."""
    statement = insert(SiteState).values(id=1, content_generation=1)
    statement = statement.on_conflict_do_update(
        index_elements=[SiteState.id],
        set_={"content_generation": SiteState.content_generation + 1},
    )
    return statement.returning(SiteState.content_generation)


def _after_commit(session: Session) -> None:
    generation = session.info.pop("generation", None)
    if generation is not None:
        note_committed(session.get_bind(), generation)


def _forget_writes(session: Session, *_args) -> None:
    session.info.pop("wrote", None)
    session.info.pop("generation", None)


def track_writes(session_class) -> None:
    """Install the events on a session class (once)."""
    if getattr(session_class, "_tracks_writes", False):
        return
    event.listen(session_class, "do_orm_execute", _note_write)
    event.listen(session_class, "after_flush", _note_flush)
    event.listen(session_class, "before_commit", _bump_generation)
    event.listen(session_class, "after_commit", _after_commit)
    event.listen(session_class, "after_rollback", _forget_writes)
    session_class._tracks_writes = True


def current_generation() -> int:
    """The generation, as this request's session sees it (a plain statement: it runs often)."""
    value = get_session().connection().exec_driver_sql(GENERATION_SQL).scalar()
    return value or 0


def known_generation() -> int:
    """The generation for this request: from memory while this process LISTENs for writes
    (PostgreSQL) or from the file's data_version (SQLite, ``listener``), else read in the
    request's transaction."""
    engine = current_app.extensions["rfp_db"]["engine"]
    listener = listener_for(engine, current_app.config["PAGE_CACHE_POLL_SECONDS"])
    known = listener.known_generation() if listener is not None else None
    return current_generation() if known is None else known


def read_generation(app: Flask) -> int:
    """The content generation, read on a pooled connection of the app's engine (no ORM)."""
    with app.extensions["rfp_db"]["engine"].connect() as connection:
        value = connection.exec_driver_sql(GENERATION_SQL).scalar()
    return value or 0
