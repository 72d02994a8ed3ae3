"""The page cache: logged-out readers get kept pages, and never a stale one after a write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from rfp_portal import create_app
from rfp_portal.db import get_session
from rfp_portal.models import Compute, Difficulty, Rfp, User
from rfp_portal.page_cache import current_generation
from rfp_portal.services.rfps import RfpDraft, submit_rfp
from rfp_portal.services.wants import set_want
from tests.conftest import Web


def cache_state(response) -> str | None:
    return response.headers.get("X-Page-Cache")


def test_a_logged_out_reader_gets_the_kept_page_the_second_time(app, web, make):
    rfp = make.rfp(make.user(), title="Kept page")
    for path in ("/", "/rfps", f"/rfps/{rfp}", "/tags", "/rfps.atom", "/api/v1/rfps", "/jams"):
        first, second = web.get(path), web.get(path)
        assert cache_state(first) == "miss", path
        assert cache_state(second) == "hit", path
        assert first.data == second.data
        assert "Set-Cookie" not in second.headers
        # The security headers are added to kept pages as to fresh ones.
        assert "default-src 'self'" in second.headers["Content-Security-Policy"]


def test_every_write_shows_at_once_in_every_worker(app, web, make, database_url, tmp_path):
    """Two apps on one database stand for two workers (or hosts) with their own caches."""
    other_worker = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "other"),
            "RATELIMIT_ENABLED": False,
            "PAGE_CACHE_LAG_SECONDS": 0,
        }
    )
    reader = Web(other_worker.test_client())
    author = make.user("ada")
    rfp = make.rfp(author, title="First title")
    assert "First title" in reader.get("/rfps").get_data(as_text=True)
    assert cache_state(reader.get("/rfps")) == "hit"
    assert cache_state(reader.get(f"/rfps/{rfp}")) == "miss"

    writer = web
    writer.login("ada")
    fields = {
        "title": "Second title",
        "summary": "s",
        "big_picture": "b",
        "first_plot": "f",
        "tags": "",
        "difficulty": "beginner",
        "compute": "laptop",
        "claim_cap": "",
    }
    writer.post(f"/rfps/{rfp}/edit", fields, form_url=f"/rfps/{rfp}/edit")
    listing = reader.get("/rfps")
    assert cache_state(listing) == "miss"
    assert "Second title" in listing.get_data(as_text=True)
    assert "Second title" in reader.get(f"/rfps/{rfp}").get_data(as_text=True)
    assert "Second title" in reader.get("/api/v1/rfps").get_data(as_text=True)
    other_worker.extensions["rfp_db"]["engine"].dispose()


def test_writes_through_core_statements_move_the_generation_and_rollbacks_do_not(app, make):
    author, fan = make.user(), make.user()
    rfp_id = make.rfp(author)
    with app.app_context():
        session = get_session()
        before = current_generation()
        set_want(session, rfp=session.get(Rfp, rfp_id), user=session.get(User, fan.id), want=True)
        session.commit()
        after_want = current_generation()
        assert after_want == before + 1
        session.execute(sa.update(Rfp).values(title="Not saved"))
        session.rollback()
        session.scalar(sa.select(Rfp.title))  # reading is not writing
        session.commit()
        assert current_generation() == after_want


def test_a_change_first_flushed_by_the_commit_moves_the_generation_too(app, make):
    """SQLAlchemy calls before_commit before it flushes what is still pending: an object added
    or changed and committed without a flush or a query in between is a write all the same."""
    rfp_id = make.rfp(make.user(), title="Before")
    with app.app_context():
        session = get_session()
        before = current_generation()
        session.get(Rfp, rfp_id).title = "After"  # dirty, never flushed
        session.commit()
        assert current_generation() == before + 1
        session.add(User(username="pending", email="p@x.org", display_name="P", password_hash="-"))
        session.commit()
        assert current_generation() == before + 2
        session.commit()  # nothing to flush: no write
        assert current_generation() == before + 2


def test_kept_answers_go_gzipped_to_readers_who_take_it(app, web, make):
    """A kept answer is compressed once, when kept, and sent gzipped to whoever says it takes
    gzip (browsers, feed readers and calendars do), plain to the others; every kept answer says
    it varies with Accept-Encoding, so no shared cache gives one to the other."""
    import gzip

    author = make.user("ada")
    for n in range(12):
        make.rfp(author, title=f"Wombat number {n}")
    gzipped = {"Accept-Encoding": "gzip, deflate, br"}
    for path in ("/rfps", "/rfps.atom", "/api/v1/rfps"):
        plain = web.get(path)
        assert cache_state(plain) == "miss" and "Content-Encoding" not in plain.headers, path
        for state in ("hit", "hit"):
            packed = web.get(path, headers=gzipped)
            assert cache_state(packed) == state, path
            assert packed.headers["Content-Encoding"] == "gzip", path
            assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)
            assert gzip.decompress(packed.data) == plain.data, path
        for refused in ({"Accept-Encoding": "gzip;q=0, identity"}, {"Accept-Encoding": "br"}, {}):
            again = web.get(path, headers=refused)
            assert "Content-Encoding" not in again.headers and again.data == plain.data, path
        vary = {v.strip() for v in plain.headers["Vary"].split(",")}
        assert {"Cookie", "Accept-Encoding"} <= vary, path
    # A page first rendered for a reader who takes gzip is kept and sent gzipped at once.
    first = web.get("/tags", headers=gzipped)
    assert cache_state(first) == "miss" and first.headers.get("Content-Encoding") == "gzip"
    assert b"</html>" in gzip.decompress(first.data)
    # Small answers are not worth it.
    small = web.get("/api/v1/jams", headers=gzipped)
    assert len(small.data) < 1024 and "Content-Encoding" not in small.headers
    # Members: the answers that are the same for everyone, gzipped too; their own pages are not.
    web.login("ada")
    assert web.get("/rfps.atom", headers=gzipped).headers.get("Content-Encoding") == "gzip"
    member_page = web.get("/rfps", headers=gzipped)
    assert "Content-Encoding" not in member_page.headers and b"Log out" in member_page.data


def test_pages_with_messages_are_never_kept_and_members_get_their_own_header(app, web, make):
    make.user("ada")
    web.login("ada")
    welcome = web.get("/rfps")  # "welcome back" shows: rendered for her alone
    assert "Welcome back" in welcome.get_data(as_text=True)
    assert cache_state(welcome) is None
    web.get("/rfps")  # kept for every member her page is the same for
    again = web.get("/rfps")
    assert cache_state(again) == "hit"
    assert "Person ada" in again.get_data(as_text=True)  # her own name in the header
    web.logout()  # leaves "You are logged out" to show on the next page
    goodbye = web.get("/")
    assert "You are logged out" in goodbye.get_data(as_text=True)
    assert cache_state(goodbye) is None
    # A session with nobody logged in is served by Flask itself, every time.
    assert cache_state(web.get("/")) is None
    fresh = Web(app.test_client())
    assert cache_state(fresh.get("/")) == "miss"
    # A page that hands out a CSRF token (it starts a session) is never kept.
    assert cache_state(web.get("/login")) is None


def test_kept_pages_expire_because_some_things_follow_the_clock(app, web, make):
    app.config["PAGE_CACHE_SECONDS"] = 0
    make.rfp(make.user())
    web.get("/rfps")
    assert cache_state(web.get("/rfps")) == "miss"


def test_the_store_stays_within_its_bounds():
    from rfp_portal.page_cache import Entry, PageStore

    store = PageStore(max_entries=3, max_bytes=800)
    for n in range(5):
        store.put(("k", n), Entry(0, 200, [], b"x" * 50))
    assert len(store) == 3 and store.get(("k", 0), 1e12) is None
    store.put(("big",), Entry(0, 200, [], b"x" * 500))  # over an eighth of the budget: not kept
    assert store.get(("big",), 1e12) is None


def test_answers_that_are_the_same_for_everyone_are_kept_for_members_too(app, web, make):
    """The API, the feeds and the calendars read no session: a member's cookie neither takes
    them past the cache nor changes what is kept; a member's own draft never appears in them."""
    author = make.user("ada")
    make.rfp(author, title="A public RFP")
    with app.app_context():
        session = get_session()
        draft = RfpDraft(
            title="Ada's private draft",
            summary="s",
            big_picture="b",
            first_plot="f",
            tags=["x"],
            difficulty=Difficulty.BEGINNER,
            compute=Compute.LAPTOP,
            claim_cap=None,
        )
        submit_rfp(session, author=session.get(User, author.id), draft=draft, publish=False)
        session.commit()
    web.login("ada")
    visitor = Web(app.test_client())
    paths = ("/api/v1/rfps", "/api/v1/jams", "/api/v1/events", "/rfps.atom", "/jams.atom")
    for path in (*paths, "/jams.ics", "/events.ics"):
        first = web.get(path)  # the member fills the entry …
        assert cache_state(first) == "miss", path
        assert "Set-Cookie" not in first.headers
        kept = visitor.get(path)  # … that a visitor is then served, and the member again
        assert cache_state(kept) == "hit" and kept.data == first.data, path
        assert cache_state(web.get(path)) == "hit", path
        assert b"private draft" not in kept.data
    # pages with a member's own controls still go to Flask every time
    assert cache_state(web.get("/rfps")) is None


