"""Data safety: one archive holding a consistent snapshot of the database and its uploads, the
restore of such an archive into an empty instance, and the cleaning of upload files that no plot
refers to.

An archive (``.tar.gz``) holds ``manifest.json``, the database (``database.sqlite3``, made with
SQLite's online backup, or ``database.dump``, ``pg_dump --format=custom``) and ``uploads/<shard>/
<key>``: exactly the files the *snapshot's* plots refer to. Upload files are immutable and named
by their SHA-256, so the only way the snapshot and the files could disagree is a file being
deleted after the snapshot was taken. A backup therefore holds a shared lock on every shard of the
store (the lock ``FileStore.delete_unreferenced`` takes exclusively) from before the snapshot until
the files it refers to are hard-linked (or copied) aside: uploads go on meanwhile, deletions wait
a moment.

Nothing here imports Flask: the CLI (``rfp_portal.cli``) passes the engine, the store and folders.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from rfp_portal.search import is_search_table
from rfp_portal.storage import KEY_PATTERN, FileStore

FORMAT = "rfp-portal-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}
UPLOAD_MEMBER = re.compile(r"^uploads/([0-9a-f]{2})/([0-9a-f]{64}\.(?:png|jpg|webp))$")
SHARDS = [f"{n:02x}" for n in range(256)]
STAGING_PREFIX = ".backup-"  # hard links made by a running backup, inside the upload folder
INCOMING_PREFIX = ".incoming-"  # FileStore.put's temporary files
CHUNK = 1024 * 1024
EMPTY_INSTANCE_HELP = (
    "Restore into a new, empty instance: on SQLite, point INSTANCE_PATH (or DATABASE_URL) at a "
    "new folder; on PostgreSQL, create an empty database (`createdb rfp_restored`) and point "
    "DATABASE_URL at it. Stop the portal's workers while restoring."
)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


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


def _sqlite_path(engine: sa.Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"cannot back up or restore the SQLite database {database!r}")
    return Path(database).absolute()


# -- PostgreSQL's tools -------------------------------------------------------------------------

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


# -- the store's locks and files -----------------------------------------------------------------


def _lock_file(root: Path, shard: str) -> int:
    # The same lock file FileStore._lock uses for a shard.
    folder = root / shard
    folder.mkdir(parents=True, exist_ok=True)
    return os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)


@contextlib.contextmanager
def hold_every_shard(root: Path) -> Iterator[None]:
    """Hold the shared lock of every shard: uploads go on, ``delete_unreferenced`` waits."""
    held: list[int] = []
    try:
        for shard in SHARDS:
            held.append(_lock_file(root, shard))
            fcntl.flock(held[-1], fcntl.LOCK_SH)
        yield
    finally:
        for fd in held:
            os.close(fd)


def upload_path(root: Path, key: str) -> Path:
    if not KEY_PATTERN.match(key):
        raise BackupError(f"the database refers to {key!r}, which is not a storage key")
    return root / key[:2] / key


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stage_uploads(root: Path, keys: list[str], staging: Path) -> None:
    """Hard-link (or, across file systems, copy) each referenced file into ``staging``.

    :raise BackupError: naming every referenced file that is missing.
    """
    missing = []
    for key in keys:
        source = upload_path(root, key)
        try:
            os.link(source, staging / key)
        except FileNotFoundError:
            missing.append(key)
        except OSError:  # another file system, or one without hard links
            try:
                shutil.copyfile(source, staging / key)
            except FileNotFoundError:
                missing.append(key)
    if missing:
        raise BackupError(
            f"{len(missing)} upload file(s) that plots refer to are missing from {root}: "
            + ", ".join(missing[:20])
            + (" …" if len(missing) > 20 else "")
            + ". Restore them from an earlier backup before taking a new one."
        )


# -- backup --------------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    size: int


def default_backup_path(instance_path: Path, now: datetime) -> Path:
    return instance_path / "backups" / f"rfp-portal-{now.strftime('%Y%m%dT%H%M%SZ')}.tar.gz"


def _portal_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("rfp-portal")
    except metadata.PackageNotFoundError:
        return None


def _snapshot_sqlite(engine: sa.Engine, target: Path) -> None:
    """Copy the live database to ``target`` with SQLite's online backup.

    The backup runs in one step, inside one read transaction: in WAL mode writers carry on and
    the copy is the database as of the moment that transaction began.
    """
    live = _sqlite_path(engine)
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
def _open_sqlite(path: Path) -> Iterator[sa.Connection]:
    reader = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with reader.connect() as connection:
            yield connection
    finally:
        reader.dispose()


def create_backup(
    engine: sa.Engine,
    upload_root: Path,
    destination: Path,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackupResult:
    """Write a consistent snapshot of the database and the files its plots use to ``destination``.

    The archive is written beside ``destination`` (mode 0600) and renamed into place when whole.

    :raise BackupError: when ``destination`` exists, a referenced upload is missing or corrupt,
        or the database cannot be copied.
    """
    destination = Path(destination).absolute()
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose another name")
    destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    upload_root = Path(upload_root).absolute()
    upload_root.mkdir(parents=True, exist_ok=True)
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
        staging = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix=STAGING_PREFIX, dir=upload_root))
        )
        # `uploads clean` skips a staging folder whose lock is held (a backup is running).
        staging_lock = os.open(staging / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        stack.callback(os.close, staging_lock)
        fcntl.flock(staging_lock, fcntl.LOCK_EX)

        database_file = work / DATABASE_MEMBER[dialect]
        extra: dict[str, object] = {}
        if dialect == "sqlite":
            with hold_every_shard(upload_root):
                _snapshot_sqlite(engine, database_file)
                with _open_sqlite(database_file) as connection:
                    _stage_uploads(upload_root, plot_keys(connection), staging)
            with _open_sqlite(database_file) as connection:
                facts = read_facts(connection)
                check = connection.scalar(sa.text("PRAGMA quick_check"))
            if check != "ok":
                raise BackupError(f"the database copy failed SQLite's quick_check: {check}")
        else:
            facts, extra = _dump_postgresql(engine, database_file, upload_root, staging)

        uploads = []
        for key in facts.keys:
            digest = sha256_of(staging / key)
            if digest != key.split(".")[0]:
                raise BackupError(
                    f"the upload {key} is corrupt on disk (its content hashes to {digest}); "
                    "restore it from an earlier backup"
                )
            uploads.append(
                {
                    "key": key,
                    "path": f"uploads/{key[:2]}/{key}",
                    "sha256": digest,
                    "size": (staging / key).stat().st_size,
                }
            )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "portal_version": _portal_version(),
            "dialect": dialect,
            "alembic_revision": facts.revision,
            "database": {
                "path": database_file.name,
                "sha256": sha256_of(database_file),
                "size": database_file.stat().st_size,
                **extra,
            },
            "tables": facts.tables,
            "uploads": uploads,
        }

        fd, partial = tempfile.mkstemp(
            dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial"
        )  # mode 0600
        stack.callback(lambda: Path(partial).unlink(missing_ok=True))
        mtime = int(created_at.timestamp())
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as archive:
                body = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
                _add(archive, MANIFEST, io.BytesIO(body), len(body), mtime)
                with open(database_file, "rb") as fh:
                    _add(archive, database_file.name, fh, manifest["database"]["size"], mtime)
                for upload in uploads:
                    with open(staging / upload["key"], "rb") as fh:
                        _add(archive, upload["path"], fh, upload["size"], mtime)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, destination)
        _fsync_folder(destination.parent)
    return BackupResult(path=destination, manifest=manifest, size=destination.stat().st_size)


def _dump_postgresql(
    engine: sa.Engine, target: Path, upload_root: Path, staging: Path
) -> tuple[DatabaseFacts, dict]:
    """pg_dump the database as of one exported snapshot: the one the facts were read from."""
    conninfo, env = pg_connection(engine.url)
    with contextlib.ExitStack() as transaction:
        with hold_every_shard(upload_root):
            connection = transaction.enter_context(engine.connect()).execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            transaction.enter_context(connection.begin())
            # The snapshot is fixed by the transaction's first query, made with the shards held.
            snapshot = connection.scalar(sa.text("SELECT pg_export_snapshot()"))
            _stage_uploads(upload_root, plot_keys(connection), staging)
        # The files are staged: deletions may go on. The transaction stays open, so the counts
        # below and pg_dump (which adopts the exported snapshot) see the same database.
        facts = read_facts(connection)
        server = _server_major(connection)
        pg_dump = find_pg_tool("pg_dump", server)
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
    return facts, {"server_major": server, "pg_dump": _tool_version(pg_dump)}


def _tool_version(tool: Path) -> str:
    out = subprocess.run(  # noqa: S603 - a PostgreSQL tool found by find_pg_tool
        [str(tool), "--version"], capture_output=True, text=True, timeout=30
    ).stdout
    match = PG_VERSION.search(out)
    return f"{match.group(1)}.{match.group(2) or 0}" if match else out.strip()


def _add(archive: tarfile.TarFile, name: str, fh, size: int, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o644
    archive.addfile(info, fh)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- restore -------------------------------------------------------------------------------------


BOOKKEEPING_TABLES = {"alembic_version", "site_state"}


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


def _checked_member(member: tarfile.TarInfo, into: Path) -> str | None:
    """The member's name, once it is known to be safe to write under ``into``; None for folders.

    :raise BackupError: for links, devices, absolute names, ``..`` and names a backup never has.
    """
    if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: the standard library's own checks
        try:
            tarfile.data_filter(member, str(into))
        except tarfile.FilterError as error:
            raise BackupError(f"refusing the archive: {error}") from error
    if not (member.isfile() or member.isdir()):
        raise BackupError(
            f"refusing the archive: {member.name!r} is a link or a special file, "
            "which a portal backup never holds"
        )
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or "\\" in member.name:
        raise BackupError(f"refusing the archive: {member.name!r} points outside it")
    name = str(path)
    if member.isdir():
        if name == "uploads" or re.fullmatch(r"uploads/[0-9a-f]{2}", name):
            return None
    elif name in (MANIFEST, *DATABASE_MEMBER.values()) or UPLOAD_MEMBER.match(name):
        return name
    raise BackupError(f"refusing the archive: {member.name!r} is not part of a portal backup")


def unpack(archive_path: Path, into: Path) -> None:
    """Extract the archive's files under ``into``, checking every member before writing it.

    :raise BackupError: for an unreadable archive or an unsafe or unexpected member.
    """
    seen: set[str] = set()
    try:
        with tarfile.open(archive_path, mode="r|gz") as archive:
            for member in archive:
                name = _checked_member(member, into)
                if name is None:
                    continue
                if name in seen:
                    raise BackupError(f"refusing the archive: it holds {name} twice")
                seen.add(name)
                target = into.joinpath(*PurePosixPath(name).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.extractfile(member) as source, open(target, "xb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise BackupError(f"{archive_path} is not a readable backup archive: {error}") from error


def verify(staging: Path) -> dict:
    """Check the unpacked archive against its manifest; return the manifest.

    :raise BackupError: when the manifest is missing or malformed, or a file's size or SHA-256
        is not what it says.
    """
    try:
        manifest = json.loads((staging / MANIFEST).read_text())
    except FileNotFoundError as error:
        raise BackupError("the archive has no manifest.json: it is not a portal backup") from error
    except ValueError as error:
        raise BackupError(f"the archive's manifest.json is not valid JSON: {error}") from error
    try:
        return _verify(staging, manifest)
    except (KeyError, TypeError, AttributeError) as error:
        raise BackupError(f"the archive's manifest.json is malformed ({error!r})") from error


def _verify(staging: Path, manifest: dict) -> dict:
    if manifest["format"] != FORMAT:
        raise BackupError("the archive is not a portal backup (manifest format)")
    if manifest["format_version"] != FORMAT_VERSION:
        raise BackupError(
            f"the archive has backup format {manifest['format_version']}; this portal reads "
            f"format {FORMAT_VERSION} (restore it with the portal version that made it)"
        )
    dialect = manifest["dialect"]
    if dialect not in DATABASE_MEMBER or manifest["database"]["path"] != DATABASE_MEMBER[dialect]:
        raise BackupError(f"the manifest names an unknown database: {dialect!r}")
    _check_file(staging, DATABASE_MEMBER[dialect], manifest["database"])
    listed = set()
    for upload in manifest["uploads"]:
        key = upload["key"]
        if not KEY_PATTERN.match(key) or upload["path"] != f"uploads/{key[:2]}/{key}":
            raise BackupError(f"the manifest lists an upload with a bad name: {key!r}")
        if upload["sha256"] != key.split(".")[0]:
            raise BackupError(f"the manifest's checksum of {key} is not the one in its name")
        _check_file(staging, upload["path"], upload)
        listed.add(upload["path"])
    uploads = staging / "uploads"
    extra = (
        sorted(str(p.relative_to(staging)) for p in uploads.rglob("*") if p.is_file())
        if uploads.is_dir()
        else []
    )
    extra = [name for name in extra if name not in listed]
    if extra:
        raise BackupError(f"the archive holds files its manifest does not list: {extra[:5]}")
    if not all(isinstance(n, int) for n in manifest["tables"].values()):
        raise BackupError("the manifest's row counts are not numbers")
    return manifest


def _check_file(staging: Path, name: str, expected: dict) -> None:
    path = staging.joinpath(*PurePosixPath(name).parts)
    if not path.is_file():
        raise BackupError(f"the archive lacks {name}, which its manifest lists")
    if path.stat().st_size != expected["size"] or sha256_of(path) != expected["sha256"]:
        raise BackupError(
            f"{name} in the archive does not match its manifest (size or SHA-256): the archive "
            "is damaged or was altered; nothing was restored"
        )


def _known_revision(engine: sa.Engine, revision: str) -> bool:
    from alembic.script import ScriptDirectory

    from rfp_portal import migrate

    scripts = ScriptDirectory.from_config(migrate.alembic_config(engine))
    try:
        return scripts.get_revision(revision) is not None
    except Exception:  # alembic's ResolutionError / CommandError for an unknown id
        return False


def restore_backup(
    archive_path: Path, *, engine: sa.Engine, store, work_dir: Path
) -> RestoreResult:
    """Bring a backup back into this instance, which must be empty, then upgrade its schema.

    Everything is checked first (the instance is empty; every member is safe; the database file
    and every upload match the manifest's size and SHA-256); only then is anything written.

    :param store: the instance's ImageStore; uploads are written with its ``put``.
    :param work_dir: where the archive is unpacked (the instance folder: same disk as SQLite's).
    :raise BackupError: when the instance is not empty or the archive is unsafe, damaged, altered
        or made for another kind of database.
    """
    from rfp_portal import migrate

    dialect = engine.dialect.name
    if dialect == "sqlite":
        _sqlite_path(engine).parent.mkdir(parents=True, exist_ok=True)
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
            _restore_sqlite(engine, database_file)
        else:
            _restore_postgresql(engine, database_file, manifest)

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


def _restore_sqlite(engine: sa.Engine, database_file: Path) -> None:
    """Put the backup's file in place of the (empty) database, the engine's connections closed."""
    target = _sqlite_path(engine)
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
    _fsync_folder(target.parent)


def _restore_postgresql(engine: sa.Engine, dump: Path, manifest: dict) -> None:
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


# -- cleaning uploads ----------------------------------------------------------------------------


@dataclass
class CleanResult:
    removed: list[str] = field(default_factory=list)  # keys removed (or, dry run, to remove)
    freed: int = 0  # bytes
    referenced: int = 0  # old enough, but a plot uses them: kept
    young: int = 0  # newer than the minimum age: not considered
    leftovers: list[str] = field(default_factory=list)  # temporary files of crashed writers


def _referenced(session, keys: list[str]) -> set[str]:
    from rfp_portal.models import Plot

    used: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for column in (Plot.image_key, Plot.thumb_key):
            used |= set(session.scalars(sa.select(column).where(column.in_(chunk))))
    return used


def clean_uploads(
    session,
    store: FileStore,
    *,
    min_age: float,
    dry_run: bool = False,
    now: Callable[[], float] = time.time,
) -> CleanResult:
    """Remove upload files that no plot refers to and that are older than ``min_age`` seconds.

    Such files are what a failed transaction (or a crash between writing a file and committing)
    leaves behind. Each file is removed by the store's ``delete_unreferenced``, which asks the
    database again under the shard's exclusive lock: a request that has just stored the same
    file holds the shared lock until it commits, so its file is never taken from under it, and a
    file that a committed plot refers to is never removed. Temporary files of writers that died
    (``.incoming-*``, stale backup folders) older than ``min_age`` go too.
    """
    from rfp_portal.services.plots import collect_unreferenced

    result = CleanResult()
    root = Path(store.root)
    cutoff = now() - min_age
    candidates: dict[str, int] = {}
    incoming: list[Path] = []
    staging: list[Path] = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not folder.is_dir():
            continue
        if folder.name.startswith(STAGING_PREFIX):
            if folder.stat().st_mtime <= cutoff and not _backup_running_in(folder):
                staging.append(folder)
            continue
        if folder.name not in SHARDS:
            continue
        for entry in folder.iterdir():
            try:
                stat = entry.stat()
            except FileNotFoundError:
                continue  # removed meanwhile
            if KEY_PATTERN.match(entry.name) and entry.name.startswith(folder.name):
                if stat.st_mtime <= cutoff:
                    candidates[entry.name] = stat.st_size
                else:
                    result.young += 1
            elif entry.name.startswith(INCOMING_PREFIX) and stat.st_mtime <= cutoff:
                incoming.append(entry)

    keys = sorted(candidates)
    if dry_run:
        used = _referenced(session, keys)
        result.removed = [key for key in keys if key not in used]
        result.leftovers = [str(p.relative_to(root)) for p in incoming + staging]
    else:
        result.removed = sorted(collect_unreferenced(session, store, keys))
        result.leftovers = _remove_leftovers(root, incoming, staging, cutoff)
    result.referenced = len(keys) - len(result.removed)
    result.freed = sum(candidates[key] for key in result.removed)
    return result


def _backup_running_in(folder: Path) -> bool:
    """Whether a running backup holds ``folder`` (its staging folder) locked."""
    try:
        fd = os.open(folder / ".lock", os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _remove_leftovers(root: Path, incoming: list[Path], staging: list[Path], cutoff: float):
    removed = []
    for path in incoming:
        fd = _lock_file(root, path.parent.name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # FileStore.put holds it (shared) while writing one
            if path.exists() and path.stat().st_mtime <= cutoff:
                path.unlink()
                removed.append(str(path.relative_to(root)))
        finally:
            os.close(fd)
    for folder in staging:
        lock = folder / ".lock"
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            fd = None
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(folder)
            removed.append(str(folder.relative_to(root)))
        except BlockingIOError:
            pass  # a backup is running and still uses it
        finally:
            if fd is not None:
                os.close(fd)
    return removed
