"""A Jam's agenda in a real Chromium: members offer slots, an organiser accepts, orders and times.

The organiser (an account made directly in the database: only the CLI grants the role) schedules
Research Jam #16 through /jams/new: 2031-08-06 16:00 America/Los_Angeles (23:00 UTC), 90 minutes.

- Member A, on a 320-pixel phone with JavaScript, registers, publishes an RFP and offers to
  present it. A first asks for 0 minutes (refused on the page with 422), then for 20. "Your
  offers" says it is waiting; the page is no wider than the phone.
- Member B, with JavaScript off, registers and offers "a small update" (title, line, link). B first
  asks for 200 minutes and the page refuses it (422: the Jam "lasts 90 minutes"), then for 10.
- The organiser sees both offers under "Offers waiting for an answer", accepts the RFP and then
  the update (so the RFP is at 16:00 and the update at 16:20), and moves the update up: the update
  now opens the Jam at 16:00 PDT / 23:00 UTC and the RFP follows back to back at 16:10 PDT /
  23:10 UTC. The organiser's "Starts at" boxes agree, and the page fits a phone too.
- B, still without JavaScript, reads the agenda in that order in Pacific time and UTC, and
  "Your offers" says the update is on the agenda at 16:00 PDT / 23:00 UTC.
- A reader in Tokyo (JavaScript on, en-US) reads the slot times as localtime.js writes them in
  the reader's zone: Thursday 08:00 and 08:10, GMT+9, with the announced time as the title.
- The RFP's page says "To be presented at Research Jam #16". Then the Jam is moved into the past
  directly in the database (the live server runs on the real clock; the slots keep their minute
  offsets and move with it), and the RFP's page says "Presented at Research Jam #16"; the Jam's
  page reads "What was presented", and A, the presenter, adds a slides link to the slot, which
  the RFP's page then shows.

Every page seen with JavaScript on is screenshotted and checked by axe-core through ``Journey``
(test_journey.py). With JavaScript off axe cannot run (see test_jam_journey.py), so B's pages are
only screenshotted and B's view of the Jam is checked again in a context where localtime.js, the
page's only script, is served empty. Axe violations, console errors, page errors, CSP violations,
documents served without the CSP and pages wider than a 320-pixel phone fail the test at the end
(after the rest of the journey has run).
"""

from __future__ import annotations

import re
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Locator, Page, expect

import rfp_portal.db
from rfp_portal.models import Jam
from tests.browser.conftest import LiveServer
from tests.browser.test_jam_journey import _make_organiser, _register
from tests.browser.test_journey import PASSWORD, Journey

NUMBER = 16  # issue 16; the test has a database of its own (own_live_app), so no collision
JAM = f"Research Jam #{NUMBER}"
JAM_PATH = f"/jams/{NUMBER}"
JAM_TITLE = "Open Collab Research Jam: agenda slots"
PHONE = {"width": 320, "height": 640}
RFP_KIND, UPDATE_KIND = "Present an RFP of mine", "A small update on what I'm working on"
RFP_TITLE = "Does gradient clipping change which minima small models find?"
UPDATE_TITLE = "Warmup sweeps on a laptop: first numbers"
UPDATE_LINE = "Three seeds, five warmup lengths, and one dip nobody expected."
UPDATE_LINK = "https://example.org/notebooks/warmup-sweeps"
SLIDES_URL = "https://example.org/slides/gradient-clipping"
# Back to back from the Jam's start once the update is moved first (it takes 10 minutes).
UPDATE_AT, UPDATE_UTC = "16:00 PDT / 23:00 UTC", "2031-08-06T23:00:00+00:00"
RFP_AT, RFP_UTC = "16:10 PDT / 23:10 UTC", "2031-08-06T23:10:00+00:00"
# The same moments in Tokyo: 08:00 and 08:10 on Thursday 7 August.
TOKYO = {UPDATE_TITLE: ("08:00", UPDATE_AT), RFP_TITLE: ("08:10", RFP_AT)}
# After the Jam: the same wall-clock time, seven years earlier (2024-08-07 was a Wednesday too).
PAST_START = datetime(2024, 8, 7, 23, 0, tzinfo=UTC)

# Elements that stick out of the screen (for the message when a page is too wide).
STICKING_OUT = """w => [...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.scroll, pre'))
  .filter(e => e.getBoundingClientRect().right > w + 0.5)
  .slice(0, 8).map(e => `${e.tagName.toLowerCase()}.${e.className}`)"""


def _log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".flashes")).to_contain_text("Welcome back")


