"""Members' pages from memory: a page kept once per site change for every member it is the same
for, with the reader's own header and CSRF token put in as it leaves.

A page a member reads differs from another member's in three ways:

1. **The header's personal part** (their name, unread count, role links, the log-out form):
   rendered once per reader and site change into the reader's ``ReaderMemo``.
2. **CSRF tokens.** Every form of one session may carry the same signed token (tokens do not
   expire: ``WTF_CSRF_TIME_LIMIT`` is None), so the page is kept with a mark in their place and
   the memo holds the reader's token.
3. **Controls and facts that depend on who reads** (edit buttons, the claim form, "you want this
   plot"): a page's *variant* (``VARIANTS``) names everything of that kind the page can show,
   from the reader's facts (``services.readers.ReaderFacts``). Two readers with the same variant
   see the same page; a reader for whom the page shows something of their own (the RFP they
   wrote, claimed or commented on; their own person page; an organiser's controls) gets None:
   their page is rendered for them alone, every time, as before.

The middleware (``middleware``) answers a member's GET from the store when it holds the memo of
the session in the cookie for the current generation and the page of that variant; otherwise
Flask renders it (``prepare`` and ``keep`` below) and fills both. A write moves the generation,
so memos and pages are made afresh; so does ending a session (logging out, a password change,
deactivation are writes), and the memo is only trusted for the browser it was made for.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, g, render_template, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from rfp_portal import clock
from rfp_portal.db import get_session
from rfp_portal.page_cache.state import known_generation
from rfp_portal.page_cache.store import KEY_ENVIRON, Entry, PageStore, lag_of

if TYPE_CHECKING:  # the models import the page cache's table: no import of them at load
    from rfp_portal.services.readers import ReaderFacts

# Per process, so no text a person types can contain them; letters and digits only, so the
# template's escaping leaves them as they are.
CSRF_MARK = "rfpcsrf" + secrets.token_hex(16)
CHROME_MARK = "rfpchrome" + secrets.token_hex(16)
CSRF_MARK_BYTES = CSRF_MARK.encode()
CHROME_MARK_BYTES = CHROME_MARK.encode()

Variant = Callable[["ReaderFacts", dict], tuple | None]


def _by_role(facts: ReaderFacts, _args: dict) -> tuple:
    """Pages whose only difference between members is what their role lets them do."""
    return (facts.role,)


def _listing(facts: ReaderFacts, _args: dict) -> tuple:
    # With one tag chosen, the listing offers to follow it (or stop).
    return (facts.role, facts.followed_tags)


def _rfp_page(facts: ReaderFacts, args: dict) -> tuple | None:
    rfp_id = args["rfp_id"]
    if not facts.is_member or facts.relates_to(rfp_id):
        return None
    # The want and watch buttons, and whether the claim form says "you hold too many".
    return (rfp_id in facts.wanted, rfp_id in facts.watched, facts.at_claim_limit)


def _jam_page(facts: ReaderFacts, _args: dict) -> tuple | None:
    # The offer form lists the reader's own RFPs, and "Your offers" their offers.
    if not facts.is_member or facts.wrote or facts.offered_slots:
        return None
    return ()


def _person_page(facts: ReaderFacts, args: dict) -> tuple | None:
    # One's own page has one's drafts and the profile links; an admin's, the role forms.
    if not facts.is_member or args["username"].lower() == facts.username.lower():
        return None
    return ()


# Every page a member may be answered from memory, with what makes two members' copies differ.
VARIANTS: dict[str, Variant] = {
    "main.index": _by_role,
    "rfps.index": _listing,
    "rfps.tags": _by_role,
    "rfps.show": _rfp_page,
    "jams.index": _by_role,
    "jams.show": _jam_page,
    "events.index": _by_role,
    "events.series": _by_role,
    "events.show": _by_role,
    "users.show": _person_page,
}


@dataclass(frozen=True)
class ReaderMemo:
    """What the middleware needs to answer one session's requests, as of one generation."""

    facts: ReaderFacts
    identity: tuple  # the client (address, forwarded-for, agent) the session was checked for
    session_csrf: str  # the raw token in the session, which ``csrf`` signs
    csrf: bytes
    chrome: bytes
    made_at: float
    sighting_due: float  # when the session is next due a "last seen" write (by Flask)

    def fill(self, body: bytes) -> bytes:
        return body.replace(CHROME_MARK_BYTES, self.chrome).replace(CSRF_MARK_BYTES, self.csrf)


