"""Markdown to sanitised HTML: the only place HTML is made from what people type.

Python-Markdown renders; ``$…$`` and ``$$…$$`` become MathML on the server (latex2mathml); bleach then
cleans the whole result against an allow-list, MathML included. Raw HTML that people write is shown
as text, not dropped.

Some markup only the renderer may make, never typed HTML: each formula's TeX kept beside its
MathML (``<semantics>`` and ``<annotation>``, the text alternative assistive technology reads),
and the labelled, focusable regions that let a wide table or display equation scroll sideways
(``<div class="scroll" role="region">``). Typed, those tags are shown as text like any other. A
formula travels through Markdown and the cleaning of the text as an unguessable word; a bleach
filter then puts in its place the formula's own markup, itself parsed and cleaned by bleach
against the allow-list of what the renderer may make, and wraps tables and display equations in
their regions.
"""

from __future__ import annotations

import functools
import html
import re
import secrets
import threading
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field

import bleach
import latex2mathml.converter
import markdown
from bleach import html5lib_shim
from bleach.sanitizer import BleachSanitizerFilter
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
}  # fmt: skip
MATHML_ATTRIBUTES = [
    "accent", "accentunder", "align", "columnalign", "columnlines", "columnspacing", "depth",
    "display", "displaystyle", "fence", "form", "frame", "height", "largeop", "linethickness",
    "lspace", "mathvariant", "maxsize", "minsize", "movablelimits", "notation", "rowalign",
    "rowlines", "rowspacing", "rspace", "scriptlevel", "separator", "stretchy", "symmetric",
    "voffset", "width", "xmlns",
]  # fmt: skip
TEX_SOURCE_TAGS = {"semantics", "annotation"}  # a formula's TeX beside its MathML
TEX_ENCODING = "application/x-tex"
REGION_TAGS = {"div", "span"}  # span where a block may not stand (inside a paragraph)
# A region is a landmark, so each needs a name of its own: its kind, then what it holds (a
# table's column headings, an equation's TeX), cut to LABEL_MAX characters.
REGION_LABELS = {"table": "Table", "equation": "Equation"}
LABEL_MAX = 80
REGION_ATTRIBUTES = {"class": "scroll", "role": "region", "tabindex": "0"}
# What Markdown makes from what people type (its raw HTML is off, so typed tags are text).
TYPED_TAGS = MARKDOWN_TAGS
# What a formula's markup may hold (all MathML, since latex2mathml makes any of it).
FORMULA_TAGS = MATHML_TAGS | TEX_SOURCE_TAGS
# What rendered HTML may hold: Markdown's tags, and those only the renderer makes (math,
# regions).
ALLOWED_TAGS = TYPED_TAGS | FORMULA_TAGS | REGION_TAGS
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
    if tag in REGION_TAGS:
        if name == "aria-label":
            return value.split(":", 1)[0] in REGION_LABELS.values()
        return REGION_ATTRIBUTES.get(name) == value
    if tag == "annotation":
        return name == "encoding" and value == TEX_ENCODING
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


@dataclass(frozen=True)
class _Formula:
    source: str  # as typed, dollars and all
    tex: str  # the TeX alone
    display: bool
    tokens: tuple[dict, ...]  # its <math>, cleaned, as html5lib tokens


# Any text's stand-in for a formula: its mark (random per text) and the formula's index.
_STAND_IN = re.compile(r"rfpmath([0-9a-f]{16})n(\d+)x")


@dataclass
class _Formulas:
    """One text's formulas. Each stands in the text as a word nobody can type: ``mark`` is random."""

    mark: str = field(default_factory=lambda: f"rfpmath{secrets.token_hex(8)}")
    found: list[_Formula] = field(default_factory=list)
    # Finds stand-ins of any mark (one regex compiled once, not one per text); ``get`` and
    # ``is_ours`` tell this text's own from a look-alike someone typed.
    pattern = _STAND_IN

    def stand_in(self, formula: _Formula) -> str:
        self.found.append(formula)
        return f"{self.mark}n{len(self.found) - 1}x"

    def is_ours(self, match: re.Match[str]) -> bool:
        return f"rfpmath{match.group(1)}" == self.mark

    def get(self, match: re.Match[str]) -> _Formula | None:
        if not self.is_ours(match):
            return None
        index = int(match.group(2))
        return self.found[index] if index < len(self.found) else None

    def restart(self) -> None:
        """Ready for the next text: a new mark, no formulas."""
        self.mark = f"rfpmath{secrets.token_hex(8)}"
        self.found = []


