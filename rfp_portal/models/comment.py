"""Comments on RFPs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