class ReaderStore:
    """A bounded LRU of memos, per worker."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._memos: OrderedDict[tuple, ReaderMemo] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, max_age: float) -> ReaderMemo | None:
        with self._lock:
            memo = self._memos.get(key)
            if memo is None:
                return None
            now = clock.timestamp()
            if not 0 <= now - memo.made_at <= max_age:
                del self._memos[key]
                return None
            self._memos.move_to_end(key)
            return memo

    def put(self, key: tuple, memo: ReaderMemo) -> None:
        with self._lock:
            self._memos[key] = memo
            self._memos.move_to_end(key)
            while len(self._memos) > self.max_entries:
                self._memos.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._memos.clear()


def identity(environ) -> tuple:
    """What Flask-Login's session protection reads of the client (its address as forwarded,
    and its user agent): a memo is used only by requests that bring the same."""
    return (
        environ.get("REMOTE_ADDR"),
        environ.get("HTTP_X_FORWARDED_FOR"),
        environ.get("HTTP_USER_AGENT"),
    )


def memo_key(token: str, generation: int, environ) -> tuple:
    # The header's links carry the script root the request came with.
    return (
        token,
        generation,
        environ.get("SCRIPT_NAME"),
        environ.get("HTTP_X_FORWARDED_PREFIX"),
    )


def page_key(endpoint: str, variant: tuple, environ) -> tuple:
    return ("member", endpoint, variant, *(environ.get(name) for name in KEY_ENVIRON))


def _make_memo(now_ts: float) -> ReaderMemo | None:
    """The memo of this request's reader, or None when the session is not one the middleware
    may answer for (Flask-Login would mark it, or it has no log-in session)."""
    from rfp_portal.models import ClaimPolicy
    from rfp_portal.models.login_session import SEEN_EVERY
    from rfp_portal.services.readers import reader_facts
    from rfp_portal.web.extensions import current_login_session, login_manager

    record = current_login_session()
    if record is None or session.get("_id") != login_manager._session_identifier_generator():
        return None
    moment = clock.now()
    policy = ClaimPolicy.from_config(current_app.config)
    facts = reader_facts(get_session(), current_user, now=moment, policy=policy)
    token = generate_csrf()  # puts the raw token in the session when it has none yet
    chrome = render_template("_member_nav.html", unread_notifications=facts.unread)
    seen = moment if record.is_due_a_sighting(moment) else record.last_seen_at
    return ReaderMemo(
        facts=facts,
        identity=identity(request.environ),
        session_csrf=session["csrf_token"],
        csrf=token.encode(),
        chrome=chrome.encode(),
        made_at=now_ts,
        sighting_due=(seen + SEEN_EVERY).timestamp(),
    )


def prepare() -> Response | None:
    """Before a member's view runs: when the page is one members share, answer from the copy
    kept for the reader's variant if it may still serve (a page that may lag a write, after
    one: only the reader's memo was out of date), or else render it with marks in place of the
    reader's header and tokens (``keep`` stores it and fills them in)."""
    app = current_app
    if (
        request.method != "GET"
        or request.endpoint not in VARIANTS
        or not app.config["PAGE_CACHE_ENTRIES"]
        or "_flashes" in session
        or not current_user.is_authenticated
    ):
        return None
    generation = known_generation()
    environ = request.environ
    memo = _make_memo(clock.timestamp())
    if memo is None:
        return None
    app.extensions["page_cache_readers"].put(
        memo_key(current_user.get_id(), generation, environ), memo
    )
    variant = VARIANTS[request.endpoint](memo.facts, request.view_args or {})
    if variant is None:
        return None
    key = page_key(request.endpoint, variant, environ)
    store: PageStore = app.extensions["page_cache"]
    entry = store.get(key, app.config["PAGE_CACHE_SECONDS"])
    if entry is not None and entry.serves(generation, lag_of(request.endpoint, app.config)):
        response = Response(memo.fill(entry.body), status=entry.status)
        response.headers.clear()
        response.headers.extend(entry.headers)
        response.headers["X-Page-Cache"] = "hit"
        return response
    g.page_cache_member = (key, generation, memo)
    g.csrf_token = CSRF_MARK  # every form of the page gets the mark (flask_wtf reads g first)


def keep(response):
    """After the view: keep the marked page for every member of its variant, and answer this
    reader with their own header and token in it."""
    pending = g.pop("page_cache_member", None)
    if pending is None:
        return response
    key, generation, memo = pending
    g.pop("csrf_token", None)
    body = response.get_data()
    if (
        response.status_code == 200
        and not response.direct_passthrough
        and "_flashes" not in session
        and "Set-Cookie" not in response.headers
    ):
        headers = [
            (name, value)
            for name, value in response.headers.items()
            if name.lower() not in ("content-length", "x-page-cache", "vary")
        ]
        # Flask adds this when it saves a session the page read; the kept copy says it too.
        headers.append(("Vary", "Cookie"))
        store: PageStore = current_app.extensions["page_cache"]
        store.put(key, Entry(clock.timestamp(), response.status, headers, body, generation))
    response.set_data(memo.fill(body))
    return response


def chrome_mark() -> dict:
    """Templates: the mark base.html shows in place of the reader's own header links."""
    return {"member_chrome_mark": CHROME_MARK if "page_cache_member" in g else None}


def init_app(app: Flask) -> None:
    app.extensions["page_cache_readers"] = ReaderStore(app.config["PAGE_CACHE_READERS"])
    app.before_request(prepare)
    app.context_processor(chrome_mark)
