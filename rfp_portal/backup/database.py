"""The database's side of a backup: what a database holds, and its copy out and back in —
SQLite's online backup and a file put in place, or ``pg_dump --format=custom`` from an exported
snapshot and ``pg_restore``."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from rfp_portal.backup.archive import fsync_folder
from rfp_portal.backup.errors import BackupError
from rfp_portal.backup.manifest import CHUNK
from rfp_portal.search import is_search_table

# -- what a database holds ----------------------------------------------------------------------


@dataclass
class DatabaseFacts:
    tables: dict[str, int]  # rows per table
    revision: str | None  # Alembic's, None when the schema was not made by migrations
    keys: list[str]  # storage keys the plots refer to


def _counted_tables(connection: sa.Connection) -> list[str]:
    names = sa.inspect(connection).get_table_names()
    # FTS5 keeps its index in shadow tables (rfp_fts_data, …); the virtual table is counted.
    return sorted(n for n in names if not (is_search_table(n) and n.startswith("rfp_fts_")))


def plot_keys(connection: sa.Connection, tables: list[str] | None = None) -> list[str]:
    """The storage keys that the plots in ``connection``'s database refer to."""
    tables = _counted_tables(connection) if tables is None else tables
    if "plots" not in tables:
        return []  # a schema from before plots existed
    rows = connection.execute(sa.text("SELECT image_key, thumb_key FROM plots"))
    return sorted({key for row in rows for key in row})


def read_facts(connection: sa.Connection) -> DatabaseFacts:
    """Row counts, Alembic revision and referenced upload keys, all read through ``connection``."""
    tables = {
        name: connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
        for name in _counted_tables(connection)
    }
    revision = None
    if "alembic_version" in tables:
        revision = connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
    return DatabaseFacts(tables=tables, revision=revision, keys=plot_keys(connection, list(tables)))


# -- SQLite --------------------------------------------------------------------------------------


def sqlite_path(engine: sa.Engine) -> Path:
    """The file of ``engine``'s SQLite database.

    :raise BackupError: for an in-memory or URI database, which cannot be backed up or restored.
    """
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"cannot back up or restore the SQLite database {database!r}")
    return Path(database).absolute()


