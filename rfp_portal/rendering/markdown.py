"""Markdown to sanitised HTML: the only place HTML is made from what people type.

Python-Markdown renders; ``$…$`` and ``$$…$$`` become MathML on the server (latex2mathml); bleach then
cleans the whole result against an allow-list, MathML included, so it has the last word over both
the Markdown and the math paths. Raw HTML that people write is shown as text, not dropped.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree

import bleach
import latex2mathml.converter
import markdown
from bleach import html5lib_shim
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor

from rfp_portal.rendering.bounded import run_or_refuse

MATH_SOURCE_MAX = 2_000  # characters of LaTeX in one formula
# Texts up to IN_PROCESS_MAX characters render in the worker: the costliest such text found
# ("[" * 500) takes about 25 ms. Longer ones render in a forked child stopped once it has used
# CPU_LIMIT of processor time: a genuine 20,000-character RFP, math-heavy, takes about 0.3 s;
# "[" * 2,000 took 0.4 s and "[" * 20,000 minutes. Processor time, not wall time, so a busy
# machine does not refuse ordinary text; TIME_LIMIT of wall time remains as the outer bound.
# See benchmarks/markdown_bound.py.
IN_PROCESS_MAX = 500
CPU_LIMIT = 0.75  # seconds of processor time
TIME_LIMIT = 5.0  # seconds of wall time, only reached when the machine is starved

MARKDOWN_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h3", "h4",
    "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
MATHML_TAGS = {
    "math", "menclose", "merror", "mfrac", "mi", "mmultiscripts", "mn", "mo", "mover", "mpadded",
    "mphantom", "mprescripts", "mroot", "mrow", "ms", "mspace", "msqrt", "mstyle", "msub",
    "msubsup", "msup", "mtable", "mtd", "mtext", "mtr", "munder", "munderover", "none",
    "semantics", "annotation",
}  # fmt: skip
MATHML_ATTRIBUTES = [
    "accent", "accentunder", "align", "columnalign", "columnlines", "columnspacing", "depth",
    "display", "displaystyle", "fence", "form", "frame", "height", "largeop", "linethickness",
    "lspace", "mathvariant", "maxsize", "minsize", "movablelimits", "notation", "rowalign",
    "rowlines", "rowspacing", "rspace", "scriptlevel", "separator", "stretchy", "symmetric",
    "voffset", "width", "xmlns", "encoding",
]  # fmt: skip
ALLOWED_TAGS = MARKDOWN_TAGS | MATHML_TAGS
ALLOWED_PROTOCOLS = {"http", "https", "mailto"}
LANGUAGE_CLASS = re.compile(r"^language-[A-Za-z0-9_+-]{1,30}$")


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if tag == "a":
        return name in ("href", "title")
    if tag == "abbr":
        return name == "title"
    if tag in ("td", "th"):
        return name == "align" and value in ("left", "right", "center")
    if tag == "code":
        return name == "class" and bool(LANGUAGE_CLASS.match(value))
    if tag == "ol":
        return name == "start" and value.isdigit()
    if tag in MATHML_TAGS:
        # As a browser reads the value: "javascript&#58;…" is "javascript:…".
        value = html.unescape(value)
        return (
            name in MATHML_ATTRIBUTES
            and "(" not in value
            and ":" not in value.replace("http://www.w3.org/1998/Math/MathML", "")
        )
    return False


class _ExternalLinksFilter(html5lib_shim.Filter):
    """Links that leave the portal say so to search engines and cannot reach back (rel)."""

    def __iter__(self):
        for token in super().__iter__():
            if token["type"] == "StartTag" and token["name"] == "a":
                attrs = token["data"]
                href = attrs.get((None, "href"), "").strip().lower()
                # Absolute links, and scheme-relative ones ("//host", which browsers also read
                # in "/\\host" and "\\host"), lead to another site.
                if href.startswith(("http:", "https:", "//", "/\\", "\\")):
                    attrs[(None, "rel")] = "nofollow ugc noopener"
            yield token


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=_allowed_attribute,
    protocols=ALLOWED_PROTOCOLS,
    strip=False,
    strip_comments=True,
    filters=[_ExternalLinksFilter],
)

BARE_URL = r"(?<![\w/\"'=<])(https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]])"


class _BareUrlProcessor(InlineProcessor):
    """A bare http(s) address in text becomes a link, as people expect from GitHub."""

    def handleMatch(self, m, data):  # noqa: N802 - Python-Markdown's name
        link = etree.Element("a", {"href": m.group(1)})
        link.text = markdown.util.AtomicString(m.group(1))
        return link, m.start(0), m.end(0)


class _MathProcessor(InlineProcessor):
    """``$$…$$`` (display) and ``$…$`` (inline) to MathML; code spans are already out of reach."""

    def __init__(self, pattern: str, md: markdown.Markdown, display: str) -> None:
        super().__init__(pattern, md)
        self.display = display

    def handleMatch(self, m, data):  # noqa: N802 - Python-Markdown's name
        source = m.group(1)
        if markdown.util.STX in source:
            return None, None, None  # it spans a code span's placeholder: not math
        try:
            if len(source) > MATH_SOURCE_MAX:
                raise ValueError("formula too long")
            html = latex2mathml.converter.convert(source, display=self.display)
            _check_mathml(html)
        except Exception:  # latex2mathml raises many kinds; any failure shows the source instead
            code = etree.Element("code", {"class": "language-math-error"})
            code.text = markdown.util.AtomicString(m.group(0))  # shown as typed, not parsed again
            return code, m.start(0), m.end(0)
        return self.md.htmlStash.store(html), m.start(0), m.end(0)


def _check_mathml(html: str) -> None:
    """latex2mathml copies \\text{…} through raw: only well-formed MathML of its own passes.

    :raise ValueError: when the output is not well-formed or holds a tag that is not MathML.
    """
    if "<!" in html or "<?" in html:
        raise ValueError("declarations, comments and entities are never MathML of latex2mathml's")
    # Safe to parse: with no DOCTYPE there can be no entity expansion (no XML bomb).
    for element in etree.fromstring(html).iter():  # noqa: S314
        if element.tag.rsplit("}", 1)[-1] not in MATHML_TAGS:
            raise ValueError(f"not MathML: {element.tag}")


class _ImagesAsLinks(Treeprocessor):
    """Pictures in text become links to them: plots belong in the portal's own plot uploads."""

    def run(self, root):
        for parent in root.iter():
            for index, child in enumerate(list(parent)):
                if child.tag == "img":
                    link = etree.Element("a", {"href": child.get("src", "")})
                    link.text = child.get("alt") or child.get("src", "")
                    link.tail = child.tail
                    parent[index] = link


