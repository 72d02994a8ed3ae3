"""The moderation log: every action a moderator takes, with who, when, on what and why."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime, str_enum

if TYPE_CHECKING:
    from rfp_portal.models.user import User

REASON_MAX = 500


class ModerationKind(enum.StrEnum):
    HIDE_COMMENT = "hide comment"
    SHOW_COMMENT = "show comment"
    WITHDRAW_RFP = "withdraw RFP"
    DEACTIVATE_ACCOUNT = "deactivate account"
    REACTIVATE_ACCOUNT = "reactivate account"
    CHANGE_ROLE = "change role"


class ModerationAction(Base):
    """One moderation action. Rows are only ever added; the log is the record."""

    __tablename__ = "moderation_actions"
    __table_args__ = (sa.Index("ix_moderation_actions_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ModerationKind] = mapped_column(str_enum(ModerationKind, "moderation_kind"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # What it was done to: an RFP, a comment (with its RFP) or an account.
    rfp_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rfps.id", ondelete="SET NULL"))
    comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("comments.id", ondelete="SET NULL")
    )
    subject_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    detail: Mapped[str] = mapped_column(sa.String(200), default="")
    reason: Mapped[str] = mapped_column(sa.String(REASON_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)

    # None when the action came from the command line (create-admin, set-role).
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])

    def __repr__(self) -> str:
        return f"<ModerationAction {self.kind.value} by {self.actor_id}>"
