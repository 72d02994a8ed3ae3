"""Serving: a WSGI middleware in front of Flask, and the one list of pages it may keep."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import Flask, Response, request, session
from itsdangerous import BadSignature
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header, parse_cookie

from rfp_portal import clock
from rfp_portal.page_cache import members
from rfp_portal.page_cache.listener import listener_for
from rfp_portal.page_cache.state import read_generation
from rfp_portal.page_cache.store import KEY_ENVIRON, Entry, PageStore, lag_of, with_gzip

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
        "users.show",
        "api.rfps",
        "api.rfp",
        "api.jams",
        "api.jam",
        "api.events",
    }
)
KEY_NAME = "rfp_portal.page_cache_key"


@functools.lru_cache(maxsize=64)
def _takes_gzip(accept_encoding: str) -> bool:
    """Whether a request's Accept-Encoding takes gzip (browsers send a handful of values)."""
    return "gzip" in accept_encoding and parse_accept_header(accept_encoding)["gzip"] > 0


def _answer(entry: Entry, environ, start_response, state: str):
    """Send a kept entry, gzipped when the reader takes it."""
    if entry.gzipped is not None and _takes_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")):
        start_response(entry.status, [*entry.gzip_headers, ("X-Page-Cache", state)])
        return [entry.gzipped]
    start_response(entry.status, [*entry.headers, ("X-Page-Cache", state)])
    return [entry.body]


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
        self.readers: members.ReaderStore = app.extensions["page_cache_readers"]
        self._serializer = None
        self.listener = listener_for(
            app.extensions["rfp_db"]["engine"], app.config["PAGE_CACHE_POLL_SECONDS"]
        )

    def _match(self, path: str) -> tuple[str | None, dict]:
        """The view Flask would answer a GET of ``path`` with, and its arguments (None: no
        page, another method, or a redirect such as a trailing slash)."""
        try:
            return self.urls.match(path, method="GET")
        except HTTPException:
            return None, {}

    def _generation(self) -> int | None:
        # Known without a pool checkout while this process LISTENs for writes (PostgreSQL) or
        # watches the file's data_version (SQLite); else asked.
        generation = self.listener.known_generation() if self.listener is not None else None
        if generation is None:
            try:
                generation = read_generation(self.app)
            except sa.exc.SQLAlchemyError:
                return None
        return generation

    def _key(self, environ) -> tuple[tuple, int, float] | None:
        """The page's key in the store, the generation and the lag it is served with (None:
        not a page kept for this request)."""
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        endpoint, _arguments = self._match(environ.get("PATH_INFO", ""))
        if endpoint not in CACHEABLE:
            return None
        cookies = environ.get("HTTP_COOKIE", "")
        has_session = "session=" in cookies or "remember_token=" in cookies
        if has_session and endpoint not in READER_INDEPENDENT:
            return None
        generation = self._generation()
        if generation is None:
            return None
        key = ("visitor", *(environ.get(name) for name in KEY_ENVIRON))
        return key, generation, lag_of(endpoint, self.app.config)

    def _session(self, environ) -> dict | None:
        """The Flask session the request's cookie holds (None: none, or not genuine)."""
        name = self.app.config["SESSION_COOKIE_NAME"]
        value = parse_cookie(environ).get(name)
        if not value:
            return None
        if self._serializer is None:
            self._serializer = self.app.session_interface.get_signing_serializer(self.app)
        try:
            return self._serializer.loads(
                value, max_age=int(self.app.permanent_session_lifetime.total_seconds())
            )
        except BadSignature:
            return None

    def _member_answer(self, environ) -> tuple[bytes, Entry] | None:
        """A logged-in member's page from memory (members.py): their memo for this generation
        and the page kept for their variant; None sends the request to Flask."""
        if environ.get("REQUEST_METHOD") != "GET" or "session=" not in environ.get(
            "HTTP_COOKIE", ""
        ):
            return None
        endpoint, arguments = self._match(environ.get("PATH_INFO", ""))
        variant_of = members.VARIANTS.get(endpoint)
        if variant_of is None:
            return None
        data = self._session(environ)
        if not data or "_flashes" in data or "_user_id" not in data:
            return None
        generation = self._generation()
        if generation is None:
            return None
        config = self.app.config
        memo = self.readers.get(
            members.memo_key(data["_user_id"], generation, environ), config["PAGE_CACHE_SECONDS"]
        )
        if (
            memo is None
            or memo.identity != members.identity(environ)
            or memo.session_csrf != data.get("csrf_token")
            or clock.timestamp() >= memo.sighting_due
        ):
            return None
        variant = variant_of(memo.facts, arguments)
        if variant is None:
            return None
        key = members.page_key(endpoint, variant, environ)
        entry = self.store.get(key, config["PAGE_CACHE_SECONDS"])
        if entry is None or not entry.serves(generation, lag_of(endpoint, self.app.config)):
            return None
        return memo.fill(entry.body), entry

    def __call__(self, environ, start_response):
        if not self.app.config["PAGE_CACHE_ENTRIES"]:
            return self.wsgi_app(environ, start_response)
        answer = self._member_answer(environ)
        if answer is not None:
            body, entry = answer
            headers = [*entry.headers, ("Content-Length", str(len(body))), ("X-Page-Cache", "hit")]
            start_response(entry.status, headers)
            return [body]
        found = self._key(environ)
        if found is None:
            return self.wsgi_app(environ, start_response)
        key, generation, lag = found
        entry = self.store.get(key, self.app.config["PAGE_CACHE_SECONDS"])
        if entry is not None and entry.serves(generation, lag):
            return _answer(entry, environ, start_response, "hit")
        environ[KEY_NAME] = key
        captured: dict = {}
        written: list[bytes] = []

        def capture(status, headers, exc_info=None):
            # Held back until the body is in: a page kept is sent as it will be sent from now on.
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return written.append

        result = self.wsgi_app(environ, capture)
        try:
            body = b"".join([*written, *result])
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = captured["status"], captured["headers"]
        names = {name.lower(): value for name, value in headers}
        if (
            status.startswith("200")
            and names.get("x-page-cache") == "miss"
            and "set-cookie" not in names
        ):
            kept = [(n, v) for n, v in headers if n.lower() != "x-page-cache"]
            entry = with_gzip(Entry(clock.timestamp(), status, kept, body, generation))
            self.store.put(key, entry)
            return _answer(entry, environ, start_response, "miss")
        start_response(status, headers, captured["exc_info"])
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
