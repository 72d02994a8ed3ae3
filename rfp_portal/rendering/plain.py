"""Plain text people type (titles, names, Markdown sources): what a line or a box may hold, and
whether a reader would see anything in it. Forms clean what is typed; feeds and calendars clean
what was stored before."""

from __future__ import annotations

import unicodedata
from html.parser import HTMLParser

# Embeddings, overrides and isolates (and the marks) reorder what a reader sees: a title that
# reads one way and is stored another is how file-name and review spoofing works.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Letters and symbols that render as nothing: a name made of them looks empty.
BLANK_GLYPHS = frozenset("\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0")
_NOT_SEEN = {"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me"}


def _kept(ch: str, *, keep: str) -> bool:
    if ch in BIDI_CONTROLS:
        return False
    # NUL stays, so that the form can refuse it out loud (BaseForm): it is never a typo.
    return ch in keep or ch == "\x00" or unicodedata.category(ch) != "Cc"


def clean_line(text: str) -> str:
    """One line of text (a title, a name) without bidi controls or control characters."""
    return "".join(ch for ch in text if _kept(ch, keep=""))


def clean_block(text: str) -> str:
    """A box of text (Markdown) without bidi controls or control characters but its line
    breaks and tabs."""
    return "".join(ch for ch in text if _kept(ch, keep="\t\n\r"))


def printable(text: str) -> str:
    """Text fit for a feed or a calendar (RFC 5545 forbids control characters but line
    breaks; XML 1.0 most of them): what ``clean_block`` keeps, for text stored before it."""
    return clean_block(text).replace("\x00", "")


def has_visible_character(text: str) -> bool:
    """Whether a reader would see anything: not only spaces, invisible format characters,
    combining marks, or letters that render blank (Hangul fillers, the braille blank)."""
    return any(ch not in BLANK_GLYPHS and unicodedata.category(ch) not in _NOT_SEEN for ch in text)


# -- stored HTML as plain text (calendars, calendar links) --------------------------------------

_BLOCKS = {"p", "div", "pre", "blockquote", "table", "tr", "h3", "h4", "h5", "h6", "ul", "ol", "hr"}


class _TextOfHtml(HTMLParser):
    """The text a reader sees in the portal's own stored HTML: paragraphs apart, list items
    with "- ", a link's address after its words, a formula as its TeX between $ signs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str | None] = []
        self.in_math = 0
        self.math_marks: list[str] = []
        self.in_tex = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "math":
            self.in_math += 1
            mark = "$$" if attributes.get("display") == "block" else "$"
            self.math_marks.append(mark)
            self.parts.append(mark)
        elif tag == "annotation":
            self.in_tex = True
        elif self.in_math:
            return
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag == "a":
            self.links.append(attributes.get("href"))
            self.parts.append("")

    def handle_endtag(self, tag):
        if tag == "math":
            self.in_math -= 1
            self.parts.append(self.math_marks.pop() if self.math_marks else "$")
        elif tag == "annotation":
            self.in_tex = False
        elif tag == "a" and self.links and not self.in_math:
            href = self.links.pop()
            if href and href not in "".join(self.parts[-3:]):
                self.parts.append(f" ({href})")

    def handle_data(self, data):
        if self.in_math and not self.in_tex:
            return
        # The line breaks between tags are the serialiser's, not the writer's.
        self.parts.append(data if data.strip() else " ")


def html_to_text(html: str) -> str:
    """Plain text from the portal's stored (sanitised) HTML, for places that show no markup:
    calendar descriptions and "add to calendar" links. Never the raw Markdown."""
    parser = _TextOfHtml()
    parser.feed(html or "")
    parser.close()
    text = "".join(parser.parts)
    lines = [
        " ".join(line.split()) if not line.startswith("- ") else line for line in text.split("\n")
    ]
    text = "\n".join(line.rstrip() for line in lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return printable(text.strip())
