"""Finding a plot to make, in a real Chromium: search, filters, tags and "I want this plot too".

Four RFPs with distinct words, tags, difficulties and compute are put in the database through
the services (an author and a member are made there too). A visitor searches from the home
page's search box and sees the word highlighted; on the listing they pick a tag chip and then a
difficulty, get a clean address that shows the same cards when opened afresh (also at a phone's
width), and remove the tag filter from the keyboard, which widens the listing. Then the member
logs in, says "I want this plot too" on the oldest RFP, finds it first under "Most wanted" (and
on the home page), takes it back, and finally browses by tag from /tags. The Atom feed follows
the listing's filters.

The filters are used once more with JavaScript off: they are a plain GET form and links.

Every page is screenshotted and checked by axe-core through ``Journey`` from test_journey.py
(the JavaScript-off pages are only screenshotted: axe cannot run there); axe violations,
console errors, page errors and documents served without the CSP fail the test at the end.
"""

from __future__ import annotations

import re
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

import rfp_portal.db
from rfp_portal.models import Compute, Difficulty
from rfp_portal.services.accounts import register_user
from rfp_portal.services.rfps import RfpDraft, submit_rfp
from tests.browser.conftest import LiveServer
from tests.browser.test_journey import PASSWORD, Journey

ATOM = "http://www.w3.org/2005/Atom"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 720}

# key: (title, summary, tags, difficulty, compute), in the order they are submitted (oldest first).
RFPS = {
    "entropy": (
        "How fast does attention entropy collapse in small transformers?",
        "Entropy per layer against training step, for three model sizes.",
        ["attention", "transformers"],
        Difficulty.INTERMEDIATE,
        Compute.ONE_GPU,
    ),
    "warmup": (
        "Does learning-rate warmup still matter for tiny transformers?",
        "Final loss against warmup length, on a model that trains on a laptop.",
        ["optimization", "transformers"],
        Difficulty.BEGINNER,
        Compute.LAPTOP,
    ),
    "grokking": (
        "When do tiny MLPs grok modular addition?",
        "Test accuracy against weight decay and the number of steps.",
        ["grokking"],
        Difficulty.BEGINNER,
        Compute.LAPTOP,
    ),
    "sparse": (
        "Do sparse attention patterns follow the same scaling laws?",
        "Loss against compute for dense and sparse variants.",
        ["attention", "scaling laws"],
        Difficulty.ADVANCED,
        Compute.CLUSTER,
    ),
}
TITLE = {key: spec[0] for key, spec in RFPS.items()}
NEWEST_FIRST = [TITLE[key] for key in reversed(RFPS)]


def _seed(app, tag: str) -> tuple[str, str, dict[str, str]]:
    """An author with the four RFPs and a member; return both usernames and each RFP's path."""
    with app.app_context():
        session = rfp_portal.db.get_session()
        author, member = (
            register_user(
                session,
                username=f"{who}_{tag}",
                email=f"{who}_{tag}@example.org",
                display_name=f"{who.capitalize()} {tag}",
                password=PASSWORD,
            )
            for who in ("author", "member")
        )
        paths = {}
        for key, (title, summary, tags, difficulty, compute) in RFPS.items():
            rfp = submit_rfp(
                session,
                author=author,
                draft=RfpDraft(
                    title=title,
                    summary=summary,
                    big_picture=f"Nobody has *measured* this yet ({key}).",
                    first_plot="The quantity (y) against the knob (x), one line per setting.",
                    tags=tags,
                    difficulty=difficulty,
                    compute=compute,
                    claim_cap=None,
                ),
                no_plot_yet=True,
            )
            paths[key] = f"/rfps/{rfp.id}"
        session.commit()
        return author.username, member.username, paths


def _titles(page: Page) -> Locator:
    return page.locator("article.rfp-card .rfp-card-title a")


def _card(page: Page, key: str) -> Locator:
    return page.locator("article.rfp-card").filter(
        has=page.locator(".rfp-card-title a", has_text=TITLE[key])
    )


def _query(url: str) -> dict[str, list[str]]:
    """The query string of ``url``, blanks kept (a clean address has none)."""
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def _expect_query(page: Page, expected: dict[str, list[str]]) -> None:
    """Wait until the page is the listing at exactly this query (any order of the arguments)."""
    try:
        page.wait_for_url(
            lambda url: urlsplit(url).path == "/rfps" and _query(url) == expected, timeout=5_000
        )
    except PlaywrightTimeoutError:
        pytest.fail(f"expected /rfps with {expected}, got {page.url}", pytrace=False)


