"""The archive's format: the members it may hold, the manifest that lists them, and the check
that an unpacked archive is exactly what its manifest says.

An archive holds ``manifest.json``, the database (``database.sqlite3`` or ``database.dump``) and
``uploads/<shard>/<key>`` for each upload file, ``<shard>`` being the key's first two characters.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from rfp_portal.backup.errors import BackupError
from rfp_portal.storage import is_storage_key

FORMAT = "rfp-portal-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}
UPLOAD_MEMBER = re.compile(r"uploads/[0-9a-f]{2}/([^/]+)")
UPLOAD_FOLDER_MEMBER = re.compile(r"uploads(/[0-9a-f]{2})?")
CHUNK = 1024 * 1024


def upload_member(key: str) -> str:
    """The archive's name for the upload file ``key``."""
    return f"uploads/{key[:2]}/{key}"


def is_file_member(name: str) -> bool:
    """Whether a backup may hold a file called ``name``."""
    if name in (MANIFEST, *DATABASE_MEMBER.values()):
        return True
    upload = UPLOAD_MEMBER.fullmatch(name)
    return upload is not None and is_storage_key(upload.group(1))


def is_folder_member(name: str) -> bool:
    """Whether a backup may hold a folder called ``name``."""
    return UPLOAD_FOLDER_MEMBER.fullmatch(name) is not None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- writing -------------------------------------------------------------------------------------


def upload_entry(key: str, file: Path) -> dict:
    """The manifest's entry for the upload ``key``, whose bytes are in ``file``.

    :raise BackupError: when the bytes do not hash to the key (the file is corrupt on disk).
    """
    digest = sha256_of(file)
    if digest != key.split(".")[0]:
        raise BackupError(
            f"the upload {key} is corrupt on disk (its content hashes to {digest}); "
            "restore it from an earlier backup"
        )
    return {"key": key, "path": upload_member(key), "sha256": digest, "size": file.stat().st_size}


def new_manifest(
    *,
    created_at: datetime,
    dialect: str,
    revision: str | None,
    tables: dict[str, int],
    database_file: Path,
    database_details: dict,
    uploads: list[dict],
) -> dict:
    """The manifest of an archive holding ``database_file`` and the ``uploads`` (``upload_entry``)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "portal_version": _portal_version(),
        "dialect": dialect,
        "alembic_revision": revision,
        "database": {
            "path": database_file.name,
            "sha256": sha256_of(database_file),
            "size": database_file.stat().st_size,
            **database_details,
        },
        "tables": tables,
        "uploads": uploads,
    }


def _portal_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("rfp-portal")
    except metadata.PackageNotFoundError:
        return None


# -- checking ------------------------------------------------------------------------------------


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
        if not is_storage_key(key) or upload["path"] != upload_member(key):
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
