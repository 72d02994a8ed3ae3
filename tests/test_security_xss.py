"""No text that people type runs script in someone else's browser: the XSS corpus and properties.

Every payload of :mod:`tests.xss_corpus` goes

1. alone through :func:`render_markdown` (no database): the output must hold only what the
   portal's allow-list permits;
2. in batches through every Markdown field over HTTP, with the real forms and CSRF tokens: the
   RFP's *big picture* and *first plot*, a comment, a claim note, a progress update, a delivery
   write-up and a Research Jam description. Then every page that shows the field is fetched and
   parsed: the RFP page, its edit form, the listing (with a search, which shows excerpts of the
   Markdown source), the home page, the user page, notifications, the comment edit and delete
   pages, the Jam pages, the Atom feed and the JSON API. The form that refuses a text (a NUL in
   it) and shows it again is checked too.

   Batches keep the run short on both databases: payloads joined by blank lines, up to 1,800
   characters for a claim note and 4,500 elsewhere (those go through the bounded child process
   that renders long texts). Each batch opens with a marker word that every page meant to show
   it must contain, so a payload that never reached a page cannot pass unnoticed. A payload that
   leaves a block open (``<math>``, ``<table>``, ``<details>``…) turns what follows into raw
   HTML, so it goes last in its batch and the others are still read as Markdown.

Hypothesis then throws arbitrary text, and text composed from Markdown syntax, HTML tags,
attributes and URL schemes, at :func:`render_markdown`.

How the checks tell user content from the portal's own markup, and why it is robust:

- Where user content stands alone, the check is an exact allow-list. That is the output of
  :func:`render_markdown`, the ``html`` fields of the JSON API (the stored HTML, nothing else)
  and the HTML inside each Atom entry (the portal adds only ``<p>`` and ``<h2>`` there). Every
  element must be in ``ALLOWED_TAGS`` (HTML or MathML, never SVG), every attribute must pass
  ``_allowed_attribute`` (or be the ``rel`` the portal puts on outside links), there are no
  comments, URLs have an allowed scheme, and parsing the output, serialising it and parsing it
  again gives the same tree (a change there is how mutation XSS starts).
- A whole page is checked from ``<html>`` down, not just a container, so it does not matter in
  which template or element user text ends up. Nothing from the page may be a dangerous element
  (``script``, ``style``, ``iframe``, ``object``, ``embed``, ``base``, ``meta``, ``link``,
  ``form``, ``svg``, ``noscript``, ``template``, …), carry an ``on*`` or ``style`` attribute, or
  hold a URL whose scheme is not http, https or mailto. The portal's own elements are told
  apart by what only they can be: a ``<script src="/static/…">`` with no inline code, a
  ``<link>`` to a same-site path and a ``<meta>`` without ``http-equiv``, all three in
  ``<head>`` (user content is only ever in ``<body>``); a ``<form>`` whose action is a same-site
  path and that is not inside a user-content container (``.prose``, ``.prose-inline``, the
  classes the templates put around stored HTML). Inside those containers no form controls and no
  image other than the portal's own plots may appear. The portal's templates use no inline
  script, no inline style and no event handler attributes (its CSP forbids them), so none of
  these exceptions can hide user content.

URLs are judged as a browser's URL parser reads them: the HTML parser has decoded the entities
once (as a browser does), leading and trailing C0 controls and spaces are stripped, tabs and
newlines are removed, and the scheme is what comes before the first colon. As a second net, a
value that starts with ``javascript:``, ``vbscript:``, ``data:`` or ``livescript:`` once every
whitespace, control and invisible character is removed is refused too.

html5lib is the parser here and also bleach's, so a difference between html5lib and a browser's
parser would not show. The allow-list holds no element that parses as raw text or changes the
parser's mode (no ``style``, ``script``, ``textarea``, ``noscript``, ``xmp``, ``svg``), which is
what makes such a difference harmless; the checks below would report any such element.
"""

from __future__ import annotations

import functools
import io
import json
import re
import xml.etree.ElementTree as ET  # noqa: N817 - the usual name; parses the portal's own feed
from collections.abc import Iterator
from dataclasses import dataclass, field

import html5lib
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfp_portal.db import get_session
from rfp_portal.models import Claim, Comment, Role, User
from rfp_portal.rendering.markdown import (
    ALLOWED_PROTOCOLS,
    ALLOWED_TAGS,
    MarkdownTooComplex,
    _allowed_attribute,
    render_markdown,
)
from tests import images
from tests.conftest import Web
from tests.xss_corpus import PAYLOADS

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
XMLNS_NS = "http://www.w3.org/2000/xmlns/"
ATOM_NS = "{http://www.w3.org/2005/Atom}"
EXTERNAL_REL = "nofollow ugc noopener"

