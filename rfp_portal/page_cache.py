"""Whole pages for logged-out readers, kept per worker and never stale after a write.

Every transaction that writes anything bumps ``site_state.content_generation`` just before it
commits (SQLAlchemy session events below), in the same transaction. A logged-out GET of a
cacheable page first reads that one number (one indexed single-row query) and looks for the
page under ``(generation, address)`` in this worker's memory. So the moment a write commits,
every worker on every host misses on its next request and renders afresh: nothing is shared
between workers except the database they already share. Entries also expire after
``PAGE_CACHE_SECONDS``, because a few things on a page follow the clock (a claim passing its
check-in date, a Jam starting).

A WSGI middleware in front of Flask answers from the store, so a hit costs one small query and
no Flask request at all. Only requests without a session or remember-me cookie are answered
from it, and only responses that the view marks as the same for every logged-out reader are
kept: a response that set no cookie and did not touch the session (a page with a CSRF token
does both, so it is never kept) and showed no message.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, Response, current_app, request, session
from sqlalchemy import event
from sqlalchemy.orm import Session

from rfp_portal.db import get_session, insert_for
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
    statement = insert_for(session)(SiteState).values(id=1, content_generation=1)
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
    """The generation, as this request's session sees it (a plain statement: it runs often)."""
    value = get_session().connection().exec_driver_sql(GENERATION_SQL).scalar()
    return value or 0


def kept(name: str, *parts, make: Callable[[], str]) -> str:
    """``make()``, computed once per site change and shared from the page store.

    For text that is the same for everyone who asks with the same ``parts``: the key holds the
    generation, so the next write makes it afresh; it also expires after PAGE_CACHE_SECONDS.
    """
    config = current_app.config
    if not config["PAGE_CACHE_ENTRIES"]:
        return make()
    clock = config.get("CLOCK")
    key = (name, current_generation(), clock().isoformat() if clock else "", *parts)
    store: PageStore = current_app.extensions["page_cache"]
    entry = store.get(key, config["PAGE_CACHE_SECONDS"])
    if entry is not None:
        return entry.body.decode()
    text = make()
    store.put(key, Entry(time.monotonic(), "200 OK", [], text.encode()))
    return text


# -- the store ---------------------------------------------------------------------------------


@dataclass
class Entry:
    stored_at: float
    status: str
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


# -- serving: a WSGI middleware in front of Flask ----------------------------------------------

# The addresses whose pages may be kept (the views in CACHEABLE decide on each response).
CACHEABLE_PATHS = re.compile(r"^/(|rfps|rfps/\d+|rfps\.atom|tags|jams|jams/\d+|api/v1/.*)$")
# Everything in a request that can change a kept page: the host and scheme (feeds, the API and
# calendar links are absolute, so a forged Host must never fill another reader's entry), what a
# proxy says about them, and the address.
KEY_ENVIRON = (
    "wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "SCRIPT_NAME",
    "PATH_INFO", "QUERY_STRING",
)  # fmt: skip
KEY_NAME = "rfp_portal.page_cache_key"


class PageCacheMiddleware:
    """Answers a logged-out reader's GET from the store before Flask runs, or keeps what Flask
    answered when the view marked it as the same for every logged-out reader.

    A request with a session or remember-me cookie always goes to Flask (a logged-in reader, or
    a visitor with a message waiting); so does everything when the generation cannot be read.
    """

    def __init__(self, wsgi_app, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self.store: PageStore = app.extensions["page_cache"]

    def _key(self, environ) -> tuple | None:
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        cookies = environ.get("HTTP_COOKIE", "")
        if "session=" in cookies or "remember_token=" in cookies:
            return None
        if not CACHEABLE_PATHS.match(environ.get("PATH_INFO", "")):
            return None
        try:
            generation = read_generation(self.app)
        except sa.exc.SQLAlchemyError:
            return None
        clock = self.app.config.get("CLOCK")
        moment = clock().isoformat() if clock else ""  # tests move time by hand
        return (generation, moment, *(environ.get(name) for name in KEY_ENVIRON))

    def __call__(self, environ, start_response):
        key = self._key(environ) if self.app.config["PAGE_CACHE_ENTRIES"] else None
        if key is None:
            return self.wsgi_app(environ, start_response)
        entry = self.store.get(key, self.app.config["PAGE_CACHE_SECONDS"])
        if entry is not None:
            start_response(entry.status, [*entry.headers, ("X-Page-Cache", "hit")])
            return [entry.body]
        environ[KEY_NAME] = key
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        headers = captured.get("headers", [])
        names = {name.lower(): value for name, value in headers}
        if (
            captured.get("status", "").startswith("200")
            and names.get("x-page-cache") == "miss"
            and "set-cookie" not in names
        ):
            kept = [(n, v) for n, v in headers if n.lower() != "x-page-cache"]
            self.store.put(key, Entry(time.monotonic(), captured["status"], kept, body))
        return [body]


def read_generation(app: Flask) -> int:
    """The content generation, read on a pooled connection of the app's engine (no ORM)."""
    with app.extensions["rfp_db"]["engine"].connect() as connection:
        value = connection.exec_driver_sql(GENERATION_SQL).scalar()
    return value or 0


GENERATION_SQL = "SELECT content_generation FROM site_state WHERE id = 1"


def _mark_cacheable(response: Response) -> Response:
    """Flask's side: say whether this response is the same for every logged-out reader."""
    if (
        KEY_NAME in request.environ
        and request.endpoint in CACHEABLE
        and response.status_code == 200
        and not response.direct_passthrough
        and "Set-Cookie" not in response.headers
        and not session.modified
        and "_user_id" not in session
        and "_flashes" not in session
    ):
        response.headers["X-Page-Cache"] = "miss"
    return response


def init_app(app: Flask) -> None:
    """Install the write tracking, the store and the middleware (after ProxyFix is installed,
    so the middleware sees the request as the proxy sent it)."""
    app.extensions["page_cache"] = PageStore(
        app.config["PAGE_CACHE_ENTRIES"], app.config["PAGE_CACHE_BYTES"]
    )
    track_writes(app.extensions["rfp_db"]["sessionmaker"].class_)
    # Registered first, so it runs last of the after-request functions: the response it marks
    # already carries the security headers.
    app.after_request_funcs.setdefault(None, []).insert(0, _mark_cacheable)
    app.wsgi_app = PageCacheMiddleware(app.wsgi_app, app)
