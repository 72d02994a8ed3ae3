"""One person's journey through the portal in a real Chromium, with axe-core on every page.

Register, log out, log in again by e-mail (pressing Enter), submit an RFP written in Markdown with
math, read it, find it in the listing, edit its title (pressing Enter again), draw a sketch of the
plot (preview it, then save it), upload an example image, see both on the RFP page and the sketch's
thumbnail in the listing, log out. Every page on the way is screenshotted and checked by axe-core;
console errors and page errors fail the test.

axe is injected with ``page.evaluate``: Playwright runs it through the DevTools protocol
(``Runtime.evaluate``), which the page's Content-Security-Policy does not govern, so the portal's
CSP stays as it is served. The end of the test proves the CSP was in force all along: an inline
``<script>`` added to the page is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image, ImageDraw
from playwright.sync_api import ConsoleMessage, Error, Locator, Page, Response, expect

PASSWORD = "a long enough password"
EMAIL = "ada@example.org"
TITLE = "Does learning-rate warmup matter for small models?"
NEW_TITLE = "Does warmup matter below 100M parameters?"
CODE = "lr = base_lr * min(1, step / warmup_steps)"
BIG_PICTURE = f"""\
# Why warmup is folklore

Everybody uses warmup, nobody measures it:

- it is said to stabilise Adam early on
- it is said to matter more for big batches