# Elements that run script, load resources, restyle the page, submit data or switch the parser
# into raw text or a foreign namespace. Judged by local name, in any namespace.
DANGEROUS_ELEMENTS = {
    "applet", "base", "bgsound", "embed", "form", "frame", "frameset", "iframe", "image",
    "import", "isindex", "link", "meta", "noembed", "noframes", "noscript", "object", "plaintext",
    "portal", "script", "style", "svg", "template", "xmp",
}  # fmt: skip
FORM_CONTROLS = {"button", "input", "select", "textarea", "option", "keygen", "output"}
URL_ATTRIBUTES = {
    "action", "background", "cite", "classid", "codebase", "data", "dynsrc", "formaction", "href",
    "icon", "longdesc", "lowsrc", "manifest", "ping", "poster", "profile", "src", "srcdoc",
    "srcset", "usemap",
}  # fmt: skip
USER_CONTAINERS = {"prose", "prose-inline"}
C0_AND_SPACE = "".join(chr(c) for c in range(0x21))  # what URL parsers strip from both ends
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:", "livescript:")
INVISIBLE = re.compile(r"[\s\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060\ufeff]")


# -- parsing as a browser does ----------------------------------------------------------------


def _parser() -> html5lib.HTMLParser:
    return html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=False)


def parse_page(html: str) -> ET.Element:
    return _parser().parse(html)


def parse_fragment(html: str) -> ET.Element:
    """Parse as the content of a ``<div>`` (where the templates put stored HTML)."""
    return _parser().parseFragment(html, container="div")


def name_of(tag) -> tuple[str | None, str]:
    """(namespace, local name) of an element; HTML elements have no namespace here."""
    if not isinstance(tag, str):
        return None, "#comment"
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local.lower()
    return None, tag.lower()


def attribute_name(key: str) -> str:
    """``xlink:href`` for ``{http://www.w3.org/1999/xlink}href``, else the plain name."""
    if key.startswith("{"):
        namespace, _, local = key[1:].partition("}")
        prefix = {"http://www.w3.org/1999/xlink": "xlink", XMLNS_NS: "xmlns"}.get(namespace, "ns")
        return local if local == prefix else f"{prefix}:{local}"
    return key.lower()


def walk(root: ET.Element) -> Iterator[tuple[ET.Element, tuple[ET.Element, ...]]]:
    """Every element below ``root`` with its ancestors, without recursion (deep input is fine)."""
    stack = [(child, (root,)) for child in reversed(list(root))]
    while stack:
        element, ancestors = stack.pop()
        yield element, ancestors
        stack.extend((child, (*ancestors, element)) for child in reversed(list(element)))


def url_scheme(value: str) -> str | None:
    """The scheme a browser's URL parser would read from an (entity-decoded) attribute value."""
    value = value.strip(C0_AND_SPACE)
    value = re.sub(r"[\t\n\r]", "", value)
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", value)
    return match.group(1).lower() if match else None


def url_problem(name: str, value: str) -> str | None:
    scheme = url_scheme(value)
    if scheme is not None and scheme not in ALLOWED_PROTOCOLS:
        return f"{name}={value[:80]!r} has the scheme {scheme}:"
    if INVISIBLE.sub("", value).lower().startswith(SCRIPT_SCHEMES):
        return f"{name}={value[:80]!r} hides a script scheme"
    return None


def same_site_path(value: str) -> bool:
    return (
        value.startswith("/") and not value.startswith(("//", "/\\")) and url_scheme(value) is None
    )


def classes(element: ET.Element) -> set[str]:
    return set((element.get("class") or "").split())


# -- what a page may hold ----------------------------------------------------------------------


def _attribute_problems(local: str, element: ET.Element) -> list[str]:
    problems = []
    for key, value in element.attrib.items():
        name = attribute_name(key)
        bare = name.rsplit(":", 1)[-1]
        if bare.startswith("on"):
            problems.append(f"<{local} {name}=…> is an event handler")
        if bare == "style":
            problems.append(f"<{local} style=…> restyles the page")
        if bare in URL_ATTRIBUTES and (problem := url_problem(name, value)):
            problems.append(f"<{local}> {problem}")
    return problems


def _portal_own(local: str, element: ET.Element, in_head: bool, in_user: bool) -> bool:
    """True for the few dangerous-looking elements only the portal's templates make."""
    if local == "script":
        return (
            in_head
            and same_site_path(element.get("src", ""))
            and element.get("src", "").startswith("/static/")
            and not (element.text or "").strip()
        )
    if local == "link":
        return in_head and same_site_path(element.get("href", ""))
    if local == "meta":
        return in_head and "http-equiv" not in element.attrib
    if local == "form":
        action = element.get("action")
        return not in_user and (not action or same_site_path(action))
    return False


def page_problems(html: str) -> list[str]:
    """What could run script (or restyle, redirect, submit) on this whole page; [] if nothing."""
    problems = []
    for element, ancestors in walk(parse_page(html)):
        _, local = name_of(element.tag)
        if local == "#comment":
            continue
        in_head = any(name_of(a.tag)[1] == "head" for a in ancestors)
        in_user = any(classes(a) & USER_CONTAINERS for a in ancestors)
        if local in DANGEROUS_ELEMENTS and not _portal_own(local, element, in_head, in_user):
            where = " inside user content" if in_user else ""
            problems.append(f"<{local}>{where} reached the page")
        if in_user and local in FORM_CONTROLS:
            problems.append(f"<{local}> inside user content")
        if in_user and local == "img" and not element.get("src", "").startswith("/plots/"):
            problems.append(f"<img src={element.get('src')!r}> inside user content")
        problems += _attribute_problems(local, element)
    return problems


