"""Image files: the one place that touches uploads on disk.

Files are named by the SHA-256 of their bytes (the same image twice is stored once), written
atomically (a temporary file renamed into place), and removed only when no plot refers to them.
``ImageStore`` is the interface an object store could implement later; ``FileStore`` is the
filesystem backend used now.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from flask import current_app

KEY_PATTERN = re.compile(r"^[0-9a-f]{64}\.(png|jpg|webp)$")


class ImageStore(Protocol):
    def put(self, data: bytes, extension: str) -> str:
        """Store ``data``; return its key (content hash + extension). Idempotent."""

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``. :raise FileNotFoundError: when there are none."""

    def delete(self, key: str) -> None:
        """Remove ``key`` if it is there."""

    def exists(self, key: str) -> bool: ...


class FileStore:
    """Files under ``root``, sharded by the first two hex digits of their hash."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[:2] / key

    def put(self, data: bytes, extension: str) -> str:
        key = f"{hashlib.sha256(data).hexdigest()}.{extension}"
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
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

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()


def get_store() -> ImageStore:
    """The store of the current app (a FileStore under UPLOAD_FOLDER)."""
    store = current_app.extensions.get("rfp_store")
    if store is None:
        store = current_app.extensions["rfp_store"] = FileStore(current_app.config["UPLOAD_FOLDER"])
    return store
