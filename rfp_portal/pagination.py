"""A page of a query's results, with the total count."""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

MAX_PAGE = 100_000


@dataclass
class Page:
    items: list
    number: int
    per_page: int
    total: int

    @classmethod
    def of(cls, session: Session, query: sa.Select, *, number: int | None, per_page: int) -> Page:
        """Run ``query`` for one page (two queries: the count and the rows plus eager loads)."""
        number = min(max(number or 1, 1), MAX_PAGE)
        total = session.scalar(
            sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        )
        items = session.scalars(query.limit(per_page).offset((number - 1) * per_page)).all()
        return cls(items=list(items), number=number, per_page=per_page, total=total or 0)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages
