"""Image files: the one place that touches uploads on disk.

Files are named by the SHA-256 of their bytes (the same image twice is stored once), written
atomically (a temporary file renamed into place), and removed only when no plot refers to them.
``ImageStore`` is the interface an object store could implement later; ``FileStore`` is the
filesystem backend used now.

Because two plots may share a file, removing one must not race with a request that is about to
use the same file: ``put`` takes a shared lock on the file's shard and keeps it until the request
has committed (``release``), and ``delete_unreferenced`` takes the exclusive lock before asking
the database whether anything still refers to the file. The locks are ``flock`` locks, good
across the processes of one host (on a shared volume, use one whose locks span hosts).

A write that finds the file system full (ENOSPC, EDQUOT, EFBIG) removes its partial file and
raises ``StorageFull``; ``written`` names the files a request made, so a request that fails
after storing some (an image stored, its thumbnail not) removes them again
(``services.plots.discard_written``).

A backup (``rfp_portal.backup``) asks the store for what it needs and never builds a path in
it: ``pause_deletions`` holds every shard's shared lock while it takes its snapshot,
``set_aside`` keeps the snapshot's files in a ``set_aside_folder`` until they are archived;
``files`` lists what is stored and ``remove_leftovers`` tidies after writers that died.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple, Protocol

from flask import current_app, g, has_app_context

KEY_PATTERN = re.compile(r"^[0-9a-f]{64}\.(png|jpg|webp)$")
SHARDS = [f"{n:02x}" for n in range(256)]  # a file's shard: the first two hex digits of its hash
INCOMING_PREFIX = ".incoming-"  # put's temporary files, inside a shard
ASIDE_PREFIX = ".backup-"  # set_aside_folder's folders, at the top of the store


#: What a write into a full (or over-quota) file system fails with.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class StorageFull(Exception):
    """The store's file system is full: nothing was stored (its partial file is removed)."""

    message = "Storage is full: the image was not saved. Please try again later or tell an admin."

    def __init__(self) -> None:
        super().__init__(self.message)


def is_storage_key(name: str) -> bool:
    """Whether ``name`` is a key the store could have made (and so safe as a file name)."""
    return KEY_PATTERN.fullmatch(name) is not None


class StoredFile(NamedTuple):
    key: str
    size: int  # bytes
    modified: float  # seconds since the epoch, as time.time()


class ImageStore(Protocol):
    def put(self, data: bytes, extension: str) -> str:
        """Store ``data``; return its key (content hash + extension). Idempotent.

        :raise StorageFull: when there is no room for it (nothing is left behind).
        """

    def written(self) -> list[str]:
        """The keys of the files this request's ``put`` calls made (not those already there),
        forgotten as they are returned: to remove again if the request fails."""

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``. :raise FileNotFoundError: when there are none."""

    def delete_unreferenced(
        self, keys: Iterable[str], in_use: Callable[[list[str]], set[str]]
    ) -> list[str]:
        """Remove those of ``keys`` that ``in_use`` (asked under the lock) does not return."""

    def release(self) -> None:
        """Let go of what this request's ``put`` calls hold (after its commit or rollback)."""

    def exists(self, key: str) -> bool: ...


