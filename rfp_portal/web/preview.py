"""Previews of what people type: the same renderer, bounds and stored HTML a reader will see.

Two ways in, one rendering: a form sent with its Preview button (no script needed) comes back
with ``previews`` of its Markdown fields, keyed by field id, shown under each box by the
``markdown_field`` macro; with JavaScript, ``static/preview.js`` asks ``POST /preview`` for one
box and swaps the answer in place. Previews save nothing and count toward their own limits.
"""

from __future__ import annotations

from markupsafe import Markup

from rfp_portal import limits
from rfp_portal.services import DomainError
from rfp_portal.services.text import render_field


def markdown_preview(text: str, *, field: str) -> Markup:
    """The sanitised HTML a reader would see for ``text``, made as when it is saved.

    :raise DomainError: on ``field`` when the text is too intricate to render in time.
    """
    html = render_field(text or "", field=field)
    return Markup(html)  # noqa: S704 - sanitised by the renderer, as stored


def asked_for_preview() -> bool:
    """Whether the form was sent with its Preview button rather than to be saved (the same test
    that spares a preview the upload and comment limits)."""
    return limits.previewing()


def rendered_previews(form, names: list[str]) -> dict[str, Markup]:
    """Previews of the form's Markdown fields ``names``, keyed by field id: those that passed
    their checks are rendered; a field too intricate to render gets the renderer's message
    among its errors. Past the preview limits, each box gets a message instead."""
    if not limits.preview_allowed(cost=len(names)):
        message = Markup('<p class="error">%s</p>') % limits.PREVIEW_THROTTLED
        return {form[name].id: message for name in names}
    previews: dict[str, Markup] = {}
    for name in names:
        field = form[name]
        if field.errors:
            continue
        try:
            previews[field.id] = markdown_preview(field.data or "", field=name)
        except DomainError as error:
            field.errors = [*field.errors, error.message]
    return previews


def preview_form(form, names: list[str]) -> dict[str, Markup]:
    """Answer a form's Preview button: check the form (its CSRF token and the bounds of the
    Markdown boxes) and render ``names``. What other fields lack is for saving, not for a
    preview, so their errors are not shown yet."""
    form.validate_on_submit()
    only_markdown_errors(form, names)
    return rendered_previews(form, names)


def only_markdown_errors(form, names: list[str]) -> None:
    """Forget the errors of every field but the Markdown boxes ``names`` (and the CSRF token):
    what saving needs is asked when saving, not when previewing."""
    for field in form:
        if field.name not in names and field.name != "csrf_token":
            field.errors = []
