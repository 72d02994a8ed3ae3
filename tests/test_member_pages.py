"""Members' pages from memory (page_cache/members.py): shared between members, never leaking
one reader's controls, tokens or notifications to another."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from rfp_portal import create_app
from rfp_portal.db import get_session
from rfp_portal.demo import DEMO_PASSWORD
from rfp_portal.models import Event, Jam, Rfp, RfpState, User
from tests.conftest import Web, share_compiled_templates

SECRET = "test-secret"
# Every form's token, the prefixed ones (a claim's progress form) too.
CSRF_INPUT = re.compile(r'name="([\w-]*csrf_token)"( type="hidden")? value="([^"]+)"')


def cache_state(response) -> str | None:
    return response.headers.get("X-Page-Cache")


class Reader:
    """One browser: its requests go to the app under test (page cache on); ``expected`` asks
    an app without a page cache, with the same cookies, what this reader should see."""

    def __init__(self, name: str, client, uncached_client) -> None:
        self.name = name
        self.web = Web(client)
        self.uncached = uncached_client
        self.hits = 0

    def session_data(self) -> dict:
        app = self.web.client.application
        cookie = self.web.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        if cookie is None:
            return {}
        return app.session_interface.get_signing_serializer(app).loads(cookie.value)

    def get(self, path: str):
        response = self.web.get(path)
        assert response.status_code == 200, (self.name, path, response.status_code)
        if cache_state(response) == "hit":
            self.hits += 1
        return response

    def expected(self, path: str):
        app = self.web.client.application
        name = app.config["SESSION_COOKIE_NAME"]
        self.uncached.delete_cookie(name)
        cookie = self.web.client.get_cookie(name)
        if cookie is not None:
            self.uncached.set_cookie(name, cookie.value)
        response = self.uncached.get(path)
        assert response.status_code == 200, (self.name, path, response.status_code)
        return response

    def normalised(self, response) -> str:
        """The page with its CSRF tokens checked (each signs this reader's own session secret)
        and then blotted out: a fresh render signs the same secret at another moment."""
        secret = self.session_data().get("csrf_token")
        signer = URLSafeTimedSerializer(SECRET, salt="wtf-csrf-token")

        def check(match: re.Match) -> str:
            token = match.group(3)
            assert secret is not None and signer.loads(token) == secret, (self.name, token)
            return f'name="{match.group(1)}"{match.group(2) or ""} value="TOKEN"'

        return CSRF_INPUT.sub(check, response.get_data(as_text=True))


def pages(app) -> list[str]:
    """Every page the cache may answer, for the demo data: listings, searches, every published
    RFP, every Jam and event, every person, the API, the feeds and calendars."""
    with app.app_context():
        session = get_session()
        rfps = session.scalars(
            sa.select(Rfp.id).where(Rfp.state != RfpState.DRAFT).order_by(Rfp.id)
        ).all()
        jams = session.scalars(sa.select(Jam.number).order_by(Jam.number)).all()
        events = session.scalars(sa.select(Event).order_by(Event.id)).all()
        series = sorted({event.series.slug for event in events})
        event_pages = [f"/events/{e.series.slug}/{e.number or e.slug}" for e in events[:2]]
        people = session.scalars(sa.select(User.username).order_by(User.id)).all()
        tag = session.scalars(sa.select(Rfp).where(Rfp.id == rfps[0])).one().tags[0].name
    return [
        "/",
        "/rfps",
        "/rfps?state=open",
        f"/rfps?tag={tag}",
        "/rfps?q=plot",
        "/rfps?sort=comments",
        "/tags",
        *(f"/rfps/{rfp}" for rfp in rfps),
        "/jams",
        *(f"/jams/{number}" for number in jams),
        "/events",
        *(f"/events/{slug}" for slug in series),
        *event_pages,
        *(f"/users/{name}" for name in people),
        "/api/v1/rfps",
        "/rfps.atom",
        "/jams.ics",
        "/events.ics",
    ]


@pytest.fixture
def uncached_app(app, database_url, tmp_path):
    """A second portal on the same database, with no page cache: what each reader should see."""
    uncached = share_compiled_templates(
        create_app(
            {
                "DATABASE_URL": database_url,
                "SECRET_KEY": SECRET,
                "INSTANCE_PATH": str(tmp_path / "uncached"),
                "TESTING": True,
                "RFPS_PER_PAGE": app.config["RFPS_PER_PAGE"],
                "RATELIMIT_ENABLED": False,
                "PAGE_CACHE_ENTRIES": 0,
            }
        )
    )
    yield uncached
    uncached.extensions["rfp_db"]["engine"].dispose()


@pytest.mark.demo_data
def test_no_reader_ever_sees_another_readers_controls_tokens_or_notifications(
    app, uncached_app, make
):
    """Two new members (who share most pages), two demo members with RFPs, claims and comments
    of their own, an organiser and a visitor read every cached page in turn, with writes between
    the rounds; each answer must be exactly what a portal without the cache renders for that
    reader (tokens aside, each checked to be the reader's own)."""
    make.user("newbie")
    make.user("novice")
    readers = {
        name: Reader(name, app.test_client(), uncached_app.test_client())
        for name in ("visitor", "newbie", "novice", "ada", "maria", "jamhost")
    }
    for name, reader in readers.items():
        if name in ("newbie", "novice"):
            reader.web.login(name)
        elif name != "visitor":
            reader.web.login(name, DEMO_PASSWORD)
        if name != "visitor":
            reader.web.get("/account/sessions")  # reads the "welcome back" message
    paths = pages(app)
    with app.app_context():
        open_rfps = (
            get_session()
            .scalars(sa.select(Rfp.id).where(Rfp.state == RfpState.OPEN).order_by(Rfp.id))
            .all()
        )
    target = open_rfps[-1]
    newbie, novice = readers["newbie"].web, readers["novice"].web
    writes = [
        lambda: newbie.post(f"/rfps/{target}/want", {"want": "yes"}, form_url=f"/rfps/{target}"),
        lambda: novice.post(
            f"/rfps/{target}/comments", {"body": "Which seeds?"}, form_url=f"/rfps/{target}"
        ),
        lambda: newbie.post(f"/rfps/{target}/watch", {"watch": "yes"}, form_url=f"/rfps/{target}"),
        lambda: newbie.post(
            f"/rfps/{target}/claims", {"note": "On it"}, form_url=f"/rfps/{target}"
        ),
        lambda: readers["ada"].web.post("/notifications/read", form_url="/notifications"),
    ]
    for round_number in range(len(writes) + 1):
        for index, path in enumerate(paths):  # page by page: readers alternate on each page,
            turn = index % len(readers)  # each coming first to some of them
            for reader in [*readers.values()][turn:] + [*readers.values()][:turn]:
                shown = reader.get(path)
                assert reader.normalised(shown) == reader.normalised(reader.expected(path)), (
                    round_number,
                    reader.name,
                    path,
                )
        if round_number < len(writes):
            assert writes[round_number]().status_code in (302, 303)
            for name, reader in readers.items():  # the writer reads the message its write left
                if name != "visitor":
                    reader.web.get("/account/sessions")
    # The cache did serve members (each round, the first reader of a page fills it): novice
    # mostly from the copies newbie's requests kept, and the members with RFPs, claims and
    # roles of their own on the pages they share with others. (Each visitor's page is asked
    # once a round, after a write: test_page_cache.py shows their hits.)
    hits = {reader.name: reader.hits for reader in readers.values()}
    assert hits["novice"] > len(paths), hits
    assert all(hits[name] for name in ("newbie", "ada", "maria", "jamhost")), hits
