"""Headers and cookies: the CSP, nosniff, Referrer-Policy, HSTS, and cookie flags."""

from __future__ import annotations

import pytest

from rfp_portal import create_app
from tests.conftest import CSRF_INPUT, PASSWORD, Factory, Web

# Headers and cookies are set on every response whatever the database: one engine will do.
pytestmark = pytest.mark.engine_independent

CSP_DIRECTIVES = [
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
]


@pytest.mark.parametrize(
    "path", ["/", "/rfps", "/login", "/rfps.atom", "/api/v1/rfps", "/no-such-page", "/jams.ics"]
)
def test_every_response_carries_the_security_headers(web, path):
    response = web.get(path)
    csp = [d.strip() for d in response.headers["Content-Security-Policy"].split(";")]
    for directive in CSP_DIRECTIVES:
        assert directive in csp
    assert not any("unsafe-inline" in d or "unsafe-eval" in d for d in csp)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_production_cookies_are_secure_httponly_and_lax(database_url, tmp_path, monkeypatch, make):
    monkeypatch.setenv("SECURE_COOKIES", "1")
    app = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)}
    )
    Factory(app).user("ada")
    web = Web(app.test_client())
    response = web.client.get("/login", base_url="https://localhost")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    page = web.client.get("/login", base_url="https://localhost").get_data(as_text=True)
    csrf = CSRF_INPUT.search(page).group(1)
    response = web.client.post(
        "/login",
        data={
            "login": "ada",
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": csrf,
        },
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("session="))
    remember = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session, remember):
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_trusted_hosts_refuse_a_forged_host(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTED_HOSTS", "rfp.example.org, localhost")
    app = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)}
    )
    client = app.test_client()
    assert client.get("/rfps", headers={"Host": "rfp.example.org"}).status_code == 200
    assert client.get("/rfps", headers={"Host": "evil.example"}).status_code == 400
