"""A person fills in their profile in a real Chromium and sees it on their page.

From their page they open "Edit your profile", type a ``javascript:`` website (refused beside
the field, with what they typed kept), put it right, tick "open to mentoring" and save; their
page then shows the bio rendered from Markdown, the links and the badge. Each page is
screenshotted and checked by axe-core through ``Journey`` from test_journey.py.
"""

from __future__ import annotations

import uuid
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

import rfp_portal.db
from rfp_portal.services.accounts import register_user
from tests.browser.conftest import LiveServer
from tests.browser.test_journey import PASSWORD, Journey
from tests.browser.test_mail_journey import _log_in, expected_refusal

BIO = "I study *training dynamics* and like plots that fit on a laptop."


@pytest.mark.browser
def test_a_member_edits_their_profile_and_sees_it_on_their_page(
    browser: Browser, own_live_app: LiveServer, artifacts_dir: Path
) -> None:
    app = own_live_app.app
    name = f"prof_{uuid.uuid4().hex[:6]}"
    with app.app_context():
        session = rfp_portal.db.get_session()
        register_user(
            session,
            username=name,
            email=f"{name}@example.org",
            display_name="Pat Profile",
            password=PASSWORD,
        )
        session.commit()
    ctx = browser.new_context(base_url=own_live_app.url)
    journey = Journey(ctx.new_page(), artifacts_dir)
    page = journey.page
    with closing(ctx):
        _log_in(page, name, PASSWORD)
        page.locator("header.site-header").get_by_role("link", name="Pat Profile").click()
        page.get_by_role("link", name="Edit your profile").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your profile")
        journey.check("profile-form")

        # A javascript: address is refused beside its field; what was typed stays.
        page.get_by_label("Display name").fill("Pat Q. Profile")
        page.get_by_label("About you").fill(BIO)
        page.get_by_label("Website").fill("javascript:alert(1)")
        page.get_by_label("GitHub username").fill("@pat-profile")
        page.get_by_role("button", name="Save your profile").click()
        expect(page.locator("#website-error")).to_contain_text("starting with https://")
        expect(page.get_by_label("Website")).to_have_value("javascript:alert(1)")
        expect(page.get_by_label("About you")).to_have_value(BIO)
        journey.check("profile-refused")
        expected_refusal(journey, 422)

        page.get_by_label("Website").fill("https://example.org/pat")
        page.get_by_label("Discord username").fill("pat.profile")
        page.get_by_label("I am open to mentoring someone on an RFP").check()
        page.get_by_role("button", name="Save your profile").click()
        expect(page.locator(".flashes")).to_contain_text("Your profile is saved.")
        expect(page.get_by_role("heading", level=1)).to_have_text("Pat Q. Profile")
        expect(page.locator(".bio em")).to_have_text("training dynamics")
        expect(page.locator(".profile-flags")).to_contain_text("Open to mentoring")
        links = page.get_by_role("list", name="Links")
        expect(links.get_by_role("link", name="https://example.org/pat")).to_have_attribute(
            "rel", "nofollow ugc noopener"
        )
        expect(links.get_by_role("link", name="pat-profile")).to_have_attribute(
            "href", "https://github.com/pat-profile"
        )
        expect(links).to_contain_text("pat.profile")
        journey.check("profile-person-page")
    assert not journey.problems("profile"), "\n\n".join(journey.problems("profile"))
