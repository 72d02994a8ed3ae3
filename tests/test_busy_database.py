"""A write lock held elsewhere (issue 15, item 5): readers go on, a write gets its form back busy.

SQLite lets one writer in at a time. Another process (here: another connection, in a thread,
with its own sqlite3 connection) holding the write lock for 20 s must not stall pages, and a
write that cannot get the lock within ``SQLITE_WRITE_TIMEOUT`` must give the person their form
back with what they typed, a message, 503 and ``Retry-After`` — never a 500 after 15 s.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import Comment, Rfp
from tests.test_rfps import GOOD

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

HOLD_SECONDS = 20


@pytest.fixture(autouse=True)
def short_write_timeout(monkeypatch) -> None:
    """Writes wait 1 s for the lock (before the app is made, which reads the setting)."""
    monkeypatch.setenv("SQLITE_WRITE_TIMEOUT", "1")


@contextmanager
def write_lock_held_elsewhere(app) -> Iterator[threading.Event]:
    """Another connection takes SQLite's write lock (BEGIN IMMEDIATE and a write) and holds it
    for up to 20 s; setting the event it yields lets go early."""
    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE users SET display_name = display_name")
        taken.set()
        release.wait(HOLD_SECONDS)
        connection.execute("ROLLBACK")
        connection.close()

    holder = threading.Thread(target=hold, daemon=True)
    # The app's pooled connections are dropped: the requests below connect while it is held.
    app.extensions["rfp_db"]["engine"].dispose()
    holder.start()
    assert taken.wait(10)
    try:
        yield release
    finally:
        release.set()
        holder.join(HOLD_SECONDS + 5)


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def count(app, model) -> int:
    with app.app_context():
        return get_session().scalar(sa.select(sa.func.count()).select_from(model))


def test_a_held_write_lock_stalls_no_page_and_a_write_gets_its_form_back_busy(web, app, make):
    author = make.user("author")
    rfp_id = make.rfp(author)
    someone_elses = make.rfp(make.user("someone"))
    web.login("author")
    web.session_csrf_token("/rfps/new")  # the form's token, fetched before the lock is taken
    before = count(app, Rfp)
    # Each page once before the lock, so what is timed below is the lock's effect, not a cold
    # start (templates compiled on first use, the first queries) on a busy test machine.
    for url in ("/healthz", "/rfps", f"/rfps/{rfp_id}"):
        web.get(url)
        app.test_client().get(url)

    with write_lock_held_elsewhere(app) as release:
        # Reads: a visitor's and a member's pages, none from the page cache.
        app.extensions["page_cache"].clear()
        for url in ("/healthz", "/rfps", f"/rfps/{rfp_id}"):
            response, seconds = timed(lambda url=url: web.get(url))
            assert response.status_code == 200, url
            assert seconds < 0.5, f"{url} took {seconds:.2f} s while another writer held the lock"
        anonymous = app.test_client()
        for url in ("/healthz", "/rfps", f"/rfps/{rfp_id}"):
            response, seconds = timed(lambda url=url: anonymous.get(url))
            assert response.status_code == 200 and seconds < 0.5, (url, seconds)

        # A write: it waits SQLITE_WRITE_TIMEOUT (1 s), then the form comes back as typed.
        response, seconds = timed(
            lambda: web.post("/rfps/new", {**GOOD, "title": "Typed while the portal was busy"})
        )
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        html = response.get_data(as_text=True)
        assert "The portal is busy, please try again in a moment." in html
        assert 'value="Typed while the portal was busy"' in html
        assert "Warmup is *folklore*" in html  # the Markdown box keeps its text
        assert seconds < 3, f"the write waited {seconds:.1f} s for the lock"

        # A write without a form of its own: the busy page, 503 with Retry-After.
        response = web.post(f"/rfps/{someone_elses}/want", {"want": "yes"})
        assert response.status_code == 503 and "Retry-After" in response.headers
        assert "busy" in response.get_data(as_text=True)

        release.set()

    assert count(app, Rfp) == before  # nothing half-saved
    again = web.post("/rfps/new", {**GOOD, "title": "Typed while the portal was busy"})
    assert again.status_code == 302  # the same form, sent again, saves
    assert count(app, Rfp) == before + 1


def test_a_comment_during_the_lock_is_kept_on_the_rfp_page(web, app, make):
    """A form shown on another page (the comment box on the RFP page) keeps its text too."""
    author = make.user("author")
    rfp_id = make.rfp(author)
    web.login("author")
    web.session_csrf_token(f"/rfps/{rfp_id}")
    with write_lock_held_elsewhere(app):
        response = web.post(f"/rfps/{rfp_id}/comments", {"body": "A thought typed while busy"})
        assert response.status_code == 503 and "Retry-After" in response.headers
        html = response.get_data(as_text=True)
        assert "The portal is busy" in html and "A thought typed while busy" in html
    assert count(app, Comment) == 0