class _PortalExtension(Extension):
    def extendMarkdown(self, md):  # noqa: N802 - Python-Markdown's name
        # After code spans (190), before escapes (180) and emphasis, so `_` inside math stays math.
        md.inlinePatterns.register(
            _MathProcessor(r"(?<!\\)\$\$(.+?)\$\$", md, "block"), "math-display", 187
        )
        md.inlinePatterns.register(
            _MathProcessor(r"(?<![\\$])\$(?![\s$])([^$\n]+?)(?<![\s\\])\$(?!\d)", md, "inline"),
            "math-inline",
            186,
        )
        md.inlinePatterns.register(_BareUrlProcessor(BARE_URL, md), "bare-url", 110)
        md.treeprocessors.register(_ImagesAsLinks(md), "images-as-links", 1)
        md.ESCAPED_CHARS.append("$")


def _markdown() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "fenced_code",
            "tables",
            "sane_lists",
            "toc",
            _PortalExtension(),
        ],
        extension_configs={
            # The page owns h1 and h2; people's headings start at h3. No [TOC] marker.
            "toc": {"baselevel": 3, "marker": ""},
            "tables": {"use_align_attribute": True},
        },
        output_format="html",
    )


class MarkdownTooComplex(ValueError):
    """Rendering took longer than allowed: Python-Markdown is quadratic on some inputs."""


TOO_COMPLEX = (
    "This text is too intricate to show (it has very many unclosed brackets, "
    "parentheses or tags). Please simplify it."
)


def _render(text: str) -> str:
    return _cleaner.clean(_markdown().convert(text))


def render_markdown(text: str, *, time_limit: float = TIME_LIMIT) -> str:
    """Render Markdown (with math) to HTML that is safe to put in any page.

    Short texts render here. Longer ones render in a child process that is stopped after
    ``CPU_LIMIT`` seconds of processor time (or ``time_limit`` of wall time), because a few
    thousand unclosed brackets or tags make Python-Markdown take minutes.

    :raise MarkdownTooComplex: when rendering takes too long.
    """
    text = text.replace("\x00", "")
    if len(text) <= IN_PROCESS_MAX:
        return _render(text)
    return run_or_refuse(
        _render,
        text,
        refusal=MarkdownTooComplex,
        too_costly=TOO_COMPLEX,
        failed=TOO_COMPLEX,  # one message: the person can do the same about either
        seconds=time_limit,
        cpu_seconds=CPU_LIMIT,
        extra_memory=512 * 1024 * 1024,
    )


_markdown()  # import the Markdown extensions now, not in a forked child
