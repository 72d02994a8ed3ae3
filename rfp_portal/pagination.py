"""A page of a query's results, with the total count."""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

MAX_PAGE = 100_000
FEED_LENGTH = 50  # entries in an Atom feed (/rfps.atom, /jams.atom): the newest


@dataclass
class Page:
    items: list
    number: int
    per_page: int
    total: int
    # False: ``total`` is the count limit, and more match (``more``: past this page too).
    exact: bool = True
    more: bool = False

    @classmethod
    def of(
        cls,
        session: Session,
        query: sa.Select,
        *,
        number: int | None,
        per_page: int,
        count_limit: int | None = None,
    ) -> Page:
        """Run ``query`` for one page (two queries: the count and the rows plus eager loads).

        With ``count_limit``, the count stops there, so its cost does not grow with the data:
        past it the total is "more than ``count_limit``" (``exact`` False), and whether a next
        page exists is learned from one row more than the page holds.
        """
        number = min(max(number or 1, 1), MAX_PAGE)
        counted = query.order_by(None)
        if count_limit is not None:
            counted = counted.limit(count_limit + 1)
        total = session.scalar(sa.select(sa.func.count()).select_from(counted.subquery())) or 0
        exact = count_limit is None or total <= count_limit
        rows = per_page if exact else per_page + 1
        items = list(session.scalars(query.limit(rows).offset((number - 1) * per_page)).all())
        return cls(
            items=items[:per_page],
            number=number,
            per_page=per_page,
            total=total if exact else count_limit,
            exact=exact,
            more=len(items) > per_page,
        )

    @property
    def pages(self) -> int:
        """How many pages there are (an estimate when the count is not exact: at least the
        pages the count limit fills, and the one after this when there is one)."""
        counted = max(1, math.ceil(self.total / self.per_page))
        if self.exact:
            return counted
        return max(counted, self.number + 1 if self.more else self.number)

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages
