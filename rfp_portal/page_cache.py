"""Whole pages for logged-out readers, kept per worker and never stale after a write.

Every transaction that writes anything bumps ``site_state.content_generation`` just before it
commits (SQLAlchemy session events below), in the same transaction. A logged-out GET of a
cacheable page first reads that one number (one indexed single-row query) and looks for the
page under ``(generation, address)`` in this worker's memory. So the moment a write commits,
every worker on every host misses on its next request and renders afresh: nothing is shared
between workers except the database they already share. Entries also expire after
``PAGE_CACHE_SECONDS``, because a few things on a page follow the clock (a claim passing its
check-in date, a Jam starting).

Only pages that are the same for every logged-out reader are kept: no session cookie that
carries a person or a flash message, no remember-me cookie, and a response that set no cookie
and did not touch the session (a page with a CSRF token does both, so it is never kept).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request, session
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from rfp_portal.db import get_session
from rfp_portal.models import SiteState

CACHEABLE = {
    "main.index",
    "rfps.index",
    "rfps.show",
    "rfps.tags",
    "rfps.feed",
    "jams.index",
    "jams.show",
    "api.rfps",
    "api.rfp",
    "api.jams",
    "api.jam",
}
_READ_ONLY_SQL = ("SELECT", "WITH", "EXPLAIN", "SET", "PRAGMA", "SHOW")


# -- the generation: bumped by every committed write -------------------------------------------


def _note_write(execute_state) -> None:
    statement = execute_state.statement
    if execute_state.is_select:
        return
    if isinstance(statement, sa.TextClause) and statement.text.lstrip()[:7].upper().startswith(
        _READ_ONLY_SQL
    ):
        return
    execute_state.session.info["wrote"] = True


def _note_flush(session: Session, _context) -> None:
    session.info["wrote"] = True  # after_flush only fires when there was something to flush


def _bump_generation(session: Session) -> None:
    if not session.info.pop("wrote", False):
        return
    # One statement that also makes the row if it is missing; writers queue on this row only
    # for the moment between their last write and their commit.
    insert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[
        session.get_bind().dialect.name
    ]
    statement = insert(SiteState).values(id=1, content_generation=1)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[SiteState.id],
            set_={"content_generation": SiteState.content_generation + 1},
        )
    )
    session.info.pop("wrote", None)  # the bump itself is not news


def _forget_writes(session: Session, *_args) -> None:
    session.info.pop("wrote", None)


def track_writes(session_class) -> None:
    """Install the events on a session class (once)."""
    if getattr(session_class, "_tracks_writes", False):
        return
    event.listen(session_class, "do_orm_execute", _note_write)
    event.listen(session_class, "after_flush", _note_flush)
    event.listen(session_class, "before_commit", _bump_generation)
    event.listen(session_class, "after_rollback", _forget_writes)
    session_class._tracks_writes = True


def current_generation() -> int:
    value = get_session().scalar(sa.select(SiteState.content_generation).where(SiteState.id == 1))
    return value or 0


# -- the store ---------------------------------------------------------------------------------


@dataclass
class Entry:
    stored_at: float
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class PageStore:
    """A small LRU of whole responses, bounded by entries and bytes; one per worker process."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple, max_age: float) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry.stored_at > max_age:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: Entry) -> None:
        size = len(entry.body)
        if size > self.max_bytes // 8:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


# -- the request hooks --------------------------------------------------------------------------


def _is_anonymous_request() -> bool:
    if request.method not in ("GET", "HEAD") or request.endpoint not in CACHEABLE:
        return False
    if "remember_token" in request.cookies:
        return False
    return "_user_id" not in session and "_flashes" not in session


def _key(generation: int) -> tuple:
    clock = current_app.config.get("CLOCK")
    moment = clock().isoformat() if clock else ""  # tests move time by hand
    # The host and scheme are part of the page: feeds, the API and calendar links are absolute,
    # so a request with a forged Host must never fill the entry other readers get.
    return (generation, request.host_url, request.full_path, moment)


def _serve_from_cache():
    if not current_app.config["PAGE_CACHE_ENTRIES"] or not _is_anonymous_request():
        return None
    key = _key(current_generation())
    entry = current_app.extensions["page_cache"].get(key, current_app.config["PAGE_CACHE_SECONDS"])
    if entry is None:
        g.page_cache_key = key  # render it, then keep it (see _keep)
        return None
    response = Response(entry.body, status=entry.status, headers=entry.headers)
    response.headers["X-Page-Cache"] = "hit"
    return response


def _keep(response: Response) -> Response:
    key = g.pop("page_cache_key", None)
    if key is None:
        return response
    if (
        response.status_code != 200
        or response.direct_passthrough
        or "Set-Cookie" in response.headers
        or session.modified
        or "_flashes" in session
    ):
        return response
    headers = [(k, v) for k, v in response.headers.items() if k.lower() != "x-page-cache"]
    body = response.get_data()
    current_app.extensions["page_cache"].put(
        key, Entry(time.monotonic(), response.status_code, headers, body)
    )
    response.headers["X-Page-Cache"] = "miss"
    return response


def init_app(app: Flask) -> None:
    app.extensions["page_cache"] = PageStore(
        app.config["PAGE_CACHE_ENTRIES"], app.config["PAGE_CACHE_BYTES"]
    )
    track_writes(app.extensions["rfp_db"]["sessionmaker"].class_)
    app.before_request(_serve_from_cache)
    app.after_request(_keep)
