"""The page cache: logged-out readers get kept pages, and never a stale one after a write."""

from __future__ import annotations

import sqlalchemy as sa

from rfp_portal import create_app
from rfp_portal.db import get_session
from rfp_portal.models import Rfp, User
from rfp_portal.page_cache import current_generation
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


def test_logged_in_readers_and_pages_with_messages_are_never_kept(app, web, make):
    make.user("ada")
    web.login("ada")
    assert cache_state(web.get("/rfps")) is None
    assert cache_state(web.get("/rfps")) is None
    web.logout()  # leaves "You are logged out" to show on the next page
    goodbye = web.get("/")
    assert "You are logged out" in goodbye.get_data(as_text=True)
    assert cache_state(goodbye) is None
    # Anyone with a session cookie is served by Flask itself, every time.
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
