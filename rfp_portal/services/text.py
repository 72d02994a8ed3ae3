"""What people write, made into HTML for a service: the one place a Markdown failure becomes a
message on the form field it came from, and the one place stored HTML is made again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

import rfp_portal.models  # noqa: F401 - importing the models puts every table on Base
from rfp_portal.db import Base
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


@dataclass(frozen=True)
class MarkdownColumn:
    """A column of Markdown as written (``…_md``) and the HTML made from it when saved
    (``…_html`` beside it): the convention every Markdown field of the models follows."""

    model: type[Base]
    source: str

    @property
    def target(self) -> str:
        return self.source.removesuffix("_md") + "_html"

    @property
    def name(self) -> str:
        return f"{self.model.__tablename__}.{self.source}"


def markdown_columns() -> list[MarkdownColumn]:
    """Every Markdown column of the models that has its HTML column beside it."""
    found = []
    for mapper in Base.registry.mappers:
        keys = {column.key for column in mapper.column_attrs}
        for key in sorted(keys):
            if key.endswith("_md") and key.removesuffix("_md") + "_html" in keys:
                found.append(MarkdownColumn(mapper.class_, key))
    return sorted(found, key=lambda column: column.name)


@dataclass
class Rerendered:
    """What re-rendering one column did."""

    column: MarkdownColumn
    texts: int = 0
    changed: int = 0
    kept: int = 0  # too intricate to render in time now: the HTML saved before stays


def rerender_markdown(
    session: Session, *, batch_size: int = 200, after_batch: Callable[[], None] = lambda: None
) -> list[Rerendered]:
    """Render every stored Markdown text again and store the HTML where it changed.

    Stored HTML was made by the renderer of its day; after the renderer changes (a new kind of
    markup, a fixed bug), this brings every saved text up to date. Texts are read in batches of
    ``batch_size`` rows; each batch is flushed, then ``after_batch`` runs (a command commits
    there, so a long run never holds the database for long). Running it twice changes nothing
    the second time.
    """
    results = []
    for column in markdown_columns():
        model = column.model
        (key,) = sa.inspect(model).primary_key
        source, target = getattr(model, column.source), getattr(model, column.target)
        result, last = Rerendered(column), None
        while True:
            query = sa.select(key, source, target).order_by(key).limit(batch_size)
            rows = session.execute(query if last is None else query.where(key > last)).all()
            if not rows:
                break
            for row_id, markdown, stored in rows:
                if markdown is None:
                    continue
                result.texts += 1
                try:
                    html = render_markdown(markdown)
                except MarkdownTooComplex:
                    result.kept += 1
                    continue
                if html != stored:
                    session.execute(sa.update(model).where(key == row_id).values({target: html}))
                    result.changed += 1
            session.flush()
            after_batch()
            last = rows[-1][0]
        results.append(result)
    return results
