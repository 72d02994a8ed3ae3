"""Restoring a backup into an empty instance: everything is checked before anything is written,
and the schema is upgraded afterwards."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from rfp_portal import migrate
from rfp_portal.backup.archive import unpack
from rfp_portal.backup.database import (
    read_facts,
    restore_postgresql,
    restore_sqlite,
    sqlite_path,
)
from rfp_portal.backup.errors import BackupError
from rfp_portal.backup.manifest import DATABASE_MEMBER, verify
from rfp_portal.storage import ImageStore

BOOKKEEPING_TABLES = {"alembic_version", "site_state"}
EMPTY_INSTANCE_HELP = (
    "Restore into a new, empty instance: on SQLite, point INSTANCE_PATH (or DATABASE_URL) at a "
    "new folder; on PostgreSQL, create an empty database (`createdb rfp_restored`) and point "
    "DATABASE_URL at it. Stop the portal's workers while restoring."
)


@dataclass
class RestoreResult:
    manifest: dict
    tables: dict[str, int]
    uploads: int
    revision: str | None  # after `db upgrade`


def instance_rows(engine: sa.Engine) -> dict[str, int]:
    """The tables of the instance's database that hold rows (bookkeeping aside: Alembic's
    revision and the page cache's generation row, which `db upgrade` makes)."""
    with engine.connect() as connection:
        tables = read_facts(connection).tables
    return {name: n for name, n in tables.items() if n and name not in BOOKKEEPING_TABLES}


def restore_backup(
    archive_path: Path, *, engine: sa.Engine, store: ImageStore, work_dir: Path
) -> RestoreResult:
    """Bring a backup back into this instance, which must be empty, then upgrade its schema.

    Everything is checked first (the instance is empty; every member is safe; the database file
    and every upload match the manifest's size and SHA-256); only then is anything written.

    :param store: the instance's ImageStore; uploads are written with its ``put``.
    :param work_dir: where the archive is unpacked (the instance folder: same disk as SQLite's).
    :raise BackupError: when the instance is not empty or the archive is unsafe, damaged, altered
        or made for another kind of database.
    """
    dialect = engine.dialect.name
    if dialect == "sqlite":
        sqlite_path(engine).parent.mkdir(parents=True, exist_ok=True)
    rows = instance_rows(engine)
    if rows:
        held = ", ".join(f"{name} ({n})" for name, n in sorted(rows.items()))
        raise BackupError(f"this instance is not empty: {held}. {EMPTY_INSTANCE_HELP}")

    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=work_dir) as unpacked:
        staging = Path(unpacked)
        unpack(Path(archive_path), staging)
        manifest = verify(staging)
        if manifest["dialect"] != dialect:
            raise BackupError(
                f"the backup is of a {manifest['dialect']} database and this instance uses "
                f"{dialect}; restore it into an instance on {manifest['dialect']}"
            )
        revision = manifest["alembic_revision"]
        if revision is not None and not _known_revision(engine, revision):
            raise BackupError(
                f"the backup's schema (revision {revision}) is newer than this portal knows; "
                "restore it with the portal version that made it, or a later one"
            )

        database_file = staging / DATABASE_MEMBER[dialect]
        if dialect == "sqlite":
            restore_sqlite(engine, database_file)
        else:
            restore_postgresql(engine, database_file, manifest)

        with engine.connect() as connection:
            tables = read_facts(connection).tables
        if tables != manifest["tables"]:
            differ = sorted(
                name
                for name in set(tables) | set(manifest["tables"])
                if tables.get(name) != manifest["tables"].get(name)
            )
            raise BackupError(
                f"the restored database's row counts differ from the manifest: {differ}"
            )

        for upload in manifest["uploads"]:
            data = staging.joinpath(*PurePosixPath(upload["path"]).parts).read_bytes()
            key = store.put(data, upload["key"].rsplit(".", 1)[1])
            store.release()  # one file at a time: no lock piles up
            if key != upload["key"]:
                raise BackupError(f"the store filed {upload['key']} as {key}")

    if revision is not None:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            revision = read_facts(connection).revision
    return RestoreResult(
        manifest=manifest, tables=tables, uploads=len(manifest["uploads"]), revision=revision
    )


def _known_revision(engine: sa.Engine, revision: str) -> bool:
    scripts = ScriptDirectory.from_config(migrate.alembic_config(engine))
    try:
        return scripts.get_revision(revision) is not None
    except Exception:  # alembic's ResolutionError / CommandError for an unknown id
        return False