_TEXT_TOKENS = ("Characters", "SpaceCharacters")
_PLAIN_TOKENS = ("EndTag", "Entity")  # nothing of the renderer's to add to these


def _label(kind: str, text: str) -> str:
    text = " ".join(text.split())
    if len(text) > LABEL_MAX:
        text = text[: LABEL_MAX - 1].rstrip() + "…"
    return f"{REGION_LABELS[kind]}: {text}" if text else REGION_LABELS[kind]


def _region_start(tag: str, label: str) -> dict:
    attributes = {**REGION_ATTRIBUTES, "aria-label": label}
    data = {(None, name): value for name, value in attributes.items()}
    return {"type": "StartTag", "name": tag, "namespace": None, "data": data}


def _end(tag: str) -> dict:
    return {"type": "EndTag", "name": tag, "namespace": None}


class _RendererMarkup(html5lib_shim.Filter):
    """After cleaning, what only the renderer makes: formulas in place of their stand-ins, and
    the regions that scroll a table or a display equation sideways instead of widening the page.
    """

    def __init__(self, source, formulas: _Formulas) -> None:
        super().__init__(source)
        self.formulas = formulas

    def __iter__(self):
        return self._tokens(iter(super().__iter__()))

    def _tokens(self, tokens):
        for token in tokens:
            if token["type"] in _PLAIN_TOKENS:  # most of them: no generator for those
                yield token
            else:
                yield from self._token(token, tokens)

    def _token(self, token: dict, tokens):
        kind, name = token["type"], token.get("name")
        if kind in _TEXT_TOKENS:
            yield from self._text(token["data"])
        elif kind == "StartTag" and name == "p":
            yield from self._paragraph(token, tokens)
        elif kind == "StartTag" and name == "table":
            yield from self._table(token, tokens)
        else:
            if kind in ("StartTag", "EmptyTag"):
                self._attributes(token)
            yield token

    def _paragraph(self, start: dict, tokens):
        """A paragraph that is one display equation becomes its region (a ``div``)."""
        text, following = [], None
        for token in tokens:
            if token["type"] not in _TEXT_TOKENS:
                following = token
                break
            text.append(token["data"])
        joined = "".join(text)
        match = self.formulas.pattern.fullmatch(joined.strip())
        formula = self.formulas.get(match) if match else None
        ends_here = following is not None and following["type"] == "EndTag"
        if formula is not None and formula.display and ends_here and following["name"] == "p":
            yield _region_start("div", _label("equation", formula.tex))
            yield from formula.tokens
            yield _end("div")
            return
        yield start
        yield from self._text(joined)
        if following is not None:
            yield from self._token(following, tokens)

    def _table(self, start: dict, tokens):
        """The table (read to its end, for its headings) in a region named after them."""
        held, depth = [], 1
        for token in tokens:
            if token.get("name") == "table":
                depth += {"StartTag": 1, "EndTag": -1}.get(token["type"], 0)
                if depth == 0:
                    break
            held.append(token)
        yield _region_start("div", _label("table", self._headings(held)))
        yield start
        yield from self._tokens(iter(held))
        yield _end("table")
        yield _end("div")

    def _headings(self, tokens: list[dict]) -> str:
        """The text of a table's first row, cell by cell."""
        cells: list[str] = []
        for token in tokens:
            kind, name = token["type"], token.get("name")
            if kind == "EndTag" and name == "tr":
                break
            if kind == "StartTag" and name in ("th", "td"):
                cells.append("")
            elif cells and kind in _TEXT_TOKENS:
                cells[-1] += self.formulas.pattern.sub(self._as_typed, token["data"])
            elif cells and kind == "Entity":
                cells[-1] += html.unescape(f"&{name};")
        return ", ".join(cell.strip() for cell in cells if cell.strip())

    def _text(self, text: str):
        at = 0
        for match in self.formulas.pattern.finditer(text):
            formula = self.formulas.get(match)
            if formula is None:
                continue
            if match.start() > at:
                yield {"type": "Characters", "data": text[at : match.start()]}
            if formula.display:  # inside a paragraph or a list item: a span, shown as a block
                yield _region_start("span", _label("equation", formula.tex))
                yield from formula.tokens
                yield _end("span")
            else:
                yield from formula.tokens
            at = match.end()
        if at < len(text):
            yield {"type": "Characters", "data": text[at:]}

    def _attributes(self, token: dict) -> None:
        """Markdown reads math inside a link's address too (``[a](https://x/$y$)``): there
        the formula stays as typed. It starts with "$", so it can never begin a URL scheme."""
        for key, value in token["data"].items():
            if self.formulas.mark in value:
                token["data"][key] = self.formulas.pattern.sub(self._as_typed, value)

    def _as_typed(self, match: re.Match[str]) -> str:
        if not self.formulas.is_ours(match):
            return match.group(0)  # typed text that only looks like a stand-in
        formula = self.formulas.get(match)
        return formula.source if formula is not None else ""


