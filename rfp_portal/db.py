"""The database: declarative base with a naming convention, one engine per app, one session per request.

Views commit (once, after the services have flushed); the session is closed at the end of every
app context, which rolls back anything left uncommitted.
"""

import enum
import sqlite3
from datetime import UTC

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC timestamp on every database (SQLite keeps no zone, so it is put back)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetimes are not stored; use datetime.now(UTC)")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def str_enum(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A Python enum stored as its values in a VARCHAR with a CHECK constraint (same on every database)."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
    )


def insert_for(session: Session):
    """``insert`` of the session's database dialect, which has ``on_conflict_do_…``."""
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[
        session.get_bind().dialect.name
    ]


#: SQLite's busy timeouts (seconds): a read waits only for the moment a checkpoint or recovery
#: holds the file (in WAL mode readers never wait for writers); a write waits this long for the
#: one write lock, then gives up (``is_busy``), so a long writer elsewhere does not tie up every
#: worker. Settings ``SQLITE_READ_TIMEOUT`` and ``SQLITE_WRITE_TIMEOUT``.
READ_TIMEOUT = 1.0
WRITE_TIMEOUT = 3.0

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")


def make_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 5,
    read_timeout: float = READ_TIMEOUT,
    write_timeout: float = WRITE_TIMEOUT,
) -> sa.Engine:
    """Create an engine; SQLite gets foreign keys, WAL and busy timeouts so gunicorn workers share it.

    pysqlite opens a transaction lazily, just before the first INSERT/UPDATE/DELETE (the claims
    service says BEGIN IMMEDIATE itself): that statement is the one that waits for the write
    lock, so the connection's busy timeout is raised to ``write_timeout`` just before it and put
    back to ``read_timeout`` once the connection is outside a transaction again.
    """
    if url.startswith("sqlite"):
        read_ms, write_ms = int(read_timeout * 1000), int(write_timeout * 1000)
        engine = sa.create_engine(url, echo=echo, connect_args={"timeout": read_timeout})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            record.info["busy_ms"] = read_ms

        @event.listens_for(engine, "before_cursor_execute")
        def _busy_timeout(conn, cursor, statement, _parameters, _context, _executemany):
            dbapi_connection, info = cursor.connection, conn.info
            if dbapi_connection.in_transaction:
                return  # inside a write transaction: the lock is held already
            wanted = write_ms if statement.lstrip()[:16].upper().startswith(_WRITES) else read_ms
            if info.get("busy_ms") != wanted:
                dbapi_connection.execute(f"PRAGMA busy_timeout = {wanted}")
                info["busy_ms"] = wanted

        return engine
    return sa.create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size * 2
    )


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` says the database was busy: SQLite's write lock stayed taken past the
    busy timeout ("database is locked"), or PostgreSQL's ``lock_timeout`` ran out (55P03)."""
    if not isinstance(error, sa.exc.OperationalError):
        return False
    original = error.orig
    if isinstance(original, sqlite3.OperationalError):
        code = getattr(original, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
        return "locked" in str(original) or "busy" in str(original)
    return getattr(original, "sqlstate", None) == "55P03"


def init_app(app: Flask) -> None:
    engine = make_engine(
        app.config["DATABASE_URL"],
        echo=app.config.get("SQL_ECHO", False),
        pool_size=app.config.get("DATABASE_POOL_SIZE", 5),
        read_timeout=float(app.config.get("SQLITE_READ_TIMEOUT", READ_TIMEOUT)),
        write_timeout=float(app.config.get("SQLITE_WRITE_TIMEOUT", WRITE_TIMEOUT)),
    )
    app.extensions["rfp_db"] = {"engine": engine, "sessionmaker": sessionmaker(engine)}
    app.teardown_appcontext(close_session)
    from rfp_portal.storage import release_locks

    app.teardown_appcontext(release_locks)


def get_engine() -> sa.Engine:
    return current_app.extensions["rfp_db"]["engine"]


def get_session() -> Session:
    """The session of the current request (or CLI command), made on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["rfp_db"]["sessionmaker"]()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
