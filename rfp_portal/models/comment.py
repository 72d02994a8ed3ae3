"""Comments on RFPs."""

from __future__ import annotations

import functools
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.orm.util import identity_key

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime

if TYPE_CHECKING:
    from rfp_portal.models.rfp import Rfp
    from rfp_portal.models.user import User

COMMENT_MAX = 10_000


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (sa.Index("ix_comments_rfp_id_created_at", "rfp_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rfp_id: Mapped[int] = mapped_column(sa.ForeignKey("rfps.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    body_md: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    edited_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A deleted comment keeps its place in the thread with no text; a hidden one keeps its text
    # for the record, shown to nobody but organisers.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    rfp: Mapped[Rfp] = relationship(back_populates="comments")
    author: Mapped[User] = relationship(foreign_keys=[author_id])

    @property
    def is_visible(self) -> bool:
        return self.deleted_at is None and self.hidden_at is None

    def is_author(self, user) -> bool:
        """Whether ``user`` wrote this comment (not the RFP: that is ``Rfp.is_author``)."""
        return bool(getattr(user, "is_authenticated", False) and user.id == self.author_id)

    def can_edit(self, user) -> bool:
        """Only its author edits or deletes a comment, while it is visible."""
        return self.is_author(user) and self.is_visible

    def can_moderate(self, user) -> bool:
        return (
            getattr(user, "is_authenticated", False)
            and user.is_organiser
            and self.deleted_at is None
        )


def visible_comments_of(rfp_id_column) -> sa.ScalarSelect:
    """SQL: how many comments of the RFP ``rfp_id_column`` names are visible."""
    return (
        sa.select(sa.func.count())
        .select_from(Comment)
        .where(
            Comment.rfp_id == rfp_id_column,
            Comment.deleted_at.is_(None),
            Comment.hidden_at.is_(None),
        )
        .scalar_subquery()
    )


@functools.cache
def _recount_statement() -> sa.Update:
    """Built once (every comment posted runs it): the RFPs' ids are bound per run."""
    from rfp_portal.models.rfp import Rfp

    rfps = Rfp.__table__
    return (
        sa.update(rfps)
        .where(rfps.c.id.in_(sa.bindparam("rfp_ids", expanding=True)))
        .values(comment_count=visible_comments_of(rfps.c.id))
    )


@event.listens_for(Session, "after_flush")
def _recount_comments(session: Session, _context) -> None:
    """Keep ``rfps.comment_count`` exact: after any flush that adds, changes or removes a
    comment (however it was made), count the visible comments of the RFPs concerned again, in
    the same transaction (a recount, not +1, so two writers at once cannot drift it)."""
    changed = {
        item.rfp_id
        for item in chain(session.new, session.dirty, session.deleted)
        if isinstance(item, Comment) and item.rfp_id is not None
    }
    if not changed:
        return
    from rfp_portal.models.rfp import Rfp

    session.connection().execute(_recount_statement(), {"rfp_ids": sorted(changed)})
    for rfp_id in changed:
        loaded = session.identity_map.get(identity_key(Rfp, rfp_id))
        if loaded is not None:
            session.expire(loaded, ["comment_count"])
