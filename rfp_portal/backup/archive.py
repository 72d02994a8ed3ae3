"""The ``.tar.gz`` on disk: written whole or not at all (mode 0600), and unpacked only after
each member is known to be safe and to belong to a backup."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath

from rfp_portal.backup.errors import BackupError
from rfp_portal.backup.manifest import CHUNK, MANIFEST, is_file_member, is_folder_member


def write_archive(destination: Path, manifest: dict, files: dict[str, Path], *, mtime: int) -> None:
    """Write ``manifest`` and the database and uploads it lists to ``destination``.

    :param files: the file on disk that holds each listed member's bytes, by member name.

    The archive is written beside ``destination`` (mode 0600), synced, and renamed into place
    when whole; a failure leaves nothing behind.
    """
    fd, partial = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial"
    )  # mode 0600
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as archive:
                body = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
                _add(archive, MANIFEST, io.BytesIO(body), len(body), mtime)
                for entry in (manifest["database"], *manifest["uploads"]):
                    with open(files[entry["path"]], "rb") as fh:
                        _add(archive, entry["path"], fh, entry["size"], mtime)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, destination)
    finally:
        Path(partial).unlink(missing_ok=True)
    fsync_folder(destination.parent)


def _add(archive: tarfile.TarFile, name: str, fh, size: int, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o644
    archive.addfile(info, fh)


def fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
        if is_folder_member(name):
            return None
    elif is_file_member(name):
        return name
    raise BackupError(f"refusing the archive: {member.name!r} is not part of a portal backup")
