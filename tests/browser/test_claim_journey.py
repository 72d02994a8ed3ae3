"""Two people at once in a real Chromium: one asks for a plot, the other makes it.

The author registers, submits an RFP and uploads an example plot. In a second browser context
(so both are logged in at the same time) a claimant registers, claims the RFP, posts progress and
delivers a result plot. The author sees both notifications, opens the delivery, accepts it, and
the RFP shows "Completed" with the requested and the delivered plot side by side. The claimant is
told the result was accepted, and the listing shows the RFP as completed.

Every page either person sees is screenshotted and checked by axe-core through ``Journey`` from
test_journey.py; axe violations, console errors, page errors and documents served without the CSP
fail the test at the end. The test has a portal of its own (``own_live_server``, an empty
database), because test_journey.py expects its RFP to be the only one in the listing.
"""

from __future__ import annotations

import re
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.test_journey import PASSWORD, Journey, _example_png, _expect_loaded

TITLE = "Does label smoothing hurt calibration on small vision models?"
SUMMARY = "Expected calibration error against the smoothing factor, on CIFAR-10."
BIG_PICTURE = "Label smoothing is said to help accuracy and to **hurt** calibration. Which is it?"
FIRST_PLOT = "Expected calibration error (y) against the smoothing factor (x), one line per model."
EXAMPLE_CAPTION = "What I expect: calibration error grows with smoothing."
EXAMPLE_ALT = "Three lines rise from the bottom left towards the top right, fanning out."
CLAIM_NOTE = "I will sweep the smoothing factor from 0 to 0.3 on a ResNet-18."
UPDATE = "Runs for 0, 0.1 and 0.2 are done; 0.3 is training now."
RESULT_CAPTION = "Measured: calibration error is lowest at a smoothing factor of 0.1."
RESULT_ALT = "Bar chart of six bars: the second bar is the lowest, the last one the highest."
RESULT_URL = "https://example.org/notebooks/label-smoothing"
WRITE_UP = "Five seeds per point. Smoothing **helps** calibration up to 0.1, then hurts it."


def _result_png(path: Path) -> Path:
    """A real 800×500 PNG, unlike the example: axes and six bars, like a measured result."""
    image = Image.new("RGB", (800, 500), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(60, 30), (60, 450), (780, 450)], fill="black", width=3)
    for i, height in enumerate((220, 120, 170, 260, 330, 400)):
        left = 90 + i * 115
        draw.rectangle([(left, 450 - height), (left + 80, 449)], fill="steelblue")
    image.save(path, format="PNG")
    return path


def _register(journey: Journey, username: str, display_name: str, check) -> None:
    """Register from the home page through the header's "Join" link; ends logged in on "/"."""
    page = journey.page
    page.goto("/")
    page.locator("header.site-header").get_by_role("link", name="Join").click()
    expect(page).to_have_url(re.compile(r"/register$"))
    check(journey, "register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("E-mail").fill(f"{username}@example.org")
    page.get_by_label("Display name").fill(display_name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".flashes")).to_contain_text(f"Welcome, {display_name}!")


def _notifications_link(page: Page) -> Locator:
    return page.locator("header.site-header").get_by_role("link", name="Notifications")


def _card(page: Page, rfp_path: str) -> Locator:
    """The RFP's card in a listing."""
    return page.locator("article.rfp-card").filter(has=page.locator(f"h2 a[href='{rfp_path}']"))


def _side_by_side(page: Page, claim_id: str) -> None:
    """The delivery shows the author's example (left) and the claimant's result (right), loaded."""
    results = page.get_by_role("region", name="Delivered results")
    expect(results.get_by_role("heading", level=2)).to_have_text("Delivered results")
    delivery = results.locator(f"article#delivery-{claim_id}")
    sides = delivery.locator(".side-by-side > div")
    expect(sides).to_have_count(2)
    requested, delivered = sides.nth(0), sides.nth(1)
    expect(requested.locator(".side-label")).to_have_text("Requested")
    expect(delivered.locator(".side-label")).to_have_text("Delivered")
    expect(requested.locator("figure img")).to_have_attribute("alt", EXAMPLE_ALT)
    expect(requested.locator("figcaption")).to_contain_text(EXAMPLE_CAPTION)
    expect(delivered.locator("figure img")).to_have_attribute("alt", RESULT_ALT)
    expect(delivered.locator("figcaption")).to_contain_text(RESULT_CAPTION)
    expect(delivered.locator("figcaption .pill")).to_have_text("Result")
    assert _expect_loaded(requested.locator("figure img")) == 900
    assert _expect_loaded(delivered.locator("figure img")) == 800
    page.evaluate("window.scrollTo(0, 0)")


