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
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from flask import current_app, g, has_app_context

KEY_PATTERN = re.compile(r"^[0-9a-f]{64}\.(png|jpg|webp)$")


class ImageStore(Protocol):
    def put(self, data: bytes, extension: str) -> str:
        """Store ``data``; return its key (content hash + extension). Idempotent."""

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
        if not KEY_PATTERN.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[:2] / key

    def _lock(self, key: str, mode: int) -> int:
        """Open and flock the shard's lock file; returns the descriptor (closing it unlocks)."""
        shard = self._path(key).parent
        shard.mkdir(parents=True, exist_ok=True)
        fd = os.open(shard / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, mode)
        return fd

    def put(self, data: bytes, extension: str) -> str:
        key = f"{hashlib.sha256(data).hexdigest()}.{extension}"
        path = self._path(key)
        held = self._lock(key, fcntl.LOCK_SH)
        if has_app_context():
            g.setdefault("storage_locks", []).append(held)
        else:
            os.close(held)  # no request to hold it for (a script)
        if path.exists():
            return key
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

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
