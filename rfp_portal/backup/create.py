"""Taking a backup: a consistent snapshot of the database and exactly the upload files its plots
use, written to one archive.

Upload files are immutable and named by their SHA-256, so the only way the snapshot and the files
could disagree is a file being deleted after the snapshot was taken. The store's deletions are
therefore paused from before the snapshot until the files it refers to are set aside (hard-linked
or copied): uploads go on meanwhile, deletions wait a moment.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from rfp_portal.backup.archive import write_archive
from rfp_portal.backup.database import (
    DatabaseFacts,
    checked_sqlite_facts,
    dump_postgresql,
    exported_snapshot,
    open_sqlite,
    plot_keys,
    read_facts,
    snapshot_sqlite,
)
from rfp_portal.backup.errors import BackupError
from rfp_portal.backup.manifest import DATABASE_MEMBER, new_manifest, upload_entry
from rfp_portal.storage import FileStore, is_storage_key


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    size: int


def default_backup_path(instance_path: Path, now: datetime) -> Path:
    return instance_path / "backups" / f"rfp-portal-{now.strftime('%Y%m%dT%H%M%SZ')}.tar.gz"


def create_backup(
    engine: sa.Engine,
    upload_root: str | os.PathLike,
    destination: Path,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackupResult:
    """Write a consistent snapshot of the database and the files its plots use to ``destination``.

    :param upload_root: the folder of the instance's upload store.
    :raise BackupError: when ``destination`` exists, a referenced upload is missing or corrupt,
        or the database cannot be copied.
    """
    destination = Path(destination).absolute()
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose another name")
    destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = FileStore(Path(upload_root).absolute())
    dialect = engine.dialect.name
    if dialect not in DATABASE_MEMBER:
        raise BackupError(f"backups of {dialect} databases are not supported")
    created_at = now()

    with contextlib.ExitStack() as stack:
        work = Path(
            stack.enter_context(
                tempfile.TemporaryDirectory(prefix=".rfp-backup-", dir=destination.parent)
            )
        )
        aside = stack.enter_context(store.set_aside_folder())
        database_file = work / DATABASE_MEMBER[dialect]
        if dialect == "sqlite":
            facts, details = _copy_sqlite(engine, database_file, store, aside)
        else:
            facts, details = _copy_postgresql(engine, database_file, store, aside)

        uploads = [upload_entry(key, aside / key) for key in facts.keys]
        manifest = new_manifest(
            created_at=created_at,
            dialect=dialect,
            revision=facts.revision,
            tables=facts.tables,
            database_file=database_file,
            database_details=details,
            uploads=uploads,
        )
        files = {database_file.name: database_file}
        files.update((upload["path"], aside / upload["key"]) for upload in uploads)
        write_archive(destination, manifest, files, mtime=int(created_at.timestamp()))
    return BackupResult(path=destination, manifest=manifest, size=destination.stat().st_size)


def _copy_sqlite(
    engine: sa.Engine, target: Path, store: FileStore, aside: Path
) -> tuple[DatabaseFacts, dict]:
    with store.pause_deletions():
        snapshot_sqlite(engine, target)
        with open_sqlite(target) as connection:
            _stage_uploads(store, plot_keys(connection), aside)
    return checked_sqlite_facts(target), {}


def _copy_postgresql(
    engine: sa.Engine, target: Path, store: FileStore, aside: Path
) -> tuple[DatabaseFacts, dict]:
    """pg_dump the database as of one exported snapshot: the one the facts were read from."""
    with contextlib.ExitStack() as transaction:
        with store.pause_deletions():
            # The snapshot is fixed by the transaction's first query, made with deletions paused.
            connection, snapshot = transaction.enter_context(exported_snapshot(engine))
            _stage_uploads(store, plot_keys(connection), aside)
        # The files are set aside: deletions may go on. The transaction stays open, so the counts
        # below and pg_dump (which adopts the exported snapshot) see the same database.
        facts = read_facts(connection)
        return facts, dump_postgresql(connection, snapshot, target)


def _stage_uploads(store: FileStore, keys: list[str], aside: Path) -> None:
    """Set aside each file the snapshot's plots refer to, as ``aside/<key>``.

    :raise BackupError: naming every referenced file that is missing.
    """
    missing = []
    for key in keys:
        if not is_storage_key(key):
            raise BackupError(f"the database refers to {key!r}, which is not a storage key")
        try:
            store.set_aside(key, aside)
        except FileNotFoundError:
            missing.append(key)
    if missing:
        raise BackupError(
            f"{len(missing)} upload file(s) that plots refer to are missing from {store.root}: "
            + ", ".join(missing[:20])
            + (" …" if len(missing) > 20 else "")
            + ". Restore them from an earlier backup before taking a new one."
        )
