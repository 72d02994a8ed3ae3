"""What people write, made into HTML for a service: the one place a Markdown failure becomes a
message on the form field it came from."""

from __future__ import annotations

from rfp_portal.rendering.markdown import MarkdownTooComplex, render_markdown
from rfp_portal.services import DomainError


def render_field(text: str, *, field: str) -> str:
    """The sanitised HTML of a form field's Markdown.

    :raise DomainError: on ``field`` when the text is too intricate to render in time.
    """
    try:
        return render_markdown(text)
    except MarkdownTooComplex as error:
        raise DomainError(str(error), field=field) from None
