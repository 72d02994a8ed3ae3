"""Serving: a WSGI middleware in front of Flask, and the one list of pages it may keep."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, Response, request, session
from werkzeug.exceptions import HTTPException

from rfp_portal import clock
from rfp_portal.page_cache.listener import listener_for
from rfp_portal.page_cache.state import read_generation
from rfp_portal.page_cache.store import Entry, PageStore

# Answers that are the same whoever asks (the API, the feeds, the calendars read no session): a
# member's cookie does not take them past the cache, and a member's request may fill it.
READER_INDEPENDENT = frozenset(
    {
        "rfps.feed",
        "jams.feed",
        "jams.calendar",
        "events.calendar",
        "api.rfps",
        "api.rfp",
        "api.jams",
        "api.jam",
        "api.events",
    }
)
# The views whose pages may be kept for logged-out readers (each response still decides, in
# mark_cacheable). The middleware finds their addresses in the app's URL map, so a new cacheable
# view is one line here.
CACHEABLE = frozenset(
    {
        *READER_INDEPENDENT,
        "main.index",
        "rfps.index",
        "rfps.show",
        "rfps.tags",
        "rfps.feed",
        "jams.index",
        "jams.show",
        "jams.feed",
        "events.index",
        "events.series",
        "events.show",
        "api.rfps",
        "api.rfp",
        "api.jams",
        "api.jam",
        "api.events",
    }
)
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
        # Matches against the app's own routes (rules added later are seen too).
        self.urls = app.url_map.bind("")
        self.listener = listener_for(
            app.extensions["rfp_db"]["engine"], app.config["PAGE_CACHE_POLL_SECONDS"]
        )

    def _endpoint(self, path: str) -> str | None:
        """The view Flask would answer a GET of ``path`` with (None: no page, another method, or
        a redirect such as a trailing slash)."""
        try:
            endpoint, _arguments = self.urls.match(path, method="GET")
        except HTTPException:
            return None
        return endpoint

    def _key(self, environ) -> tuple | None:
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        endpoint = self._endpoint(environ.get("PATH_INFO", ""))
        if endpoint not in CACHEABLE:
            return None
        cookies = environ.get("HTTP_COOKIE", "")
        has_session = "session=" in cookies or "remember_token=" in cookies
        if has_session and endpoint not in READER_INDEPENDENT:
            return None
        # Known from memory while this process LISTENs for writes (PostgreSQL); else asked.
        generation = self.listener.known_generation() if self.listener is not None else None
        if generation is None:
            try:
                generation = read_generation(self.app)
            except sa.exc.SQLAlchemyError:
                return None
        return (generation, *(environ.get(name) for name in KEY_ENVIRON))

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
            self.store.put(key, Entry(clock.timestamp(), captured["status"], kept, body))
        return [body]


def mark_cacheable(response: Response) -> Response:
    """Flask's side: say whether this response is the same for every logged-out reader (or, for
    the READER_INDEPENDENT views, for everyone). A response that sets a cookie is never kept."""
    if (
        KEY_NAME not in request.environ
        or request.endpoint not in CACHEABLE
        or response.status_code != 200
        or response.direct_passthrough
        or "Set-Cookie" in response.headers
    ):
        return response
    if request.endpoint in READER_INDEPENDENT or (
        not session.modified and "_user_id" not in session and "_flashes" not in session
    ):
        response.headers["X-Page-Cache"] = "miss"
    return response
