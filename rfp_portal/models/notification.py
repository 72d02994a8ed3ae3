"""The portal's own notifications: a claim, a delivery, a comment or an acceptance on an RFP,
for the people it concerns."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime, str_enum

if TYPE_CHECKING:
    from rfp_portal.models.claim import Claim
    from rfp_portal.models.comment import Comment
    from rfp_portal.models.rfp import Rfp
    from rfp_portal.models.user import User


class NotificationKind(enum.StrEnum):
    CLAIMED = "claimed"
    DELIVERED = "delivered"
    COMMENTED = "commented"
    ACCEPTED = "accepted"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_recipient_id_read_at", "recipient_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind, "notification_kind"))
    rfp_id: Mapped[int] = mapped_column(sa.ForeignKey("rfps.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int | None] = mapped_column(sa.ForeignKey("claims.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    actor: Mapped[User] = relationship(foreign_keys=[actor_id])
    rfp: Mapped[Rfp] = relationship()
    claim: Mapped[Claim | None] = relationship()
    comment: Mapped[Comment | None] = relationship()

    @property
    def anchor(self) -> str | None:
        """Where on the RFP page this notification points."""
        if self.comment_id:
            return f"comment-{self.comment_id}"
        return self.claim.anchor if self.claim else None
