"""Research Jams in a real Chromium: an organiser schedules one, an author presents an RFP at it.

The organiser (an account made directly in the database: only the CLI grants the role) logs in
and schedules Research Jam #1 for 2031-08-06 16:00 Pacific time. In a second browser context an
author registers, submits two RFPs and links the first to the Jam. The listing shows the badge on
that RFP's card, the "?jam=1" filter finds it and not the other, and the Jam's agenda lists it.

Then the Jam's page is read in browsers set to other time zones: localtime.js shows the start in
the reader's own zone (Tokyo: the next morning), and with JavaScript off the page still shows the
announced Pacific time and UTC.

Every page is screenshotted and checked by axe-core through ``Journey`` from test_journey.py, in
every context (with JavaScript off axe cannot run, so the script-less page is checked in a context
where localtime.js is served empty); axe violations, console errors, page errors and documents
served without the CSP fail the test at the end.
"""

from __future__ import annotations

import re
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

import rfp_portal.db
from rfp_portal.models import Role
from rfp_portal.services.accounts import register_user
from tests.browser.conftest import LiveServer
from tests.browser.test_journey import PASSWORD, Journey

JAM_TITLE = "Open Collab Research Jam: scaling laws"
JAM_URL = "https://example.org/meet/research-jam-1"
JAM_DESCRIPTION = "Bring an RFP, or **anything** you are working on."
UTC_DATETIME = "2031-08-06T23:00:00+00:00"  # 16:00 PDT
ANNOUNCED = "2031-08-06 16:00 PDT / 23:00 UTC"
TITLE = "Does batch size change the optimal learning rate for small transformers?"
OTHER_TITLE = "How noisy are validation losses across seeds?"
SLIDES_URL = "https://example.org/slides/batch-size"
# The Jam is in 2031, so upcoming: the RFP is "to be" presented there (not yet "Presented at").
PRESENTED = "To be presented at Research Jam #1"


def _make_organiser(app, username: str) -> None:
    with app.app_context():
        session = rfp_portal.db.get_session()
        register_user(
            session,
            username=username,
            email=f"{username}@example.org",
            display_name="Olga Organiser",
            password=PASSWORD,
            role=Role.ORGANISER,
        )
        session.commit()


def _register(page: Page, username: str, display_name: str) -> None:
    page.goto("/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("E-mail").fill(f"{username}@example.org")
    page.get_by_label("Display name").fill(display_name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".flashes")).to_contain_text(f"Welcome, {display_name}!")


def _submit_rfp(page: Page, title: str) -> str:
    """Submit an RFP from the header's link; return its path."""
    page.locator("header.site-header").get_by_role("link", name="Submit an RFP").click()
    expect(page).to_have_url(re.compile(r"/rfps/new$"))
    page.get_by_label("Title").fill(title)
    page.get_by_label("One-line summary").fill("A sweep, a plot, an answer.")
    page.get_by_label("The big picture").fill("Nobody has *measured* it at this scale.")
    page.get_by_label("The first plot").fill("The quantity (y) against the knob (x).")
    page.get_by_label("No plot yet").check()
    page.get_by_role("button", name="Publish RFP").click()
    expect(page).to_have_url(re.compile(r"/rfps/\d+$"))
    expect(page.locator(".flashes")).to_contain_text("Your RFP is published")
    return urlsplit(page.url).path


def _card(page: Page, rfp_path: str) -> Locator:
    return page.locator("article.rfp-card").filter(has=page.locator(f"h2 a[href='{rfp_path}']"))


def _problems(journeys: dict[str, Journey]) -> list[str]:
    return [problem for who, journey in journeys.items() for problem in journey.problems(who)]


