"""The renderer's own markup: formulas keep their TeX, wide tables and display equations scroll in
a labelled region, and none of that can be typed. Then stored HTML made again (``db rerender``)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import Comment, Rfp
from rfp_portal.rendering.markdown import render_markdown
from rfp_portal.services.text import markdown_columns
from tests.test_security_xss import (
    MATHML_NS,
    assert_content_safe,
    name_of,
    parse_fragment,
    walk,
)

REGION = {"class": "scroll", "role": "region", "tabindex": "0"}
TABLE = "| a | b |\n|---|---|\n| 1 | 2 |"


def elements(html: str, local: str) -> list:
    """Every element named ``local`` (in any namespace), in document order."""
    return [e for e, _ in walk(parse_fragment(html)) if name_of(e.tag)[1] == local]


def is_region(element, label: str) -> bool:
    """A renderer's region named ``label`` (a kind alone, or "kind: what it holds")."""
    name = element.get("aria-label") or ""
    return {k: element.get(k) for k in REGION} == REGION and label in (name, name.split(":")[0])


def test_a_formula_keeps_its_tex_beside_the_mathml_as_escaped_text():
    source = r"a</annotation><img src=x>\frac{1}{2}"
    html = render_markdown(f"Inline ${source}$ here.")
    assert_content_safe(html, "a formula")
    (math,) = elements(html, "math")
    assert math.tag == f"{{{MATHML_NS}}}math" and math.get("display") == "inline"
    (semantics,) = list(math)
    shown, annotation = list(semantics)
    assert name_of(shown.tag) == (MATHML_NS, "mrow")
    assert name_of(annotation.tag) == (MATHML_NS, "annotation")
    assert annotation.get("encoding") == "application/x-tex"
    assert annotation.text == source and not list(annotation)  # text, not markup
    assert not elements(html, "img")
    assert "a&lt;/annotation&gt;&lt;img src=x&gt;" in html


def test_a_display_equation_is_set_as_a_block_in_a_labelled_focusable_region():
    html = render_markdown("Before.\n\n$$\\sum_{i=1}^{n} x_i$$\n\nAfter.")
    assert_content_safe(html, "a display equation")
    (region,) = elements(html, "div")
    assert is_region(region, "Equation: \\sum_{i=1}^{n} x_i")
    (math,) = list(region)
    assert math.get("display") == "block"
    assert elements(html, "annotation")[0].text == "\\sum_{i=1}^{n} x_i"
    assert [name_of(e.tag)[1] for e in parse_fragment(html)] == ["p", "div", "p"]


def test_a_display_equation_within_a_sentence_has_a_span_region_inside_the_paragraph():
    html = render_markdown("So $$E = mc^2$$ holds.")
    assert_content_safe(html, "a display equation in a sentence")
    (paragraph,) = list(parse_fragment(html))
    (region,) = list(paragraph)
    assert name_of(region.tag) == (None, "span") and is_region(region, "Equation")
    assert list(region)[0].get("display") == "block"
    assert not elements(html, "div")


def test_a_table_is_wrapped_in_a_labelled_focusable_region():
    html = render_markdown(f"Results:\n\n{TABLE}\n\nAnd more.")
    assert_content_safe(html, "a table")
    (region,) = elements(html, "div")
    assert is_region(region, "Table: a, b")
    assert [name_of(e.tag)[1] for e in region] == ["table"]


def test_every_table_gets_its_own_region_named_after_its_headings():
    second = "| $x^2$ & more | " + "a very long heading " * 5 + "|\n|---|---|\n| 1 | 2 |"
    html = render_markdown(f"{TABLE}\n\ntext\n\n{second}")
    assert_content_safe(html, "two tables")
    first, second = [div.get("aria-label") for div in elements(html, "div")]
    assert first == "Table: a, b"
    assert second.startswith("Table: $x^2$ & more, a very long heading a very long heading")
    assert second.endswith("…") and len(second) <= len("Table: ") + 80
    assert len(elements(html, "table")) == 2


def test_typed_regions_and_tex_annotations_are_shown_as_text():
    typed = (
        '<div class="scroll" role="region" aria-label="Table" tabindex="0">x</div> '
        '<span class="scroll" role="region" aria-label="Equation" tabindex="0">y</span>\n\n'
        '<math><semantics><mi>x</mi><annotation encoding="application/x-tex">x</annotation>'
        "</semantics></math>\n\n"
        '<math><mi encoding="application/x-tex">z</mi></math>'
    )
    html = render_markdown(typed)
    assert_content_safe(html, "typed renderer markup")
    for local in ("div", "span", "semantics", "annotation"):
        assert not elements(html, local), f"a typed <{local}> came through as an element"
    assert "&lt;div class=" in html and "&lt;annotation encoding=" in html
    assert all(not e.get("encoding") for e in elements(html, "mi"))


