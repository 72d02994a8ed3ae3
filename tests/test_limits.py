"""Throttling: log-in, registration, comments and uploads, per client and per account."""

from __future__ import annotations

import pytest

from rfp_portal import create_app
from rfp_portal.plots import routes as plot_routes
from tests.conftest import Web, throttling_app
from tests.images import png
from tests.test_plots import upload

# Throttling counts in memory (RATELIMIT_STORAGE_URI), never in the database: one engine will do.
pytestmark = pytest.mark.engine_independent

LIMITS = {
    "RATE_LIMIT_LOGIN_PER_CLIENT": "4 per minute",
    "RATE_LIMIT_LOGIN_PER_ACCOUNT": "3 per minute",
    "RATE_LIMIT_REGISTER_PER_CLIENT": "2 per hour",
    "RATE_LIMIT_COMMENT_PER_CLIENT": "10 per minute",
    "RATE_LIMIT_COMMENT_PER_ACCOUNT": "3 per minute",
    "RATE_LIMIT_UPLOAD_PER_CLIENT": "10 per hour",
    "RATE_LIMIT_UPLOAD_PER_ACCOUNT": "2 per hour",
}


@pytest.fixture
def app(database_url, tmp_path):
    """The app with throttling on (the other tests turn it off) and small limits."""
    with throttling_app(database_url, tmp_path, **LIMITS) as app:
        yield app


@pytest.fixture
def limited(app):
    return app


