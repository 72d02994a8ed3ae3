"""The store: a small LRU of whole responses (and of fragments, through ``kept``), per worker."""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from rfp_portal import clock
from rfp_portal.page_cache.state import known_generation

# Everything in a request that can change a kept page: the host and scheme (feeds, the API and
# calendar links are absolute, so a forged Host must never fill another reader's entry), what a
# proxy says about them, and the address.
KEY_ENVIRON = (
    "wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "SCRIPT_NAME",
    "PATH_INFO", "QUERY_STRING",
)  # fmt: skip


# Pages that sum up the whole site (every comment, claim or want changes a count on them) and
# the feeds a calendar or reader polls: after a write they may be PAGE_CACHE_LAG_SECONDS late,
# so that a busy site rebuilds each of them once in that time rather than after every write.
# Every other page is exact: the RFP page a comment was posted to, a Jam's, a person's, and a
# member's own pages are never stale.
LAGGING = frozenset(
    {
        "main.index",
        "rfps.index",
        "rfps.tags",
        "rfps.feed",
        "api.rfps",
        "jams.feed",
        "jams.calendar",
        "events.calendar",
    }
)


def lag_of(endpoint: str | None, config) -> float:
    """How many seconds the page of ``endpoint`` may lag a write (0: none)."""
    return config["PAGE_CACHE_LAG_SECONDS"] if endpoint in LAGGING else 0


@dataclass
class Entry:
    stored_at: float
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    generation: int = 0  # the site's generation the entry was made at
    # The body gzipped once when kept, and the headers that go with it (``with_gzip``).
    gzipped: bytes | None = None
    gzip_headers: list[tuple[str, str]] | None = None

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")

    def serves(self, generation: int, lag: float) -> bool:
        """Whether the entry may answer a request made at ``generation``: it was made at that
        generation, or it is younger than ``lag`` seconds (the pages that sum up the whole site
        may be that late after a write: ``LAGGING``). Equal, not "at least": a database
        replaced or restored from a backup starts its count again."""
        return self.generation == generation or (
            lag > 0 and 0 <= clock.timestamp() - self.stored_at < lag
        )


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
            # Aged on the portal's clock, which pages follow (a clock set back expires it too).
            if not 0 <= clock.timestamp() - entry.stored_at <= max_age:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: Entry) -> None:
        size = entry.size
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
        self._bytes -= entry.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


# What is worth compressing: text of some size (a few hundred bytes gain nothing on the wire).
GZIP_TYPES = ("text/", "application/json", "application/atom+xml", "application/xml")
GZIP_MIN_BYTES = 1024


def with_gzip(entry: Entry) -> Entry:
    """``entry`` with its headers saying the answer varies with Accept-Encoding and, when worth
    it, a gzipped copy of its body (made once, here, not on every request)."""
    names = {name.lower(): value for name, value in entry.headers}
    if "content-encoding" in names:
        return entry
    vary = [v.strip() for v in names.get("vary", "").split(",") if v.strip()]
    headers = [(n, v) for n, v in entry.headers if n.lower() != "vary"]
    headers.append(("Vary", ", ".join([*vary, "Accept-Encoding"])))
    entry.headers = headers
    content_type = names.get("content-type", "")
    if len(entry.body) >= GZIP_MIN_BYTES and content_type.startswith(GZIP_TYPES):
        entry.gzipped = gzip.compress(entry.body, compresslevel=6, mtime=0)
        entry.gzip_headers = [
            *((n, v) for n, v in headers if n.lower() != "content-length"),
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(entry.gzipped))),
        ]
    return entry


def kept(name: str, *parts, make: Callable[[], str]) -> str:
    """``make()``, computed once per site change and shared from the page store.

    For text that is the same for everyone who asks with the same ``parts``: the key holds the
    generation, so the next write makes it afresh; it also expires after PAGE_CACHE_SECONDS.
    """
    config = current_app.config
    if not config["PAGE_CACHE_ENTRIES"]:
        return make()
    key = (name, known_generation(), *parts)
    store: PageStore = current_app.extensions["page_cache"]
    entry = store.get(key, config["PAGE_CACHE_SECONDS"])
    if entry is not None:
        return entry.body.decode()
    text = make()
    store.put(key, Entry(clock.timestamp(), "200 OK", [], text.encode()))
    return text