def _dump(root: ET.Element) -> list:
    """The tree as plain data: what the parse of some HTML means, to compare two parses.

    html5lib's serialiser writes a decoded ``&#13;`` as a raw carriage return, which the next
    parse reads as a newline: text, never structure, so line ends are compared normalised.
    """

    def text(value: str | None) -> str:
        return (value or "").replace("\r\n", "\n").replace("\r", "\n")

    return [
        (
            len(ancestors),
            element.tag if isinstance(element.tag, str) else "#comment",
            sorted(
                (attribute_name(k).rsplit(":", 1)[-1], text(v)) for k, v in element.attrib.items()
            ),
            text(element.text),
            text(element.tail),
        )
        for element, ancestors in walk(root)
    ]


def content_problems(html: str, *, portal_tags: frozenset[str] = frozenset()) -> list[str]:
    """What in stored user HTML falls outside the portal's allow-list; [] if nothing.

    ``portal_tags`` are bare elements the portal itself adds around user HTML (a feed entry's
    headings).
    """
    root = parse_fragment(html)
    problems = []
    for element, _ in walk(root):
        namespace, local = name_of(element.tag)
        if local == "#comment":
            problems.append(f"a comment survived: {element.text!r:.60}")
            continue
        if namespace not in (None, MATHML_NS):
            problems.append(f"<{local}> in the namespace {namespace}")
        if local in portal_tags and not element.attrib:
            continue
        if local not in ALLOWED_TAGS:
            problems.append(f"<{local}> is not in ALLOWED_TAGS")
        if local in DANGEROUS_ELEMENTS:
            problems.append(f"<{local}> reached the output")
        for key, value in element.attrib.items():
            name = attribute_name(key)
            if name == "xmlns" and local == "math" and value == MATHML_NS:
                continue
            if local == "a" and name == "rel":  # the portal's own, on links that leave it
                href = element.get("href", "").strip()
                leaves = url_scheme(href) in ("http", "https") or href.startswith(
                    ("//", "/\\", "\\")
                )
                if value != EXTERNAL_REL or not leaves:
                    problems.append(f"<a rel={value!r} href={element.get('href')!r}>")
                continue
            if not _allowed_attribute(local, name, value):
                problems.append(f"<{local} {name}={value[:60]!r}> is not allowed")
        problems += _attribute_problems(local, element)
    again = parse_fragment(
        html5lib.serialize(root, tree="etree", omit_optional_tags=False, quote_attr_values="always")
    )
    if _dump(again) != _dump(root):
        problems.append("the output parses differently once serialised again (mutation XSS)")
    return problems


def assert_content_safe(html: str, where: str, **kwargs) -> None:
    problems = content_problems(html, **kwargs)
    assert not problems, f"{where}: {problems}\n--- output:\n{html[:3000]}"


def assert_render_safe(text: str) -> None:
    """Render ``text``; the output, and rendering that output and its text again, are safe.

    Too costly a text is refused with :class:`MarkdownTooComplex`: a clear form error, allowed.
    """
    try:
        html = render_markdown(text)
    except MarkdownTooComplex:
        return
    assert_content_safe(html, f"render_markdown({text[:200]!r})")
    plain = "".join(parse_fragment(html).itertext())
    for again in (html, plain):  # stored HTML pasted back as Markdown; its text, now unescaped
        try:
            rendered = render_markdown(again)
        except MarkdownTooComplex:
            continue
        assert_content_safe(rendered, f"render_markdown(render_markdown({text[:200]!r}))")


# -- the checkers catch what they must (else every test below would pass for nothing) ---------

UNSAFE_CONTENT = [
    "<script>alert(1)</script>",
    "<p><a href='javascript:alert(1)'>x</a></p>",
    "<a href='java&#9;script:alert(1)'>x</a>",
    "<a href='&#14;javascript:alert(1)'>x</a>",
    "<a href=' JAVASCRIPT:alert(1)'>x</a>",
    "<a href='data:text/html,x'>x</a>",
    "<a href='https://ok.example' onclick='alert(1)'>x</a>",
    "<p style='color:red'>x</p>",
    "<img src=x>",
    "<svg><a xlink:href='https://ok.example'>x</a></svg>",
    "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
    "<p><!-- hi --></p>",
    "<a rel='opener' href='https://ok.example'>x</a>",
    "<code class='x'>x</code>",
    "<math><mi mathvariant='x:y'>x</mi></math>",
    "<p>x</p><form action='/logout'></form>",
]
SAFE_CONTENT = [
    "<p><a href='https://ok.example' rel='nofollow ugc noopener'>x</a> and <em>y</em></p>",
    "<p><a href='/rfps/1'>x</a> <a href='mailto:a@b.example'>m</a> <a href='#x'>h</a></p>",
    "<p><a href='javascript&amp;colon;alert(1)'>x</a></p>",
    f'<math xmlns="{MATHML_NS}" display="inline"><mrow><mi>x</mi></mrow></math>',
    "<pre><code class='language-python'>&lt;script&gt;</code></pre>",
    "<table><thead><tr><th align='left'>a</th></tr></thead></table>",
]
UNSAFE_PAGES = [
    "<html><head></head><body><script>alert(1)</script></body></html>",
    "<html><head><script>alert(1)</script></head><body></body></html>",
    "<html><head><script src='https://evil.example/x.js'></script></head></html>",
    "<html><head><meta http-equiv='refresh' content='0;url=javascript:alert(1)'></head></html>",
    "<html><body><meta charset='utf-8'></body></html>",
    "<html><body><div class='prose'><form action='/logout'></form></div></body></html>",
    "<html><body><form action='https://evil.example'></form></body></html>",
    "<html><body><div class='prose-inline'><input name='x'></div></body></html>",
    "<html><body><p title='x' onmouseover='alert(1)'>x</p></body></html>",
    "<html><body><a href='vbscript:msgbox(1)'>x</a></body></html>",
    "<html><body><button formaction='javascript:alert(1)'>x</button></body></html>",
    "<html><body><div class='prose'><img src='https://evil.example/x.png'></div></body></html>",
    "<html><body><svg><a xlink:href='javascript:alert(1)'>x</a></svg></body></html>",
    "<html><body><math><mi xlink:href='javascript:alert(1)'>x</mi></math></body></html>",
    "<html><body><base href='https://evil.example/'></body></html>",
]