@contextmanager
def statements_run(engine: sa.Engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs inside the block."""
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)


def _listening(app) -> None:
    """Wait (a few seconds at most) until this process LISTENs for the app's database."""
    import time

    listener = app.wsgi_app.listener
    deadline = time.monotonic() + 10
    while listener.known_generation() is None:
        assert time.monotonic() < deadline, "the listener never connected"
        time.sleep(0.02)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_a_kept_page_costs_no_query_and_a_write_elsewhere_is_heard(app, web, make):
    """Workers learn of writes from NOTIFY on a connection each keeps, not by asking the
    database on every request; a write committed outside this process is heard at once."""
    import time

    make.rfp(make.user(), title="Before")
    _listening(app)
    web.get("/rfps")
    engine = app.extensions["rfp_db"]["engine"]
    with statements_run(engine) as statements:
        assert cache_state(web.get("/rfps")) == "hit"
    assert statements == []  # no ping, no BEGIN, no SELECT of the generation
    # Another process writes (its own engine, as another host would) and notifies.
    other = sa.create_engine(engine.url)
    with other.begin() as connection:
        connection.execute(sa.text("UPDATE rfps SET title = 'After'"))
        generation = connection.execute(
            sa.text(
                "UPDATE site_state SET content_generation = content_generation + 1 "
                "WHERE id = 1 RETURNING content_generation"
            )
        ).scalar()
        connection.execute(sa.select(sa.func.pg_notify("rfp_portal_generation", str(generation))))
    other.dispose()
    deadline = time.monotonic() + 2
    while cache_state(page := web.get("/rfps")) == "hit":
        assert time.monotonic() < deadline, "the write was not heard"
        time.sleep(0.01)
    assert "After" in page.get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_on_sqlite_a_kept_page_costs_no_query_and_every_write_elsewhere_is_seen(app, web, make):
    """Workers ask SQLite's data_version on a connection each keeps, not the pool, on every
    request; a commit by another process's connection is seen on the very next request, however
    soon it follows the last (no clock, no poll)."""
    import sqlite3

    rfp = make.rfp(make.user(), title="Version 0")
    web.get("/rfps")
    engine = app.extensions["rfp_db"]["engine"]
    with statements_run(engine) as statements:
        assert cache_state(web.get("/rfps")) == "hit"
    assert statements == []  # no checkout, no SELECT of the generation
    other = sqlite3.connect(engine.url.database, isolation_level=None)  # as another host would
    try:
        for version in range(1, 30):
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE rfps SET title = ? WHERE id = ?", (f"Version {version}", rfp))
            other.execute(
                "UPDATE site_state SET content_generation = content_generation + 1 WHERE id = 1"
            )
            other.execute("COMMIT")
            page = web.get("/rfps")
            assert cache_state(page) == "miss", version
            assert f"Version {version}<" in page.get_data(as_text=True), version
            assert cache_state(web.get("/rfps")) == "hit", version
    finally:
        other.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_a_shared_part_of_a_members_page_asks_no_generation(app, web, make):
    """The listing section a member's /rfps shares with everyone is keyed by the generation the
    listener holds in memory: no SELECT of site_state on the member's request either."""
    make.user("ada")
    make.rfp(make.user(), title="Shared section")
    web.login("ada")
    _listening(app)
    web.get("/rfps")
    with statements_run(app.extensions["rfp_db"]["engine"]) as statements:
        assert "Shared section" in web.get("/rfps").get_data(as_text=True)
    assert statements and not any("site_state" in statement for statement in statements)


def test_pages_that_sum_up_the_site_may_lag_a_write_by_a_bounded_time(app, make, clock):
    """With PAGE_CACHE_LAG_SECONDS, the listing, search, home and API listing made just before a
    write are served until they are that old (a busy site rebuilds them once in that time, not
    after every comment); the page of the RFP written to is exact at once, for every reader."""
    app.config["PAGE_CACHE_LAG_SECONDS"] = 30
    author = make.user("ada")
    rfp = make.rfp(author, title="First wombat")
    visitor, member = Web(app.test_client()), Web(app.test_client())
    make.user("newbie")
    member.login("newbie")
    member.get("/account/sessions")  # reads the "welcome back" message
    lagging = ("/", "/rfps", "/rfps?q=wombat", "/api/v1/rfps")
    polled = ("/jams.ics", "/events.ics", "/jams.atom")  # what calendars and readers poll
    for reader in (visitor, member):
        for path in (*lagging, *polled, f"/rfps/{rfp}"):
            reader.get(path)
            assert cache_state(reader.get(path)) == "hit", path

    clock.advance(seconds=10)
    make.rfp(author, title="Second wombat")
    for path in polled:
        assert cache_state(visitor.get(path)) == "hit", path
    for reader in (visitor, member):
        for path in lagging:
            late = reader.get(path)
            assert cache_state(late) == "hit", path
            assert "Second" not in late.get_data(as_text=True), path
        page = reader.get(f"/rfps/{rfp}")  # any write: exact pages are made afresh
        assert cache_state(page) != "hit"

    clock.advance(seconds=21)  # the copies are now older than the lag
    for path in polled:
        assert cache_state(visitor.get(path)) == "miss", path
    for reader in (visitor, member):
        for path in lagging:
            fresh = reader.get(path)  # (the member's API answer is the visitor's new one)
            assert "Second" in fresh.get_data(as_text=True), path
