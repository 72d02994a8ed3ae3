"""Log-in sessions kept on the server: logging out, ending one session or all others, and
password changes and deactivation end them for good, cookies replayed or not (issue 15)."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, Web

NEW_PASSWORD = "seven quiet lanterns"


def cookies_of(web: Web) -> dict[str, str]:
    return {cookie.key: cookie.value for cookie in web.client._cookies.values()}


def browser_with(app, cookies: dict[str, str]) -> Web:
    """A fresh browser holding exactly ``cookies`` (say, copied from another before it logged out)."""
    web = Web(app.test_client())
    for name, value in cookies.items():
        web.client.set_cookie(name, value)
    return web


def is_logged_in(web: Web) -> bool:
    return web.get("/notifications").status_code == 200


def test_logging_out_ends_the_session_and_the_remember_me_cookie_for_good(app, make):
    make.user("jun")
    web = Web(app.test_client())
    assert web.login("jun", remember="y").status_code == 302
    cookies = cookies_of(web)
    assert {"session", "remember_token"} <= cookies.keys()
    assert web.logout().status_code == 302
    assert not is_logged_in(web)
    # The old session cookie alone, the remember-me cookie alone, and both together.
    assert not is_logged_in(browser_with(app, {"session": cookies["session"]}))
    assert not is_logged_in(browser_with(app, {"remember_token": cookies["remember_token"]}))
    replayed = browser_with(app, cookies)
    assert not is_logged_in(replayed)
    # … and the replayed session is cleared, so the next request is anonymous too.
    assert not is_logged_in(replayed)


def test_the_sessions_page_lists_sessions_and_ending_one_logs_that_browser_out(app, make):
    make.user("jun")
    laptop, phone, tablet = (Web(app.test_client()) for _ in range(3))
    laptop.client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
    phone.client.environ_base["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/604.1"
    )
    laptop.login("jun")
    phone.login("jun", remember="y")
    tablet.login("jun")
    assert 'href="/account/sessions"' in laptop.get("/users/jun").get_data(as_text=True)
    page = laptop.get("/account/sessions").get_data(as_text=True)
    assert page.count('data-session="') == 3
    assert "Firefox" in page and "Linux" in page and "Safari" in page and "iPhone" in page
    assert page.count("this browser") == 1
    ids = [part.split('"', 1)[0] for part in page.split('data-session="')[1:]]
    phone_id = next(i for i in ids if "iPhone" in page.split(f'data-session="{i}"')[1][:400])
    response = laptop.post(f"/account/sessions/{phone_id}/end", form_url="/account/sessions")
    assert response.status_code == 302
    assert not is_logged_in(phone)  # remember-me cookie and all
    assert is_logged_in(laptop) and is_logged_in(tablet)
    assert (
        laptop.post("/account/sessions/end-others", form_url="/account/sessions").status_code == 302
    )
    assert not is_logged_in(tablet)
    assert is_logged_in(laptop)
    page = laptop.get("/account/sessions").get_data(as_text=True)
    assert page.count('data-session="') == 1


def test_a_stranger_cannot_end_someone_elses_session(app, make):
    make.user("jun")
    make.user("eve")
    jun, eve = Web(app.test_client()), Web(app.test_client())
    jun.login("jun")
    eve.login("eve")
    page = jun.get("/account/sessions").get_data(as_text=True)
    session_id = page.split('data-session="')[1].split('"')[0]
    assert eve.post(f"/account/sessions/{session_id}/end", form_url="/").status_code == 403
    assert is_logged_in(jun)


def test_a_password_change_ends_every_other_session_even_replayed(app, make):
    make.user("jun")
    laptop, phone = Web(app.test_client()), Web(app.test_client())
    laptop.login("jun")
    phone.login("jun", remember="y")
    remember = cookies_of(phone)["remember_token"]
    response = laptop.post(
        "/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        form_url="/account/password",
    )
    assert response.status_code == 302
    assert is_logged_in(laptop)
    assert not is_logged_in(phone)
    assert not is_logged_in(browser_with(app, {"remember_token": remember}))
    page = laptop.get("/account/sessions").get_data(as_text=True)
    assert page.count('data-session="') == 1


@pytest.mark.engine_independent
def test_deactivation_ends_every_session_even_replayed(app, make):
    from tests.test_moderation import Role

    make.user("root", role=Role.ADMIN)
    make.user("spammer")
    theirs = Web(app.test_client())
    theirs.login("spammer", remember="y")
    cookies = cookies_of(theirs)
    admin = Web(app.test_client())
    admin.login("root")
    admin.post(
        "/users/spammer/active", {"active": "no", "reason": "Adverts"}, form_url="/users/spammer"
    )
    admin.post("/users/spammer/active", {"active": "yes", "reason": ""}, form_url="/users/spammer")
    # Reactivated, but the sessions from before stay ended.
    assert not is_logged_in(browser_with(app, cookies))
    assert not is_logged_in(browser_with(app, {"remember_token": cookies["remember_token"]}))