@pytest.mark.parametrize("html", UNSAFE_CONTENT)
def test_the_content_check_catches_unsafe_html(html):
    assert content_problems(html)


@pytest.mark.parametrize("html", SAFE_CONTENT)
def test_the_content_check_passes_what_the_portal_makes(html):
    assert content_problems(html) == []


@pytest.mark.parametrize("html", UNSAFE_PAGES)
def test_the_page_check_catches_unsafe_pages(html):
    assert page_problems(html)


def test_the_page_check_passes_the_portals_own_markup():
    page = """<!doctype html><html><head><meta charset="utf-8">
    <meta name="viewport" content="width=device-width"><title>x</title>
    <link rel="stylesheet" href="/static/portal.css"><script src="/static/localtime.js" defer></script>
    </head><body><form method="post" action="/logout"><input name="csrf_token"></form>
    <section class="prose first-plot"><h2>The first plot</h2><p>text</p>
    <figure><img src="/plots/1/image?v=1" alt="x"></figure></section>
    <a href="https://calendar.google.com/calendar/render?action=TEMPLATE">g</a></body></html>"""
    assert page_problems(page) == []


# -- every payload alone through the renderer (no database) ------------------------------------


def test_the_corpus_is_large_and_covers_every_source():
    assert len(PAYLOADS) >= 100
    assert len({payload for _, payload in PAYLOADS}) == len(PAYLOADS), "a payload is listed twice"
    assert {source for source, _ in PAYLOADS} == {
        "owasp", "bleach", "mxss", "markdown", "math", "portal",
    }  # fmt: skip


@pytest.mark.parametrize(
    "payload", [p for _, p in PAYLOADS], ids=[f"{i:03d}-{s}" for i, (s, _) in enumerate(PAYLOADS)]
)
def test_each_payload_renders_to_safe_html(payload):
    assert_render_safe(payload)


@pytest.mark.production_bounds
def test_the_whole_corpus_at_once_renders_safely_in_the_bounded_child_process():
    """Longer texts render in a child process with a time limit: that path is checked too."""
    text = "\n\n".join(payload for _, payload in PAYLOADS)
    assert len(text) > 2_000
    try:
        html = render_markdown(text)
    except MarkdownTooComplex:
        pytest.fail("the corpus is ordinary Markdown and should render within the time limit")
    assert_content_safe(html, "the whole corpus")


# -- properties: any text through the Markdown pipeline ----------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=250,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the repository
    suppress_health_check=[HealthCheck.too_slow],
)

