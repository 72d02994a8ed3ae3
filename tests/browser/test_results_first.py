"""A completed RFP reads results first, and a failed form takes the reader to what went wrong.

A completed RFP (two requested plots, one delivered and accepted result) is put in the database
through the services. A visitor opens it at a desktop's and at a phone's width: the result pair
is the block that follows the title, in the page's order and on screen; "See the results" leads
there; the requested side can show the RFP's second plot. Then a member posts an empty comment:
the page comes back at the comment form, titled "Error: …", with its error summary focused.

Every page is screenshotted and checked by axe-core through ``Journey`` from test_journey.py;
axe violations, console errors, page errors and documents served without the CSP fail the test.
"""

from __future__ import annotations

import re
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

import rfp_portal.db
from rfp_portal import clock
from rfp_portal.models import Compute, Difficulty
from rfp_portal.models.claim import ClaimPolicy
from rfp_portal.services.accounts import register_user
from rfp_portal.services.claims import accept_delivery, claim_rfp, deliver_result
from rfp_portal.services.plots import add_example_plot
from rfp_portal.services.rfps import RfpDraft, submit_rfp
from rfp_portal.storage import get_store
from tests.browser.conftest import LiveServer
from tests.browser.test_claim_journey import _result_png
from tests.browser.test_journey import PASSWORD, Journey, _example_png, _expect_loaded

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
TITLE = "Does weight decay change where grokking starts?"
FIRST_CAPTION = "What I expect: grokking comes earlier with more weight decay."
SECOND_CAPTION = "The same, against the training-set size instead."
RESULT_CAPTION = "Measured: the step where test accuracy jumps, per weight decay."
WRITE_UP = "Three seeds per setting. More weight decay makes grokking **earlier**, up to 0.1."


def _seed(app, tag: str, tmp_path: Path) -> tuple[str, str]:
    """A completed RFP with two requested plots and an accepted result; return its path and
    the username of a member who has not taken part."""
    with app.app_context():
        session = rfp_portal.db.get_session()
        author, claimant, member = (
            register_user(
                session,
                username=f"{who}_{tag}",
                email=f"{who}_{tag}@example.org",
                display_name=f"{who.capitalize()} {tag}",
                password=PASSWORD,
            )
            for who in ("author", "claimant", "member")
        )
        rfp = submit_rfp(
            session,
            author=author,
            draft=RfpDraft(
                title=TITLE,
                summary="The step at which test accuracy jumps, against weight decay.",
                big_picture="Grokking is said to depend on *weight decay*. How much?",
                first_plot="Step of the jump (y) against weight decay (x), log scale.",
                tags=["grokking"],
                difficulty=Difficulty.BEGINNER,
                compute=Compute.LAPTOP,
                claim_cap=None,
            ),
            no_plot_yet=True,
        )
        store = get_store()
        for caption in (FIRST_CAPTION, SECOND_CAPTION):
            add_example_plot(
                session,
                store,
                rfp=rfp,
                actor=author,
                data=_example_png(tmp_path / "example.png").read_bytes(),
                caption=caption,
                alt_text=f"Three coloured lines; {caption}",
            )
        now = clock.now()
        claim = claim_rfp(
            session, rfp=rfp, person=claimant, now=now, policy=ClaimPolicy.from_config(app.config)
        )
        deliver_result(
            session,
            store,
            claim=claim,
            person=claimant,
            result_url="https://example.org/notebooks/grokking",
            write_up=WRITE_UP,
            image=_result_png(tmp_path / "result.png").read_bytes(),
            caption=RESULT_CAPTION,
            alt_text="Six bars; they fall from left to right, then rise again at the end.",
            now=now,
        )
        accept_delivery(session, claim=claim, person=author, now=now)
        session.commit()
        return f"/rfps/{rfp.id}", member.username


def _boxes(page: Page) -> dict:
    """The header's, the results' and every other block's place in the article, in DOM order."""
    return page.evaluate(
        """() => {
            const article = document.querySelector('article.rfp');
            const box = (e) => { const r = e.getBoundingClientRect();
                return {top: r.top + scrollY, bottom: r.bottom + scrollY, left: r.left, right: r.right}; };
            const header = article.querySelector(':scope > header.rfp-head');
            const results = article.querySelector(':scope > section#results-section');
            return {
                next: header.nextElementSibling && header.nextElementSibling.id,
                header: box(header),
                results: box(results),
                others: [...article.children]
                    .filter((e) => e !== header && e !== results)
                    .map((e) => ({name: e.getAttribute('aria-labelledby') || e.tagName, ...box(e)})),
            };
        }"""
    )


def _results_come_first(page: Page) -> None:
    boxes = _boxes(page)
    assert boxes["next"] == "results-section", boxes
    header, results = boxes["header"], boxes["results"]
    # directly below the title block, and above every other block of the RFP
    assert header["bottom"] <= results["top"] + 1, boxes
    assert results["top"] - header["bottom"] < 64, boxes
    for other in boxes["others"]:
        assert other["top"] >= results["bottom"] - 1, (other, boxes)


