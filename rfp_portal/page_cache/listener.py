"""Learning of writes without asking on every request (PostgreSQL).

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

SQLite has no NOTIFY; the generation is read from the local file per request (no network).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

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


_listeners: dict[str, GenerationListener] = {}
_listeners_lock = threading.Lock()


def note_committed(engine: sa.Engine, generation: int) -> None:
    """This process committed ``generation``: its own next request must not miss it."""
    listener = _listeners.get(engine.url.render_as_string(hide_password=False))
    if listener is not None:
        listener.note(generation)


def listener_for(engine: sa.Engine, poll_seconds: float) -> GenerationListener | None:
    """The process's listener for ``engine``'s database (None: not PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return None
    key = engine.url.render_as_string(hide_password=False)
    with _listeners_lock:
        listener = _listeners.get(key)
        if listener is None:
            listener = _listeners[key] = GenerationListener(engine.url, poll_seconds)
        return listener