@pytest.mark.browser
def test_an_organiser_schedules_a_jam_and_an_author_presents_at_it(
    browser: Browser, own_live_app: LiveServer, artifacts_dir: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    organiser_name = f"organiser_{tag}"
    _make_organiser(own_live_app.app, organiser_name)
    journeys: dict[str, Journey] = {}
    step = 0

    def check(who: str, name: str) -> None:
        """Journey.check with one step counter for all contexts, so screenshots sort in order."""
        nonlocal step
        journey = journeys[who]
        journey.step = step
        journey.check(f"jam-{who}-{name}")
        step = journey.step

    def context(who: str, **options):
        ctx = browser.new_context(base_url=own_live_app.url, **options)
        journeys[who] = Journey(ctx.new_page(), artifacts_dir)
        return closing(ctx)

    with context("organiser"), context("author"):
        o, a = journeys["organiser"].page, journeys["author"].page

        # 1. The organiser logs in and schedules Research Jam #1.
        o.goto("/login")
        o.get_by_label("Username or e-mail").fill(organiser_name)
        o.get_by_label("Password", exact=True).fill(PASSWORD)
        o.get_by_role("button", name="Log in").click()
        expect(o.locator(".flashes")).to_contain_text("Welcome back")
        o.locator("header.site-header").get_by_role("link", name="Research Jams").click()
        expect(o).to_have_url(re.compile(r"/jams$"))
        expect(o.get_by_role("heading", level=1)).to_have_text("Research Jams")
        check("organiser", "jams-empty")
        o.get_by_role("link", name="Schedule a Jam").click()
        expect(o).to_have_url(re.compile(r"/jams/new$"))
        expect(o.get_by_role("heading", level=1)).to_have_text("Schedule a Research Jam")
        expect(o.get_by_label("Number")).to_have_value("1")
        expect(o.get_by_label("Time zone")).to_have_value("America/Los_Angeles")
        check("organiser", "jam-form")
        o.get_by_label("Duration in minutes").fill("90")
        o.get_by_label("Title").fill(JAM_TITLE)
        o.get_by_label("Starts at").fill("2031-08-06T16:00")
        o.get_by_label("Where to join (link)").fill(JAM_URL)
        o.get_by_label("Description").fill(JAM_DESCRIPTION)
        o.get_by_role("button", name="Schedule the Jam").click()
        expect(o).to_have_url(re.compile(r"/jams/1$"))
        expect(o.locator(".flashes")).to_contain_text("Research Jam #1 is scheduled.")
        expect(o.get_by_role("heading", level=1)).to_have_text(f"Research Jam #1: {JAM_TITLE}")
        expect(o.locator("time.local-time")).to_have_attribute("datetime", UTC_DATETIME)
        expect(o.get_by_role("link", name="Join the meeting")).to_have_attribute("href", JAM_URL)
        expect(o.locator("section.prose strong")).to_have_text("anything")
        check("organiser", "jam-scheduled")

        # 2. The author registers, submits two RFPs and links the first to the Jam.
        _register(a, f"author_{tag}", f"Ada Author {tag}")
        rfp_path = _submit_rfp(a, TITLE)
        presented = a.get_by_role("region", name="Research Jams")
        expect(presented.get_by_role("heading", level=2)).to_have_text("Research Jams")
        jam_select = presented.get_by_label("Research Jam", exact=True)
        expect(jam_select.locator("option")).to_have_text(["Research Jam #1 — Wed 6 Aug 2031"])
        check("author", "rfp-page")
        jam_select.select_option(label="Research Jam #1 — Wed 6 Aug 2031")
        presented.get_by_label("Slides (link, optional)").fill(SLIDES_URL)
        presented.get_by_role("button", name="Link to this Jam").click()
        expect(a).to_have_url(re.compile(re.escape(rfp_path) + r"#presented$"))
        expect(a.locator(".flashes")).to_contain_text("Linked to Research Jam #1.")
        item = presented.locator("ul.presentations > li")
        expect(item).to_have_count(1)
        expect(item).to_contain_text(PRESENTED)
        expect(item.get_by_role("link", name="Research Jam #1")).to_have_attribute(
            "href", "/jams/1"
        )
        expect(item.get_by_role("link", name="slides")).to_have_attribute("href", SLIDES_URL)
        a.evaluate("window.scrollTo(0, 0)")
        check("author", "rfp-linked")
        other_path = _submit_rfp(a, OTHER_TITLE)

        # 3. The listing shows the badge; the Jam filter finds only the presented RFP.
        a.locator("header.site-header").get_by_role("link", name="Browse RFPs").click()
        expect(a).to_have_url(re.compile(r"/rfps$"))
        badge = _card(a, rfp_path).locator("p.presented")
        expect(badge).to_have_text(PRESENTED)
        expect(badge.get_by_role("link")).to_have_attribute("href", "/jams/1")
        expect(_card(a, other_path)).to_have_count(1)
        expect(_card(a, other_path).locator("p.presented")).to_have_count(0)
        check("author", "listing")
        a.goto("/rfps?jam=1")
        expect(a.locator(".active-filters")).to_contain_text("Presented at Research Jam #1")
        expect(_card(a, rfp_path)).to_have_count(1)
        expect(_card(a, other_path)).to_have_count(0)
        expect(a.locator("article.rfp-card")).to_have_count(1)
        check("author", "listing-jam-1")

        # 4. The Jam's agenda lists the RFP (the badge's link leads there).
        badge.get_by_role("link", name="Research Jam #1").click()
        expect(a).to_have_url(re.compile(r"/jams/1$"))
        agenda = a.get_by_role("region", name="Agenda")
        expect(agenda.get_by_role("heading", level=2)).to_have_text("Agenda")
        entries = agenda.locator("ol.agenda > li")
        expect(entries).to_have_count(1)
        expect(entries.get_by_role("link", name=TITLE, exact=True)).to_have_attribute(
            "href", rfp_path
        )
        expect(entries.get_by_role("link", name=f"slides for {TITLE}")).to_have_attribute(
            "href", SLIDES_URL
        )
        expect(entries).to_contain_text(f"presented by Ada Author {tag}")
        check("author", "jam-agenda")

    # 5. The Jam's start in the reader's own time zone; and without JavaScript.
    readers = {
        # zone: (date, time, zone name) as en-US shows 2031-08-06 23:00 UTC there
        "Asia/Tokyo": ("Aug 7", "08:00", "GMT+9"),
        "America/New_York": ("Aug 6", "07:00", "EDT"),
    }
    for zone, (day, clock, zone_name) in readers.items():
        who = "reader-" + zone.split("/")[1].lower()
        with context(who, timezone_id=zone, locale="en-US"):
            page = journeys[who].page
            page.goto("/jams/1")
            when = page.locator("dl.facts time.local-time")
            expect(when).to_have_attribute("datetime", UTC_DATETIME)
            expect(when).to_have_attribute("title", f"Announced as {ANNOUNCED}")
            for part in (day, "2031", clock, zone_name):
                expect(when).to_contain_text(part)
            expect(when).not_to_contain_text("PDT")
            expect(page.locator("dl.facts span.announced-time")).to_have_text(
                f" (your time; announced as {ANNOUNCED})"
            )
            check(who, "jam")

    # 6. Without JavaScript the page shows the time as announced, and in UTC. axe cannot run with
    # JavaScript off (its timers never fire, so its page.evaluate never returns): the page is only
    # screenshotted there, and axe checks the same DOM in a context where localtime.js, the
    # page's only script, is served empty.
    with context("reader-no-js", java_script_enabled=False):
        page = journeys["reader-no-js"].page
        page.goto("/jams/1")
        expect(page.locator("dl.facts time.local-time")).to_have_text(ANNOUNCED)
        expect(page.locator("dl.facts time.local-time")).not_to_have_attribute(
            "title", re.compile("")
        )
        expect(page.locator("span.announced-time")).to_have_count(0)
        step += 1
        page.screenshot(path=artifacts_dir / f"{step:02d}-jam-reader-no-js-jam.png", full_page=True)
    with context("reader-no-script") as without_script:
        without_script.route(
            "**/static/localtime.js",
            lambda route: route.fulfill(body="", content_type="text/javascript"),
        )
        page = journeys["reader-no-script"].page
        page.goto("/jams/1")
        expect(page.locator("dl.facts time.local-time")).to_have_text(ANNOUNCED)
        expect(page.locator("span.announced-time")).to_have_count(0)
        check("reader-no-script", "jam")

    problems = _problems(journeys)
    assert not problems, "\n\n".join(problems)
