"""A throttling store in one SQLite file: every worker on the host shares the counts.

Flask-Limiter keeps its counts in a ``limits`` storage; the library's own are memory (one per
process: a limit of 10 becomes 10 per worker), Redis, Memcached, MongoDB and etcd (each a
server to run). This one needs none: a table in a file in the instance folder
(``rfp-sqlite:///path/to/file``, the default ``RATELIMIT_STORAGE_URI``), written in short
``BEGIN IMMEDIATE`` transactions, so gunicorn's workers count together. Across hosts, use Redis.

Only the fixed-window strategy (Flask-Limiter's default, the portal's choice) is supported.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from limits.storage import Storage

SCHEME = "rfp-sqlite"
PURGE_EVERY = 500  # increments between sweeps of expired counters


class SqliteFileStorage(Storage):
    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = (uri or "").split("://", 1)[1] if uri and "://" in uri else ""
        if not self.path or self.path == "/":
            raise ValueError(f"{SCHEME}:// needs a file path, as in {SCHEME}:///srv/limits.db")
        self._local = threading.local()
        self._increments = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections are not shared between threads); a
        forked worker opens its own, since the pid is part of the check."""
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=15, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS counters"
                " (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"
            )
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT count, expires FROM counters WHERE key = ?", (key,)
            ).fetchone()
            if row is None or row[1] <= now:
                count = amount
                conn.execute(
                    "INSERT OR REPLACE INTO counters (key, count, expires) VALUES (?, ?, ?)",
                    (key, count, now + expiry),
                )
            else:
                count = row[0] + amount
                conn.execute("UPDATE counters SET count = ? WHERE key = ?", (count, key))
            self._increments += 1
            if self._increments % PURGE_EVERY == 0:
                conn.execute("DELETE FROM counters WHERE expires <= ?", (now,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return count

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute("SELECT count FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = (
            self._connection()
            .execute("SELECT expires FROM counters WHERE key = ?", (key,))
            .fetchone()
        )
        return row[0] if row else time.time()

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))