MARKDOWN_BITS = [
    "[", "]", "(", ")", "![", "](", "<", ">", "</", "/>", "`", "``", "```", "~~~", "$", "$$",
    "\\", "*", "**", "_", "~~", "|", "|---|", "\n", "\n\n", "    ", "> ", "1. ", "- ", "### ",
    "# ", "[1]: ", "[^1]", "[^1]: ", '"', "'", "=", "&", "&#", "&#x", ";", ":", "//", "<!--",
    "-->", "--!>", "<![CDATA[", "]]>", "<?", "<!", "{", "}", "\\href{", "\\text{", "\\style{",
    "\\class{", "\\unicode{", "\\mathrm{", "\\frac{", "\\color{", "\\begin{matrix}",
    "\\end{matrix}", "&lt;", "&gt;", "&quot;", "&Tab;", "&NewLine;", "&colon;", "&#58;", "\t",
    "\x00", "\x01", "\x0b", "\x0c", "\r", "\u2028", "\u200b", "\ufeff", "\U0001f600",
    "https://ok.example/", "www.ok.example", "language-", "[TOC]",
]  # fmt: skip
TAG_NAMES = [
    "script", "img", "a", "svg", "math", "mtext", "mglyph", "malignmark", "mi", "mo", "mstyle",
    "annotation-xml", "annotation", "semantics", "maction", "style", "iframe", "object", "embed",
    "base", "meta", "link", "form", "input", "button", "noscript", "xmp", "template", "textarea",
    "title", "table", "td", "th", "select", "option", "details", "video", "source", "p", "div",
    "code", "pre", "b", "em", "abbr", "ol", "li", "br", "isindex", "image", "plaintext",
    "noembed", "noframes", "frameset", "body", "html", "head", "h1", "foreignObject", "desc",
]  # fmt: skip
ATTRIBUTE_NAMES = [
    "href", "src", "onerror", "onload", "onclick", "onmouseover", "ontoggle", "style", "title",
    "class", "xlink:href", "formaction", "action", "data", "srcdoc", "start", "align", "xmlns",
    "mathvariant", "encoding", "id", "name", "rel", "background", "actiontype", "http-equiv",
    "content", "ONERROR", "HREF", "xmlns:xlink", "definitionURL",
]  # fmt: skip
SCHEMES = [
    "javascript:", "JaVaScRiPt:", "vbscript:", "livescript:", "data:text/html,",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "data:image/svg+xml,",
    "jav\tascript:", "java\nscript:", "jav&#x09;ascript:", "jav&#x0A;ascript:", "&#106;avascript:",
    "&#x6A;avascript:", "&#0000106avascript:", "javascript&colon;", "javascript&#58;",
    "&#14;javascript:", " javascript:", "\x01javascript:", "\u200bjavascript:", "java\x00script:",
    "https://ok.example/", "http://", "mailto:x@example.org", "/relative", "#", "//evil.example/",
    "", "url(javascript:", "expression(",
]  # fmt: skip
SCRIPT = ["alert(1)", "alert`1`", "alert(document.cookie)", "prompt(1)//", "x"]
QUOTES = ['"', "'", "", "`"]

words = st.text(alphabet="abcxyz <>\"'=/&;:#()[]`$\\\t\n", max_size=12)
schemes_and_script = st.builds(
    lambda scheme, script: scheme + script, st.sampled_from(SCHEMES), st.sampled_from(SCRIPT)
)
attribute = st.builds(
    lambda name, quote, value: f" {name}={quote}{value}{quote}",
    st.sampled_from(ATTRIBUTE_NAMES),
    st.sampled_from(QUOTES),
    st.one_of(schemes_and_script, words),
)
tag = st.builds(
    lambda name, attributes, slash, body, close: (
        f"<{name}{''.join(attributes)}{slash}>{body}" + (f"</{name}>" if close else "")
    ),
    st.sampled_from(TAG_NAMES),
    st.lists(attribute, max_size=3),
    st.sampled_from(["", "/", " /"]),
    words,
    st.booleans(),
)
markdown_link = st.builds(
    lambda bang, text, target, title: f"{bang}[{text}]({target}{title})",
    st.sampled_from(["", "!"]),
    words,
    st.one_of(schemes_and_script, st.builds(lambda s: f"<{s}>", schemes_and_script)),
    st.sampled_from(["", ' "t"', " 't\" onclick=\"alert(1)'", ' "t\\" onmouseover=\\"x"']),
)
reference = st.builds(
    lambda label, target: f"[x][{label}]\n\n[{label}]: {target}",
    st.sampled_from(["1", "a", "x"]),
    schemes_and_script,
)
autolink = st.builds(lambda target: f"<{target}>", schemes_and_script)
math = st.builds(
    lambda dollars, command, body: f"{dollars}{command}{{{body}}}{dollars}",
    st.sampled_from(["$", "$$"]),
    st.sampled_from(["\\href", "\\text", "\\style", "\\class", "\\unicode", "\\mathrm", "\\frac"]),
    st.one_of(schemes_and_script, tag, words),
)
fence = st.builds(
    lambda marker, info, body: f"{marker}{info}\n{body}\n{marker}",
    st.sampled_from(["```", "~~~", "    "]),
    st.one_of(words, st.builds(lambda t: f'"{t}', tag)),
    st.one_of(tag, words),
)
fragment = st.one_of(
    st.sampled_from(MARKDOWN_BITS),
    tag,
    markdown_link,
    reference,
    autolink,
    math,
    fence,
    words,
    st.sampled_from([payload for _, payload in PAYLOADS]),
)
composed = st.lists(fragment, max_size=12).map("".join)


@PROPERTY_SETTINGS
@given(text=st.text(max_size=400))
def test_any_text_renders_to_safe_html(text):
    assert_render_safe(text)


@PROPERTY_SETTINGS
@given(text=composed)
def test_markdown_and_html_composed_from_the_corpus_alphabet_render_to_safe_html(text):
    assert_render_safe(text)


@PROPERTY_SETTINGS
@given(
    payload=st.sampled_from([payload for _, payload in PAYLOADS]),
    cut=st.floats(min_value=0, max_value=1),
    insert=st.lists(fragment, min_size=1, max_size=3).map("".join),
)
def test_corpus_payloads_cut_open_and_spliced_render_to_safe_html(payload, cut, insert):
    at = int(len(payload) * cut)
    assert_render_safe(payload[:at] + insert + payload[at:])