def test_a_formula_in_a_link_address_stays_as_typed():
    html = render_markdown("[the notes](https://example.org/notes/$x$) and [b]($y$)")
    assert [a.get("href") for a in elements(html, "a")] == ["https://example.org/notes/$x$", "$y$"]
    assert not elements(html, "math")


def test_what_is_not_a_formula_has_no_region_or_annotation():
    html = render_markdown("Prices: $5 and `$$x$$` in code, and $\\frac{$ broken.")
    for local in ("math", "div", "span", "annotation"):
        assert not elements(html, local)
    assert 'class="language-math-error"' in html


# -- stored HTML made again -------------------------------------------------------------------


def test_every_markdown_column_of_the_models_is_found():
    names = {column.name for column in markdown_columns()}
    assert {
        "rfps.big_picture_md",
        "rfps.first_plot_md",
        "comments.body_md",
        "claims.note_md",
        "claims.write_up_md",
        "progress_updates.body_md",
        "jams.description_md",
        "users.bio_md",
    } <= names
    assert all(column.target.endswith("_html") for column in markdown_columns())


def test_db_rerender_brings_html_saved_by_an_older_renderer_up_to_date(app, make, web):
    author = make.user("author")
    rfp_id = make.rfp(author, big_picture=f"$$x^2$$\n\n{TABLE}", first_plot="Plain text.")
    web.login("author")
    web.post(f"/rfps/{rfp_id}/comments", {"body": "Inline $y$ too."}, form_url=f"/rfps/{rfp_id}")
    old_math = f'<math xmlns="{MATHML_NS}" display="inline"><mrow><mi>y</mi></mrow></math>'
    with app.app_context():
        session = get_session()
        first_plot = session.get(Rfp, rfp_id).first_plot_html
        session.execute(sa.update(Rfp).values(big_picture_html="<p>made by an older renderer</p>"))
        session.execute(sa.update(Comment).values(body_html=f"<p>Inline {old_math} too.</p>"))
        session.commit()
    page_before = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    assert "made by an older renderer" in page_before

    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "rerender"])
    assert result.exit_code == 0, result.output
    assert "rfps.big_picture_md: 1 of 1 changed" in result.output
    assert "comments.body_md: 1 of 1 changed" in result.output
    assert "rfps.first_plot_md" not in result.output  # unchanged, so not listed
    with app.app_context():
        session = get_session()
        rfp = session.get(Rfp, rfp_id)
        assert rfp.big_picture_html == render_markdown(f"$$x^2$$\n\n{TABLE}")
        assert rfp.first_plot_html == first_plot
        comment = session.scalars(sa.select(Comment)).one()
        assert '<annotation encoding="application/x-tex">y</annotation>' in comment.body_html
    page = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)  # no stale cached page
    assert "made by an older renderer" not in page
    assert 'aria-label="Table: a, b"' in page

    again = runner.invoke(args=["db", "rerender"])
    assert again.exit_code == 0, again.output
    assert "0 of " in again.output and "changed." in again.output
    assert "rfps.big_picture_md" not in again.output


@pytest.mark.demo_data
@pytest.mark.engine_independent  # rendering
def test_the_demo_datas_display_equation_and_table_are_in_their_regions(app, web):
    with app.app_context():
        rfps = get_session().scalars(sa.select(Rfp)).all()
    html = "".join(rfp.big_picture_html + rfp.first_plot_html for rfp in rfps)
    displayed = [m for m in elements(html, "math") if m.get("display") == "block"]
    regions = elements(html, "div")
    assert displayed and elements(html, "table")
    assert len(regions) == len(displayed) + len(elements(html, "table"))
    assert {region.get("aria-label") for region in regions} == {
        "Table: line, mask found on, initialisation",
        "Equation: \\eta_{\\text{opt}}(B) = \\frac{\\eta_{\\max}}{1 + B_{\\text{noise}} / B}.",
    }
    assert all(is_region(r, r.get("aria-label")) for r in regions)
    assert all(len(m.findall(".//{*}annotation")) == 1 for m in elements(html, "math"))


def test_nothing_of_one_text_reaches_the_next_rendered_on_the_same_thread():
    """The converter and cleaner are made once per thread and reset between texts: a link
    reference, a heading's id or a formula of one text never shows in the next."""
    first = render_markdown("[ref]: https://example.org/a\n\n### Setup\n\n$x^2$ and [ref]")
    assert "https://example.org/a" in first and "<msup>" in first
    second = render_markdown("### Setup\n\n[ref] and rfpmath0n0x")
    assert "example.org" not in second and "<math" not in second
    assert second == render_markdown("### Setup\n\n[ref] and rfpmath0n0x")
    look_alike = "rfpmath0123456789abcdefn0x"  # a stand-in's shape, typed: it stays text
    third = render_markdown(f"$y$ then {look_alike}\n\n| a | {look_alike} |\n|---|---|\n| 1 | 2 |")
    assert third.count(look_alike) == 3 and third.count("<math") == 1  # text, label, cell
