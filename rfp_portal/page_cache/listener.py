"""Learning of writes without asking the database on every request.

PostgreSQL (``GenerationListener``):

Every transaction that bumps the content generation also sends ``NOTIFY rfp_portal_generation``
with the new number (PostgreSQL delivers it at commit, and only then). Each worker process keeps
one connection of its own that LISTENs, in a daemon thread, and holds the highest generation it
has heard of; a cache lookup reads that number from memory instead of asking the database.

What keeps it exact:
- a commit in this process raises the number at once (``note_committed``), so the writer's own
  next request never sees the old page;
- the listening connection re-reads the generation when it (re)connects and every
  ``PAGE_CACHE_POLL_SECONDS`` (a bounded fallback should a notification ever be lost);
- whenever the listener is not connected (starting, the database restarting, a lost connection),
  ``known_generation`` answers None and the middleware reads the generation from the database
  for each request, as it always did.

SQLite has no NOTIFY (``DataVersionWatch``): each process keeps a connection of its own that only
reads, and asks it ``PRAGMA data_version``, a number SQLite changes whenever another connection, in
any process, has committed to the file. It is read from the shared WAL index in memory (a few
microseconds, no table read, no pool checkout): only when it moved is the generation read again.
The generation is also read again every ``PAGE_CACHE_POLL_SECONDS``, and the connection opened
again if the path now names another file (a database copied over the old one).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import weakref

import sqlalchemy as sa

CHANNEL = "rfp_portal_generation"
log = logging.getLogger(__name__)


class GenerationListener:
    """One per database URL and process: the newest generation heard of, kept fresh by a thread
    that LISTENs on a connection of its own."""

    RESTART_SECONDS = 1.0  # after a lost connection, at most one new attempt a second

    def __init__(self, url: sa.URL, poll_seconds: float) -> None:
        self.url = url
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._connected = False
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._started_at = 0.0

    def known_generation(self) -> int | None:
        """The generation as of the last notification (None: not listening right now)."""
        self._ensure_running()
        with self._lock:
            return self._generation if self._connected else None

    def note(self, generation: int) -> None:
        """A generation committed in this process or heard of. Numbers only grow, but for 1:
        the first write after the table was emptied (a restored or new database)."""
        with self._lock:
            if self._generation is None or generation > self._generation or generation == 1:
                self._generation = generation

    def _read(self, generation: int) -> None:
        """What the database says now: it wins (a restored database may be behind)."""
        with self._lock:
            self._generation = generation
            self._connected = True

    def _alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()

    def _ensure_running(self) -> None:
        # After a fork (gunicorn's workers) the parent's thread is not there: start one. After a
        # lost connection the thread has ended: start one again, but not on every request.
        if self._alive():
            return
        with self._lock:
            now = time.monotonic()
            if self._alive() or now - self._started_at < self.RESTART_SECONDS:
                return
            self._pid, self._started_at, self._connected = os.getpid(), now, False
            self._thread = threading.Thread(
                target=self._run, name="rfp-generation-listener", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        import psycopg

        conninfo = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                while True:
                    # At connection, and at least every poll_seconds: a notification lost
                    # (or a database restored) is made good within that time.
                    row = connection.execute(
                        "SELECT content_generation FROM site_state WHERE id = 1"
                    ).fetchone()
                    self._read(row[0] if row else 0)
                    for notice in connection.notifies(timeout=self.poll_seconds):
                        with contextlib.suppress(ValueError):
                            self.note(int(notice.payload))
        except Exception:  # the database restarted, went away or is unreachable
            log.warning("page cache: not listening for writes", exc_info=True)
        finally:
            with self._lock:
                self._connected = False  # meanwhile the middleware asks per request


class DataVersionWatch:
    """One per SQLite engine and process: the generation as of the file's last change."""

    def __init__(self, path: str, poll_seconds: float) -> None:
        self.path = path
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._inode: int | None = None
        self._version: int | None = None  # data_version when the generation was read
        self._generation = 0
        self._read_at = 0.0
        self._failing = False

    def known_generation(self) -> int | None:
        """The generation now (None: the file cannot be read; the caller asks through its pool)."""
        with self._lock:
            try:
                return self._known()
            except (sqlite3.Error, OSError):
                # Once per fault, not per request: the middleware reads through its pool meanwhile.
                if self._connection is not None or not self._failing:
                    log.warning("page cache: cannot watch %s", self.path, exc_info=True)
                self._failing = True
                self._close()
                return None

    def _known(self) -> int:
        now = time.monotonic()
        stale = now - self._read_at >= self.poll_seconds
        if stale or self._connection is None or self._pid != os.getpid():
            inode = os.stat(self.path).st_ino
            if self._connection is None or self._pid != os.getpid() or inode != self._inode:
                self._close()
                # It only reads, outside any transaction: each statement sees the newest commit.
                self._connection = sqlite3.connect(
                    self.path,
                    timeout=1.0,
                    isolation_level=None,
                    check_same_thread=False,
                )
                self._pid, self._inode = os.getpid(), inode
        connection = self._connection
        # data_version first: a commit landing between the two reads moves it again, so the
        # next request reads the generation again rather than trusting an old one.
        version = connection.execute("PRAGMA data_version").fetchone()[0]
        if stale or version != self._version:
            row = connection.execute(
                "SELECT content_generation FROM site_state WHERE id = 1"
            ).fetchone()
            self._generation, self._version, self._read_at = (row[0] if row else 0), version, now
        self._failing = False
        return self._generation

    def _close(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
        self._connection, self._version = None, None

    def close(self) -> None:
        with self._lock:
            self._close()


_listeners: dict[str, GenerationListener] = {}
# SQLite watchers live as long as their engine (each test has a database file of its own).
_watches: weakref.WeakKeyDictionary[sa.Engine, DataVersionWatch] = weakref.WeakKeyDictionary()
_listeners_lock = threading.Lock()


def note_committed(engine: sa.Engine, generation: int) -> None:
    """This process committed ``generation``: its own next request must not miss it."""
    listener = _listeners.get(engine.url.render_as_string(hide_password=False))
    if listener is not None:
        listener.note(generation)


def listener_for(
    engine: sa.Engine, poll_seconds: float
) -> GenerationListener | DataVersionWatch | None:
    """What tells this process of ``engine``'s writes (None: an in-memory SQLite database, whose
    generation is read per request)."""
    if engine.dialect.name == "sqlite":
        return _watch_for(engine, poll_seconds)
    if engine.dialect.name != "postgresql":
        return None
    key = engine.url.render_as_string(hide_password=False)
    with _listeners_lock:
        listener = _listeners.get(key)
        if listener is None:
            listener = _listeners[key] = GenerationListener(engine.url, poll_seconds)
        return listener


def _watch_for(engine: sa.Engine, poll_seconds: float) -> DataVersionWatch | None:
    path = engine.url.database
    if not path or path == ":memory:" or engine.url.query.get("uri"):
        return None
    with _listeners_lock:
        watch = _watches.get(engine)
        if watch is None:
            watch = _watches[engine] = DataVersionWatch(os.path.abspath(path), poll_seconds)
            sa.event.listen(engine, "engine_disposed", lambda _engine: watch.close())
        return watch