def _active_filters(page: Page) -> Locator:
    return page.locator(".active-filters li > span")


@pytest.mark.browser
def test_a_visitor_searches_filters_and_a_member_wants_a_plot(
    browser: Browser, own_live_app: LiveServer, artifacts_dir: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    _, member, paths = _seed(own_live_app.app, tag)
    journeys: dict[str, Journey] = {}
    step = 0

    def check(who: str, name: str) -> None:
        """Journey.check with one step counter for all contexts, so screenshots sort in order.

        "member" is the visitor's page once logged in (one journey, two names in screenshots).
        """
        nonlocal step
        journey = journeys["visitor" if who == "member" else who]
        journey.step = step
        journey.check(f"discovery-{who}-{name}")
        step = journey.step

    def context(who: str, **options):
        ctx = browser.new_context(base_url=own_live_app.url, viewport=DESKTOP, **options)
        journeys[who] = Journey(ctx.new_page(), artifacts_dir)
        return closing(ctx)

    with context("visitor"):
        v = journeys["visitor"].page
        header = v.locator("header.site-header")

        # 1. Search from the home page: the matches, with the word highlighted.
        v.goto("/")
        expect(v.get_by_role("heading", name="Newest open RFPs")).to_be_visible()
        expect(v.locator("section[aria-labelledby='newest-title'] .rfp-card-title a")).to_have_text(
            NEWEST_FIRST
        )
        # Nobody wants anything yet, so there is no "Most wanted" section.
        expect(v.get_by_role("heading", name="Most wanted")).to_have_count(0)
        check("visitor", "home")
        home_search = v.get_by_role("search")
        home_search.get_by_label("Find a plot to make").fill("attention")
        home_search.get_by_role("button", name="Search").click()
        _expect_query(v, {"q": ["attention"]})
        expect(v).to_have_title(re.compile(r"^“attention” — Browse RFPs"))
        expect(_titles(v)).to_have_count(2)
        assert sorted(_titles(v).all_text_contents()) == sorted([TITLE["entropy"], TITLE["sparse"]])
        for key in ("entropy", "sparse"):
            expect(_card(v, key).locator(".rfp-card-title a mark")).to_have_text("attention")
            expect(_card(v, key).locator("a.tag mark")).to_have_text("attention")
        expect(v.get_by_label("Search RFPs")).to_have_value("attention")
        expect(_active_filters(v)).to_have_text(["Search: “attention”"])
        expect(v.locator("p.count")).to_have_text("2 RFPs for “attention”, sorted by best match")
        check("visitor", "search-attention")

        # 2. The listing: a tag chip, then a difficulty; the address stays clean.
        header.get_by_role("link", name="Browse RFPs").click()
        _expect_query(v, {})
        expect(_titles(v)).to_have_text(NEWEST_FIRST)
        expect(v.locator(".active-filters")).to_have_count(0)
        check("visitor", "listing")
        _card(v, "entropy").get_by_role("link", name="transformers", exact=True).click()
        _expect_query(v, {"tag": ["transformers"]})
        expect(_titles(v)).to_have_text([TITLE["warmup"], TITLE["entropy"]])
        expect(_active_filters(v)).to_have_text(["Tag: transformers"])
        check("visitor", "listing-tag")
        v.get_by_label("Difficulty", exact=True).select_option(label="Beginner")
        v.get_by_role("button", name="Apply").click()
        # The form sent every field; the server answered with the address of what is in force.
        _expect_query(v, {"tag": ["transformers"], "difficulty": ["beginner"]})
        filtered_url = v.url
        expect(_titles(v)).to_have_text([TITLE["warmup"]])
        expect(_active_filters(v)).to_have_text(["Tag: transformers", "Difficulty: beginner"])
        expect(v.get_by_label("Difficulty", exact=True)).to_have_value("beginner")
        expect(v.locator("p.count")).to_have_text("1 RFP, sorted by newest")
        # The feed link follows the filters.
        feed_link = v.locator("link[rel='alternate'][type='application/atom+xml']")
        assert _query(feed_link.get_attribute("href")) == _query(filtered_url)
        check("visitor", "listing-tag-and-difficulty")

        # The address is shareable: someone else opening it sees the same cards.
        with context("friend"):
            f = journeys["friend"].page
            f.goto(filtered_url)
            expect(_titles(f)).to_have_text([TITLE["warmup"]])
            expect(_active_filters(f)).to_have_text(["Tag: transformers", "Difficulty: beginner"])
            check("friend", "shared-listing")

        # At a phone's width: nothing sticks out sideways.
        v.set_viewport_size(PHONE)
        expect(_titles(v)).to_have_text([TITLE["warmup"]])
        check("visitor", "listing-filtered-phone")
        overflow = v.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
                .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))"""
        )
        assert v.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], overflow
        assert not overflow, f"wider than the phone's screen: {overflow}"
        v.set_viewport_size(DESKTOP)

        # 3. Remove the tag filter from the keyboard: Tab from "Apply" reaches its ×, Enter.
        v.get_by_role("button", name="Apply").focus()
        v.keyboard.press("Tab")
        remove_tag = v.get_by_role("link", name="Remove filter Tag: transformers")
        expect(remove_tag).to_be_focused()
        v.keyboard.press("Enter")
        _expect_query(v, {"difficulty": ["beginner"]})
        expect(_titles(v)).to_have_text([TITLE["grokking"], TITLE["warmup"]])
        expect(_active_filters(v)).to_have_text(["Difficulty: beginner"])
        check("visitor", "listing-difficulty")

        # 4. The member logs in and wants the oldest RFP.
        header.get_by_role("link", name="Log in").click()
        expect(v).to_have_url(re.compile(r"/login$"))
        v.get_by_label("Username or e-mail").fill(member)
        v.get_by_label("Password", exact=True).fill(PASSWORD)
        v.get_by_label("Password", exact=True).press("Enter")
        expect(v.locator(".flashes")).to_contain_text("Welcome back")
        header.get_by_role("link", name="Browse RFPs").click()
        _titles(v).filter(has_text=TITLE["entropy"]).click()
        expect(v).to_have_url(re.compile(re.escape(paths["entropy"]) + "$"))
        want = v.locator("#want")
        expect(want.locator("strong")).to_have_text("0")
        expect(want.locator(".want-count")).to_have_text("★ 0 people want this plot")
        check("member", "rfp")
        want.get_by_role("button", name="I want this plot too").click()
        expect(v).to_have_url(re.compile(re.escape(paths["entropy"]) + "#want$"))
        expect(v.locator(".flashes")).to_contain_text("Noted: you want this plot too.")
        expect(want.locator("strong")).to_have_text("1")
        expect(want.locator(".want-count")).to_have_text(
            "★ 1 person wants this plot, you among them"
        )
        expect(want.get_by_role("button")).to_have_text("I no longer want this plot")
        check("member", "rfp-wanted")

        # "Most wanted" puts it first, with its count on the card.
        header.get_by_role("link", name="Browse RFPs").click()
        v.get_by_label("Sort by", exact=True).select_option(label="Most wanted")
        v.get_by_role("button", name="Apply").click()
        _expect_query(v, {"sort": ["wanted"]})
        expect(_titles(v).first).to_have_text(TITLE["entropy"])
        expect(_titles(v)).to_have_text(
            [TITLE["entropy"], TITLE["sparse"], TITLE["grokking"], TITLE["warmup"]]
        )
        expect(_card(v, "entropy").locator(".meta .wanted")).to_have_text("★ 1 wants this plot")
        expect(v.locator(".meta .wanted")).to_have_count(1)
        expect(v.locator("p.count")).to_have_text("4 RFPs, sorted by most wanted")
        check("member", "listing-most-wanted")
        header.get_by_role("link", name="RFP Portal").click()
        most_wanted = v.locator("section[aria-labelledby='wanted-title']")
        expect(most_wanted.get_by_role("heading", level=2)).to_have_text("Most wanted")
        expect(most_wanted.locator(".rfp-card-title a")).to_have_text([TITLE["entropy"]])
        expect(most_wanted.locator(".meta .wanted")).to_have_text("★ 1 wants this plot")
        check("member", "home-most-wanted")

        # Taking it back: the count returns to 0.
        most_wanted.get_by_role("link", name=TITLE["entropy"]).click()
        expect(want.locator(".want-count")).to_contain_text("you among them")
        want.get_by_role("button", name="I no longer want this plot").click()
        expect(v).to_have_url(re.compile(re.escape(paths["entropy"]) + "#want$"))
        expect(v.locator(".flashes")).to_contain_text("You no longer want this plot on record.")
        expect(want.locator("strong")).to_have_text("0")
        expect(want.locator(".want-count")).to_have_text("★ 0 people want this plot")
        expect(want.get_by_role("button")).to_have_text("I want this plot too")
        check("member", "rfp-unwanted")
        v.goto("/rfps?sort=wanted")
        expect(_titles(v)).to_have_count(4)
        expect(v.locator(".meta .wanted")).to_have_count(0)
        check("member", "listing-most-wanted-none")

        # 5. Browse by tag: every tag with its count, most used first.
        v.get_by_role("link", name="All tags").click()
        expect(v).to_have_url(re.compile(r"/tags$"))
        expect(v.get_by_role("heading", level=1)).to_have_text("Tags")
        expect(v.locator(".tag-cloud a.tag")).to_have_text(
            [
                "attention 2 RFPs",
                "transformers 2 RFPs",
                "grokking 1 RFP",
                "optimization 1 RFP",
                "scaling laws 1 RFP",
            ]
        )
        check("member", "tags")
        v.locator(".tag-cloud").get_by_role("link", name="grokking 1 RFP").click()
        _expect_query(v, {"tag": ["grokking"]})
        expect(_titles(v)).to_have_text([TITLE["grokking"]])
        expect(_active_filters(v)).to_have_text(["Tag: grokking"])
        check("member", "listing-tag-grokking")

        # The Atom feed of a filtered listing holds just its RFPs.
        response = v.request.get("/rfps.atom?tag=transformers")
        assert response.ok
        assert response.headers["content-type"].startswith("application/atom+xml")
        feed = ElementTree.fromstring(response.body())  # noqa: S314 - our own test server
        assert feed.tag == f"{{{ATOM}}}feed"
        assert feed.findtext(f"{{{ATOM}}}title") == "RFP Portal: Tag: transformers"
        entries = [e.findtext(f"{{{ATOM}}}title") for e in feed.iter(f"{{{ATOM}}}entry")]
        assert entries == [TITLE["warmup"], TITLE["entropy"]], entries

    # 6. The same filters with JavaScript off (screenshots only: axe needs JavaScript).
    with context("no-js", java_script_enabled=False):
        n = journeys["no-js"].page

        def shoot(name: str) -> None:
            nonlocal step
            step += 1
            n.screenshot(
                path=artifacts_dir / f"{step:02d}-discovery-no-js-{name}.png", full_page=True
            )

        n.goto("/rfps")
        _card(n, "entropy").get_by_role("link", name="transformers", exact=True).click()
        _expect_query(n, {"tag": ["transformers"]})
        n.get_by_label("Compute", exact=True).select_option(label="Laptop")
        n.get_by_role("button", name="Apply").click()
        _expect_query(n, {"tag": ["transformers"], "compute": ["laptop"]})
        expect(_titles(n)).to_have_text([TITLE["warmup"]])
        expect(_active_filters(n)).to_have_text(["Tag: transformers", "Compute: laptop"])
        shoot("listing-tag-and-compute")
        remove_tag = n.get_by_role("link", name="Remove filter Tag: transformers")
        remove_tag.focus()
        n.keyboard.press("Enter")
        _expect_query(n, {"compute": ["laptop"]})
        expect(_titles(n)).to_have_text([TITLE["grokking"], TITLE["warmup"]])
        # A search typed in the listing's own box, sent with Enter, keeps the filter.
        n.get_by_label("Search RFPs").fill("grok*")
        n.get_by_label("Search RFPs").press("Enter")
        _expect_query(n, {"q": ["grok*"], "compute": ["laptop"]})
        expect(_titles(n)).to_have_text([TITLE["grokking"]])
        expect(_card(n, "grokking").locator(".rfp-card-title a mark")).to_have_text("grok")
        shoot("listing-search-and-compute")

    problems = [problem for who, journey in journeys.items() for problem in journey.problems(who)]
    assert not problems, "\n\n".join(problems)