@pytest.mark.browser
def test_a_second_person_claims_delivers_and_the_author_accepts(
    browser: Browser, own_live_server: str, artifacts_dir: Path, tmp_path: Path
) -> None:
    with (
        closing(browser.new_context(base_url=own_live_server)) as author_context,
        closing(browser.new_context(base_url=own_live_server)) as claimant_context,
    ):
        _journey(
            Journey(author_context.new_page(), artifacts_dir),
            Journey(claimant_context.new_page(), artifacts_dir),
            tmp_path,
        )


def _journey(author: Journey, claimant: Journey, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    author_name, claimant_name = f"Rosalind Franklin {tag}", f"Grace Hopper {tag}"
    # One step counter for both, so the screenshots sort in the order things happened.
    step = 0

    def check(journey: Journey, name: str, *, prefix: bool = True) -> None:
        nonlocal step
        who = "author" if journey is author else "claimant"
        journey.step = step
        journey.check(f"claim-{who}-{name}" if prefix else name)
        step = journey.step

    a, c = author.page, claimant.page

    # 1. The author registers, submits an RFP and uploads an example plot.
    _register(author, f"author_{tag}", author_name, check)
    check(author, "home-registered")
    a.locator("header.site-header").get_by_role("link", name="Submit an RFP").click()
    expect(a).to_have_url(re.compile(r"/rfps/new$"))
    check(author, "new-rfp-form")
    a.get_by_label("Title").fill(TITLE)
    a.get_by_label("One-line summary").fill(SUMMARY)
    a.get_by_label("The big picture").fill(BIG_PICTURE)
    a.get_by_label("The first plot").fill(FIRST_PLOT)
    a.get_by_label("No plot yet").check()
    a.get_by_role("button", name="Publish RFP").click()
    expect(a).to_have_url(re.compile(r"/rfps/\d+$"))
    rfp_url = a.url
    rfp_path = urlsplit(rfp_url).path
    expect(a.locator(".flashes")).to_contain_text("Your RFP is published")
    expect(a.locator("dl.facts")).to_contain_text("Open")
    check(author, "rfp-page")
    a.get_by_role("link", name="Add or manage plots").click()
    expect(a).to_have_url(rfp_url + "/plots")
    check(author, "plots-manage")
    a.get_by_role("link", name="Upload an example").click()
    expect(a).to_have_url(rfp_url + "/plots/new/example")
    check(author, "example-form")
    a.get_by_label("Image file").set_input_files(_example_png(tmp_path / "example.png"))
    a.get_by_label("Caption").fill(EXAMPLE_CAPTION)
    a.get_by_label("Alt text (for screen readers)").fill(EXAMPLE_ALT)
    a.get_by_role("button", name="Upload the plot").click()
    expect(a).to_have_url(re.compile(re.escape(rfp_url) + r"#plot-\d+$"))
    expect(a.locator(".flashes")).to_contain_text("The plot is saved.")
    assert _expect_loaded(a.locator(".plot-gallery figure img")) == 900
    a.evaluate("window.scrollTo(0, 0)")
    check(author, "rfp-with-example")
    # Nothing has happened yet that the author should hear about.
    expect(_notifications_link(a).locator(".badge")).to_have_count(0)

    # 2. The claimant registers in the other context, finds the RFP and claims it.
    _register(claimant, f"claimant_{tag}", claimant_name, check)
    check(claimant, "home-registered")
    c.goto(rfp_path)
    expect(c.get_by_role("heading", level=1)).to_have_text(TITLE)
    claims = c.get_by_role("region", name="Who is working on it")
    expect(claims.get_by_role("heading", level=2)).to_have_text("Who is working on it")
    expect(claims.locator(".empty")).to_contain_text("Nobody is working on it right now.")
    # Only the author may manage the RFP.
    expect(c.get_by_role("link", name="Add or manage plots")).to_have_count(0)
    check(claimant, "rfp-page")
    claims.get_by_label("What do you plan to try? (optional)").fill(CLAIM_NOTE)
    claims.get_by_role("button", name="I'm working on this").click()
    expect(c).to_have_url(re.compile(re.escape(rfp_url) + r"#claim-\d+$"))
    claim_id = c.url.rsplit("#claim-", 1)[1]
    expect(c.locator(".flashes")).to_contain_text("You are on it!")
    claim = claims.locator(f"li.claim#claim-{claim_id}")
    expect(claim.locator(".claim-head a")).to_have_text(claimant_name)
    expect(claim.locator(".claim-head .state")).to_have_text("Active")
    expect(claim).to_contain_text(CLAIM_NOTE)
    check(claimant, "rfp-claimed")
    # Meanwhile the author, in the listing's "Someone on it" filter, sees the RFP and one unread.
    a.goto("/rfps?claimed=yes")
    expect(_card(a, rfp_path).locator(".meta")).to_contain_text("1 working on it")
    expect(_notifications_link(a).locator(".badge")).to_have_text(re.compile(r"^1\b"))
    check(author, "listing-someone-on-it")

    # 3. Progress.
    claim.get_by_label("Progress update").fill(UPDATE)
    claim.get_by_role("button", name="Post the update").click()
    expect(c).to_have_url(re.compile(re.escape(rfp_url) + rf"#claim-{claim_id}$"))
    expect(c.locator(".flashes")).to_contain_text("Your update is posted")
    updates = claim.locator("ol.updates > li")
    expect(updates).to_have_count(1)
    expect(updates.first).to_contain_text(UPDATE)
    expect(claim.locator(".claim-head .state")).to_have_text("Active")
    check(claimant, "rfp-progress")

    # 4. Deliver: a link that is not http(s) is refused first; then the real delivery.
    claim.get_by_role("link", name="Deliver the result…").click()
    expect(c).to_have_url(re.compile(rf"/claims/{claim_id}/deliver$"))
    expect(c.get_by_role("heading", level=1)).to_have_text("Deliver your result")
    check(claimant, "deliver-form")
    result_png = _result_png(tmp_path / "result.png")

    def fill_delivery(url: str) -> None:
        c.get_by_label("Result plot").set_input_files(result_png)
        c.get_by_label("Caption").fill(RESULT_CAPTION)
        c.get_by_label("Alt text (for screen readers)").fill(RESULT_ALT)
        c.get_by_label("Link to the result").fill(url)
        c.get_by_label("Short write-up").fill(WRITE_UP)

    fill_delivery("javascript:alert(1)")
    # The refusal comes back as 422, as it should; Chromium logs that status as a console error,
    # which is expected here and taken off the list.
    with (
        c.expect_response(lambda r: r.request.method == "POST") as refused,
        c.expect_console_message(lambda m: m.type == "error" and "422" in m.text) as logged,
    ):
        c.get_by_role("button", name="Deliver", exact=True).click()
    assert refused.value.status == 422
    claimant.console_errors.remove(
        next(e for e in claimant.console_errors if e.endswith(logged.value.text))
    )
    expect(c.locator("main")).to_contain_text("Enter a web address starting with https://")
    expect(c.get_by_label("Short write-up")).to_have_value(WRITE_UP)
    check(claimant, "deliver-refused")
    fill_delivery(RESULT_URL)
    c.get_by_role("button", name="Deliver", exact=True).click()
    # Back on the RFP page. (The redirect's fragment is not checked: it is #claim-<n>, but a
    # delivered claim is shown as #delivery-<n>, so that fragment matches no element.)
    expect(c).to_have_url(re.compile(re.escape(rfp_url) + r"(#[\w-]+)?$"))
    expect(c.locator(".flashes")).to_contain_text("Delivered!")
    delivery = c.locator(f"article#delivery-{claim_id}")
    expect(delivery.locator("h3")).to_contain_text(claimant_name)
    expect(delivery.locator("h3 .state")).to_have_text("Delivered")
    expect(delivery.get_by_role("link", name="Open the result")).to_have_attribute(
        "href", RESULT_URL
    )
    expect(delivery.locator(".prose-inline strong")).to_have_text("helps")
    # Only the author can accept.
    expect(c.get_by_role("button", name=re.compile(r"^Accept this result"))).to_have_count(0)
    _side_by_side(c, claim_id)
    check(claimant, "rfp-delivered")

    # 5. The author hears of the claim, the progress (authors watch their RFPs) and the
    # delivery, opens the delivery and accepts it.
    a.reload()
    notifications = _notifications_link(a)
    expect(notifications.locator(".badge")).to_have_text(re.compile(r"^3\b"))
    expect(notifications).to_have_accessible_name(re.compile(r"^Notifications\s+3\s+unread$"))
    check(author, "listing-with-unread")
    notifications.click()
    expect(a).to_have_url(re.compile(r"/notifications$"))
    expect(a.get_by_role("heading", level=1)).to_have_text("Notifications")
    entries = a.locator("ul.notifications > li")
    expect(entries).to_have_count(3)
    delivered_entry, progress_entry, claimed_entry = (entries.nth(n) for n in range(3))
    expect(progress_entry).to_contain_text("posted progress on")  # newest first
    for entry in (delivered_entry, progress_entry, claimed_entry):
        expect(entry.locator("strong")).to_have_text(claimant_name)
        expect(entry.locator(".pill")).to_have_text("New")
        expect(entry.get_by_role("link")).to_have_text(TITLE)
    expect(delivered_entry).to_contain_text("delivered a result for")
    expect(claimed_entry).to_contain_text("claimed")
    # (It links to #claim-<n>, which the page no longer has once the claim is delivered.)
    expect(claimed_entry.get_by_role("link")).to_have_attribute(
        "href", re.compile(rf"^{re.escape(rfp_path)}(#[\w-]+)?$")
    )
    check(author, "notifications")
    delivered_entry.get_by_role("link", name=TITLE).click()
    expect(a).to_have_url(re.compile(re.escape(rfp_url) + rf"#delivery-{claim_id}$"))
    accept = a.get_by_role("button", name=re.compile(r"^Accept this result"))
    expect(accept).to_have_accessible_name(f"Accept this result by {claimant_name}")
    expect(a.locator(f"article#delivery-{claim_id} h3 .state")).to_have_text("Delivered")
    check(author, "rfp-delivery")
    accept.click()
    expect(a).to_have_url(re.compile(re.escape(rfp_url) + r"(#[\w-]+)?$"))  # as after delivering
    expect(a.locator(".flashes")).to_contain_text("You accepted the result")
    expect(a.locator("dl.facts .state")).to_have_text("Completed")
    expect(a.locator(".rfp-head .notice")).to_contain_text("Completed: the author accepted")
    expect(a.locator(f"article#delivery-{claim_id} h3 .state")).to_have_text("Accepted")
    expect(accept).to_have_count(0)
    _side_by_side(a, claim_id)
    check(author, "rfp-completed", prefix=False)

    # 6. The claimant hears that the result was accepted (on any page but the RFP's: opening
    # the RFP reads what they were told of it).
    c.goto("/")
    notifications = _notifications_link(c)
    expect(notifications.locator(".badge")).to_have_text(re.compile(r"^1\b"))
    expect(notifications).to_have_accessible_name(re.compile(r"^Notifications\s+1\s+unread$"))
    notifications.click()
    expect(c).to_have_url(re.compile(r"/notifications$"))
    entries = c.locator("ul.notifications > li")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text(f"{author_name} accepted your result for")
    expect(entries.first.get_by_role("link")).to_have_text(TITLE)
    expect(entries.first.get_by_role("link")).to_have_attribute(
        "href", re.compile(rf"{re.escape(rfp_path)}#delivery-{claim_id}$")
    )
    check(claimant, "notifications")
    entries.first.get_by_role("link").click()
    expect(c.locator("dl.facts .state")).to_have_text("Completed")
    expect(_notifications_link(c).locator(".badge")).to_have_count(0)  # read by opening it

    # 7. The listing: completed, nobody on it any more.
    c.locator("header.site-header").get_by_role("link", name="Browse RFPs").click()
    expect(c).to_have_url(re.compile(r"/rfps$"))
    expect(_card(c, rfp_path).locator(".meta .state")).to_have_text("Completed")
    expect(_card(c, rfp_path).locator(".meta")).to_contain_text("0 working on it")
    check(claimant, "listing")
    c.get_by_label("Claims").select_option(label="Nobody on it yet")
    c.get_by_role("button", name="Apply").click()
    expect(c).to_have_url(re.compile(r"/rfps\?claimed=no$"))
    expect(_card(c, rfp_path)).to_have_count(1)
    check(claimant, "listing-nobody-on-it")
    c.goto("/rfps?claimed=yes")
    expect(c.locator("p.count")).to_be_visible()
    expect(_card(c, rfp_path)).to_have_count(0)
    check(claimant, "listing-someone-on-it")
    c.goto("/rfps?state=completed")
    expect(_card(c, rfp_path).locator(".meta .state")).to_have_text("Completed")
    check(claimant, "listing-completed")

    problems = author.problems("author") + claimant.problems("claimant")
    assert not problems, "\n\n".join(problems)