def _requested_caption(page: Page):
    side = page.locator("#results-section .delivery .side-by-side > div").first
    expect(side.locator(".side-label")).to_have_text("Requested")
    return side.locator("figcaption")


@pytest.mark.browser
def test_a_completed_rfp_reads_results_first_and_a_failed_comment_is_focused(
    browser: Browser, own_live_app: LiveServer, artifacts_dir: Path, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    rfp_path, member = _seed(own_live_app.app, tag, tmp_path)
    journeys: list[Journey] = []
    step = 0

    def check(journey: Journey, name: str) -> None:
        nonlocal step
        journey.step = step
        journey.check(f"results-first-{name}")
        step = journey.step

    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        with closing(browser.new_context(base_url=own_live_app.url, viewport=viewport)) as context:
            journey = Journey(context.new_page(), artifacts_dir)
            journeys.append(journey)
            page = journey.page
            page.goto(rfp_path)
            expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
            results = page.get_by_role("region", name="Delivered results")
            delivery = results.locator("article.delivery")
            expect(delivery).to_have_count(1)
            expect(delivery.locator("h3")).to_contain_text(f"By Claimant {tag}")
            expect(delivery.locator("h3 .state")).to_have_text("Accepted")
            expect(delivery.get_by_role("heading", name="Write-up", level=4)).to_be_visible()
            expect(delivery.locator(".prose-inline strong")).to_have_text("earlier")
            expect(delivery.get_by_role("link", name="Open the result")).to_have_attribute(
                "href", "https://example.org/notebooks/grokking"
            )
            expect(_requested_caption(page)).to_contain_text(FIRST_CAPTION)
            sides = delivery.locator(".side-by-side > div figure img")
            assert _expect_loaded(sides.nth(0)) == 900 and _expect_loaded(sides.nth(1)) == 800
            page.evaluate("window.scrollTo(0, 0)")
            _results_come_first(page)
            if label == "desktop":  # side by side on a wide screen, stacked on a phone
                left, right = (sides.nth(n).bounding_box() for n in (0, 1))
                assert left["x"] + left["width"] <= right["x"] and abs(left["y"] - right["y"]) < 2
            check(journey, f"{label}-completed")

            # "See the results", near the top, leads to them.
            page.locator(".rfp-head").get_by_role("link", name="See the results").click()
            expect(page).to_have_url(re.compile(re.escape(rfp_path) + "#results$"))
            expect(results.get_by_role("heading", level=2)).to_be_in_viewport()

            # The requested side can show the RFP's other plot.
            chooser = results.locator(".requested-chooser")
            expect(chooser.locator("a[aria-current='true']")).to_contain_text("Plot 1")
            chooser.get_by_role("link", name=re.compile(r"^Plot 2")).click()
            expect(page).to_have_url(re.compile(r"\?requested=\d+#results$"))
            expect(_requested_caption(page)).to_contain_text(SECOND_CAPTION)
            expect(chooser.locator("a[aria-current='true']")).to_contain_text("Plot 2")
            _expect_loaded(delivery.locator(".side-by-side > div figure img").first)
            page.evaluate("window.scrollTo(0, 0)")
            _results_come_first(page)
            check(journey, f"{label}-second-requested")

    # A member posts an empty comment: the page comes back at the form, its summary focused.
    with closing(browser.new_context(base_url=own_live_app.url, viewport=DESKTOP)) as context:
        journey = Journey(context.new_page(), artifacts_dir)
        journeys.append(journey)
        page = journey.page
        page.goto("/login")
        page.get_by_label("Username or e-mail").fill(member)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".flashes")).to_contain_text("Welcome back")
        page.goto(rfp_path)
        _results_come_first(page)
        discussion = page.get_by_role("region", name=re.compile(r"^Discussion"))
        # The refusal comes back as 422, as it should; Chromium logs that status as a console
        # error, which is expected here and taken off the list.
        with (
            page.expect_response(lambda r: r.request.method == "POST") as refused,
            page.expect_console_message(lambda m: m.type == "error" and "422" in m.text) as logged,
        ):
            discussion.get_by_role("button", name="Post the comment").click()
        assert refused.value.status == 422
        journey.console_errors.remove(
            next(e for e in journey.console_errors if e.endswith(logged.value.text))
        )
        expect(page).to_have_url(re.compile(re.escape(rfp_path) + "/comments#comment-form$"))
        expect(page).to_have_title(re.compile(r"^Error: " + re.escape(TITLE)))
        page.wait_for_load_state("load")
        summary = page.locator("#comment-form .error-summary")
        expect(summary).to_be_focused()
        assert page.evaluate("document.activeElement.classList.contains('error-summary')")
        expect(summary).to_contain_text("Write something first.")
        expect(summary).to_be_in_viewport()
        check(journey, "comment-refused")
        # The summary's link takes the reader to the field.
        summary.get_by_role("link").click()
        expect(page.get_by_label("Your comment")).to_be_focused()

    problems = [p for n, j in enumerate(journeys) for p in j.problems(f"context {n}")]
    assert not problems, "\n\n".join(problems)
