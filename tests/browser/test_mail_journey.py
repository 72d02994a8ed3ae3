"""E-mail in a real Chromium: register and confirm, forget the password and reset it, choose
what to hear of; and the admin's outbox and webhook pages.

The portal runs with its default mail set-up (no MAIL_URL: each e-mail becomes an ``.eml`` file
in the instance folder, as on ``make run``); the test runs the outbox sender itself and follows
the links in the files it wrote, as a newcomer would follow them from their inbox. Every page is
checked by axe-core through ``Journey``.
"""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

import rfp_portal.db
from rfp_portal.models import Role, User
from rfp_portal.outbox.sender import Sender
from rfp_portal.services import tokens
from rfp_portal.services.accounts import register_user
from tests.browser.conftest import LiveServer
from tests.browser.test_journey import PASSWORD, Journey

NEW_PASSWORD = "paper boats on a slow river"


def deliver(server: LiveServer) -> list[email.message.EmailMessage]:
    """Run the sender once; return every e-mail written so far, oldest first."""
    Sender(server.app).send_due()
    folder = Path(server.app.instance_path) / "mail"
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def link(message, path: str) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"(https?://\S*" + re.escape(path) + r"\S*)", text)
    assert found, text
    return found.group(1)


def expected_refusal(journey: Journey, status: int) -> None:
    """Chromium logs a 4xx page as a console error; where the refusal is the point, drop it."""
    journey.console_errors[:] = [
        e for e in journey.console_errors if f"status of {status}" not in e
    ]


def _log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".flashes")).to_contain_text("Welcome back")


@pytest.mark.browser
def test_a_newcomer_confirms_their_address_resets_a_password_and_picks_their_mail(
    browser: Browser, own_live_app: LiveServer, artifacts_dir: Path
) -> None:
    app = own_live_app.app
    app.config["PUBLIC_URL"] = own_live_app.url
    name = f"mailer_{uuid.uuid4().hex[:6]}"
    address = f"{name}@example.org"
    ctx = browser.new_context(base_url=own_live_app.url)
    journey = Journey(ctx.new_page(), artifacts_dir)
    page = journey.page
    with closing(ctx):
        # 1. Register: the confirmation e-mail is written at once; its link confirms.
        page.goto("/register")
        page.get_by_label("Username").fill(name)
        page.get_by_label("E-mail").fill(address)
        page.get_by_label("Display name").fill("Mae Iler")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Repeat the password").fill(PASSWORD)
        page.get_by_role("button", name="Create my account").click()
        expect(page.locator(".flashes")).to_contain_text("We sent a link to")
        (confirmation,) = deliver(own_live_app)
        assert confirmation["To"].addresses[0].addr_spec == address
        page.goto(link(confirmation, "/account/confirm/"))
        expect(page).to_have_url(re.compile(r"/account/notifications$"))
        expect(page.locator(".flashes")).to_contain_text(f"{address} is confirmed")
        expect(page.locator(".pill", has_text="Confirmed")).to_be_visible()
        journey.check("mail-settings")
        page.get_by_role("link", name="Change it").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Change your e-mail address")
        journey.check("mail-change-address")
        page.go_back()

        # 2. Choose: comments by e-mail at once.
        group = page.get_by_role("group", name="A comment on an RFP I wrote, claimed or watch")
        group.get_by_label("E-mail at once").check()
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".flashes")).to_contain_text("Saved")
        expect(
            page.get_by_role(
                "group", name="A comment on an RFP I wrote, claimed or watch"
            ).get_by_label("E-mail at once")
        ).to_be_checked()

        # 3. Log out, forget the password, reset it from the e-mail.
        page.get_by_role("button", name="Log out").click()
        page.goto("/login")
        page.get_by_role("link", name="Forgot your password?").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
        journey.check("mail-forgot")
        page.get_by_label("Your account's e-mail address").fill(address.upper())
        page.get_by_role("button", name="Send me a link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        journey.check("mail-forgot-sent")
        reset = deliver(own_live_app)[-1]
        assert reset["Subject"] == "Reset your RFP Portal password"
        reset_link = link(reset, "/password/reset/")
        page.goto(reset_link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
        journey.check("mail-reset")
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Save the new password").click()
        expect(page.locator(".flashes")).to_contain_text("Your password is changed")
        expect(page.locator("header.site-header")).to_contain_text("Mae Iler")

        # 4. The link worked once.
        page.get_by_role("button", name="Log out").click()
        page.goto(reset_link)
        expect(page.get_by_role("heading", level=1)).to_have_text("This reset link does not work")
        expect(page.locator("main")).to_contain_text("already used")
        journey.check("mail-reset-used")
        expected_refusal(journey, 400)
        _log_in(page, name, NEW_PASSWORD)

        # 5. An unsubscribe link, opened from a mail client without logging in.
        with app.app_context():
            session = rfp_portal.db.get_session()
            user = session.scalar(sa.select(User).where(User.username == name))
            token = tokens.unsubscribe_token(app.config["SECRET_KEY"], user, "claimed")
        page.get_by_role("button", name="Log out").click()
        page.goto(f"/unsubscribe/{token}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe")
        journey.check("mail-unsubscribe")
        page.get_by_role("button", name="Unsubscribe").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
        journey.check("mail-unsubscribed")
    assert not journey.problems("newcomer"), "\n\n".join(journey.problems("newcomer"))


@pytest.mark.browser
def test_an_admin_reads_the_outbox_and_adds_a_webhook(
    browser: Browser, own_live_app: LiveServer, artifacts_dir: Path
) -> None:
    app = own_live_app.app
    name = f"admin_{uuid.uuid4().hex[:6]}"
    with app.app_context():
        session = rfp_portal.db.get_session()
        register_user(
            session,
            username=name,
            email=f"{name}@example.org",
            display_name="Ada Admin",
            password=PASSWORD,
            role=Role.ADMIN,
        )
        session.commit()
    ctx = browser.new_context(base_url=own_live_app.url)
    journey = Journey(ctx.new_page(), artifacts_dir)
    page = journey.page
    with closing(ctx):
        _log_in(page, name, PASSWORD)
        page.locator("header.site-header").get_by_role("link", name="Outbox").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Outbox")
        page.get_by_role("link", name=re.compile(r"^Waiting")).click()
        expect(page.locator("table")).to_contain_text("confirm address")
        journey.check("admin-outbox")
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_label("Name").fill("Discord #announcements")
        page.get_by_label("URL").fill("https://169.254.169.254/latest")
        page.get_by_role("button", name="Add the webhook").click()
        expect(page.locator(".error-summary")).to_contain_text("link-local")
        journey.check("admin-webhook-refused")
        expected_refusal(journey, 422)
        page.get_by_label("URL").fill("https://1.1.1.1/api/webhooks/1/token")
        page.get_by_role("button", name="Add the webhook").click()
        expect(page.locator(".flashes")).to_contain_text("Discord #announcements")
        journey.check("admin-webhooks")
    assert not journey.problems("admin"), "\n\n".join(journey.problems("admin"))