def _cleaner(formulas: _Formulas) -> bleach.Cleaner:
    return bleach.Cleaner(
        tags=TYPED_TAGS,
        attributes=_allowed_attribute,
        protocols=ALLOWED_PROTOCOLS,
        strip=False,
        strip_comments=True,
        filters=[_ExternalLinksFilter, functools.partial(_RendererMarkup, formulas=formulas)],
    )


# A formula's markup is parsed as a browser would parse it and cleaned again, so bleach has the
# last word over math too (latex2mathml copies \text{…} through raw).
_formula_parser = html5lib_shim.BleachHTMLParser(
    tags=FORMULA_TAGS, strip=True, consume_entities=False, namespaceHTMLElements=False
)
_walker = html5lib_shim.getTreeWalker("etree")

BARE_URL = r"(?<![\w/\"'=<])(https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]])"


class _BareUrlProcessor(InlineProcessor):
    """A bare http(s) address in text becomes a link, as people expect from GitHub."""

    def handleMatch(self, m, data):  # noqa: N802 - Python-Markdown's name
        link = etree.Element("a", {"href": m.group(1)})
        link.text = markdown.util.AtomicString(m.group(1))
        return link, m.start(0), m.end(0)


class _MathProcessor(InlineProcessor):
    """``$$…$$`` (display) and ``$…$`` (inline) to MathML; code spans are already out of reach."""

    def __init__(
        self, pattern: str, md: markdown.Markdown, display: str, formulas: _Formulas
    ) -> None:
        super().__init__(pattern, md)
        self.display = display
        self.formulas = formulas

    def handleMatch(self, m, data):  # noqa: N802 - Python-Markdown's name
        source = m.group(1)
        if markdown.util.STX in source:
            return None, None, None  # it spans a code span's placeholder: not math
        try:
            if len(source) > MATH_SOURCE_MAX:
                raise ValueError("formula too long")
            mathml = latex2mathml.converter.convert(source, display=self.display)
            tokens = _formula_tokens(mathml, _check_mathml(mathml), source)
        except Exception:  # latex2mathml raises many kinds; any failure shows the source instead
            code = etree.Element("code", {"class": "language-math-error"})
            code.text = markdown.util.AtomicString(m.group(0))  # shown as typed, not parsed again
            return code, m.start(0), m.end(0)
        formula = _Formula(m.group(0), source, self.display == "block", tokens)
        return self.formulas.stand_in(formula), m.start(0), m.end(0)  # text, not markup


