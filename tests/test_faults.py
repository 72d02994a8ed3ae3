"""Faults and edges found by a hostile review (issue 15): each ends with a clear answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from rfp_portal.auth.routes import safe_next
from rfp_portal.db import get_session
from rfp_portal.models import Claim, Jam, Rfp, Role, User
from rfp_portal.rendering.markdown import render_markdown
from rfp_portal.services.jams import JamDraft, create_jam
from tests.conftest import PASSWORD, Web, throttling_app

BROKEN_HOST = "https://[::1"  # urlsplit raises ValueError on it


@given(st.text(max_size=300))
@settings(max_examples=400, deadline=None)
def test_every_redirect_target_check_survives_any_string(text):
    target = safe_next(text, "/")
    assert target == "/" or (target == text and text.startswith("/"))
    assert not target.startswith("//") and "\\" not in target


@given(st.from_regex(r"\A(https?:)?//?\[[0-9a-f:\]\[]*(/.*)?\Z"))
@settings(max_examples=200, deadline=None)
def test_bracketed_hosts_are_never_a_target(text):
    assert safe_next(text, "/") == "/" or not text.startswith(("http", "//"))


@pytest.mark.engine_independent
def test_a_broken_next_after_logging_in_is_the_home_page_not_a_500(web, make):
    make.user("ada")
    logged_in = web.post(f"/login?next={BROKEN_HOST}", {"login": "ada", "password": PASSWORD})
    assert logged_in.status_code == 302 and logged_in.headers["Location"] == "/"
    again = web.get(f"/login?next={BROKEN_HOST}")  # already logged in
    assert again.status_code == 302 and again.headers["Location"] == "/"


@pytest.mark.engine_independent
def test_a_broken_next_after_registering_is_the_home_page_not_a_500(web):
    response = web.post(
        f"/register?next={BROKEN_HOST}",
        {
            "username": "newcomer",
            "email": "newcomer@example.org",
            "display_name": "New Comer",
            "password": "a long enough passphrase",
            "confirm": "a long enough passphrase",
        },
        form_url="/register",
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.engine_independent
def test_a_link_with_a_broken_host_is_a_form_error_not_a_500(web, make):
    make.user("host", role=Role.ORGANISER)
    web.login("host")
    response = web.post(
        "/jams/new",
        {
            "number": "1",
            "title": "Research Jam",
            "starts_at": "2030-06-01T16:00",
            "timezone": "UTC",
            "duration_minutes": "90",
            "join_url": BROKEN_HOST,
            "description": "",
        },
        form_url="/jams/new",
    )
    assert response.status_code == 422
    assert "Enter a web address" in response.get_data(as_text=True)


# -- text that isn't ---------------------------------------------------------------------------

INVISIBLE = ["\u200b\u200b", "\u3164", "\u2800\u2800", "\ufeff", " \u200b \u00a0"]


@pytest.mark.parametrize("title", INVISIBLE)
def test_a_title_without_a_visible_character_is_refused(app, web, make, title):
    make.user("ada")
    web.login("ada")
    response = web.post(
        "/rfps/new",
        {
            "title": title,
            "summary": "s",
            "big_picture": "b",
            "first_plot": "f",
            "difficulty": "beginner",
            "compute": "laptop",
            "save_draft": "y",
        },
        form_url="/rfps/new",
    )
    assert response.status_code == 422
    assert "visible character" in response.get_data(as_text=True)


@pytest.mark.engine_independent
@pytest.mark.parametrize("name", INVISIBLE)
def test_a_display_name_without_a_visible_character_is_refused(web, name):
    response = web.post(
        "/register",
        {
            "username": "quiet",
            "email": "quiet@example.org",
            "display_name": name,
            "password": "a long enough passphrase",
            "confirm": "a long enough passphrase",
        },
        form_url="/register",
    )
    assert response.status_code == 422
    assert "visible character" in response.get_data(as_text=True)


def test_bidi_overrides_and_control_characters_are_stripped_and_kept_out_of_feeds(app, web, make):
    make.user("ada")
    web.login("ada")
    response = web.post(
        "/rfps/new",
        {
            "title": "Ab\u202ecd\x08\x0b\x0c\x1bef",
            "summary": "A \u2066summary\u2069",
            "big_picture": "Line\x1b one\nline two",
            "first_plot": "f",
            "difficulty": "beginner",
            "compute": "laptop",
            "no_plot_yet": "y",
        },
        form_url="/rfps/new",
    )
    assert response.status_code == 302
    with app.app_context():
        rfp = get_session().scalars(sa.select(Rfp)).one()
        assert (rfp.title, rfp.summary) == ("Abcdef", "A summary")
        assert rfp.big_picture_md == "Line one\nline two"
    feed = web.get("/rfps.atom").get_data(as_text=True)
    assert not any(ch in feed for ch in "\u202e\x08\x0b\x0c\x1b")


def test_control_characters_already_stored_stay_out_of_the_calendar(app, web, make):
    host = make.user("host", role=Role.ORGANISER)
    with app.app_context():
        session = get_session()
        create_jam(
            session,
            organiser=session.get(User, host.id),
            draft=JamDraft(
                number=5,
                title="Jam",
                local_start=datetime(2030, 6, 1, 16, 0),
                timezone="UTC",
                duration_minutes=90,
                join_url=None,
                description="",
            ),
            now=datetime.now(UTC),
        )
        # as an older version of the portal may have stored it
        session.execute(sa.update(Jam).values(title="Jam\x08\x0b\x0c\x1b #5"))
        session.commit()
    calendar = web.get("/jams.ics").get_data(as_text=True)
    assert "SUMMARY:" in calendar
    assert not any(ch in calendar for ch in "\x08\x0b\x0c\x1b")


@pytest.mark.engine_independent
@pytest.mark.parametrize("username", ["admin", "api", "login", "null", "Admin", "rfps"])
def test_usernames_that_are_addresses_or_roles_are_reserved(web, username):
    response = web.post(
        "/register",
        {
            "username": username,
            "email": f"{username.lower()}x@example.org",
            "display_name": "Someone",
            "password": "a long enough passphrase",
            "confirm": "a long enough passphrase",
        },
        form_url="/register",
    )
    assert response.status_code == 422
    assert "reserved" in response.get_data(as_text=True)


@pytest.mark.engine_independent
def test_a_uri_too_long_under_the_api_is_a_json_error(web):
    response = web.get("/api/v1/rfps?q=" + "a" * 6000)
    assert response.status_code == 414
    assert response.is_json and "error" in response.get_json()
    page = web.get("/rfps?q=" + "a" * 6000)
    assert page.status_code == 414 and not page.is_json


# -- typed HTML is text -----------------------------------------------------------------------


@pytest.mark.engine_independent
@pytest.mark.parametrize(
    "typed",
    [
        "<math><mtext>hi</mtext></math>",
        '<math><mi href="javascript:alert(1)">x</mi></math>',
        "<b>bold</b>",
        "<table><tr><td>cell</td></tr></table>",
        "<div>\n<math><mi>y</mi></math>\n</div>",
    ],
)
def test_typed_html_shows_as_text_and_only_the_renderer_makes_mathml(typed):
    html = render_markdown(f"Typed: {typed} and math $x$.")
    assert html.count("<math") == 1  # the formula's, made by the renderer
    assert "<mtext>" not in html and "<b>" not in html and "<td>" not in html
    assert "&lt;" in html  # what was typed is there, as text
    block = render_markdown(typed)
    assert "<math" not in block and "&lt;" in block


def test_typed_math_never_reaches_a_page_as_an_element(app, web, make):
    make.user("ada")
    web.login("ada")
    response = web.post(
        "/rfps/new",
        {
            "title": "Typed math",
            "summary": "s",
            "big_picture": "<math><mtext>typed</mtext></math>",
            "first_plot": "<math><mi>z</mi></math> and $y$",
            "difficulty": "beginner",
            "compute": "laptop",
            "no_plot_yet": "y",
        },
        form_url="/rfps/new",
    )
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "<mtext>typed</mtext>" not in page and "&lt;math&gt;" in page
    assert page.count("<math") == 1  # $y$


# -- throttles on every save that renders Markdown ----------------------------------------------


@pytest.fixture
def throttled_app(database_url, tmp_path):
    with throttling_app(database_url, tmp_path, RATE_LIMIT_WRITE_PER_ACCOUNT="2 per minute") as app:
        yield app


def test_saves_that_render_markdown_are_throttled_and_keep_the_form(throttled_app):
    from tests.conftest import Factory

    make = Factory(throttled_app)
    author = make.user("author")
    make.user("kim")
    rfp_id = make.rfp(author)
    web = Web(throttled_app.test_client())
    web.login("kim")
    saves = [
        ("/account/profile", {"display_name": "Kim", "bio": "Bio *one*"}),
        ("/account/profile", {"display_name": "Kim", "bio": "Bio *two*"}),
        (f"/rfps/{rfp_id}/claims", {"note": "My *plan*"}),
    ]
    statuses = []
    for url, data in saves:
        response = web.post(url, data, form_url="/account/profile")
        statuses.append(response.status_code)
    assert statuses[:2] == [302, 302]
    assert statuses[2] == 429
    page = response.get_data(as_text=True)
    assert "saving faster than the portal allows" in page and "My *plan*" in page
    assert int(response.headers["Retry-After"]) > 0
    with throttled_app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(Claim)) == 0