def client_at(app, address: str) -> Web:
    """A browser at ``address`` (the WSGI REMOTE_ADDR the limits key on)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Web(client)


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    page = response.get_data(as_text=True)
    assert "You have tried this too often" in page and "try again in about" in page


def test_failed_log_ins_are_throttled_per_account_from_any_address(limited, make):
    make.user("ada")
    for n in range(3):
        response = client_at(limited, f"10.0.0.{n}").login("ada", "wrong password")
        assert response.status_code == 422
    assert_throttled(client_at(limited, "10.0.0.9").login("ada", "wrong password"))
    # Even the right password waits: that is what stops guessing.
    assert_throttled(client_at(limited, "10.0.0.9").login("ada"))
    # Other accounts are not affected.
    make.user("jun")
    assert client_at(limited, "10.0.0.9").login("jun").status_code == 302


def test_failed_log_ins_are_throttled_per_client_across_accounts(limited, make):
    guesser = client_at(limited, "10.0.0.66")
    for name in ("a1", "b2", "c3", "d4"):
        assert guesser.login(name, "wrong password").status_code == 422
    assert_throttled(guesser.login("e5", "wrong password"))
    make.user("ada")
    assert client_at(limited, "10.0.0.7").login("ada").status_code == 302


def test_successful_log_ins_do_not_count(limited, make):
    make.user("ada")
    for _ in range(6):
        web = client_at(limited, "10.0.0.1")
        assert web.login("ada").status_code == 302


def _register(web: Web, n: int, **changes):
    form = {
        "username": f"newcomer{n}",
        "email": f"newcomer{n}@example.org",
        "display_name": f"Newcomer {n}",
        "password": "quiet harbour lanterns",
        "confirm": "quiet harbour lanterns",
    }
    return web.post("/register", {**form, **changes}, form_url="/register")


def _account_exists(app, username: str) -> bool:
    from sqlalchemy import select

    from rfp_portal.db import get_session
    from rfp_portal.models import User

    with app.app_context():
        return get_session().scalar(select(User.id).where(User.username == username)) is not None


def test_failed_registrations_do_not_lock_a_newcomer_out(limited):
    """Twenty refused forms from one address (no account made), then a good one: it works."""
    web = client_at(limited, "10.0.0.2")
    mistakes = [
        {"confirm": "quiet harbour lantern"},  # the passwords differ
        {"username": "no spaces allowed"},
        {"email": "not an address"},
        {"password": "password123", "confirm": "password123"},  # a common password
    ]
    for n in range(20):
        response = _register(web, 1, **mistakes[n % len(mistakes)])
        assert response.status_code == 422, n
    assert not _account_exists(limited, "newcomer1")
    assert _register(web, 1).status_code == 302
    assert _account_exists(limited, "newcomer1")


def test_created_accounts_are_limited_per_client(limited):
    """The limit (2 per hour here) counts accounts made; the next is refused, the form kept."""
    web = client_at(limited, "10.0.0.12")
    for n in (1, 2):
        assert _register(web, n, confirm="a typo").status_code == 422  # these cost nothing
        assert _register(web, n).status_code == 302
        web.logout()
    refused = _register(web, 3)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    page = refused.get_data(as_text=True)
    assert "Too many accounts have been created from your network recently" in page
    assert "try again in about" in page and 'role="alert"' in page
    # The form again, with what was typed (but never the password).
    assert 'value="newcomer3"' in page and 'value="newcomer3@example.org"' in page
    assert 'value="Newcomer 3"' in page and "quiet harbour lanterns" not in page
    assert not _account_exists(limited, "newcomer3")
    assert web.get("/register").status_code == 200  # reading the form is never throttled
    # Another address is not affected.
    assert _register(client_at(limited, "10.0.0.13"), 3).status_code == 302


def test_floods_of_registration_attempts_are_still_throttled(limited):
    """Every attempt counts toward a far higher limit (30 per hour by default)."""
    assert limited.config["RATE_LIMIT_REGISTER_ATTEMPTS_PER_CLIENT"] == "30 per hour; 100 per day"
    web = client_at(limited, "10.0.0.14")
    for n in range(30):
        assert _register(web, n, confirm="a typo").status_code == 422, n
    assert_throttled(_register(web, 99))
    assert not _account_exists(limited, "newcomer99")


def test_comments_are_throttled_per_account(limited, make):
    author = make.user("ada")
    rfp = make.rfp(author)
    web = client_at(limited, "10.0.0.3")
    web.login("ada")
    for n in range(3):
        response = web.post(f"/rfps/{rfp}/comments", {"body": f"note {n}"}, form_url=f"/rfps/{rfp}")
        assert response.status_code == 302
    assert_throttled(
        web.post(f"/rfps/{rfp}/comments", {"body": "one more"}, form_url=f"/rfps/{rfp}")
    )
    # Logging in again elsewhere does not reset the person's count.
    other = client_at(limited, "10.0.0.4")
    other.login("ada")
    assert_throttled(
        other.post(f"/rfps/{rfp}/comments", {"body": "again"}, form_url=f"/rfps/{rfp}")
    )
    make.user("jun")
    jun = client_at(limited, "10.0.0.3")
    jun.login("jun")
    assert (
        jun.post(f"/rfps/{rfp}/comments", {"body": "hi"}, form_url=f"/rfps/{rfp}").status_code
        == 302
    )


def test_uploads_are_throttled_per_account(limited, make):
    author = make.user("ada")
    rfp = make.rfp(author)
    web = client_at(limited, "10.0.0.5")
    web.login("ada")
    for n in range(2):
        response = upload(web, rfp, png(color=(n, 90, 200)))
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert_throttled(upload(web, rfp, png(color=(9, 90, 200))))


def test_limits_are_configured_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_ACCOUNT", "1 per day")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://"})
    assert app.config["RATE_LIMIT_LOGIN_PER_ACCOUNT"] == "1 per day"
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert app.config["RATELIMIT_ENABLED"] is True


def test_a_hundred_sketch_previews_in_a_row_never_lose_the_form_or_use_the_uploads(
    limited, make, monkeypatch
):
    """Previews save nothing: they have their own generous limits, apart from uploads."""
    from tests.test_plots import sketch_data

    # Drawing is not what this tests (test_plots.py does): a tiny PNG stands in for matplotlib.
    monkeypatch.setattr(plot_routes, "draw_sketch", lambda spec: png(8, 5))
    owner = make.user("owner")
    rfp = make.rfp(owner)
    web = client_at(limited, "10.1.0.1")
    web.login("owner")
    form_url = f"/rfps/{rfp}/plots/new/sketch"
    data = sketch_data(preview="Preview", caption="A caption I typed")
    drawn = 0
    for n in range(100):
        response = web.post(f"/rfps/{rfp}/plots", data, form_url=form_url)
        page = response.get_data(as_text=True)
        assert response.status_code in (200, 429), n
        assert 'value="A caption I typed"' in page and "1000, 0.25" in page, n  # as typed
        if response.status_code == 200:
            drawn += 1
            assert "data:image/png;base64," in page
        else:
            assert "Nothing you typed is lost" in page and "Retry-After" in response.headers
    assert drawn == 30  # RATE_LIMIT_PREVIEW_PER_ACCOUNT's default: 30 a minute
    # In place (static/sketch.js): only the panel comes back, with the message.
    panel = web.post(
        f"/rfps/{rfp}/plots", data, form_url=form_url, headers={"X-Requested-With": "fetch"}
    )
    assert panel.status_code == 429
    assert 'id="sketch-preview"' in panel.get_data(as_text=True)
    assert "<form" not in panel.get_data(as_text=True)
    # The two uploads an hour (LIMITS) are all still there.
    for n in range(2):
        saved = web.post(f"/rfps/{rfp}/plots", sketch_data(caption=f"Saved {n}"), form_url=form_url)
        assert saved.status_code == 302


def test_a_throttled_sketch_preview_returns_the_form_with_a_message(app, make):
    app.config["RATE_LIMIT_PREVIEW_PER_ACCOUNT"] = "3 per minute"
    from tests.test_plots import sketch_data

    owner = make.user("owner")
    rfp = make.rfp(owner)
    web = client_at(app, "10.1.0.2")
    web.login("owner")
    form_url = f"/rfps/{rfp}/plots/new/sketch"
    data = sketch_data(preview="Preview", caption="Keep me")
    for _ in range(3):
        assert web.post(f"/rfps/{rfp}/plots", data, form_url=form_url).status_code == 200
    for headers in ({}, {"X-Requested-With": "fetch"}):
        response = web.post(f"/rfps/{rfp}/plots", data, form_url=form_url, headers=headers)
        assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
        page = response.get_data(as_text=True)
        assert "Nothing you typed is lost" in page
        if not headers:  # the whole form, as typed
            assert 'value="Keep me"' in page and "You have tried this too often" not in page
    # Previews of Markdown count toward the same limits, and answer with a short message.
    response = web.post("/preview", {"field": "comment", "text": "*hi*"}, form_url=form_url)
    assert response.status_code == 429
    assert "Nothing you typed is lost" in response.get_data(as_text=True)


def test_a_preview_flag_never_spares_a_save_the_upload_limits(limited, make):
    """Only a sketch has a preview: an upload sent with one is refused, and a sketch sent
    with preview=false is a save that the upload limits count."""
    from tests.test_plots import sketch_data

    owner = make.user("owner")
    rfp = make.rfp(owner)
    web = client_at(limited, "10.1.0.3")
    web.login("owner")
    assert upload(web, rfp, png(), preview="1").status_code == 400
    form_url = f"/rfps/{rfp}/plots/new/sketch"
    for n in range(2):  # the two uploads an hour (LIMITS)
        saved = web.post(
            f"/rfps/{rfp}/plots", sketch_data(caption=f"S{n}", preview="false"), form_url=form_url
        )
        assert saved.status_code == 302
    assert_throttled(upload(web, rfp, png(color=(7, 7, 7))))
