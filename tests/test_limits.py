"""Throttling: log-in, registration, comments and uploads, per client and per account."""

from __future__ import annotations

import pytest

from rfp_portal import create_app
from tests.conftest import Web, share_compiled_templates
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
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "TESTING": True,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            **LIMITS,
        }
    )
    share_compiled_templates(app)
    yield app
    app.extensions["rfp_db"]["engine"].dispose()


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


def test_registration_is_throttled_per_client(limited):
    web = client_at(limited, "10.0.0.2")

    def register(n):
        return web.post(
            "/register",
            {
                "username": f"newcomer{n}",
                "email": f"newcomer{n}@example.org",
                "display_name": "New",
                "password": "quiet harbour lanterns",
                "confirm": "quiet harbour lanterns",
            },
            form_url="/register",
        )

    assert register(1).status_code == 302
    web.logout()
    assert register(2).status_code == 302
    web.logout()
    assert_throttled(register(3))
    assert web.get("/register").status_code == 200  # reading the form is never throttled


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