def test_an_entity_hidden_colon_in_a_mathml_attribute_is_dropped():
    """Found by the property test above: ``&#58;`` is a colon to a browser."""
    assert_render_safe(
        '<math><semantics><annotation encoding="text/html"```\n<script align="javascript&#58;'
        'alert`1`">\n```><img src=x onerror=alert(1)></annotation></semantics></math>'
    )


# -- every Markdown field through the HTTP surface ---------------------------------------------

HTTP_PAYLOADS = [payload for _, payload in PAYLOADS if "\x00" not in payload]
# A claim note holds 2,000 characters, every other Markdown field 5,000 or more. Texts over
# 2,000 characters render in the bounded child process, so the larger batches go through it.
SMALL_BATCH, LARGE_BATCH = 1_800, 4_500
PROBE = "[probe](https://probe.example)"


@functools.cache
def swallows_what_follows(payload: str) -> bool:
    """An unclosed block (``<math>``, ``<table>``, ``<details>``…) turns the rest into raw HTML."""
    return 'href="https://probe.example"' not in render_markdown(f"{payload}\n\n{PROBE}")


def make_batches(payloads: list[str], limit: int) -> list[list[str]]:
    """Payloads packed into texts of at most ``limit`` characters, joined by blank lines.

    A payload that swallows what follows it goes last in its batch, so the Markdown of the
    others is still read as Markdown; when there are more of them than batches, a second one
    goes after the first (and is then read inside it, a combination worth sending too).
    """
    swallowers = [p for p in payloads if swallows_what_follows(p)]
    batches: list[list[str]] = [[]]
    for payload in (p for p in payloads if p not in swallowers):
        if batches[-1] and sum(len(p) + 2 for p in batches[-1]) + len(payload) > limit * 0.9:
            batches.append([])
        batches[-1].append(payload)
    for payload in swallowers:
        fitting = [b for b in batches if sum(len(p) + 2 for p in b) + len(payload) <= limit]
        if not fitting:
            batches.append([])
            fitting = [batches[-1]]
        min(fitting, key=lambda b: (sum(p in swallowers for p in b), len(b))).append(payload)
    return batches


@dataclass(frozen=True)
class Batch:
    """Payloads sent as one text, opened by a word that proves the text reached a page."""

    size: int
    number: int
    payloads: tuple[str, ...]

    @property
    def marker(self) -> str:
        return f"xssbatch{self.size}n{self.number}marker"

    @property
    def text(self) -> str:
        return f"{self.marker}\n\n" + "\n\n".join(self.payloads)


def batches_of(size: int) -> list[Batch]:
    return [
        Batch(size, number, tuple(payloads))
        for number, payloads in enumerate(make_batches(HTTP_PAYLOADS, size))
    ]


RFP_FORM = {
    "title": "An RFP full of payloads",
    "summary": "Every Markdown field gets the XSS corpus.",
    "tags": "security",
    "difficulty": "beginner",
    "compute": "laptop",
    "claim_cap": "",
    "no_plot_yet": "y",
}
JAM_FORM = {
    "number": "1",
    "title": "A Research Jam full of payloads",
    "starts_at": "2030-01-15T16:00",
    "timezone": "America/Los_Angeles",
    "duration_minutes": "90",
    "join_url": "https://meet.example.org/jam",
}


@dataclass
class Site:
    """The people of one test, each with their own logged-in client, and the pages to check."""

    app: object
    make: object
    people: dict[str, Web] = field(default_factory=dict)
    pages: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    def person(self, username: str, role: Role = Role.MEMBER) -> Web:
        if username not in self.people:
            if username != "visitor":
                self.make.user(username, role=role)
            web = Web(self.app.test_client())  # it reuses its CSRF token while it can
            if username != "visitor":
                assert web.login(username).status_code == 302
            self.people[username] = web
        return self.people[username]

    def check(self, who: str, *urls: str, showing: tuple[str, ...] = ()) -> None:
        """Check these pages as ``who``; each must show the batch markers in ``showing``."""
        self.pages += [(who, url, showing) for url in urls]

    def one(self, model, **where):
        with self.app.app_context():
            row = get_session().scalars(sa.select(model).filter_by(**where)).one()
            get_session().expunge(row)
            return row


def assert_refused_and_shown_safely(response, where: str, text: str) -> None:
    """A text with a NUL is refused beside its field, and the form shows it again safely."""
    assert response.status_code == 422, f"{where}: {response.status_code}"
    html = response.get_data(as_text=True)
    assert "not allowed" in html, f"{where}: the form does not say why"
    assert text.split("\n", 1)[0] in html, f"{where}: the form lost what was typed"
    assert not (problems := page_problems(html)), f"{where} (the refusing form): {problems}"


