"""The header at a phone's width, the focus ring's contrast, and times written in the browser.

- The focus ring: elements on the page's background, in a card, on a tag chip, on buttons and in
  the header are focused from the keyboard; the page itself reports (getComputedStyle) the
  outline's colour and the background behind the element, and the WCAG contrast ratio between
  them must reach 3:1 (success criterion 1.4.11). A pale ring, set on the page, is caught.
- The menu: at 320 px the nav folds behind "Menu" (a <details>, so it works without
  JavaScript), opens and closes from the keyboard, and axe finds nothing closed or open.
- Times: "just now" from the server becomes "3 hours ago" or a date when the reader's clock says
  so (static/localtime.js), with the exact time in the reader's zone as the title.
"""

from __future__ import annotations

import re
import uuid
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

import rfp_portal.db
from rfp_portal.models import Compute, Difficulty
from rfp_portal.services.accounts import register_user
from rfp_portal.services.rfps import RfpDraft, submit_rfp
from tests.browser.conftest import LiveServer
from tests.browser.test_journey import PASSWORD, Journey

PHONE = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 720}
TITLE = "Does label noise flatten the double-descent peak?"
TAG = "double descent"


def _seed(app) -> str:
    """An author and one RFP with tags; return the RFP's address."""
    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        session = rfp_portal.db.get_session()
        author = register_user(
            session,
            username=f"author_{tag}",
            email=f"author_{tag}@example.org",
            display_name=f"Author {tag}",
            password=PASSWORD,
        )
        rfp = submit_rfp(
            session,
            author=author,
            draft=RfpDraft(
                title=TITLE,
                summary="Test error against model width, with 0%, 10% and 20% of labels flipped.",
                big_picture="Does the peak *move* or *shrink*?",
                first_plot="Test error (y) against width (x), one line per noise level.",
                tags=[TAG, "generalization"],
                difficulty=Difficulty.BEGINNER,
                compute=Compute.LAPTOP,
                claim_cap=None,
            ),
            no_plot_yet=True,
        )
        session.commit()
        return f"/rfps/{rfp.id}"


# -- contrast ------------------------------------------------------------------------------------

# Run in the page on the focused element: its focus styles, and the colour behind it (the first
# ancestors' backgrounds, composited until one is opaque; the canvas is white).
MEASURE = """(element) => {
  const rgba = (text) => {
    const match = /rgba?\\(([^)]*)\\)/.exec(text || "");
    if (!match) return null;
    const p = match[1].split(/[\\s,\\/]+/).filter(Boolean).map(parseFloat);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) =>
    [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const behind = (node) => {
    const layers = [];
    for (let n = node; n; n = n.parentElement) {
      const colour = rgba(getComputedStyle(n).backgroundColor);
      if (colour && colour[3] > 0) { layers.push(colour); if (colour[3] >= 1) break; }
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  const style = getComputedStyle(element);
  const shadow = /(rgba?\\([^)]*\\))\\s+0px\\s+0px\\s+0px\\s+([\\d.]+)px/.exec(style.boxShadow);
  return {
    focusVisible: element.matches(":focus-visible"),
    outline: rgba(style.outlineColor),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth),
    outlineOffset: parseFloat(style.outlineOffset),
    halo: shadow ? rgba(shadow[1]) : null,
    haloSpread: shadow ? parseFloat(shadow[2]) : 0,
    behind: behind(element.parentElement),
    own: rgba(style.backgroundColor),
  };
}"""


def _luminance(rgb) -> float:
    """WCAG 2 relative luminance of an sRGB colour given as 0–255 channels."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    """The WCAG contrast ratio of two colours, from 1 to 21."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula_matches_wcag():
    assert round(contrast((0, 0, 0), (255, 255, 255)), 2) == 21
    assert round(contrast((255, 255, 255), (0x76, 0x76, 0x76)), 2) == 4.54  # the AA grey
    assert contrast((0x1D, 0x4E, 0x89), (0x1D, 0x4E, 0x89)) == 1


def _focus_from_keyboard(page: Page, target: Locator) -> None:
    """Focus ``target`` as a keyboard user does (so :focus-visible applies): from the element
    before it, with Tab."""
    target.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(target).to_be_focused()