See [the paper](https://example.org/paper) for the large-model story.

```python
{CODE}
```
"""
FIRST_PLOT = "Final validation loss against warmup length, where the loss falls like $x^2$."
SKETCH_CAPTION = "Loss against batch size, with and without warmup (made-up numbers)."
SKETCH_ALT = (
    "Log-log line plot: loss falls with batch size; without warmup it rises again past 512."
)
EXAMPLE_CAPTION = "A mock-up drawn by hand: three warmup lengths."
EXAMPLE_ALT = (
    "Three coloured lines fall from the top left, meet in the middle and fan out on the right."
)

_axe = Axe()


@dataclass
class Journey:
    """The page plus everything collected on the way: axe violations, errors, CSP headers."""

    page: Page
    artifacts: Path
    step: int = 0
    violations: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    documents_without_csp: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Every document records the CSP violations it sees (Chromium also logs them as console
        # errors; this names the directive). Init scripts are Playwright's, outside the CSP.
        self.page.add_init_script(
            "window.__cspViolations = [];"
            "document.addEventListener('securitypolicyviolation', (e) =>"
            " window.__cspViolations.push(e.violatedDirective + ' blocked ' + e.blockedURI));"
        )
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_page_error)
        self.page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{self.page.url}: {message.text}")

    def _on_page_error(self, error: Error) -> None:
        self.page_errors.append(f"{self.page.url}: {error}")

    def _on_response(self, response: Response) -> None:
        request = response.request
        if not request.is_navigation_request() or request.frame != self.page.main_frame:
            return
        if "default-src 'self'" not in (response.header_value("content-security-policy") or ""):
            self.documents_without_csp.append(response.url)

    def problems(self, who: str) -> list[str]:
        """Everything collected that should fail the test, each labelled with ``who``."""
        found = []
        if self.violations:
            found.append(
                f"{who}: {len(self.violations)} axe violation(s):\n" + "\n".join(self.violations)
            )
        if self.console_errors:
            found.append(f"{who}: console errors:\n" + "\n".join(self.console_errors))
        if self.page_errors:
            found.append(f"{who}: page errors:\n" + "\n".join(self.page_errors))
        if self.documents_without_csp:
            found.append(f"{who}: pages without the CSP:\n" + "\n".join(self.documents_without_csp))
        if self.csp_violations:
            found.append(f"{who}: CSP violations:\n" + "\n".join(self.csp_violations))
        return found

    def check(self, name: str) -> None:
        """Screenshot the page and run axe on it; called once the page shows what it should."""
        self.step += 1
        for violation in self.page.evaluate("window.__cspViolations || []"):
            self.csp_violations.append(f"[{name}] {self.page.url}: {violation}")
        self.page.screenshot(path=self.artifacts / f"{self.step:02d}-{name}.png", full_page=True)
        results = _axe.run(self.page)
        for violation in results.response["violations"]:
            for node in violation["nodes"]:
                self.violations.append(
                    f"[{name}] {self.page.url}\n"
                    f"    {violation['id']} ({violation['impact']}): {violation['help']}\n"
                    f"    target: {' '.join(map(str, node['target']))}\n"
                    f"    html: {node['html'][:200]}"
                )


def _cards(page: Page):
    return page.locator("article.rfp-card h2 a")


def _example_png(path: Path) -> Path:
    """A real 900×600 PNG: axes and three coloured lines, like a plot someone mocked up."""
    image = Image.new("RGB", (900, 600), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(80, 40), (80, 540), (860, 540)], fill="black", width=3)
    for colour, offset in (("red", 120), ("green", 60), ("blue", 0)):
        draw.line(
            [(90, 80 + offset), (300, 300 + offset // 2), (560, 380), (850, 420 - offset)],
            fill=colour,
            width=5,
        )
    image.save(path, format="PNG")
    return path


def _expect_loaded(img: Locator) -> int:
    """Wait until the image has really loaded (decoded, non-zero width); return its natural width.

    Gallery and thumbnail images are ``loading="lazy"``, so the image is scrolled to first.
    """
    img.scroll_into_view_if_needed()
    img.page.wait_for_function(
        "i => i.complete && i.naturalWidth > 0", arg=img.element_handle(), timeout=5_000
    )
    width = img.evaluate("i => i.complete && i.naturalWidth")
    assert width > 0, f"{img} did not load"
    return width


@pytest.mark.browser
def test_a_person_registers_submits_edits_and_logs_out(
    page: Page, artifacts_dir: Path, tmp_path: Path
) -> None:
    journey = Journey(page, artifacts_dir)
    header = page.locator("header.site-header")
    log_out = header.get_by_role("button", name="Log out")

    # Home, logged out.
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Requests for Plot")
    expect(header.get_by_role("link", name="Log in")).to_be_visible()
    journey.check("home")

    # Register.
    header.get_by_role("link", name="Join").click()
    expect(page).to_have_url(re.compile(r"/register$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Join the RFP Portal")
    journey.check("register")
    page.get_by_label("Username").fill("ada_l")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Display name").fill("Ada Lovelace")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".flashes")).to_contain_text("Welcome, Ada Lovelace!")
    expect(log_out).to_be_visible()
    journey.check("home-registered")

    # Log out.
    log_out.click()
    expect(page.locator(".flashes")).to_contain_text("You are logged out")
    expect(log_out).to_have_count(0)
    journey.check("home-logged-out")

    # Log in again, by e-mail, sending the form with Enter from the password field.
    header.get_by_role("link", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    journey.check("login")
    page.get_by_label("Username or e-mail").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".flashes")).to_contain_text("Welcome back, Ada Lovelace.")
    expect(log_out).to_be_visible()

    # Submit an RFP.
    header.get_by_role("link", name="Submit an RFP").click()
    expect(page).to_have_url(re.compile(r"/rfps/new$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Submit a Request for Plot")
    journey.check("new-rfp-form")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("One-line summary").fill(
        "A sweep of warmup lengths on models that fit a GPU."
    )
    page.get_by_label("The big picture").fill(BIG_PICTURE)
    page.get_by_label("The first plot").fill(FIRST_PLOT)
    page.get_by_label("Tags").fill("optimization, warmup")
    page.get_by_label("Difficulty").select_option("intermediate")
    page.get_by_label("Compute needed").select_option("one GPU")
    page.get_by_label("At most this many people").fill("3")
    page.get_by_label("No plot yet").check()
    page.get_by_role("button", name="Publish RFP").click()

    # Its page shows the Markdown as real elements.
    expect(page).to_have_url(re.compile(r"/rfps/\d+$"))
    rfp_url = page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".flashes")).to_contain_text("Your RFP is published")
    big_picture = page.locator("section[aria-labelledby='big-picture']")
    first_plot = page.locator("section[aria-labelledby='first-plot']")
    expect(big_picture.get_by_role("heading", level=2)).to_have_text("The big picture")
    expect(big_picture.locator("h3")).to_have_text("Why warmup is folklore")
    expect(big_picture.locator("h1, h2:not(#big-picture)")).to_have_count(0)
    expect(big_picture.locator("ul > li")).to_have_text(
        ["it is said to stabilise Adam early on", "it is said to matter more for big batches"]
    )
    expect(big_picture.locator("a[href='https://example.org/paper']")).to_have_text("the paper")
    expect(big_picture.locator("pre code")).to_have_text(CODE)
    expect(first_plot.get_by_role("heading", level=2)).to_have_text("The first plot")
    expect(first_plot.locator("math")).to_have_count(1)
    expect(first_plot.locator("math msup")).to_have_count(1)
    expect(first_plot).not_to_contain_text("$x^2$")
    expect(page.locator("dl.facts")).to_contain_text("Intermediate")
    expect(page.locator("dl.facts")).to_contain_text("One GPU")
    expect(page.locator("dl.facts")).not_to_contain_text("Updated")
    journey.check("rfp-page")

    # It is in the listing, newest first.
    header.get_by_role("link", name="Browse RFPs").click()
    expect(page).to_have_url(re.compile(r"/rfps$"))
    expect(_cards(page).first).to_have_text(TITLE)
    journey.check("listing")

    # Edit the title, sending the form with Enter from the title field.
    _cards(page).filter(has_text=TITLE).click()
    expect(page).to_have_url(rfp_url)
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(rfp_url + "/edit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit your RFP")
    expect(page.get_by_label("Title")).to_have_value(TITLE)
    expect(page.get_by_label("The big picture")).to_have_value(BIG_PICTURE)
    journey.check("edit-form")
    page.get_by_label("Title").fill(NEW_TITLE)
    page.get_by_label("Title").press("Enter")
    expect(page).to_have_url(rfp_url)
    expect(page.locator(".flashes")).to_contain_text("Your changes are saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text(NEW_TITLE)
    expect(page.locator("dl.facts")).to_contain_text("Updated")
    expect(page.locator("section[aria-labelledby='big-picture'] h3")).to_have_text(
        "Why warmup is folklore"
    )
    journey.check("rfp-page-edited")
    header.get_by_role("link", name="Browse RFPs").click()
    expect(_cards(page)).to_have_text([NEW_TITLE])
    journey.check("listing-edited")

    # Plots: the author opens the plots page from the RFP page; there are none yet.
    _cards(page).filter(has_text=NEW_TITLE).click()
    expect(page).to_have_url(rfp_url)
    expect(first_plot.locator(".plot-gallery")).to_have_count(0)
    page.get_by_role("link", name="Add or manage plots").click()
    expect(page).to_have_url(rfp_url + "/plots")
    expect(page.get_by_role("heading", level=1)).to_have_text("Plots")
    journey.check("plots-manage")

    # Draw a sketch: log-log lines with a math label, previewed before it is saved.
    page.get_by_role("link", name="Draw a sketch").click()
    expect(page).to_have_url(rfp_url + "/plots/new/sketch")
    expect(page.get_by_role("heading", level=1)).to_have_text("Draw the plot you wish existed")
    expect(page.get_by_label("Hand-drawn look: mark this as a hypothesis")).to_be_checked()
    journey.check("sketch-form")
    page.get_by_label("Chart kind").select_option("line")
    page.get_by_label("Title", exact=True).fill("Warmup matters only for big batches")
    page.get_by_label("x-axis label").fill("batch size $B$")
    page.get_by_label("y-axis label").fill("final validation loss")
    page.get_by_label("Logarithmic x axis").check()
    page.get_by_label("Logarithmic y axis").check()
    series_1 = page.get_by_role("group", name="Series 1 (at least one)")
    series_1.get_by_label("Name").fill("with warmup")
    series_1.get_by_label("Points").fill("32, 3.1\n128, 2.7\n512, 2.4\n2048, 2.3")
    page.locator("summary", has_text="Add series 2").click()  # further series on demand
    series_2 = page.get_by_role("group", name="Series 2", exact=True)
    series_2.get_by_label("Name").fill("without warmup")
    series_2.get_by_label("Points").fill("32, 3.1\n128, 2.8\n512, 2.9\n2048, 3.6")
    page.get_by_label("Caption").fill(SKETCH_CAPTION)
    page.get_by_label("Alt text (for screen readers)").fill(SKETCH_ALT)
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#sketch-preview figure")
    expect(preview.locator("figcaption")).to_have_text("Preview — not saved yet.")
    preview_img = preview.get_by_role("img", name="Preview of your sketch")
    expect(preview_img).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    assert _expect_loaded(preview_img) == 800
    # The preview keeps what was typed.
    expect(page.get_by_label("x-axis label")).to_have_value("batch size $B$")
    expect(page.get_by_label("Logarithmic y axis")).to_be_checked()
    expect(page.locator("#series-1-name")).to_have_value("without warmup")
    journey.check("sketch-preview")
    page.get_by_role("button", name="Save the sketch").click()
    expect(page).to_have_url(re.compile(re.escape(rfp_url) + r"#plot-\d+$"))
    sketch_id = page.url.rsplit("#plot-", 1)[1]
    expect(page.locator(".flashes")).to_contain_text("Your sketch is saved.")

    # Upload an example: a real PNG made for the test.
    page.get_by_role("link", name="Add or manage plots").click()
    expect(page).to_have_url(rfp_url + "/plots")
    expect(page.locator("ol.plot-list > li")).to_have_count(1)
    page.get_by_role("link", name="Upload an example").click()
    expect(page).to_have_url(rfp_url + "/plots/new/example")
    expect(page.get_by_role("heading", level=1)).to_have_text("Upload an example plot")
    journey.check("example-form")
    page.get_by_label("Image file").set_input_files(_example_png(tmp_path / "mock-up.png"))
    page.get_by_label("Caption").fill(EXAMPLE_CAPTION)
    page.get_by_label("Alt text (for screen readers)").fill(EXAMPLE_ALT)
    page.get_by_role("button", name="Upload the plot").click()
    expect(page).to_have_url(re.compile(re.escape(rfp_url) + r"#plot-\d+$"))
    example_id = page.url.rsplit("#plot-", 1)[1]
    assert example_id != sketch_id
    expect(page.locator(".flashes")).to_contain_text("The plot is saved.")

    # The RFP page shows both, in the order they were added, with captions and alt text.
    figures = first_plot.locator(".plot-gallery figure.plot-figure")
    expect(figures).to_have_count(2)
    sketch_figure, example_figure = figures.nth(0), figures.nth(1)
    expect(sketch_figure).to_have_id(f"plot-{sketch_id}")
    expect(example_figure).to_have_id(f"plot-{example_id}")
    expect(sketch_figure.locator("img")).to_have_attribute("alt", SKETCH_ALT)
    expect(sketch_figure.locator("figcaption")).to_contain_text(SKETCH_CAPTION)
    expect(sketch_figure.locator("figcaption")).to_contain_text("Sketch — a hypothesis")
    expect(example_figure.locator("img")).to_have_attribute("alt", EXAMPLE_ALT)
    expect(example_figure.locator("figcaption")).to_contain_text(EXAMPLE_CAPTION)
    expect(example_figure.locator("figcaption")).to_contain_text("Example")
    expect(example_figure.locator("figcaption")).not_to_contain_text("Sketch")
    assert _expect_loaded(sketch_figure.locator("img")) == 800
    assert _expect_loaded(example_figure.locator("img")) == 900
    page.evaluate("window.scrollTo(0, 0)")
    journey.check("rfp-with-plots")

    # The listing shows the first plot's (the sketch's) thumbnail on the RFP's card.
    header.get_by_role("link", name="Browse RFPs").click()
    expect(page).to_have_url(re.compile(r"/rfps$"))
    card = page.locator("article.rfp-card").filter(has_text=NEW_TITLE)
    thumb = card.locator("img.rfp-thumb")
    expect(thumb).to_have_count(1)
    expect(thumb).to_have_attribute("src", re.compile(rf"/plots/{sketch_id}/thumb\b"))
    expect(thumb).to_have_attribute("alt", SKETCH_ALT)
    assert 0 < _expect_loaded(thumb) <= 480
    journey.check("listing-with-plots")

    # Log out: the header offers "Log in" again.
    log_out.click()
    expect(header.get_by_role("link", name="Log in")).to_be_visible()
    expect(log_out).to_have_count(0)
    journey.check("logged-out")

    console_errors = list(journey.console_errors)

    # The CSP was in force on the page axe ran in: an inline script is refused.
    refused = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation",
                (event) => resolve(event.violatedDirective), {once: true});
            const script = document.createElement("script");
            script.textContent = "window.__inlineRan = true";
            document.body.append(script);
        })"""
    )
    assert refused.startswith("script-src")
    assert page.evaluate("window.__inlineRan") is None

    problems = []
    if journey.violations:
        problems.append(
            f"{len(journey.violations)} axe violation(s):\n" + "\n".join(journey.violations)
        )
    if console_errors:
        problems.append("console errors:\n" + "\n".join(console_errors))
    if journey.page_errors:
        problems.append("page errors:\n" + "\n".join(journey.page_errors))
    if journey.documents_without_csp:
        problems.append("pages without the CSP:\n" + "\n".join(journey.documents_without_csp))
    if journey.csp_violations:
        problems.append("CSP violations:\n" + "\n".join(journey.csp_violations))
    assert not problems, "\n\n".join(problems)
