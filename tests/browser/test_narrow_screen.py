"""Wide things on a 320-pixel screen, in a real Chromium: nothing widens the page.

An RFP holds a 12-column Markdown table, a wide display equation and a short one. At 320 CSS
pixels each of the wide ones sits in its own region that scrolls sideways (wider inside than
out), has a name, is reached with Tab and scrolls with the arrow keys, while the page itself is
no wider than the screen; the short equation is set at display size, centred. Another RFP is
all unbroken words as long as the fields allow (title, summary, a tag, the body, a comment):
its page, the listing and the author's page are no wider than the screen either.

Every page is screenshotted and checked by axe-core through ``Journey`` (test_journey.py).
"""

from __future__ import annotations

import re
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

import rfp_portal.db
from rfp_portal.models import ClaimPolicy, Compute, Difficulty
from rfp_portal.models.rfp import SUMMARY_MAX, TAG_MAX, TITLE_MAX
from rfp_portal.services.accounts import register_user
from rfp_portal.services.comments import post_comment
from rfp_portal.services.rfps import RfpDraft, submit_rfp
from tests.browser.conftest import LiveServer
from tests.browser.test_journey import PASSWORD, Journey

PHONE = {"width": 320, "height": 640}
COLUMNS = [f"setting {n}" for n in range(1, 13)]
TABLE = "\n".join(
    [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *("| " + " | ".join(f"{row}.{n} loss" for n in range(12)) + " |" for row in (1, 2, 3)),
    ]
)
WIDE_EQUATION = " + ".join(f"\\frac{{\\partial L}}{{\\partial w_{{{n}}}}}" for n in range(1, 16))
SHORT_EQUATION = "E = mc^2"