def submit_rfp(site: Site, big_picture: str, first_plot: str) -> int:
    author = site.person("author")
    refused = author.post(
        "/rfps/new",
        {**RFP_FORM, "big_picture": big_picture + "\x00", "first_plot": first_plot},
        form_url="/rfps/new",
    )
    assert_refused_and_shown_safely(refused, "POST /rfps/new", big_picture)
    response = author.post(
        "/rfps/new",
        {**RFP_FORM, "big_picture": big_picture, "first_plot": first_plot},
        form_url="/rfps/new",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def push_rfp(site: Site, batches: list[Batch], number: int) -> None:
    batch, following = batches[number], batches[(number + 1) % len(batches)]
    rfp_id = submit_rfp(site, batch.text, following.text)
    both = (batch.marker, following.marker)
    site.check("author", f"/rfps/{rfp_id}", f"/rfps/{rfp_id}/edit", showing=both)
    site.check("author", "/users/author")
    site.check("visitor", f"/rfps/{rfp_id}", "/rfps.atom", f"/api/v1/rfps/{rfp_id}", showing=both)
    site.check("visitor", f"/rfps?q={batch.marker}", showing=(batch.marker,))
    site.check("visitor", f"/rfps?q={following.marker}", showing=(following.marker,))
    site.check("visitor", "/rfps", "/", "/users/author", "/api/v1/rfps")


def _user(site: Site, username: str) -> User:
    return site.one(User, username=username)


def _claim(site: Site, rfp_id: int, note: str = "") -> Claim:
    member = site.person("ada")
    if note:
        refused = member.post(
            f"/rfps/{rfp_id}/claims", {"note": note + "\x00"}, form_url=f"/rfps/{rfp_id}"
        )
        assert_refused_and_shown_safely(refused, "POST /rfps/<id>/claims", note)
    response = member.post(f"/rfps/{rfp_id}/claims", {"note": note}, form_url=f"/rfps/{rfp_id}")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return site.one(Claim, rfp_id=rfp_id)


def push_comment(site: Site, batches: list[Batch], number: int) -> None:
    batch = batches[number]
    site.person("author")
    rfp_id = site.make.rfp(_user(site, "author"))
    member = site.person("ada")
    text = batch.text
    url = f"/rfps/{rfp_id}/comments"
    refused = member.post(url, {"body": text + "\x00"}, form_url=f"/rfps/{rfp_id}")
    assert_refused_and_shown_safely(refused, f"POST {url}", text)
    response = member.post(url, {"body": text}, form_url=f"/rfps/{rfp_id}")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    comment = site.one(Comment, rfp_id=rfp_id)
    shown = (batch.marker,)
    site.check("ada", f"/rfps/{rfp_id}", f"/comments/{comment.id}/edit", showing=shown)
    site.check("ada", f"/comments/{comment.id}/delete", showing=shown)
    site.check("author", f"/rfps/{rfp_id}", showing=shown)
    site.check("author", "/notifications")
    site.check("visitor", f"/rfps/{rfp_id}", showing=shown)
    site.check("visitor", f"/api/v1/rfps/{rfp_id}")


def push_note(site: Site, batches: list[Batch], number: int) -> None:
    batch = batches[number]
    site.person("author")
    rfp_id = site.make.rfp(_user(site, "author"))
    _claim(site, rfp_id, note=batch.text)
    shown = (batch.marker,)
    site.check("ada", f"/rfps/{rfp_id}", showing=shown)
    site.check("author", f"/rfps/{rfp_id}", showing=shown)
    site.check("author", "/notifications")
    site.check("visitor", f"/rfps/{rfp_id}", showing=shown)
    site.check("visitor", "/users/ada", f"/api/v1/rfps/{rfp_id}")


def push_progress(site: Site, batches: list[Batch], number: int) -> None:
    batch = batches[number]
    site.person("author")
    rfp_id = site.make.rfp(_user(site, "author"))
    claim = _claim(site, rfp_id)
    member = site.person("ada")
    text = batch.text
    key = f"claim-{claim.id}-body"
    url = f"/claims/{claim.id}/progress"
    refused = member.post(url, {key: text + "\x00"}, form_url=f"/rfps/{rfp_id}")
    assert_refused_and_shown_safely(refused, f"POST {url}", text)
    response = member.post(url, {key: text}, form_url=f"/rfps/{rfp_id}")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    site.check("ada", f"/rfps/{rfp_id}", showing=(batch.marker,))
    site.check("visitor", f"/rfps/{rfp_id}", showing=(batch.marker,))
    site.check("visitor", "/users/ada")


def push_write_up(site: Site, batches: list[Batch], number: int) -> None:
    batch = batches[number]
    site.person("author")
    rfp_id = site.make.rfp(_user(site, "author"))
    claim = _claim(site, rfp_id)
    member = site.person("ada")
    url = f"/claims/{claim.id}/deliver"

    def post(write_up: str):
        return member.post(
            url,
            {
                "result_url": "https://github.com/ada/result",
                "write_up": write_up,
                "caption": "The result",
                "alt_text": "A plot.",
                "image": (io.BytesIO(images.png(64, 40)), "result.png"),
            },
            form_url=url,
            content_type="multipart/form-data",
        )

    assert_refused_and_shown_safely(post(batch.text + "\x00"), f"POST {url}", batch.text)
    response = post(batch.text)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    shown = (batch.marker,)
    site.check("author", f"/rfps/{rfp_id}", showing=shown)
    site.check("ada", f"/rfps/{rfp_id}", showing=shown)
    site.check("visitor", f"/rfps/{rfp_id}", f"/api/v1/rfps/{rfp_id}", showing=shown)
    site.check("ada", "/users/ada")
    site.check("visitor", "/users/ada")


def push_jam(site: Site, batches: list[Batch], number: int) -> None:
    batch = batches[number]
    organiser = site.person("host", role=Role.ORGANISER)
    text = batch.text
    refused = organiser.post("/jams/new", {**JAM_FORM, "description": text + "\x00"})
    assert_refused_and_shown_safely(refused, "POST /jams/new", text)
    response = organiser.post("/jams/new", {**JAM_FORM, "description": text}, form_url="/jams/new")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    shown = (batch.marker,)
    site.check("host", "/jams/1", "/jams/1/edit", showing=shown)
    site.check("visitor", "/jams/1", "/api/v1/jams/1", showing=shown)
    site.check("visitor", "/jams", "/", "/api/v1/jams")


def push_bio(site: Site, batches: list[Batch], number: int) -> None:
    batch = batches[number]
    ada = site.person("ada")
    text = batch.text
    form = {"display_name": "Ada", "bio": text, "website": "https://example.org/ada"}
    refused = ada.post(
        "/account/profile", {**form, "bio": text + "\x00"}, form_url="/account/profile"
    )
    assert_refused_and_shown_safely(refused, "POST /account/profile", text)
    response = ada.post("/account/profile", form, form_url="/account/profile")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    shown = (batch.marker,)
    site.check("ada", "/users/ada", "/account/profile", showing=shown)
    site.check("visitor", "/users/ada", showing=shown)


FIELDS = {  # name: (send a batch, the batch size it takes)
    "rfp-big-picture-and-first-plot": (push_rfp, LARGE_BATCH),
    "comment": (push_comment, LARGE_BATCH),
    "claim-note": (push_note, SMALL_BATCH),
    "progress-update": (push_progress, LARGE_BATCH),
    "delivery-write-up": (push_write_up, LARGE_BATCH),
    "jam-description": (push_jam, LARGE_BATCH),
    "profile-bio": (push_bio, SMALL_BATCH),
}
BATCHES = {size: batches_of(size) for size in {SMALL_BATCH, LARGE_BATCH}}
# Cases known to fail, with why (none today): {(field, batch number): reason}.
KNOWN_UNSAFE: dict[tuple[str, int], str] = {}


def _cases():
    for name, (_, size) in FIELDS.items():
        for number in range(len(BATCHES[size])):
            marks = []
            if reason := KNOWN_UNSAFE.get((name, number)):
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            yield pytest.param(name, number, id=f"{name}-batch{number}", marks=marks)


def _json_values(data) -> Iterator[tuple[str | None, object]]:
    stack: list[tuple[str | None, object]] = [(None, data)]
    while stack:
        key, value = stack.pop()
        yield key, value
        if isinstance(value, dict):
            stack.extend(value.items())
        elif isinstance(value, list):
            stack.extend((None, item) for item in value)


def stored_html(data) -> list[str]:
    """The ``html`` of every ``{"markdown": …, "html": …}`` pair in an API answer."""
    return [
        value["html"]
        for _, value in _json_values(data)
        if isinstance(value, dict) and set(value) == {"markdown", "html"}
    ]


def json_problems(data) -> list[str]:
    """Stored HTML in the API must pass the allow-list; every ``*url`` must have a safe scheme."""
    problems = [problem for html in stored_html(data) for problem in content_problems(html)]
    for key, value in _json_values(data):
        is_url = bool(key and key.endswith("url") and isinstance(value, str))
        if is_url and (problem := url_problem(key, value)):
            problems.append(problem)
    return problems


def feed_problems(body: str) -> list[str]:
    """The feed parses as XML and the HTML inside each entry passes the allow-list."""
    problems = []
    for entry in ET.fromstring(body).iter(f"{ATOM_NS}entry"):  # noqa: S314 - the portal's own feed
        for content in entry.iter(f"{ATOM_NS}content"):
            assert content.get("type") == "html"
            problems += content_problems(content.text or "", portal_tags=frozenset({"h2"}))
    return problems


@pytest.mark.parametrize(("field_name", "number"), list(_cases()))
def test_the_corpus_through_every_markdown_field_never_reaches_a_page(
    app, make, field_name, number
):
    push, size = FIELDS[field_name]
    site = Site(app, make)
    push(site, BATCHES[size], number)
    for who, url, showing in site.pages:
        response = site.person(who).get(url)
        assert response.status_code == 200, f"GET {url} as {who}: {response.status_code}"
        body = response.get_data(as_text=True)
        kind = response.mimetype
        if kind == "application/json":
            data = json.loads(body)
            problems = json_problems(data)
            body = "".join(
                stored_html(data)
            )  # the markers must be in the HTML, not just the source
        elif kind == "application/atom+xml":
            problems = feed_problems(body)
        else:
            assert kind == "text/html", f"GET {url}: {kind}"
            problems = page_problems(body)
        assert not problems, f"GET {url} as {who}: {problems}"
        for word in showing:  # else the payloads never reached the page and nothing was tested
            assert word in body, f"GET {url} as {who} does not show {word}"