def ring_problems(page: Page, targets: dict[str, Locator], *, chips: tuple[str, ...] = ()):
    """Focus each target and return what falls short of 3:1 (an empty list when all is well).

    Each ring is an outline; between it and the element a halo (box-shadow) of a contrasting
    colour fills the outline's offset, so the outline never touches the element's own fill. For
    the ``chips`` the outline must also stand out from the chip's own background.
    """
    problems, ratios = [], {}
    for name, target in targets.items():
        _focus_from_keyboard(page, target)
        ring = target.evaluate(MEASURE)
        if not ring["focusVisible"] or ring["outlineStyle"] in ("none", "hidden"):
            problems.append(f"{name}: no visible focus outline ({ring})")
            continue
        if ring["outlineWidth"] < 2:
            problems.append(f"{name}: the outline is {ring['outlineWidth']}px, under 2px")
        ratio = contrast(ring["outline"], ring["behind"])
        ratios[name] = round(ratio, 2)
        if ratio < 3:
            problems.append(
                f"{name}: outline {ring['outline']} on {ring['behind']} is {ratio:.2f}:1, under 3:1"
            )
        if ring["halo"] is None or ring["haloSpread"] < ring["outlineOffset"]:
            problems.append(f"{name}: no halo fills the {ring['outlineOffset']}px offset ({ring})")
        elif contrast(ring["outline"], ring["halo"]) < 3:
            problems.append(f"{name}: outline and halo are too alike ({ring})")
        if name in chips and ring["own"][3] > 0 and contrast(ring["outline"], ring["own"]) < 3:
            problems.append(f"{name}: outline {ring['outline']} on the chip {ring['own']} < 3:1")
    return problems, ratios


@pytest.mark.browser
def test_the_focus_ring_reaches_3_to_1_on_every_background(
    browser: Browser, own_live_app: LiveServer, artifacts_dir: Path
) -> None:
    _seed(own_live_app.app)
    context = browser.new_context(base_url=own_live_app.url, viewport=DESKTOP)
    with closing(context):
        page = context.new_page()
        page.goto("/rfps")
        card = page.locator("article.rfp-card").filter(has_text=TITLE)
        header = page.locator("header.site-header")
        targets = {
            "header link": header.get_by_role("link", name="Browse RFPs"),
            "header button": header.get_by_role("link", name="Join"),
            "page link": page.get_by_role("link", name="All tags"),
            "page button": page.get_by_role("button", name="Search"),
            "page select": page.get_by_label("Difficulty", exact=True),
            "card link": card.get_by_role("link", name=TITLE),
            "tag chip": card.get_by_role("link", name=TAG, exact=True),
        }
        problems, ratios = ring_problems(page, targets, chips=("tag chip",))
        assert not problems, "\n".join(problems)
        assert set(ratios) == set(targets)
        page.screenshot(path=artifacts_dir / "focus-ring-tag-chip.png")

        # The measure can fail: with the old pale amber ring the page's own links fall short.
        page.evaluate("document.documentElement.style.setProperty('--focus-ring', '#f2a900')")
        pale, _ = ring_problems(page, {"page link": targets["page link"]})
        assert pale and "under 3:1" in pale[0], pale

    # The menu's summary, in the header at a phone's width.
    context = browser.new_context(base_url=own_live_app.url, viewport=PHONE)
    with closing(context):
        page = context.new_page()
        page.goto("/rfps")
        menu = page.locator("header.site-header summary")
        problems, _ = ring_problems(page, {"menu": menu})
        assert not problems, "\n".join(problems)


# -- the menu at a phone's width -----------------------------------------------------------------


