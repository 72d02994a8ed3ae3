"""Plain text people type (titles, names, Markdown sources): what a line or a box may hold, and
whether a reader would see anything in it. Forms clean what is typed; feeds and calendars clean
what was stored before."""

from __future__ import annotations

import unicodedata

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