def _check_mathml(mathml: str) -> etree.Element:
    """latex2mathml copies \\text{…} through raw: only well-formed MathML of its own passes.

    :return: the parsed ``<math>`` element.
    :raise ValueError: when the output is not well-formed or holds a tag that is not MathML.
    """
    if "<!" in mathml or "<?" in mathml:
        raise ValueError("declarations, comments and entities are never MathML of latex2mathml's")
    # Safe to parse: with no DOCTYPE there can be no entity expansion (no XML bomb).
    root = etree.fromstring(mathml)  # noqa: S314
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] not in MATHML_TAGS:
            raise ValueError(f"not MathML: {element.tag}")
    return root


def _formula_tokens(mathml: str, root: etree.Element, source: str) -> tuple[dict, ...]:
    """The ``<math>`` with its TeX beside it, as cleaned html5lib tokens.

    ``<semantics>`` shows its first child and keeps the ``<annotation>``, the text that
    assistive technology can read out instead of the MathML; the TeX there is escaped text.
    """
    start, end = mathml.index(">") + 1, mathml.rindex("</math>")
    presentation = mathml[start:end]
    one_child = len(root) == 1 and not (root.text or "").strip()
    if not (one_child and not (root[0].tail or "").strip()):
        presentation = f"<mrow>{presentation}</mrow>"  # semantics shows its first child only
    markup = (
        f"{mathml[:start]}<semantics>{presentation}"
        f'<annotation encoding="{TEX_ENCODING}">{html.escape(source)}</annotation>'
        "</semantics></math>"
    )
    cleaned = BleachSanitizerFilter(
        source=_walker(_formula_parser.parseFragment(markup)),
        allowed_tags=FORMULA_TAGS,
        attributes=_allowed_attribute,
        allowed_protocols=ALLOWED_PROTOCOLS,
        strip_disallowed_tags=True,
        strip_html_comments=True,
    )
    return tuple(cleaned)


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
    def __init__(self, formulas: _Formulas) -> None:
        super().__init__()
        self.formulas = formulas

    def extendMarkdown(self, md):  # noqa: N802 - Python-Markdown's name
        # After code spans (190), before escapes (180) and emphasis, so `_` inside math stays math.
        display = r"(?<!\\)\$\$(.+?)\$\$"
        inline = r"(?<![\\$])\$(?![\s$])([^$\n]+?)(?<![\s\\])\$(?!\d)"
        md.inlinePatterns.register(
            _MathProcessor(display, md, "block", self.formulas), "math-display", 187
        )
        md.inlinePatterns.register(
            _MathProcessor(inline, md, "inline", self.formulas), "math-inline", 186
        )
        md.inlinePatterns.register(_BareUrlProcessor(BARE_URL, md), "bare-url", 110)
        md.treeprocessors.register(_ImagesAsLinks(md), "images-as-links", 1)
        md.ESCAPED_CHARS.append("$")
        # Markdown's own raw HTML is off: a typed tag (<b>, <table>, <math>) is text, escaped
        # like any other, so every element of the result is one Markdown or the math renderer
        # made. No allow-list then decides what typed markup survives.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


def _markdown(formulas: _Formulas) -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "fenced_code",
            "tables",
            "sane_lists",
            "toc",
            _PortalExtension(formulas),
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


class _Renderer:
    """A Markdown converter and a cleaner sharing one ``_Formulas``, made once per thread (making
    them costs more than rendering a comment) and reset before each text."""

    def __init__(self) -> None:
        self.formulas = _Formulas()
        self.markdown = _markdown(self.formulas)
        self.cleaner = _cleaner(self.formulas)

    def render(self, text: str) -> str:
        self.formulas.restart()
        self.markdown.reset()
        return self.cleaner.clean(self.markdown.convert(text))


_renderers = threading.local()


def _render(text: str) -> str:
    renderer = getattr(_renderers, "renderer", None)
    if renderer is None:
        renderer = _renderers.renderer = _Renderer()
    return renderer.render(text)


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


_markdown(_Formulas())  # import the Markdown extensions now, not in a forked child