def _overflow(page: Page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))"""
    )


@pytest.mark.browser
def test_the_menu_folds_at_a_phone_s_width_and_works_from_the_keyboard(
    browser: Browser, own_live_app: LiveServer, artifacts_dir: Path
) -> None:
    rfp_path = _seed(own_live_app.app)
    problems = []

    context = browser.new_context(base_url=own_live_app.url, viewport=PHONE)
    with closing(context):
        journey = Journey(context.new_page(), artifacts_dir)
        page = journey.page
        page.goto(rfp_path)
        header = page.locator("header.site-header")
        summary = header.locator("summary")
        nav = page.get_by_role("navigation", name="Main")

        # Closed: "Menu" only, nothing sideways.
        expect(summary).to_have_text(re.compile(r"^\s*☰?\s*Menu\s*$"))
        expect(nav).to_be_hidden()
        assert not _overflow(page), _overflow(page)
        box = header.bounding_box()
        assert box and box["height"] < 80, box  # one row: the brand and "Menu"
        journey.check("phone-menu-closed")

        # From the keyboard: Tab to "Menu", Enter opens it, Tab reaches the first link.
        header.get_by_role("link", name="RFP Portal").focus()
        page.keyboard.press("Tab")
        expect(summary).to_be_focused()
        page.keyboard.press("Enter")
        expect(nav).to_be_visible()
        page.keyboard.press("Tab")
        expect(nav.get_by_role("link", name="Browse RFPs")).to_be_focused()
        for name in ("Browse RFPs", "Research Jams", "Log in", "Join"):
            link = nav.get_by_role("link", name=name)
            expect(link).to_be_visible()
            link_box = link.bounding_box()
            assert link_box and link_box["x"] + link_box["width"] <= PHONE["width"], name
        assert not _overflow(page), _overflow(page)
        journey.check("phone-menu-open")

        # Space on "Menu" closes it again.
        summary.focus()
        page.keyboard.press("Space")
        expect(nav).to_be_hidden()

        # A link from the open menu works.
        summary.click()
        nav.get_by_role("link", name="Research Jams").click()
        expect(page).to_have_url(re.compile(r"/jams$"))
        expect(nav).to_be_hidden()  # every page starts with the menu closed
        problems += journey.problems("phone")

    # Without JavaScript the menu opens and closes just the same.
    context = browser.new_context(
        base_url=own_live_app.url, viewport=PHONE, java_script_enabled=False
    )
    with closing(context):
        page = context.new_page()
        page.goto("/")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav).to_be_hidden()
        page.locator("header.site-header summary").click()
        expect(nav.get_by_role("link", name="Join")).to_be_visible()
        page.screenshot(path=artifacts_dir / "phone-menu-open-no-js.png", full_page=True)

    # On a wide screen the nav shows in full and "Menu" is not there.
    context = browser.new_context(base_url=own_live_app.url, viewport=DESKTOP)
    with closing(context):
        journey = Journey(context.new_page(), artifacts_dir)
        page = journey.page
        page.goto("/")
        header = page.locator("header.site-header")
        expect(header.locator("summary")).to_be_hidden()
        expect(header.get_by_role("link", name="Browse RFPs")).to_be_visible()
        expect(header.get_by_role("link", name="Join")).to_be_visible()
        journey.check("desktop-header")
        problems += journey.problems("desktop")

    assert not problems, "\n\n".join(problems)


# -- times, written afresh in the browser ----------------------------------------------------------


@pytest.mark.browser
def test_times_are_written_afresh_from_their_datetime(
    browser: Browser, own_live_app: LiveServer
) -> None:
    rfp_path = _seed(own_live_app.app)

    # Without JavaScript: the server's words, and the exact time in Pacific time and UTC.
    context = browser.new_context(base_url=own_live_app.url, java_script_enabled=False)
    with closing(context):
        page = context.new_page()
        page.goto(rfp_path)
        submitted = page.locator("dl.facts time.relative-time").first
        expect(submitted).to_have_text("just now")
        expect(submitted).to_have_attribute("title", re.compile(r" P[SD]T / .* UTC$"))
        written = datetime.fromisoformat(submitted.get_attribute("datetime"))

    # With it, read later by someone in Tokyo (a page from the cache says "just now" still).
    for later, expected in (
        (timedelta(hours=3, minutes=5), "3 hours ago"),
        (timedelta(minutes=5, seconds=30), "5 minutes ago"),
        (timedelta(days=2), written.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%b %-d, %Y")),
    ):
        context = browser.new_context(
            base_url=own_live_app.url, timezone_id="Asia/Tokyo", locale="en-US"
        )
        with closing(context):
            page = context.new_page()
            page.clock.install(time=written + later)
            page.goto(rfp_path)
            submitted = page.locator("dl.facts time.relative-time").first
            expect(submitted).to_have_text(expected)
            expect(submitted).to_have_attribute("title", re.compile(r"GMT\+9$"))