def _publish_rfp(page: Page, title: str) -> str:
    """Publish an RFP from /rfps/new (on a phone the header's links fold into a menu)."""
    page.goto("/rfps/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("One-line summary").fill("Clip or not, then look at the curvature.")
    page.get_by_label("The big picture").fill("Clipping is *everywhere* and rarely measured.")
    page.get_by_label("The first plot").fill("Sharpness (y) against the clipping threshold (x).")
    page.get_by_label("No plot yet").check()
    page.get_by_role("button", name="Publish RFP").click()
    expect(page).to_have_url(re.compile(r"/rfps/\d+$"))
    expect(page.locator(".flashes")).to_contain_text("Your RFP is published")
    return urlsplit(page.url).path


def _offer(journey: Journey, status: int, **fields: str) -> None:
    """Fill the "Offer a slot" form (``kind`` is the radio's label), send it, and check the
    answer's status: a redirect when the offer is taken, 422 when it is refused.

    Chromium logs a 422 page as a console error; where the refusal is the point, that one
    message is taken off the journey's list.
    """
    page = journey.page
    form = page.get_by_role("region", name="Offer a slot")
    form.get_by_label(fields.pop("kind")).check()
    labels = {
        "rfp": "RFP to present",
        "title": "Title of your update",
        "line": "In a line, what it is about",
        "link": "Link (optional)",
        "minutes": "Minutes you need",
    }
    for name, value in fields.items():
        box = form.get_by_label(labels[name])
        if name == "rfp":
            box.select_option(label=value)
        else:
            box.fill(value)
    button = form.get_by_role("button", name="Offer the slot")
    posted = page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith(f"{JAM_PATH}/slots")
    )
    if status == 422:
        with (
            posted as sent,
            page.expect_console_message(lambda m: m.type == "error" and "422" in m.text) as logged,
        ):
            button.click()
        journey.console_errors.remove(
            next(e for e in journey.console_errors if e.endswith(logged.value.text))
        )
    else:
        with posted as sent:
            button.click()
    assert sent.value.status == status, f"the offer {fields}: {sent.value.status}"
    page.wait_for_load_state()


def _named(action: str, title: str) -> re.Pattern[str]:
    """A button's accessible name: its text, then the visually hidden “<title>” (e.g.
    "Accept “Loss spikes”")."""
    return re.compile(rf"^{re.escape(action)}\s*“{re.escape(title)}”$")


def _agenda(page: Page) -> Locator:
    return page.locator("section[aria-labelledby='agenda-title'] ol.agenda.slots > li")


def _too_wide(page: Page, who: str) -> list[str]:
    """A problem if the page is wider than the phone it is shown on."""
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= PHONE["width"]:
        return []
    wide = page.evaluate(STICKING_OUT, PHONE["width"])
    return [f"{who}: {page.url} is {width}px wide on a {PHONE['width']}px screen: {wide}"]