def snapshot_sqlite(engine: sa.Engine, target: Path) -> None:
    """Copy the live database to ``target`` with SQLite's online backup.

    The backup runs in one step, inside one read transaction: in WAL mode writers carry on and
    the copy is the database as of the moment that transaction began.
    """
    live = sqlite_path(engine)
    if not live.exists():
        raise BackupError(f"there is no database at {live}; nothing to back up")
    source = sqlite3.connect(f"{live.as_uri()}?mode=rw", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        copy.close()
        source.close()


@contextlib.contextmanager
def open_sqlite(path: Path) -> Iterator[sa.Connection]:
    """A connection to the SQLite file at ``path`` (a copy, not the portal's database)."""
    reader = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with reader.connect() as connection:
            yield connection
    finally:
        reader.dispose()


def checked_sqlite_facts(path: Path) -> DatabaseFacts:
    """The facts of the SQLite copy at ``path``.

    :raise BackupError: when the copy fails SQLite's quick_check.
    """
    with open_sqlite(path) as connection:
        facts = read_facts(connection)
        check = connection.scalar(sa.text("PRAGMA quick_check"))
    if check != "ok":
        raise BackupError(f"the database copy failed SQLite's quick_check: {check}")
    return facts


def restore_sqlite(engine: sa.Engine, database_file: Path) -> None:
    """Put the backup's file in place of the (empty) database, the engine's connections closed."""
    target = sqlite_path(engine)
    engine.dispose()
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o600
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out, open(database_file, "rb") as source:
            shutil.copyfileobj(source, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(partial, mode)
        # The old file's journal must not be replayed into the new one.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    fsync_folder(target.parent)


# -- PostgreSQL ----------------------------------------------------------------------------------

PG_VERSION = re.compile(r"PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def find_pg_tool(name: str, minimum_major: int) -> Path:
    """The newest ``name`` (pg_dump, pg_restore) on PATH or under /usr/lib/postgresql/*/bin.

    :raise BackupError: when none is at least ``minimum_major`` (the server's major version).
    """
    candidates = [Path(p) for p in glob.glob(f"/usr/lib/postgresql/*/bin/{name}")]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    found = []
    for candidate in dict.fromkeys(candidates):
        try:
            out = subprocess.run(  # noqa: S603 - a PostgreSQL tool found above, no user input
                [str(candidate), "--version"], capture_output=True, text=True, timeout=30
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        match = PG_VERSION.search(out)
        if match:
            version = (int(match.group(1)), int(match.group(2) or 0))
            # Debian's /usr/bin wrapper may pick another version per cluster: prefer real binaries.
            real = Path(os.path.realpath(candidate)).name != "pg_wrapper"
            found.append((version, real, candidate))
    usable = [each for each in found if each[0][0] >= minimum_major]
    if not usable:
        seen = ", ".join(f"{c} ({v[0]}.{v[1]})" for v, _, c in found) or "none"
        raise BackupError(
            f"{name} {minimum_major} or newer is needed (found: {seen}); install the "
            f"postgresql-client-{minimum_major} package or put its bin folder on PATH"
        )
    return max(usable)[2]


def _tool_version(tool: Path) -> str:
    out = subprocess.run(  # noqa: S603 - a PostgreSQL tool found by find_pg_tool
        [str(tool), "--version"], capture_output=True, text=True, timeout=30
    ).stdout
    match = PG_VERSION.search(out)
    return f"{match.group(1)}.{match.group(2) or 0}" if match else out.strip()


def _libpq_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pg_connection(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for ``url`` without its password, and an environment with it.

    The password travels in PGPASSWORD, so it never shows in a process listing.
    """
    params: dict[str, object] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "dbname": url.database,
    }
    for key, value in url.query.items():
        params[key] = value[-1] if isinstance(value, tuple) else value
    conninfo = " ".join(
        f"{key}={_libpq_quote(str(value))}"
        for key, value in params.items()
        if value not in (None, "")
    )
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise BackupError(f"{what} failed (exit {result.returncode}): {detail}")


def _server_major(connection: sa.Connection) -> int:
    return int(connection.scalar(sa.text("SHOW server_version_num"))) // 10000


@contextlib.contextmanager
def exported_snapshot(engine: sa.Engine) -> Iterator[tuple[sa.Connection, str]]:
    """A read-only REPEATABLE READ transaction, open for the block, and the id of its exported
    snapshot: ``dump_postgresql`` with that id sees exactly what the connection sees.

    The snapshot is fixed on entry (by the transaction's first query).
    """
    with engine.connect() as connection:
        connection = connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        with connection.begin():
            yield connection, connection.scalar(sa.text("SELECT pg_export_snapshot()"))


def dump_postgresql(connection: sa.Connection, snapshot: str, target: Path) -> dict:
    """``pg_dump --format=custom`` the database to ``target`` as of ``snapshot``, which
    ``connection``'s open transaction exported; return what the manifest records of the dump."""
    server = _server_major(connection)
    pg_dump = find_pg_tool("pg_dump", server)
    conninfo, env = pg_connection(connection.engine.url)
    _run(
        [
            str(pg_dump),
            "--format=custom",
            "--no-password",
            f"--snapshot={snapshot}",
            f"--file={target}",
            f"--dbname={conninfo}",
        ],
        env,
        "pg_dump",
    )
    return {"server_major": server, "pg_dump": _tool_version(pg_dump)}


def restore_postgresql(engine: sa.Engine, dump: Path, manifest: dict) -> None:
    """pg_restore into the database, after dropping the empty tables of a schema-only instance."""
    with engine.begin() as connection:
        server = _server_major(connection)
        names = sa.inspect(connection).get_table_names()
        if names:  # all empty (checked): a database made by `db upgrade` and never used
            quote = connection.dialect.identifier_preparer.quote
            connection.execute(
                sa.text(f"DROP TABLE {', '.join(quote(n) for n in names)} CASCADE")  # noqa: S608
            )
    dumped_by = str(manifest["database"].get("pg_dump", "0")).split(".")[0]
    minimum = max(server, int(dumped_by) if dumped_by.isdigit() else 0)
    pg_restore = find_pg_tool("pg_restore", minimum)
    conninfo, env = pg_connection(engine.url)
    _run(
        [
            str(pg_restore),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={conninfo}",
            str(dump),
        ],
        env,
        "pg_restore",
    )
    engine.dispose()  # connections made before the restore may have cached the old catalogue