class FileStore:
    """Files under ``root``, sharded by the first two hex digits of their hash."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not is_storage_key(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[:2] / key

    def _lock(self, key: str, mode: int) -> int:
        """Open and flock the key's shard lock file; returns the descriptor (closing it unlocks)."""
        return self._lock_shard(self._path(key).parent.name, mode)

    def _lock_shard(self, shard: str, mode: int) -> int:
        folder = self.root / shard
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def put(self, data: bytes, extension: str) -> str:
        try:
            return self._put(data, extension)
        except OSError as error:
            if error.errno in FULL_ERRNOS:
                raise StorageFull() from error
            raise

    def _put(self, data: bytes, extension: str) -> str:
        key = f"{hashlib.sha256(data).hexdigest()}.{extension}"
        path = self._path(key)
        held = self._lock(key, fcntl.LOCK_SH)
        if has_app_context():
            g.setdefault("storage_locks", []).append(held)
        else:
            os.close(held)  # no request to hold it for (a script)
        if path.exists():
            return key
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=INCOMING_PREFIX)
        try:
            with os.fdopen(fd, "wb") as fh:
                self._write(fh, data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if has_app_context():
            g.setdefault("storage_written", []).append(key)
        return key

    @staticmethod
    def _write(fh, data: bytes) -> None:
        """Write ``data`` to the open file and make it durable (the low-level write)."""
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())

    def written(self) -> list[str]:
        return g.pop("storage_written", []) if has_app_context() else []

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def release(self) -> None:
        for fd in g.pop("storage_locks", []) if has_app_context() else []:
            os.close(fd)

    def delete_unreferenced(
        self, keys: Iterable[str], in_use: Callable[[list[str]], set[str]]
    ) -> list[str]:
        removed = []
        for key in dict.fromkeys(keys):
            fd = self._lock(key, fcntl.LOCK_EX)
            try:
                if key not in in_use([key]):
                    self._path(key).unlink(missing_ok=True)
                    removed.append(key)
            finally:
                os.close(fd)
        return removed

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    # -- for backups and cleaning ---------------------------------------------------------------

    @contextlib.contextmanager
    def pause_deletions(self) -> Iterator[None]:
        """Hold every shard's shared lock for the block: ``put`` goes on, ``delete_unreferenced``
        (which takes the lock exclusively) waits until the block ends."""
        held: list[int] = []
        try:
            for shard in SHARDS:
                held.append(self._lock_shard(shard, fcntl.LOCK_SH))
            yield
        finally:
            for fd in held:
                os.close(fd)

    @contextlib.contextmanager
    def set_aside_folder(self) -> Iterator[Path]:
        """A new private folder on the store's file system, for ``set_aside``; removed when the
        block ends. While it is in use, ``remove_leftovers`` leaves it alone."""
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=ASIDE_PREFIX, dir=self.root) as name:
            folder = Path(name)
            lock = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                yield folder
            finally:
                os.close(lock)

    def set_aside(self, key: str, folder: Path) -> Path:
        """Keep the file of ``key`` as ``folder/key`` whatever the store does with it later: a hard
        link (instant, no extra space) or, across file systems, a copy.

        :raise FileNotFoundError: when there is no file for ``key``.
        :raise ValueError: when ``key`` is not a storage key.
        """
        source, target = self._path(key), Path(folder) / key
        try:
            os.link(source, target)
        except FileNotFoundError:
            raise
        except OSError:  # another file system, or one without hard links
            shutil.copyfile(source, target)
        return target

    def files(self) -> Iterator[StoredFile]:
        """Every stored file, shard by shard (a file removed meanwhile is skipped)."""
        for shard in self._shards():
            for entry in shard.iterdir():
                if not (is_storage_key(entry.name) and entry.name.startswith(shard.name)):
                    continue
                try:
                    stat = entry.stat()
                except FileNotFoundError:
                    continue  # removed meanwhile
                yield StoredFile(entry.name, stat.st_size, stat.st_mtime)

    def leftovers(self, *, older_than: float) -> list[str]:
        """What writers that died left behind, last changed before ``older_than`` (a time.time()
        value): ``put``'s temporary files and the set-aside folders of backups no longer
        running. Names are relative to the store's root."""
        incoming, aside = self._leftovers(older_than)
        return [str(p.relative_to(self.root)) for p in incoming + aside]

    def remove_leftovers(self, *, older_than: float) -> list[str]:
        """Remove what ``leftovers`` lists, each under the lock its writer would hold (so nothing
        in use goes); return the names removed."""
        incoming, aside = self._leftovers(older_than)
        removed = []
        for path in incoming:
            fd = self._lock_shard(path.parent.name, fcntl.LOCK_EX)  # put holds it while writing
            try:
                if path.exists() and path.stat().st_mtime <= older_than:
                    path.unlink()
                    removed.append(str(path.relative_to(self.root)))
            finally:
                os.close(fd)
        for folder in aside:
            try:
                fd = os.open(folder / ".lock", os.O_RDWR)
            except FileNotFoundError:
                fd = None
            try:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(folder)
                removed.append(str(folder.relative_to(self.root)))
            except BlockingIOError:
                pass  # a backup is running and still uses it
            finally:
                if fd is not None:
                    os.close(fd)
        return removed

    def _shards(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [p for p in sorted(self.root.iterdir()) if p.name in SHARDS and p.is_dir()]

    def _leftovers(self, older_than: float) -> tuple[list[Path], list[Path]]:
        incoming: list[Path] = []
        for shard in self._shards():
            for entry in shard.iterdir():
                if entry.name.startswith(INCOMING_PREFIX):
                    with contextlib.suppress(FileNotFoundError):
                        if entry.stat().st_mtime <= older_than:
                            incoming.append(entry)
        aside: list[Path] = []
        for folder in sorted(self.root.glob(f"{ASIDE_PREFIX}*")) if self.root.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):
                old = folder.is_dir() and folder.stat().st_mtime <= older_than
                if old and not _in_use(folder):
                    aside.append(folder)
        return incoming, aside


def _in_use(folder: Path) -> bool:
    """Whether a running backup holds its set-aside ``folder`` locked."""
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


def release_locks(_exc: BaseException | None = None) -> None:
    """At the end of every request, whatever happened, let go of storage locks."""
    store = current_app.extensions.get("rfp_store")
    if store is not None:
        store.release()


def get_store() -> ImageStore:
    """The store of the current app (a FileStore under UPLOAD_FOLDER)."""
    store = current_app.extensions.get("rfp_store")
    if store is None:
        store = current_app.extensions["rfp_store"] = FileStore(current_app.config["UPLOAD_FOLDER"])
    return store