@pytest.mark.browser
def test_members_offer_slots_and_an_organiser_builds_the_agenda(
    browser: Browser, own_live_app: LiveServer, artifacts_dir: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    organiser_name, a_name, b_name = f"organiser_{tag}", f"ada_{tag}", f"bo_{tag}"
    a_shown, b_shown = f"Ada Author {tag}", f"Bo Builder {tag}"
    _make_organiser(own_live_app.app, organiser_name)
    journeys: dict[str, Journey] = {}
    layout: list[str] = []
    step = 0

    def check(who: str, name: str) -> None:
        """Journey.check with one step counter for all contexts, so screenshots sort in order."""
        nonlocal step
        journey = journeys[who]
        journey.step = step
        journey.check(f"agenda-{who}-{name}")
        step = journey.step

    def shoot(who: str, name: str) -> None:
        """Only a screenshot, for pages seen with JavaScript off (axe cannot run there)."""
        nonlocal step
        step += 1
        journeys[who].page.screenshot(
            path=artifacts_dir / f"{step:02d}-agenda-{who}-{name}.png", full_page=True
        )

    def context(who: str, **options):
        ctx = browser.new_context(base_url=own_live_app.url, **options)
        journeys[who] = Journey(ctx.new_page(), artifacts_dir)
        return closing(ctx)

    with (
        context("organiser"),
        context("member-a", viewport=PHONE),
        context("member-b", java_script_enabled=False),
    ):
        o, a, b = (journeys[w].page for w in ("organiser", "member-a", "member-b"))

        # 1. The organiser schedules Research Jam #16 for 2031-08-06 16:00 Pacific time.
        _log_in(o, organiser_name)
        o.goto("/jams/new")
        o.get_by_label("Number").fill(str(NUMBER))
        o.get_by_label("Title").fill(JAM_TITLE)
        o.get_by_label("Starts at").fill("2031-08-06T16:00")
        expect(o.get_by_label("Time zone")).to_have_value("America/Los_Angeles")
        o.get_by_label("Duration in minutes").fill("90")
        o.get_by_role("button", name="Schedule the Jam").click()
        expect(o).to_have_url(re.compile(rf"{JAM_PATH}$"))
        expect(o.locator(".flashes")).to_contain_text(f"{JAM} is scheduled.")
        offers = o.get_by_role("region", name="Offers waiting for an answer")
        expect(offers).to_contain_text("No offers are waiting.")
        expect(o.get_by_role("region", name="Agenda")).to_contain_text("No RFPs on the agenda yet.")
        check("organiser", "jam-scheduled")

        # 2a. Member A, on a phone, publishes an RFP and offers to present it. 0 minutes is
        # refused on the page (422), with the form as it was filled in.
        _register(a, a_name, a_shown)
        rfp_path = _publish_rfp(a, RFP_TITLE)
        a.goto(JAM_PATH)
        offer_a = a.get_by_role("region", name="Offer a slot")
        expect(offer_a.get_by_role("group", name="What will you bring?")).to_be_visible()
        expect(offer_a.get_by_label("RFP to present").locator("option")).to_have_text([RFP_TITLE])
        layout += _too_wide(a, "member A")
        check("member-a", "jam-offer-form")
        _offer(journeys["member-a"], 422, kind=RFP_KIND, rfp=RFP_TITLE, minutes="0")
        expect(a.locator(".error-summary")).to_contain_text("Ask for at least one minute.")
        expect(offer_a.get_by_label("Present an RFP of mine")).to_be_checked()
        expect(offer_a.get_by_label("Minutes you need")).to_have_attribute("aria-invalid", "true")
        layout += _too_wide(a, "member A")
        check("member-a", "jam-offer-refused")
        _offer(journeys["member-a"], 302, kind=RFP_KIND, rfp=RFP_TITLE, minutes="20")
        expect(a).to_have_url(re.compile(rf"{JAM_PATH}#your-offers$"))
        expect(a.locator(".flashes")).to_contain_text(f"Your offer is with the organisers of {JAM}")
        yours_a = a.get_by_role("region", name="Your offers")
        expect(yours_a.locator("li")).to_have_count(1)
        expect(yours_a).to_contain_text(f"Present “{RFP_TITLE}”, 20 minutes:")
        expect(yours_a).to_contain_text("waiting for an organiser")
        # Offered once, the RFP is no longer offered to choose again.
        expect(offer_a.get_by_label("RFP to present")).to_have_count(0)
        expect(offer_a).to_contain_text("You have no RFP to offer yet")
        layout += _too_wide(a, "member A")
        check("member-a", "jam-offered")

        # 2b. Member B, with JavaScript off, offers a small update. 200 minutes is more than the
        # 90-minute Jam: refused on the page (422), saying so.
        _register(b, b_name, b_shown)
        b.goto(JAM_PATH)
        update = {"title": UPDATE_TITLE, "line": UPDATE_LINE, "link": UPDATE_LINK}
        _offer(journeys["member-b"], 422, kind=UPDATE_KIND, **update, minutes="200")
        summary = b.locator(".error-summary")
        expect(summary).to_contain_text(f"{JAM} lasts 90 minutes")
        expect(summary).to_contain_text("ask for 90 minutes or fewer")
        offer_b = b.get_by_role("region", name="Offer a slot")
        expect(offer_b.locator("p.error")).to_contain_text("lasts 90 minutes")
        expect(offer_b.get_by_label("Title of your update")).to_have_value(UPDATE_TITLE)
        shoot("member-b", "jam-offer-refused")
        _offer(journeys["member-b"], 302, kind=UPDATE_KIND, **update, minutes="10")
        expect(b.locator(".flashes")).to_contain_text(f"Your offer is with the organisers of {JAM}")
        yours_b = b.get_by_role("region", name="Your offers")
        expect(yours_b).to_contain_text(f"Update “{UPDATE_TITLE}”, 10 minutes:")
        expect(yours_b).to_contain_text("waiting for an organiser")
        shoot("member-b", "jam-offered")

        # 3. The organiser sees both offers, oldest first, and accepts the RFP, then the update.
        o.reload()
        waiting = offers.locator("article.offer")
        expect(waiting.locator("h3")).to_have_text([f"RFP: {RFP_TITLE}", f"Update: {UPDATE_TITLE}"])
        expect(waiting.nth(0)).to_contain_text(f"20 minutes · offered by {a_shown}")
        expect(waiting.nth(1)).to_contain_text(f"{UPDATE_LINE} · 10 minutes · offered by {b_shown}")
        expect(waiting.nth(1).get_by_role("link", name="link")).to_have_attribute(
            "href", UPDATE_LINK
        )
        expect(waiting.get_by_text("Decline…")).to_have_count(2)
        check("organiser", "jam-offers")
        for title in (RFP_TITLE, UPDATE_TITLE):
            offers.get_by_role("button", name=_named("Accept", title)).click()
            expect(o.locator(".flashes")).to_contain_text(f"“{title}” is on the agenda.")
        expect(offers).to_contain_text("No offers are waiting.")
        slots = _agenda(o)
        expect(slots).to_have_count(2)
        expect(slots.nth(0)).to_contain_text(RFP_TITLE)
        expect(slots.nth(1)).to_contain_text(UPDATE_TITLE)
        # Accepted in turn, back to back: the RFP's 20 minutes, then the update.
        expect(slots.nth(0).locator("time.slot-time")).to_have_attribute("datetime", UPDATE_UTC)
        expect(slots.nth(1).locator("time.slot-time")).to_have_attribute(
            "datetime", "2031-08-06T23:20:00+00:00"
        )
        check("organiser", "jam-accepted")

        # ... and moves the update up: it opens the Jam, the RFP follows right after it.
        o.get_by_role("button", name=_named("Move up", UPDATE_TITLE)).click()
        expect(o.locator(".flashes")).to_contain_text(f"“{UPDATE_TITLE}” is moved up.")
        expect(slots.nth(0)).to_contain_text(UPDATE_TITLE)
        expect(slots.nth(1)).to_contain_text(RFP_TITLE)
        for slot, utc, clock in ((0, UPDATE_UTC, "16:00"), (1, RFP_UTC, "16:10")):
            expect(slots.nth(slot).locator("time.slot-time")).to_have_attribute("datetime", utc)
            expect(slots.nth(slot).get_by_label("Starts at")).to_have_value(clock)
        expect(slots.nth(0).get_by_role("button", name=re.compile("^Move up"))).to_have_count(0)
        expect(
            slots.nth(0).get_by_role("button", name=_named("Move down", UPDATE_TITLE))
        ).to_be_visible()
        expect(
            slots.nth(1).get_by_role("button", name=_named("Move up", RFP_TITLE))
        ).to_be_visible()
        check("organiser", "jam-reordered")
        # The organiser's page, with all its tools, on a phone too.
        o.set_viewport_size(PHONE)
        o.reload()
        layout += _too_wide(o, "organiser")
        check("organiser", "jam-reordered-phone")

        # B, without JavaScript, reads the agenda in Pacific time and UTC, the update first.
        b.reload()
        agenda_b = _agenda(b)
        expect(agenda_b).to_have_count(2)
        expect(agenda_b.nth(0).locator("time.slot-time")).to_have_text(UPDATE_AT)
        expect(agenda_b.nth(0)).to_contain_text(f"{UPDATE_TITLE}: {UPDATE_LINE}")
        expect(agenda_b.nth(0)).to_contain_text(f"(update) by {b_shown}")
        expect(
            agenda_b.nth(0).get_by_role("link", name=f"link for {UPDATE_TITLE}")
        ).to_have_attribute("href", UPDATE_LINK)
        expect(agenda_b.nth(1).locator("time.slot-time")).to_have_text(RFP_AT)
        expect(agenda_b.nth(1).get_by_role("link", name=RFP_TITLE)).to_have_attribute(
            "href", rfp_path
        )
        expect(agenda_b.nth(1)).to_contain_text(f"(RFP) presented by {a_shown}")
        expect(yours_b).to_contain_text(f"on the agenda at {UPDATE_AT}")
        shoot("member-b", "jam-agenda")

        # A's offer is on the agenda too, and the RFP is "to be presented" there.
        a.goto(JAM_PATH)
        expect(yours_a).to_contain_text("on the agenda at")
        expect(yours_a.locator("time.slot-time")).to_have_attribute("datetime", RFP_UTC)
        layout += _too_wide(a, "member A")
        check("member-a", "jam-accepted")
        a.goto(rfp_path)
        presented = a.get_by_role("region", name="Research Jams").locator("ul.presentations > li")
        expect(presented).to_have_count(1)
        expect(presented).to_contain_text(f"To be presented at {JAM}")
        check("member-a", "rfp-to-be-presented")

    # 3b. A reader in Tokyo, with JavaScript: the slot times in the reader's zone, as
    # localtime.js writes them (weekday, HH:MM, zone name; en-US says "Thu 08:00 AM GMT+9").
    with context("reader-tokyo", timezone_id="Asia/Tokyo", locale="en-US"):
        page = journeys["reader-tokyo"].page
        page.goto(JAM_PATH)
        entries = _agenda(page)
        expect(entries).to_have_count(2)
        for index, title in enumerate((UPDATE_TITLE, RFP_TITLE)):
            clock, announced = TOKYO[title]
            expect(entries.nth(index)).to_contain_text(title)
            when = entries.nth(index).locator("time.slot-time")
            expect(when).to_have_attribute("title", f"Announced as {announced}")
            for part in ("Thu", clock, "GMT+9"):
                expect(when).to_contain_text(part)
            expect(when).not_to_contain_text("16:")
            expect(when).not_to_contain_text("PDT")
            expect(when).not_to_contain_text("UTC")
        check("reader-tokyo", "jam")

    # 3c. B's view of the Jam (no script ran: Pacific time and UTC), checked by axe in a context
    # where localtime.js is served empty.
    with context("member-b-no-script") as without_script:
        without_script.route(
            "**/static/localtime.js",
            lambda route: route.fulfill(body="", content_type="text/javascript"),
        )
        page = journeys["member-b-no-script"].page
        _log_in(page, b_name)
        page.goto(JAM_PATH)
        expect(_agenda(page).locator("time.slot-time")).to_have_text([UPDATE_AT, RFP_AT])
        expect(page.get_by_role("region", name="Your offers")).to_contain_text(UPDATE_AT)
        check("member-b-no-script", "jam")

    # 5. After the Jam. The live server keeps the real time, so the Jam is moved into the past in
    # the database; its accepted slots keep their minutes after the start and move with it.
    with own_live_app.app.app_context():
        session = rfp_portal.db.get_session()
        jam = session.scalar(sa.select(Jam).where(Jam.number == NUMBER))
        jam.starts_at = PAST_START
        session.commit()

    with context("member-a-after", viewport=PHONE):
        page = journeys["member-a-after"].page
        _log_in(page, a_name)
        page.goto(rfp_path)
        presented = page.get_by_role("region", name="Research Jams").locator(
            "ul.presentations > li"
        )
        expect(presented).to_have_count(1)
        expect(presented).to_contain_text(f"Presented at {JAM}")
        expect(presented).not_to_contain_text("To be presented")
        expect(presented.get_by_role("link", name=JAM)).to_have_attribute("href", JAM_PATH)
        check("member-a-after", "rfp-presented")

        # The Jam's page says what was presented, in the same order and at the same times of
        # day; the presenter adds slides to the slot, and the RFP's page links them.
        page.goto(JAM_PATH)
        expect(page.get_by_role("heading", level=2, name="What was presented")).to_be_visible()
        entries = _agenda(page)
        expect(entries).to_have_count(2)
        expect(entries.nth(0)).to_contain_text(UPDATE_TITLE)
        expect(entries.nth(1)).to_contain_text(RFP_TITLE)
        for index, utc in enumerate(("2024-08-07T23:00:00+00:00", "2024-08-07T23:10:00+00:00")):
            expect(entries.nth(index).locator("time.slot-time")).to_have_attribute("datetime", utc)
        expect(page.get_by_role("region", name="Offer a slot")).to_have_count(0)
        expect(page.get_by_role("button", name=re.compile("^Withdraw"))).to_have_count(0)
        layout += _too_wide(page, "member A after the Jam")
        check("member-a-after", "jam-past")
        page.get_by_text("Add slides and a recording").click()
        page.get_by_label("Slides (link)").fill(SLIDES_URL)
        page.get_by_role("button", name="Save the links").click()
        expect(page.locator(".flashes")).to_contain_text("Slides and recording are saved.")
        expect(
            _agenda(page).nth(1).get_by_role("link", name=f"slides for {RFP_TITLE}")
        ).to_have_attribute("href", SLIDES_URL)
        check("member-a-after", "jam-slides")
        page.goto(rfp_path)
        expect(presented.get_by_role("link", name="slides")).to_have_attribute("href", SLIDES_URL)

    problems = [p for who, journey in journeys.items() for p in journey.problems(who)] + layout
    assert not problems, "\n\n".join(problems)
