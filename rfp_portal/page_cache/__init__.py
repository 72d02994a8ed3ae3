"""Whole pages for logged-out readers, kept per worker and never stale after a write.

Every transaction that writes anything bumps ``site_state.content_generation`` just before it
commits (SQLAlchemy session events, in ``state``), in the same transaction. A GET of a cacheable
page first learns that one number — on PostgreSQL from memory, kept fresh by a thread that
LISTENs for the NOTIFY each bump sends (``listener``); on SQLite by an indexed single-row query —
and looks for the page under ``(generation, address)`` in this worker's memory (``store``). So the moment a write
commits, every worker on every host misses on its next request and renders afresh: nothing is
shared between workers except the database they already share. Entries also expire after
``PAGE_CACHE_SECONDS``, because a few things on a page follow the clock (a claim passing its
check-in date, a Jam starting).

A WSGI middleware in front of Flask (``middleware``) answers from the store, so a hit costs no
Flask request at all (and no query on PostgreSQL). Only requests without a session or remember-me
cookie are answered from it (any request, for the READER_INDEPENDENT answers: the API, feeds and
calendars), only for the views listed in ``CACHEABLE``, and only responses that the view marks as
the same for every reader are kept: a response that set no cookie and
did not touch the session (a page with a CSRF token does both, so it is never kept) and showed
no message.
"""

from __future__ import annotations

from flask import Flask

from rfp_portal.page_cache import members
from rfp_portal.page_cache.middleware import (
    CACHEABLE,
    KEY_NAME,
    PageCacheMiddleware,
    mark_cacheable,
)
from rfp_portal.page_cache.state import (
    GENERATION_SQL,
    SiteState,
    current_generation,
    read_generation,
    track_writes,
)
from rfp_portal.page_cache.store import KEY_ENVIRON, Entry, PageStore, kept

__all__ = [
    "CACHEABLE",
    "GENERATION_SQL",
    "KEY_ENVIRON",
    "KEY_NAME",
    "Entry",
    "PageCacheMiddleware",
    "PageStore",
    "SiteState",
    "current_generation",
    "init_app",
    "kept",
    "mark_cacheable",
    "read_generation",
    "track_writes",
]


def init_app(app: Flask) -> None:
    """Install the write tracking, the store and the middleware (after ProxyFix is installed,
    so the middleware sees the request as the proxy sent it)."""
    app.extensions["page_cache"] = PageStore(
        app.config["PAGE_CACHE_ENTRIES"], app.config["PAGE_CACHE_BYTES"]
    )
    track_writes(app.extensions["rfp_db"]["sessionmaker"].class_)
    members.init_app(app)
    # Registered first, so they run last of the after-request functions: the response they
    # mark or keep already carries the security headers.
    app.after_request_funcs.setdefault(None, []).insert(0, members.keep)
    app.after_request_funcs[None].insert(0, mark_cacheable)
    app.wsgi_app = PageCacheMiddleware(app.wsgi_app, app)