def _word(length: int, start: str) -> str:
    """One unbroken word of ``length`` letters (no spaces, hyphens or punctuation)."""
    return (start + "abcdefghijklmnopqrstuvwxyz" * (length // 26 + 1))[:length]


LONG_TITLE = _word(TITLE_MAX, "Unbroken")
LONG_SUMMARY = _word(SUMMARY_MAX, "Summary")
LONG_BODY_WORD = _word(300, "Body")
LONG_TAG = _word(TAG_MAX, "tag")


def _seed(app, suffix: str) -> tuple[str, str, str]:
    """An author with the two RFPs (and a comment); return the username and both paths."""
    with app.app_context():
        session = rfp_portal.db.get_session()
        author = register_user(
            session,
            username=f"wide_{suffix}",
            email=f"wide_{suffix}@example.org",
            display_name=f"Wide {suffix}",
            password=PASSWORD,
        )

        def rfp(title, summary, big_picture, first_plot, tags):
            draft = RfpDraft(
                title=title,
                summary=summary,
                big_picture=big_picture,
                first_plot=first_plot,
                tags=tags,
                difficulty=Difficulty.BEGINNER,
                compute=Compute.LAPTOP,
                claim_cap=None,
            )
            return submit_rfp(session, author=author, draft=draft, no_plot_yet=True)

        wide = rfp(
            "How does each setting change the loss?",
            "A table and an equation wider than a phone.",
            f"Twelve settings, three runs each:\n\n{TABLE}\n\nThe gradient, summed:\n\n"
            f"$${WIDE_EQUATION}$$",
            f"And one that fits:\n\n$${SHORT_EQUATION}$$\n\nThat is all.",
            ["layout"],
        )
        long = rfp(
            LONG_TITLE,
            LONG_SUMMARY,
            f"Start {LONG_BODY_WORD} end, and a link https://example.org/{LONG_BODY_WORD}.",
            f"# {LONG_BODY_WORD}\n\n- {LONG_BODY_WORD}\n\n> {LONG_BODY_WORD}",
            [LONG_TAG],
        )
        session.flush()
        post_comment(
            session,
            rfp=long,
            author=author,
            body=f"A comment: {LONG_BODY_WORD}",
            now=long.created_at,
            policy=ClaimPolicy(),
        )
        session.commit()
        return author.username, f"/rfps/{wide.id}", f"/rfps/{long.id}"


# For the failure message: the elements that stick out, or whose text does (scrolling regions
# and code blocks scroll on purpose, so they and what is inside them are left out).
STICKING_OUT = """w => [...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.scroll, pre'))
  .filter(e => e.getBoundingClientRect().right > w + 0.5 || e.scrollWidth > e.clientWidth + 1)
  .slice(0, 8).map(e => `${e.tagName.toLowerCase()}.${e.className}`)"""


def _assert_fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        wide = page.evaluate(STICKING_OUT, PHONE["width"])
        pytest.fail(f"{page.url} is {width}px wide on a {PHONE['width']}px screen: {wide}")


@pytest.mark.browser
def test_wide_tables_equations_and_long_words_stay_within_a_320px_screen(
    browser: Browser, own_live_app: LiveServer, artifacts_dir: Path
) -> None:
    username, wide_path, long_path = _seed(own_live_app.app, uuid.uuid4().hex[:6])
    context = browser.new_context(base_url=own_live_app.url, viewport=PHONE)
    with closing(context):
        page = context.new_page()
        journey = Journey(page, artifacts_dir)

        # The table and the wide equation scroll inside their regions; the page does not.
        page.goto(wide_path)
        table = page.get_by_role("region", name=re.compile(r"^Table: setting 1, setting 2, "))
        equations = page.get_by_role("region", name=re.compile("^Equation: "))
        expect(table).to_have_count(1)
        expect(equations).to_have_count(2)
        expect(table.get_by_role("columnheader")).to_have_count(12)
        wide_equation, short_equation = equations.nth(0), equations.nth(1)
        for region in (table, wide_equation):
            sizes = region.evaluate("r => [r.scrollWidth, r.clientWidth]")
            assert sizes[0] > sizes[1], f"{region} does not scroll: {sizes}"
            assert region.get_attribute("tabindex") == "0"
        # Natural column widths: no header is broken inside a word.
        heights = table.locator("th").evaluate_all("ths => ths.map(th => th.offsetHeight)")
        assert max(heights) == min(heights), f"some headers wrap: {heights}"
        _assert_fits(page)

        # Tab goes from the table's region to the equation's, which the arrow keys then scroll.
        table.focus()
        expect(table).to_be_focused()
        page.keyboard.press("Tab")
        expect(wide_equation).to_be_focused()
        outline = wide_equation.evaluate("r => getComputedStyle(r).outlineStyle")
        assert outline == "solid", "the focused region shows no focus ring"
        page.keyboard.press("ArrowRight")
        page.wait_for_function("r => r.scrollLeft > 0", arg=wide_equation.element_handle())
        # The wide equation starts at the region's left edge (nothing cut off before it).
        wide_math = wide_equation.locator("math")
        left = wide_math.evaluate(
            "m => m.getBoundingClientRect().left + m.parentElement.scrollLeft"
        )
        region_left = wide_equation.evaluate("r => r.getBoundingClientRect().left")
        assert left >= region_left - 1
        journey.check("narrow-wide-rfp")

        # The short equation is at display size, centred in its region, and does not scroll.
        short_math = short_equation.locator("math")
        expect(short_math).to_have_attribute("display", "block")
        assert short_math.evaluate("m => getComputedStyle(m).mathStyle") == "normal"
        assert short_equation.evaluate("r => r.scrollWidth <= r.clientWidth")
        centre = short_math.evaluate(
            "m => { const b = m.querySelector('mrow').getBoundingClientRect();"
            " const r = m.parentElement.getBoundingClientRect();"
            " return [b.left + b.width / 2, r.left + r.width / 2]; }"
        )
        assert abs(centre[0] - centre[1]) < 2, f"the display equation is not centred: {centre}"
        # The TeX is there for assistive technology, not shown.
        annotation = short_equation.locator("annotation")
        expect(annotation).to_have_text(SHORT_EQUATION)
        expect(annotation).to_be_hidden()

        # Unbroken words as long as each field allows wrap instead of widening the page.
        page.goto(long_path)
        expect(page.get_by_role("heading", level=1)).to_have_text(LONG_TITLE)
        _assert_fits(page)
        journey.check("narrow-long-words-rfp")
        for path, name in (("/rfps", "listing"), (f"/users/{username}", "person")):
            page.goto(path)
            expect(page.get_by_text(LONG_TITLE)).to_be_visible()
            _assert_fits(page)
            journey.check(f"narrow-long-words-{name}")

    problems = journey.problems("reader")
    assert not problems, "\n\n".join(problems)
