"""Guessing a member's password must not lock the member out (issue 15).

The per-account log-in limit counts the account, however it is named (username or e-mail), in a
store every worker on the host shares by default; a browser that logged in to the account before
carries a signed device cookie, and the owner's right password from it passes the per-account
limit, while the guessing client is still slowed by the per-client limits.
"""

from __future__ import annotations

import pytest

from rfp_portal import create_app
from tests.conftest import Web, share_compiled_templates

pytestmark = pytest.mark.engine_independent  # the counts are kept apart from the database

LIMITS = {
    "RATE_LIMIT_LOGIN_PER_CLIENT": "4 per minute",
    "RATE_LIMIT_LOGIN_PER_ACCOUNT": "3 per minute",
}


@pytest.fixture
def workers(database_url, tmp_path):
    """Two apps on one database and one instance folder: two workers of one host, with the
    throttling store as configured by default (no RATELIMIT_STORAGE_URI given)."""
    apps = [
        share_compiled_templates(
            create_app(
                {
                    "DATABASE_URL": database_url,
                    "SECRET_KEY": "test-secret",
                    "INSTANCE_PATH": str(tmp_path / "instance"),
                    "TESTING": True,
                    "RATELIMIT_ENABLED": True,
                    **LIMITS,
                }
            )
        )
        for _ in range(2)
    ]
    yield apps
    for app in apps:
        app.extensions["rfp_db"]["engine"].dispose()


@pytest.fixture
def make(workers):
    from tests.conftest import Factory

    return Factory(workers[0])


def browser(app, address: str) -> Web:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Web(client)


def test_guessing_from_one_client_on_two_workers_slows_it_but_not_the_owners_browser(workers, make):
    make.user("jun")
    # The owner's laptop logged in before (on either worker), so it carries a device cookie.
    laptop = browser(workers[1], "10.0.0.5")
    assert laptop.login("jun").status_code == 302
    laptop.logout()
    # The attacker alternates workers; the per-client limit (4) is shared, so the fifth is 429.
    attackers = [browser(app, "10.6.6.6") for app in workers]
    answers = [attackers[n % 2].login("jun", "wrong password").status_code for n in range(20)]
    assert answers[:3] == [422, 422, 422]
    assert 429 in answers[:5], answers
    assert answers[-1] == 429
    # Another client without the device cookie is stopped by the per-account limit …
    stranger = browser(workers[0], "10.0.0.77")
    assert stranger.login("jun@example.org", "wrong password").status_code == 429
    # … but the owner, from the browser that logged in before, gets in on either worker.
    assert laptop.login("jun").status_code == 302
    laptop.logout()
    on_the_other_worker = browser(workers[0], "10.0.0.5")
    for cookie in laptop.client._cookies.values():
        on_the_other_worker.client.set_cookie(cookie.key, cookie.value)
    assert on_the_other_worker.login("JUN").status_code == 302


def test_the_username_and_the_address_count_as_one_account(workers, make):
    make.user("jun")
    for n, name in enumerate(["jun", "JUN@example.org", " Jun "]):
        assert browser(workers[n % 2], f"10.0.1.{n}").login(name, "wrong").status_code == 422
    assert browser(workers[1], "10.0.1.9").login("jun@example.org").status_code == 429


def test_a_device_cookie_for_another_account_or_forged_does_not_pass(workers, make):
    make.user("jun")
    make.user("eve")
    eves = browser(workers[0], "10.0.2.1")
    assert eves.login("eve").status_code == 302
    eves.logout()
    for n in range(3):
        assert browser(workers[1], f"10.0.2.{10 + n}").login("jun", "wrong").status_code == 422
    # Eve's device cookie names Eve, not Jun: it does not lift Jun's lockout.
    assert eves.login("jun").status_code == 429
    forged = browser(workers[0], "10.0.2.30")
    forged.client.set_cookie("rfp_device", "1.forged.signature")
    assert forged.login("jun").status_code == 429
