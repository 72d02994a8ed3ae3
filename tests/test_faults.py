"""Faults and edges found by a hostile review (issue 15): each ends with a clear answer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfp_portal.auth.routes import safe_next
from rfp_portal.models import Role
from tests.conftest import PASSWORD

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
